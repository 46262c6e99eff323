package fsm

import (
	"bytes"
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

// TestSetSessionTimeout: a resumed session's new timeout is the session's
// from then on, survives a snapshot, and takes no zxid; for a closed session
// it answers SESSIONEXPIRED.
func TestSetSessionTimeout(t *testing.T) {
	h := newHarness(t, false)
	before := h.f.Zxid()
	r := h.apply(&Entry{Op: OpSetSessionTimeout, Session: sess, Timeout: 4000})
	if r.Err != proto.ErrOK {
		t.Fatalf("set timeout: %v", r.Err)
	}
	if got := h.f.Session(sess).Timeout; got != 4000 {
		t.Fatalf("timeout %d, want 4000", got)
	}
	if h.f.Zxid() != before || r.Zxid != before {
		t.Fatalf("zxid moved from 0x%x to 0x%x (result 0x%x)", before, h.f.Zxid(), r.Zxid)
	}
	// The next write takes the next zxid, as if nothing had been logged.
	if c := h.create("/a", proto.ModePersistent); c.Zxid != before+1 {
		t.Fatalf("create took zxid 0x%x, want 0x%x", c.Zxid, before+1)
	}
	var buf bytes.Buffer
	snap := h.f.BeginSnapshot()
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	g, err := DecodeSnapshot(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Session(sess).Timeout; got != 4000 {
		t.Fatalf("timeout after a snapshot %d, want 4000", got)
	}
	h.apply(&Entry{Op: proto.OpCloseSession, Session: sess})
	if r := h.apply(&Entry{Op: OpSetSessionTimeout, Session: sess, Timeout: 5000}); r.Err != proto.ErrSessionExpired {
		t.Fatalf("set timeout of a closed session: %v, want SESSIONEXPIRED", r.Err)
	}
}

// TestRetriedWrites: a write proposed again after a leader change is applied
// once: a retry of a write already applied does nothing and takes no zxid, a
// retry of a lost one applies in order, and a retry from a connection the
// session has left is refused (it cannot be told from a write applied before
// the move).
func TestRetriedWrites(t *testing.T) {
	h := newHarness(t, false)
	const conn = 5
	create := func(path string, seq uint64, retry bool, c uint64) Result {
		return h.apply(&Entry{Op: proto.OpCreate, Session: sess, Conn: c, Seq: seq, Retry: retry,
			Req: &proto.CreateRequest{Path: path, ACL: proto.OpenACLUnsafe}})
	}
	if r := create("/a", 1, false, conn); r.Err != proto.ErrOK {
		t.Fatalf("first write: %v", r.Err)
	}
	zxid := h.f.Zxid()
	if r := create("/a", 1, true, conn); !r.Duplicate || r.Err != proto.ErrOK || h.f.Zxid() != zxid || len(r.Changes) != 0 {
		t.Fatalf("retry of an applied write: %+v (zxid 0x%x, was 0x%x)", r, h.f.Zxid(), zxid)
	}
	// The second write was lost; its retry applies, then the third.
	if r := create("/b", 2, true, conn); r.Duplicate || r.Err != proto.ErrOK {
		t.Fatalf("retry of a lost write: %+v", r)
	}
	if r := create("/c", 3, false, conn); r.Err != proto.ErrOK {
		t.Fatalf("write after the retry: %v", r.Err)
	}
	// A write that skips one is discarded, retry or not, and changes nothing.
	zxid = h.f.Zxid()
	if r := create("/e", 5, true, conn); !r.Ahead || r.Duplicate || h.f.Zxid() != zxid || h.f.Tree().Get("/e") != nil {
		t.Fatalf("retry after a gap: %+v", r)
	}
	if r := create("/e", 5, false, conn); !r.Ahead {
		t.Fatalf("write after a gap: %+v", r)
	}
	// The session moves to another connection; a retry from the old one is
	// refused, and a retry cannot start the new one either.
	if r := create("/d", 1, false, conn+1); r.Err != proto.ErrOK {
		t.Fatalf("first write of the new connection: %v", r.Err)
	}
	if r := create("/x", 2, true, conn); r.Err != proto.ErrSessionMoved || r.Duplicate {
		t.Fatalf("retry from the old connection: %+v, want SESSIONMOVED", r)
	}
	if r := create("/y", 1, true, conn+2); r.Err != proto.ErrSessionMoved {
		t.Fatalf("retry as the first write of a connection: %v, want SESSIONMOVED", r.Err)
	}
}

// TestExpiryFencedToItsTerm: a session expiry decided by the leader of one
// term is discarded, with no zxid, when the log orders it in another term (a
// deposed leader's stale tracker decided it, and raft forwarded it to the
// new leader); ordered in its own term, it closes the session. The fence
// survives encoding.
func TestExpiryFencedToItsTerm(t *testing.T) {
	h := newHarness(t, false)
	e := &Entry{Op: proto.OpCloseSession, Session: sess, Term: 1}
	got, err := Unmarshal(e.Marshal())
	if err != nil || got.Term != 1 || got.Op != proto.OpCloseSession {
		t.Fatalf("fenced entry after encoding: %+v, %v", got, err)
	}
	zxid := h.f.Zxid()
	if r := h.f.Apply(2, got); !r.Stale || r.Zxid != zxid || len(r.Closed) != 0 || h.f.Session(sess) == nil {
		t.Fatalf("expiry of term 1 ordered in term 2: %+v; session %v, zxid 0x%x was 0x%x", r, h.f.Session(sess), h.f.Zxid(), zxid)
	}
	if r := h.f.Apply(1, got); r.Stale || r.Err != proto.ErrOK || len(r.Closed) != 1 || h.f.Session(sess) != nil {
		t.Fatalf("expiry of term 1 ordered in term 1: %+v", r)
	}
	// Unfenced entries encode as before (version 1), so older servers read them.
	if v := (&Entry{Op: proto.OpCloseSession, Session: sess}).Marshal()[3]; v != entryVersion {
		t.Fatalf("unfenced entry written in version %d", v)
	}
}
