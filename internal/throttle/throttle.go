// Package throttle limits the rate of new client sessions as ZooKeeper's
// connection throttle does (BlueThrottle, the zookeeper.connection_throttle_*
// properties): a token bucket that lets bursts through up to its size and
// refills at a fixed rate, with optional probabilistic dropping after the
// BLUE queue-management algorithm, so that under constant overload the
// clients that arrive later are not starved by those that arrive first.
//
// A connection takes one token when its ConnectRequest is read; without one
// it is refused (closed). A zero-sized bucket, ZooKeeper's default, lets
// everything through.
package throttle

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Config is the throttle's configuration, in ZooKeeper's terms and defaults
// (see Defaults).
type Config struct {
	// Tokens is the size of the bucket (connection_throttle_tokens); 0
	// disables the throttle.
	Tokens int
	// FillCount tokens are added every FillTime (connection_throttle_fill_count,
	// connection_throttle_fill_time, in milliseconds there).
	FillCount int
	FillTime  time.Duration
	// FreezeTime is how often the drop probability may change
	// (connection_throttle_freeze_time); negative disables random dropping.
	FreezeTime time.Duration
	// DropIncrease is added to the drop probability when the bucket is found
	// empty, DropDecrease taken from it when the bucket's deficit is at most
	// DecreaseRatio of its size (connection_throttle_drop_increase,
	// connection_throttle_drop_decrease, connection_throttle_decrease_ratio).
	DropIncrease, DropDecrease, DecreaseRatio float64
}

// Defaults are ZooKeeper's: no throttling; if enabled, one token a
// millisecond, and no random dropping.
func Defaults() Config {
	return Config{FillCount: 1, FillTime: time.Millisecond, FreezeTime: -1, DropIncrease: 0.02, DropDecrease: 0.002}
}

// Throttle decides whether a new connection may proceed. It is safe for
// concurrent use.
type Throttle struct {
	cfg Config
	now func() time.Time
	rnd func() float64

	mu         sync.Mutex
	tokens     int
	lastFill   time.Time
	lastFreeze time.Time
	drop       float64
}

// New returns a throttle with a full bucket.
func New(cfg Config) *Throttle {
	return newAt(cfg, time.Now, rand.Float64)
}

func newAt(cfg Config, now func() time.Time, rnd func() float64) *Throttle {
	if cfg.FillTime <= 0 {
		cfg.FillTime = time.Millisecond
	}
	t := now()
	return &Throttle{cfg: cfg, now: now, rnd: rnd, tokens: cfg.Tokens, lastFill: t, lastFreeze: t}
}

// Enabled reports whether the throttle limits anything.
func (t *Throttle) Enabled() bool { return t != nil && t.cfg.Tokens > 0 }

// Allow takes a token for one new connection and reports whether it may
// proceed.
func (t *Throttle) Allow() bool {
	if !t.Enabled() {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if elapsed := now.Sub(t.lastFill); elapsed > t.cfg.FillTime {
		// FillCount for every FillTime elapsed, pro rata, as ZooKeeper
		// counts it: the remainder of a period is not carried over.
		refill := int64(elapsed) * int64(t.cfg.FillCount) / int64(t.cfg.FillTime)
		t.tokens = int(min(int64(t.tokens)+refill, int64(t.cfg.Tokens)))
		t.lastFill = now
	}
	if t.cfg.FreezeTime >= 0 && !t.survivesDrop(now) {
		return false
	}
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

// survivesDrop adjusts the drop probability at most once a FreezeTime (up
// when the bucket is empty, down when its deficit is small) and draws
// against it.
func (t *Throttle) survivesDrop(now time.Time) bool {
	if now.Sub(t.lastFreeze) > t.cfg.FreezeTime {
		deficit := t.cfg.Tokens - t.tokens
		threshold := int(math.Round(float64(t.cfg.Tokens) * t.cfg.DecreaseRatio))
		switch {
		case deficit == t.cfg.Tokens && t.drop < 1:
			t.drop = min(t.drop+t.cfg.DropIncrease, 1)
		case deficit <= threshold && t.drop > 0:
			t.drop = max(t.drop-t.cfg.DropDecrease, 0)
		}
		t.lastFreeze = now
	}
	return t.rnd() >= t.drop
}

// DropChance is the current probability of a random drop.
func (t *Throttle) DropChance() float64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.drop
}
