package fsm

// sequence is what inSequence found.
type sequence uint8

const (
	inOrder    sequence = iota // apply it
	duplicate                  // a retry of a write already applied: discard it
	ahead                      // an earlier write of its connection is missing: discard it
	outOfOrder                 // the session moved on to another connection
)

// inSequence checks and records a sequenced write: the first write of a
// connection has Seq 1, each later one the next number. A retry (Entry.Retry)
// of a write of the session's current connection that is not above the last
// applied one is a duplicate. A write of the current connection that skips
// one is ahead of a write that was lost (or overtook it at a leader change):
// it is discarded, and its connection proposes the missing writes and it
// again, in order. A retry never starts a connection: after the session moved
// to another connection it cannot be told from a write that was applied
// before the move, so it is refused.
func (f *FSM) inSequence(e *Entry) sequence {
	if e.Conn == 0 || e.Session == 0 {
		return inOrder
	}
	s := f.sessions[e.Session]
	if s == nil {
		return inOrder // apply answers SESSIONEXPIRED
	}
	switch {
	case e.Conn == s.LastConn && e.Seq == s.LastSeq+1:
	case e.Conn == s.LastConn && e.Seq <= s.LastSeq && e.Retry:
		return duplicate
	case e.Conn == s.LastConn && e.Seq > s.LastSeq+1:
		return ahead
	case e.Conn != s.LastConn && e.Seq == 1 && !e.Retry:
		s.LastConn = e.Conn
	default:
		return outOfOrder
	}
	s.LastSeq = e.Seq
	return inOrder
}
