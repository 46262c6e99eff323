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
		t.Fatal("an expired session was touched")
	}
	// Expired sessions stay, closing, until their close is applied.
	if tr.Len() != 2 {
		t.Fatalf("%d sessions tracked, want 2", tr.Len())
	}
	tr.Remove(1)
	if got := tr.Expired(t0.Add(800 * time.Millisecond)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("expired %v, want [2]", got)
	}
	tr.Remove(2)
	if tr.Len() != 0 {
		t.Fatalf("%d sessions left", tr.Len())
	}
}

// TestTrackerOverdueSessionIsDead: past its deadline a session can be neither
// touched nor resumed, even before a sweep; a sweep that is not followed by
// Remove hands the session out again after closeRetry ticks.
func TestTrackerOverdueSessionIsDead(t *testing.T) {
	tr := NewTracker(100 * time.Millisecond)
	t0 := time.UnixMilli(1_000_000)
	tr.Add(1, 400*time.Millisecond, t0)
	late := t0.Add(500 * time.Millisecond) // the deadline bucket
	if tr.Touch(1, late) {
		t.Fatal("an overdue session was touched")
	}
	if st := tr.Resume(1, time.Second, late); st != Expired {
		t.Fatalf("resume of an overdue session: %v, want Expired", st)
	}
	if got := tr.Expired(late); len(got) != 1 {
		t.Fatalf("expired %v, want [1]", got)
	}
	if st := tr.Resume(1, time.Second, late); st != Expired {
		t.Fatalf("resume of a closing session: %v, want Expired", st)
	}
	if got := tr.Expired(late.Add(100 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("closing session handed out again at once: %v", got)
	}
	if got := tr.Expired(late.Add(closeRetry*100*time.Millisecond + 100*time.Millisecond)); len(got) != 1 {
		t.Fatalf("closing session not handed out again: %v", got)
	}
	if st := tr.Resume(2, time.Second, late); st != Unknown {
		t.Fatalf("resume of an untracked session: %v, want Unknown", st)
	}
}

// TestTrackerResumeAdoptsTimeout: a resume with a new timeout moves the
// deadline by the new timeout, shorter or longer; SetTimeout counts from the
// last activity.
func TestTrackerResumeAdoptsTimeout(t *testing.T) {
	tr := NewTracker(100 * time.Millisecond)
	t0 := time.UnixMilli(1_000_000)
	tr.Add(1, 2000*time.Millisecond, t0)
	tr.Add(2, 400*time.Millisecond, t0)
	if st := tr.Resume(1, 400*time.Millisecond, t0.Add(100*time.Millisecond)); st != Live {
		t.Fatalf("resume: %v", st)
	}
	if st := tr.Resume(2, 2000*time.Millisecond, t0.Add(100*time.Millisecond)); st != Live {
		t.Fatalf("resume: %v", st)
	}
	// 1 now expires at 100+400 rounded up: 600.
	if got := tr.Expired(t0.Add(599 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("expired early: %v", got)
	}
	if got := tr.Expired(t0.Add(600 * time.Millisecond)); len(got) != 1 || got[0] != 1 {
		t.Fatalf("expired %v, want [1]", got)
	}
	tr.Remove(1)
	if got := tr.Expired(t0.Add(2000 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("session 2 expired on its old timeout: %v", got)
	}
	tr.SetTimeout(2, 1000*time.Millisecond) // last activity 100: deadline 1200
	if got := tr.Expired(t0.Add(2100 * time.Millisecond)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("expired %v, want [2]", got)
	}
	tr3 := NewTracker(100 * time.Millisecond)
	tr3.Add(3, 400*time.Millisecond, t0)
	tr3.SetTimeout(3, 2000*time.Millisecond)
	if got := tr3.Expired(t0.Add(1000 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("longer timeout ignored: %v", got)
	}
	if got := tr3.Expired(t0.Add(2100 * time.Millisecond)); len(got) != 1 {
		t.Fatalf("expired %v, want [3]", got)
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
