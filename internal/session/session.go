// Package session decides when sessions expire. The Tracker runs where sessions
// are expired (the standalone server, or the leader of an ensemble): every touch
// moves a session into the bucket of the tick at which its timeout will have run
// out, rounded up, so expiry is checked once per tick for whole buckets, as in
// ZooKeeper's ExpiryQueue. The Tracker only decides; the caller turns expired
// sessions into closeSession entries.
package session

import (
	"sync"
	"time"
)

// Tracker tracks session deadlines in tick-sized buckets. It is safe for
// concurrent use.
type Tracker struct {
	mu       sync.Mutex
	tick     int64 // ms
	sessions map[int64]*entry
	buckets  map[int64]map[int64]struct{} // deadline (ms, multiple of tick) -> ids
}

type entry struct {
	timeout  int64 // ms
	deadline int64 // bucket
}

// NewTracker returns a Tracker with the given tick (ZooKeeper's tickTime).
func NewTracker(tick time.Duration) *Tracker {
	ms := tick.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	return &Tracker{tick: ms, sessions: make(map[int64]*entry), buckets: make(map[int64]map[int64]struct{})}
}

func (t *Tracker) bucketFor(nowMs, timeout int64) int64 {
	return ((nowMs+timeout)/t.tick + 1) * t.tick
}

func (t *Tracker) place(id int64, e *entry, nowMs int64) {
	d := t.bucketFor(nowMs, e.timeout)
	if d == e.deadline {
		return
	}
	if b := t.buckets[e.deadline]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(t.buckets, e.deadline)
		}
	}
	e.deadline = d
	b := t.buckets[d]
	if b == nil {
		b = make(map[int64]struct{})
		t.buckets[d] = b
	}
	b[id] = struct{}{}
}

// Add starts tracking a session (or refreshes it) with a timeout.
func (t *Tracker) Add(id int64, timeout time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		e = &entry{}
		t.sessions[id] = e
	}
	e.timeout = timeout.Milliseconds()
	t.place(id, e, now.UnixMilli())
}

// Touch records activity on a session and reports whether it is tracked.
func (t *Tracker) Touch(id int64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		return false
	}
	t.place(id, e, now.UnixMilli())
	return true
}

// Remove stops tracking a session.
func (t *Tracker) Remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		return
	}
	delete(t.sessions, id)
	if b := t.buckets[e.deadline]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(t.buckets, e.deadline)
		}
	}
}

// Expired returns the sessions whose deadline is at or before now and stops
// tracking them.
func (t *Tracker) Expired(now time.Time) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ms := now.UnixMilli()
	var out []int64
	for d, b := range t.buckets {
		if d > ms {
			continue
		}
		for id := range b {
			out = append(out, id)
			delete(t.sessions, id)
		}
		delete(t.buckets, d)
	}
	return out
}

// Reset stops tracking every session.
func (t *Tracker) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions = make(map[int64]*entry)
	t.buckets = make(map[int64]map[int64]struct{})
}

// Len returns the number of tracked sessions.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// IDs generates session ids unique across an ensemble and across restarts:
// the server id in the top byte, then the start time in milliseconds, then a
// counter, as ZooKeeper's SessionTrackerImpl does.
type IDs struct {
	mu   sync.Mutex
	next int64
}

// NewIDs seeds a generator for server myid at time now.
func NewIDs(myid uint64, now time.Time) *IDs {
	base := int64(uint64(now.UnixMilli())<<24>>8) | int64(myid<<56)
	return &IDs{next: base}
}

// Next returns a fresh session id (never 0 and never the container marker).
func (g *IDs) Next() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next++
	if g.next == 0 || g.next == -1<<63 {
		g.next++
	}
	return g.next
}
