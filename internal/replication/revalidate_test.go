package replication

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRevalidateAsksTheLeader: a follower's and a learner's questions about a
// resumed session reach the leader's state machine with the new timeout, and
// its answer comes back; the leader answers itself.
func TestRevalidateAsksTheLeader(t *testing.T) {
	c := newCluster(t, 3, 1, nil)
	l := c.leader()
	for i, m := range c.members {
		for _, tc := range []struct {
			id    int64
			valid bool
		}{{int64(100 + i), true}, {-int64(100 + i), false}} {
			timeout := time.Duration(1000*(i+1)) * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var valid bool
			var err error
			// A member may not know the leader yet right after the election.
			for {
				valid, err = m.r.RevalidateSession(ctx, tc.id, timeout)
				if !errors.Is(err, ErrNoLeader) || ctx.Err() != nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err != nil || valid != tc.valid {
				t.Fatalf("member %d: session %d: valid=%v err=%v, want %v", m.id, tc.id, valid, err, tc.valid)
			}
			lsm := c.members[l].sm
			lsm.mu.Lock()
			got, ok := lsm.resumed[tc.id]
			lsm.mu.Unlock()
			if !ok || got != timeout {
				t.Fatalf("member %d: leader saw session %d with timeout %v (%v), want %v", m.id, tc.id, got, ok, timeout)
			}
		}
	}
}

// TestRevalidateWithoutLeader: a member cut off from the others cannot tell,
// and says so instead of calling the session expired.
func TestRevalidateWithoutLeader(t *testing.T) {
	c := newCluster(t, 3, 0, nil)
	l := c.leader()
	f := (l + 1) % 3
	var others []uint64
	for i, m := range c.members {
		if i != f {
			others = append(others, m.id)
		}
	}
	c.hub.partition([]uint64{c.members[f].id}, others)
	defer c.hub.heal()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	valid, err := c.members[f].r.RevalidateSession(ctx, 7, time.Second)
	if err == nil || valid {
		t.Fatalf("cut-off member answered valid=%v err=%v, want an error", valid, err)
	}
}
