package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func quietKeeper(tick time.Duration) *Keeper {
	return NewKeeper(tick, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func sessions(ids ...int64) func(fn func(id int64, timeout time.Duration)) {
	return func(fn func(id int64, timeout time.Duration)) {
		for _, id := range ids {
			fn(id, time.Minute)
		}
	}
}

// TestRevalidateConfirmsLeadership: a leader answers a resume only after its
// leadership is confirmed (CatchUp) in the term it touched the session in;
// deposed meanwhile (even if it leads again in a later term), it cannot tell.
func TestRevalidateConfirmsLeadership(t *testing.T) {
	k := quietKeeper(100 * time.Millisecond)
	var catchUp func() error
	k.Attach(KeeperDeps{
		Expire:  func(int64, uint64) error { return nil },
		Report:  func([]int64) {},
		CatchUp: func(context.Context) error { return catchUp() },
		Exists:  func(id int64) bool { return id == 7 },
	})
	k.SetLeader(true, 5, sessions(7))
	confirmed := 0
	catchUp = func() error { confirmed++; return nil }
	if ok, err := k.Revalidate(7, time.Minute); !ok || err != nil || confirmed != 1 {
		t.Fatalf("resume on a confirmed leader: %v, %v (confirmations %d)", ok, err, confirmed)
	}
	catchUp = func() error { return context.DeadlineExceeded }
	if _, err := k.Revalidate(7, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("resume when the leadership cannot be confirmed: %v", err)
	}
	catchUp = func() error {
		// Deposed while confirming, and leader again in a later term.
		k.SetLeader(false, 6, sessions(7))
		k.SetLeader(true, 7, sessions(7))
		return nil
	}
	if ok, err := k.Revalidate(7, time.Minute); ok || !errors.Is(err, ErrNotLeader) {
		t.Fatalf("resume touched in term 5, confirmed in term 7: %v, %v; want ErrNotLeader", ok, err)
	}
	k.SetLeader(false, 8, sessions(7))
	if _, err := k.Revalidate(7, time.Minute); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("resume on a follower: %v", err)
	}
}

// TestExpiryCarriesItsTerm: the expiry loop proposes an overdue session's
// close fenced to the term of the tracker that found it overdue.
func TestExpiryCarriesItsTerm(t *testing.T) {
	const tick = 20 * time.Millisecond
	k := quietKeeper(tick)
	var mu sync.Mutex
	got := map[int64]uint64{}
	k.Attach(KeeperDeps{
		Expire: func(id int64, term uint64) error {
			mu.Lock()
			got[id] = term
			mu.Unlock()
			return nil
		},
		Report:  func([]int64) {},
		CatchUp: func(context.Context) error { return nil },
		Exists:  func(int64) bool { return true },
	})
	k.SetLeader(true, 9, func(fn func(id int64, timeout time.Duration)) { fn(3, 2*tick) })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { k.Run(stop); close(done) }()
	defer func() { close(stop); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		term, ok := got[3]
		mu.Unlock()
		if ok {
			if term != 9 {
				t.Fatalf("expiry of session 3 fenced to term %d, want 9", term)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("session 3 never expired")
		}
		time.Sleep(tick)
	}
}
