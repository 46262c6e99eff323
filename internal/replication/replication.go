// Package replication orders gozk's log entries and hands them, in order, to the
// state machine on every server. The server sees it through Log. Raft is the
// durable implementation on etcd's raft library (write-ahead log, snapshots,
// and, with peers, replication); Local is an in-memory one-server log for tests.
// Entries are opaque bytes here: encoding them is package fsm's business.
package replication

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrStopped is returned by a Log that has been stopped.
var ErrStopped = errors.New("replication: stopped")

// StateMachine receives committed entries in log order from exactly one goroutine.
type StateMachine interface {
	// Apply applies the entry at index, ordered in the given term (the zxid epoch).
	Apply(term, index uint64, data []byte)
}

// LeaderObserver is told, on the apply goroutine, when the known leader
// changes (0: none known), and the term this member is in (the term the
// leader leads in, when this member is the leader).
type LeaderObserver interface {
	LeaderChanged(leader, term uint64, isLeader bool)
}

// Log is the replication seam the server uses.
type Log interface {
	// Propose submits an entry. The result is learned when the state machine
	// applies it; a proposal may be lost (leader change), so callers wait with a
	// timeout. Proposals from one goroutine are ordered as submitted.
	Propose(ctx context.Context, data []byte) error
	// ReadIndex returns once every entry committed before the call has been
	// applied locally (ZooKeeper's sync).
	ReadIndex(ctx context.Context) error
	// Status reports on this member and, on the leader, its followers.
	Status() Status
	// ReportSessions tells the leader of client activity on these sessions
	// here (a no-op on the leader).
	ReportSessions(ids []int64)
	// RevalidateSession asks the member that expires sessions (the leader)
	// whether session id may be resumed by a client that negotiated timeout,
	// and makes that the session's timeout if so. ErrNoLeader: nobody can
	// tell now.
	RevalidateSession(ctx context.Context, id int64, timeout time.Duration) (bool, error)
	// Failed is closed if the log's storage fails; from then on Propose
	// returns ErrDiskFailed.
	Failed() <-chan struct{}
	// Stop stops the log; pending proposals are dropped.
	Stop()
}

// Local is a one-server log: proposals are ordered by a channel and applied by a
// single goroutine, in term 1.
type Local struct {
	sm    StateMachine
	propc chan []byte
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
	index uint64 // last applied index, owned by run
}

// NewLocal starts a Local log applying to sm.
func NewLocal(sm StateMachine) *Local {
	l := &Local{sm: sm, propc: make(chan []byte, 1024), stopc: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *Local) run() {
	defer close(l.done)
	if o, ok := l.sm.(LeaderObserver); ok {
		// A single server leads itself from the start.
		o.LeaderChanged(1, 1, true)
	}
	for {
		select {
		case <-l.stopc:
			return
		case d := <-l.propc:
			l.index++
			l.sm.Apply(1, l.index, d)
		}
	}
}

// Propose queues data for ordering and apply.
func (l *Local) Propose(ctx context.Context, data []byte) error {
	select {
	case l.propc <- data:
		return nil
	case <-l.stopc:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ReadIndex returns at once: a single server is always up to date with itself,
// and the server's per-session ordering already waits for the session's own
// earlier writes.
func (l *Local) ReadIndex(ctx context.Context) error {
	select {
	case <-l.stopc:
		return ErrStopped
	default:
		return ctx.Err()
	}
}

// RevalidateSession asks the state machine, if it decides on sessions: a
// single server is its own leader.
func (l *Local) RevalidateSession(ctx context.Context, id int64, timeout time.Duration) (bool, error) {
	v, ok := l.sm.(SessionValidator)
	if !ok {
		return false, ErrNoLeader
	}
	return v.RevalidateSession(id, timeout)
}

// Status reports a single server that leads itself.
func (l *Local) Status() Status {
	return Status{ID: 1, Leader: 1, IsLeader: true, Voters: 1, Replayed: true}
}

// ReportSessions has no one to report to: a single server expires sessions
// itself.
func (l *Local) ReportSessions([]int64) {}

// Failed never fires: Local has no storage.
func (l *Local) Failed() <-chan struct{} { return nil }

// Stop stops applying.
func (l *Local) Stop() {
	l.once.Do(func() { close(l.stopc) })
	<-l.done
}
