package server

import (
	"log/slog"
	"sync"
	"time"
)

// throttledLog reports connections the connection throttle refused: one log
// line a second at most, with how many were refused since the last one, so
// that a storm of refused clients does not flood the log.
type throttledLog struct {
	mu      sync.Mutex
	count   int
	lastLog time.Time
}

func (t *throttledLog) note(log *slog.Logger) {
	t.mu.Lock()
	t.count++
	now := time.Now()
	if now.Sub(t.lastLog) < time.Second {
		t.mu.Unlock()
		return
	}
	n := t.count
	t.count, t.lastLog = 0, now
	t.mu.Unlock()
	log.Warn("refusing connections: over the connection throttle (connection_throttle_tokens)", "refused", n)
}
