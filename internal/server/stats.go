package server

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// latency keeps min/avg/max request latency in milliseconds.
type latency struct {
	mu         sync.Mutex
	min, max   int64
	total, cnt int64
}

func (l *latency) reset() {
	l.mu.Lock()
	l.min, l.max, l.total, l.cnt = math.MaxInt64, 0, 0, 0
	l.mu.Unlock()
}

func (l *latency) observe(d time.Duration) {
	ms := d.Milliseconds()
	l.mu.Lock()
	l.min = min(l.min, ms)
	l.max = max(l.max, ms)
	l.total += ms
	l.cnt++
	l.mu.Unlock()
}

// get returns min, avg, max as ZooKeeper prints them (0 when nothing was seen).
func (l *latency) get() (int64, float64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cnt == 0 {
		return 0, 0, 0
	}
	return l.min, float64(l.total) / float64(l.cnt), l.max
}

type stats struct {
	received atomic.Int64
	sent     atomic.Int64
	lat      latency
}

func (s *stats) resetLatency() { s.lat.reset() }

func (s *stats) observe(d time.Duration) { s.lat.observe(d) }

func (s *stats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.lat.reset()
}

type connStats struct {
	received atomic.Int64
	sent     atomic.Int64
	lat      latency
}

func (s *connStats) observe(d time.Duration) { s.lat.observe(d) }

func (s *connStats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.lat.reset()
}
