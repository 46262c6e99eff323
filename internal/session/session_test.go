package session

import (
	"testing"
	"time"
)

func TestTrackerExpiresInTickBuckets(t *testing.T) {
	tr := NewTracker(100 * time.Millisecond)
	t0 := time.UnixMilli(1_000_000)
	tr.Add(1, 400*time.Millisecond, t0)
	tr.Add(2, 400*time.Millisecond, t0)
	// Deadlines are rounded up to the next tick after the timeout.
	if got := tr.Expired(t0.Add(400 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("expired at the timeout itself: %v", got)
	}
	// Activity on session 2 moves it to a later bucket.
	if !tr.Touch(2, t0.Add(300*time.Millisecond)) {
		t.Fatal("touch of a tracked session failed")
	}
	got := tr.Expired(t0.Add(500 * time.Millisecond))
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("expired %v, want [1]", got)
	}
	if tr.Touch(1, t0.Add(600*time.Millisecond)) {
		t.Fatal("an expired session is still tracked")
	}
	if got := tr.Expired(t0.Add(800 * time.Millisecond)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("expired %v, want [2]", got)
	}
	if tr.Len() != 0 {
		t.Fatalf("%d sessions left", tr.Len())
	}
}

func TestTrackerRemoveAndReset(t *testing.T) {
	tr := NewTracker(time.Second)
	now := time.Now()
	tr.Add(1, time.Second, now)
	tr.Add(2, time.Second, now)
	tr.Remove(1)
	if got := tr.Expired(now.Add(time.Hour)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("expired %v, want [2]", got)
	}
	tr.Add(3, time.Second, now)
	tr.Reset()
	if got := tr.Expired(now.Add(time.Hour)); len(got) != 0 || tr.Len() != 0 {
		t.Fatalf("after reset: %v, %d", got, tr.Len())
	}
}

func TestIDsCarryServerIDAndAreUnique(t *testing.T) {
	g := NewIDs(7, time.Now())
	seen := map[int64]bool{}
	for i := 0; i < 1000; i++ {
		id := g.Next()
		if uint64(id)>>56 != 7 {
			t.Fatalf("id %#x does not carry server id 7", id)
		}
		if seen[id] || id == 0 {
			t.Fatalf("id %#x repeated or zero", id)
		}
		seen[id] = true
	}
	// A restart a millisecond later starts elsewhere.
	a := NewIDs(1, time.UnixMilli(5000)).Next()
	b := NewIDs(1, time.UnixMilli(5001)).Next()
	if a == b {
		t.Fatal("generators started at different times collide")
	}
}
