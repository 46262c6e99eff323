// Package session decides when sessions expire. The Tracker runs where sessions
// are expired (the standalone server, or the leader of an ensemble): every touch
// moves a session into the bucket of the tick at which its timeout will have run
// out, rounded up, so expiry is checked once per tick for whole buckets, as in
// ZooKeeper's ExpiryQueue. The Tracker only decides; the caller turns expired
// sessions into closeSession entries.
//
// A session whose deadline has passed is dead even before the sweep notices:
// touching or resuming it fails, as it fails in ZooKeeper for a session that
// is closing. Once swept it stays tracked as closing until the caller removes
// it (its closeSession applied), and is handed out again by Expired if that
// takes long, in case the closeSession was lost.
package session

import (
	"sync"
	"time"
)

// State is what the tracker knows of a session.
type State uint8

// States.
const (
	Unknown State = iota // not tracked
	Live                 // tracked, before its deadline
	Expired              // past its deadline, or closing
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
	last     int64 // ms of the last touch
	deadline int64 // bucket
	closing  bool  // handed out by Expired; deadline is then a retry time
}

// NewTracker returns a Tracker with the given tick (ZooKeeper's tickTime).
func NewTracker(tick time.Duration) *Tracker {
	ms := tick.Milliseconds()
	if ms <= 0 {
		ms = 1
	}
	return &Tracker{tick: ms, sessions: make(map[int64]*entry), buckets: make(map[int64]map[int64]struct{})}
}

// roundUp is ZooKeeper's ExpiryQueue.roundToNextInterval: the first tick
// boundary after t.
func (t *Tracker) roundUp(ms int64) int64 { return (ms/t.tick + 1) * t.tick }

func (t *Tracker) move(id int64, e *entry, deadline int64) {
	if deadline == e.deadline {
		return
	}
	if b := t.buckets[e.deadline]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(t.buckets, e.deadline)
		}
	}
	e.deadline = deadline
	b := t.buckets[deadline]
	if b == nil {
		b = make(map[int64]struct{})
		t.buckets[deadline] = b
	}
	b[id] = struct{}{}
}

// touchLocked records activity at nowMs on a live session.
func (t *Tracker) touchLocked(id int64, e *entry, nowMs int64) {
	e.last = nowMs
	t.move(id, e, t.roundUp(nowMs+e.timeout))
}

// state is what a session looks like at nowMs.
func (e *entry) state(nowMs int64) State {
	if e.closing || e.deadline <= nowMs {
		return Expired
	}
	return Live
}

// Add starts tracking a session with a fresh deadline (a new session, or every
// session when this server becomes the leader).
func (t *Tracker) Add(id int64, timeout time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		e = &entry{}
		t.sessions[id] = e
	}
	e.timeout, e.closing = timeout.Milliseconds(), false
	t.touchLocked(id, e, now.UnixMilli())
}

// Touch records activity on a live session and reports whether it was live:
// an unknown, closing or overdue session is not revived.
func (t *Tracker) Touch(id int64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	ms := now.UnixMilli()
	if e == nil || e.state(ms) != Live {
		return false
	}
	t.touchLocked(id, e, ms)
	return true
}

// Resume is a client resuming a session with a newly negotiated timeout: a
// live session is touched and keeps that timeout from now on (ZooKeeper's
// touchSession with the connection's timeout). It returns the session's state
// before the call; nothing changes unless it was Live.
func (t *Tracker) Resume(id int64, timeout time.Duration, now time.Time) State {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil {
		return Unknown
	}
	ms := now.UnixMilli()
	st := e.state(ms)
	if st == Live {
		e.timeout = timeout.Milliseconds()
		t.touchLocked(id, e, ms)
	}
	return st
}

// SetTimeout changes a live session's timeout, counted from its last activity.
func (t *Tracker) SetTimeout(id int64, timeout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil || e.closing {
		return
	}
	e.timeout = timeout.Milliseconds()
	t.move(id, e, t.roundUp(e.last+e.timeout))
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

// closeRetry is how many ticks a closing session waits before Expired hands
// it out again.
const closeRetry = 2

// Expired returns the sessions whose deadline is at or before now, and closing
// sessions whose close has not been seen for closeRetry ticks. They stay
// tracked, as closing, until Remove.
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
		}
	}
	retry := t.roundUp(ms + closeRetry*t.tick)
	for _, id := range out {
		e := t.sessions[id]
		e.closing = true
		t.move(id, e, retry)
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

// Len returns the number of tracked sessions, closing ones included.
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
