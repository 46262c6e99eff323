package fsm

import (
	"errors"
	"fmt"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// Entry is one change proposed to the replicated log. It carries everything apply
// needs, so that apply is deterministic: the session, its identities for ACL
// checks, and the proposer's wall-clock time.
type Entry struct {
	Op      proto.OpCode // a client write opcode, OpCreateSession, OpCloseSession, OpDeleteContainer or OpSetSessionTimeout
	Session int64
	Time    int64  // milliseconds since the Unix epoch, read by the proposer
	Origin  uint64 // server holding the client request, for routing the result
	ReqID   uint64 // origin-local request id
	// Conn and Seq order a session's writes: Conn identifies the client
	// connection (unique across servers and restarts), Seq numbers its writes
	// from 1. Apply refuses a write that does not follow the connection's
	// previous one, so a write is never applied after an earlier one of the
	// same session was lost (a proposal dropped during a leader change). Zero
	// Conn (internal entries) is not sequenced.
	Conn uint64
	Seq  uint64
	Auth []proto.ID
	// Timeout and Passwd describe a new session (OpCreateSession); Timeout is
	// also a resumed session's new timeout (OpSetSessionTimeout).
	Timeout int32
	Passwd  []byte
	// Req is the request record: nil for createSession and closeSession.
	Req proto.Record
	// Retry marks a sequenced write proposed again after a leader change,
	// because the first proposal may have been lost: apply discards it if
	// the first one was applied after all (see FSM.inSequence).
	Retry bool
	// Term fences an entry decided by the leader of that raft term (a
	// session expiry, decided from the leader's own session tracker): apply
	// discards it unless the log ordered it in that same term. A deposed
	// leader's tracker is stale, and raft forwards a deposed leader's
	// proposals to its successor; the fence keeps them from committing, as
	// ZooKeeper's epochs fence a deposed leader's proposals. Zero: no fence.
	Term uint64
}

// OpSetSessionTimeout is gozk's own log entry, never on the wire: a client
// resumed Session with a newly negotiated Timeout, which is the session's
// timeout from then on. ZooKeeper keeps such a timeout in its leader's session
// tracker only; logging it keeps it across a leader change or a restart. It
// takes no zxid (ZooKeeper logs nothing on a resume), so clients see the same
// zxids as from ZooKeeper.
const OpSetSessionTimeout proto.OpCode = -1001

// Entry encodings: version 1; version 2, which adds Retry at the end; and
// version 3, which adds Retry and Term. An entry is written in the lowest
// version that holds it, so that a server that knows only version 1 can apply
// every entry but retries and fenced ones.
const (
	entryVersion      = 1
	entryVersionRetry = 2
	entryVersionTerm  = 3
)

// ErrBadEntry is returned when an encoded entry cannot be decoded.
var ErrBadEntry = errors.New("fsm: malformed entry")

// Encode appends the entry's binary form to w.
func (e *Entry) Encode(w *jute.Writer) {
	v := int32(entryVersion)
	switch {
	case e.Term != 0:
		v = entryVersionTerm
	case e.Retry:
		v = entryVersionRetry
	}
	w.Int(v)
	w.Int(int32(e.Op))
	w.Long(e.Session)
	w.Long(e.Time)
	w.Long(int64(e.Origin))
	w.Long(int64(e.ReqID))
	w.Long(int64(e.Conn))
	w.Long(int64(e.Seq))
	w.Int(int32(len(e.Auth)))
	for i := range e.Auth {
		e.Auth[i].Encode(w)
	}
	w.Int(e.Timeout)
	w.Buffer(e.Passwd)
	w.Bool(e.Req != nil)
	if e.Req != nil {
		e.Req.Encode(w)
	}
	if v >= entryVersionRetry {
		w.Bool(e.Retry)
	}
	if v >= entryVersionTerm {
		w.Long(int64(e.Term))
	}
}

// Marshal returns the entry's binary form.
func (e *Entry) Marshal() []byte {
	w := jute.NewWriter(make([]byte, 0, 128))
	e.Encode(w)
	return w.Bytes()
}

// Unmarshal decodes an entry produced by Marshal.
func Unmarshal(b []byte) (*Entry, error) {
	r := jute.NewReader(b)
	v := r.Int()
	if v < entryVersion || v > entryVersionTerm {
		return nil, fmt.Errorf("%w: version %d", ErrBadEntry, v)
	}
	e := &Entry{}
	e.Op = proto.OpCode(r.Int())
	e.Session = r.Long()
	e.Time = r.Long()
	e.Origin = uint64(r.Long())
	e.ReqID = uint64(r.Long())
	e.Conn = uint64(r.Long())
	e.Seq = uint64(r.Long())
	n := r.VectorLen(8)
	if n > 0 {
		e.Auth = make([]proto.ID, n)
		for i := range e.Auth {
			e.Auth[i].Decode(r)
		}
	}
	e.Timeout = r.Int()
	e.Passwd = r.Buffer()
	if r.Bool() {
		e.Req = proto.NewRequest(e.Op)
		if e.Req == nil {
			return nil, fmt.Errorf("%w: op %v has no record", ErrBadEntry, e.Op)
		}
		e.Req.Decode(r)
	}
	if v >= entryVersionRetry {
		e.Retry = r.Bool()
	}
	if v >= entryVersionTerm {
		e.Term = uint64(r.Long())
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	return e, nil
}
