package throttle

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func never() float64                     { return 0.999 }
func newTest(cfg Config) (*Throttle, *clock) {
	c := &clock{t: time.Unix(1000, 0)}
	return newAt(cfg, c.now, never), c
}

// TestDisabledByDefault: ZooKeeper's defaults (no tokens) throttle nothing.
func TestDisabledByDefault(t *testing.T) {
	th, _ := newTest(Defaults())
	for i := 0; i < 10000; i++ {
		if !th.Allow() {
			t.Fatalf("connection %d refused by a disabled throttle", i)
		}
	}
	var none *Throttle
	if !none.Allow() || none.Enabled() {
		t.Fatal("a nil throttle must allow everything")
	}
}

// TestBucketBurstThenRate: a full bucket lets a burst of its size through,
// then FillCount tokens come back per FillTime, never above the size.
func TestBucketBurstThenRate(t *testing.T) {
	cfg := Defaults()
	cfg.Tokens, cfg.FillCount, cfg.FillTime = 5, 2, time.Second
	th, c := newTest(cfg)
	for i := 0; i < 5; i++ {
		if !th.Allow() {
			t.Fatalf("burst connection %d refused", i)
		}
	}
	if th.Allow() {
		t.Fatal("sixth connection of the burst allowed with an empty bucket")
	}
	c.advance(time.Second) // not more than FillTime: no refill yet
	if th.Allow() {
		t.Fatal("refilled before a fill period had passed")
	}
	c.advance(time.Millisecond) // 1.001 s since the last fill: 2 tokens
	if got := allowed(th, 3); got != 2 {
		t.Fatalf("one fill period gave %d tokens, want FillCount (2)", got)
	}
	c.advance(time.Hour) // capped at the bucket size
	n := 0
	for th.Allow() {
		n++
	}
	if n != 5 {
		t.Fatalf("after a long idle time %d connections allowed, want the bucket size 5", n)
	}
}

// allowed counts how many of n connections the throttle lets through.
func allowed(th *Throttle, n int) int {
	k := 0
	for range n {
		if th.Allow() {
			k++
		}
	}
	return k
}

// TestBlueDropsUnderOverload: with FreezeTime set, an empty bucket found
// after a freeze period raises the drop probability by DropIncrease (capped
// at 1); a bucket back within DecreaseRatio of full lowers it by
// DropDecrease. Drawn values below the probability are dropped.
func TestBlueDropsUnderOverload(t *testing.T) {
	cfg := Defaults()
	cfg.Tokens, cfg.FillCount, cfg.FillTime = 2, 1, time.Hour
	cfg.FreezeTime, cfg.DropIncrease, cfg.DropDecrease, cfg.DecreaseRatio = 100*time.Millisecond, 0.5, 0.25, 0.5
	c := &clock{t: time.Unix(1000, 0)}
	draw := 0.4
	th := newAt(cfg, c.now, func() float64 { return draw })
	th.Allow()
	th.Allow() // bucket empty
	if got := th.DropChance(); got != 0 {
		t.Fatalf("drop chance %v before any freeze period passed", got)
	}
	c.advance(101 * time.Millisecond)
	if th.Allow() { // raises the chance to 0.5; the draw 0.4 is dropped
		t.Fatal("allowed a connection that the drop chance should have dropped")
	}
	if got := th.DropChance(); got != 0.5 {
		t.Fatalf("drop chance %v, want 0.5", got)
	}
	for range 3 {
		c.advance(101 * time.Millisecond)
		th.Allow()
	}
	if got := th.DropChance(); got != 1 {
		t.Fatalf("drop chance %v, want it capped at 1", got)
	}
	// The bucket refills (an hour passes): the deficit is 0, at most half
	// the size, so each freeze period lowers the chance by 0.25.
	c.advance(2 * time.Hour)
	draw = 0.7
	if th.Allow() {
		t.Fatal("draw 0.7 allowed with a drop chance of 0.75")
	}
	if got := th.DropChance(); got != 0.75 {
		t.Fatalf("drop chance %v, want 0.75", got)
	}
	c.advance(101 * time.Millisecond)
	if !th.Allow() {
		t.Fatal("draw 0.7 refused with a drop chance of 0.5 and tokens in the bucket")
	}
}
