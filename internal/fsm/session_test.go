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
