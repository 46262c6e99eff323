package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/replication"
)

// writes are a connection's writes proposed (or waiting to be) and not yet
// applied, in sequence order. A leader change may lose any of them (raft drops
// what the old leader had not committed), so on a leader change they are
// proposed again, in order, before anything new; apply discards those it
// already has (fsm.Entry.Retry), so every write applies once and in the order
// sent, and the client never notices the change. A write raft refused because
// no leader was known waits for the next leader in the same way.
//
// Apply (which reports leader changes) never waits for mu: it only sets
// stale and cancels the proposals in progress (Server.epochCtx), and the
// proposing again happens on another goroutine.
type writes struct {
	mu      sync.Mutex
	pending []*pendingWrite
	stale   atomic.Bool // some of pending may be lost: propose them again first
}

type pendingWrite struct {
	e        *fsm.Entry
	proposed bool // handed to the log, maybe: it may have been applied
}

// submitWrite proposes e behind any writes that must be proposed again. It
// returns the error of a proposal that failed for another reason than a
// leader change (e is not pending then).
func (c *conn) submitWrite(e *fsm.Entry, before func(uint64)) (<-chan fsm.Result, error) {
	w := &c.writes
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stale.Load() {
		c.proposeAgainLocked()
	}
	ctx, cancel := c.s.epochCtx(c.ctx)
	defer cancel()
	send := !w.stale.Load()
	ch, err := c.s.propose(ctx, e, before, send)
	proposed := send
	switch {
	case err == nil:
	case errors.Is(err, replication.ErrNoLeader):
		// Not proposed: it waits for the next leader with the others.
		c.log.Debug("write waits for a leader", "seq", e.Seq)
		w.stale.Store(true)
		proposed, err = false, nil
	case ctx.Err() != nil && c.ctx.Err() == nil:
		// The leader changed while raft held the proposal: it may or may
		// not be in the log.
		c.log.Debug("leader changed while proposing a write", "seq", e.Seq)
		w.stale.Store(true)
		err = nil
	}
	if err != nil {
		c.s.rep.Forget(e.ReqID)
		return nil, err
	}
	w.pending = append(w.pending, &pendingWrite{e: e, proposed: proposed})
	return ch, nil
}

// applied forgets a pending write once its result has arrived.
func (c *conn) applied(reqID uint64) {
	w := &c.writes
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, p := range w.pending {
		if p.e.ReqID == reqID {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			return
		}
	}
}

// logLostWrite says what is known of a write that was never applied.
func (c *conn) logLostWrite(reqID uint64) {
	w := &c.writes
	w.mu.Lock()
	var seq uint64
	var proposed, retry bool
	for _, p := range w.pending {
		if p.e.ReqID == reqID {
			seq, proposed, retry = p.e.Seq, p.proposed, p.e.Retry
		}
	}
	n := len(w.pending)
	w.mu.Unlock()
	last, _ := c.s.rep.Session(c.sessionID())
	c.log.Warn("a write was not applied within the session timeout", "seq", seq, "proposed", proposed, "retry", retry,
		"pending", n, "stale", w.stale.Load(), "lastAppliedSeq", last.LastSeq, "sameConn", last.LastConn == c.writeConn)
}

// proposeAgain proposes the pending writes again if a leader change may have
// lost them.
func (c *conn) proposeAgain() {
	w := &c.writes
	if !w.stale.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stale.Load() {
		c.proposeAgainLocked()
	}
}

func (c *conn) proposeAgainLocked() {
	w := &c.writes
	w.stale.Store(false) // a leader change from here on sets it again
	ctx, cancel := c.s.epochCtx(c.ctx)
	defer cancel()
	for _, p := range w.pending {
		p.e.Retry = p.proposed
		if err := c.s.repl.Propose(ctx, p.e.Marshal()); err != nil {
			// No leader again, or the connection closed: the next leader
			// change tries again.
			c.log.Debug("cannot propose writes again yet", "seq", p.e.Seq, "err", err)
			w.stale.Store(true)
			return
		}
		p.proposed = true
	}
	if len(w.pending) > 0 {
		c.log.Debug("proposed writes again after a leader change", "writes", len(w.pending))
	}
}

// epochCtx returns a context that ends with parent or at the next leader
// change, whichever comes first: raft holds a proposal while it knows no
// leader, and one that goes through after the change would overtake the
// writes proposed again.
func (s *Server) epochCtx(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(*s.epoch.Load(), cancel)
	return ctx, func() { stop(); cancel() }
}

// newEpoch ends the proposals of the previous leader's epoch.
func (s *Server) newEpoch() {
	ctx, cancel := context.WithCancel(context.Background())
	if old := s.epochCancel.Swap(&cancel); old != nil {
		(*old)()
	}
	s.epoch.Store(&ctx)
}

// lookingGrace is how long a server without a leader keeps its clients: an
// election normally takes milliseconds, and a client kept connected through
// it never notices; a server that stays without a leader (cut off from the
// others) lets its clients go to one that has one.
//
// A tick leaves a client of the default minimum session timeout (two ticks)
// a tick to reconnect elsewhere before the leader would expire its session.
func (s *Server) lookingGrace() time.Duration {
	return max(min(s.opts.TickTime, s.opts.MinSessionTimeout/2), 100*time.Millisecond)
}
