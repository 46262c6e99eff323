package fsm

import (
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

// TestZxidCounterRollover: when the low 32 bits of the zxid run out, the next
// zxid moves to the next epoch instead of spilling into the epoch bits; zxids
// stay strictly increasing, a raft term that is not above the new epoch keeps
// counting in it, a later term starts afresh, and a snapshot keeps the place.
func TestZxidCounterRollover(t *testing.T) {
	h := newHarness(t, false)
	h.f.counter = maxCounter - 2
	h.f.zxid = h.f.epoch<<32 | h.f.counter
	last := h.f.Zxid()
	var zxids []int64
	for i := 0; i < 5; i++ {
		r := h.create("/n"+string(rune('a'+i)), proto.ModePersistent)
		if r.Err != proto.ErrOK {
			t.Fatalf("create: %v", r.Err)
		}
		if r.Zxid <= last {
			t.Fatalf("zxid 0x%x after 0x%x: not increasing", r.Zxid, last)
		}
		last = r.Zxid
		zxids = append(zxids, r.Zxid)
	}
	want := []int64{1<<32 | (maxCounter - 1), 1<<32 | maxCounter, 2<<32 | 1, 2<<32 | 2, 2<<32 | 3}
	for i := range want {
		if zxids[i] != want[i] {
			t.Fatalf("zxids %x, want %x", zxids, want)
		}
	}
	// The stat of the node made in the new epoch carries it.
	if st := h.stat("/nc"); st.Czxid != 2<<32|1 {
		t.Fatalf("czxid 0x%x, want 0x%x", st.Czxid, int64(2<<32|1))
	}
	// Term 2 is not above the epoch the counter moved to: keep counting.
	if r := h.f.Apply(2, &Entry{Op: proto.OpCreateSession, Session: 77, Timeout: 1000}); r.Zxid != 2<<32|4 {
		t.Fatalf("term 2 entry took zxid 0x%x, want 0x%x", r.Zxid, int64(2<<32|4))
	}
	// A snapshot carries the epoch and counter.
	g, err := DecodeSnapshot(snapshotBytes(t, h.f))
	if err != nil {
		t.Fatal(err)
	}
	if r := g.Apply(2, &Entry{Op: proto.OpCreateSession, Session: 78, Timeout: 1000}); r.Zxid != 2<<32|5 {
		t.Fatalf("after a snapshot: zxid 0x%x, want 0x%x", r.Zxid, int64(2<<32|5))
	}
	// A later term starts its own epoch.
	if r := h.f.Apply(3, &Entry{Op: proto.OpCreateSession, Session: 79, Timeout: 1000}); r.Zxid != 3<<32|1 {
		t.Fatalf("term 3 entry took zxid 0x%x, want 0x%x", r.Zxid, int64(3<<32|1))
	}
}
