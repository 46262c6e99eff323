// Package replica is the apply side of a gozk server: the replicated state
// (package fsm), the watches set on it, the results awaited by this server's
// clients, and the lock that orders reads against apply. A Replica is the
// log's state machine: entries arrive from the log in order, are applied to
// the fsm, and what they produce goes out through a Sink (watch events, the
// end of closed sessions) and to the waiting requests, events first, so that a
// client sees a watch event before the reply to the write that caused it.
//
// The session duties of whoever expires sessions are its Keeper's (package
// session); the Replica keeps it informed of what the log applies.
package replica

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication"
	"github.com/gozk/gozk/internal/session"
	"github.com/gozk/gozk/internal/wait"
	"github.com/gozk/gozk/internal/watch"
)

// Sink receives what apply produces for this server's clients. Its methods
// are called on the apply goroutine and must not block.
type Sink interface {
	// Notify delivers a watch event to a watcher (a connection id) that may
	// read a node with this ACL. Called while the state is locked.
	Notify(watcher uint64, zxid int64, ev *proto.WatcherEvent, acl []proto.ACL)
	// SessionsClosed ends the connections of sessions that entry e closed
	// (but not the one that asked to close its own session: it closes after
	// its reply).
	SessionsClosed(e *fsm.Entry, ids []int64)
	// Replaced: the whole state was replaced by a snapshot, so watches and
	// connections set against the old one are stale.
	Replaced()
	// LeaderChanged: the known leader changed (0: none, LOOKING).
	LeaderChanged(leader uint64, isLeader bool)
	// WriteAhead: e, a write of this server's connection, was discarded
	// because an earlier one of the connection is missing from the log; the
	// connection must propose its pending writes again.
	WriteAhead(e *fsm.Entry)
}

// Options configures a Replica.
type Options struct {
	ID            uint64 // this server's id in the entries it proposes (myid; 0 standalone)
	ExtendedTypes bool   // TTL nodes (extendedTypesEnabled)
	TickTime      time.Duration
	Logger        *slog.Logger
}

// Replica is one server's copy of the replicated state.
type Replica struct {
	opts     Options
	log      *slog.Logger
	mu       sync.RWMutex // orders reads against apply
	fsm      *fsm.FSM
	watch    *watch.Manager
	results  wait.Registry[fsm.Result]
	sessions *session.Keeper
	sink     atomic.Pointer[sinkBox]
	repl     atomic.Pointer[logBox]
}

type (
	sinkBox struct{ Sink }
	logBox  struct{ replication.Log }
)

// New returns an empty Replica; the log fills it (from a snapshot and entries).
func New(opts Options) *Replica {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TickTime <= 0 {
		opts.TickTime = 2 * time.Second
	}
	r := &Replica{
		opts: opts, log: opts.Logger,
		fsm: fsm.New(opts.ExtendedTypes), watch: watch.New(),
		sessions: session.NewKeeper(opts.TickTime, opts.Logger),
	}
	r.sink.Store(&sinkBox{nopSink{}})
	return r
}

// Attach connects the Replica to its clients' side and to the log it is the
// state machine of, once both exist.
func (r *Replica) Attach(sink Sink, log replication.Log) {
	r.sink.Store(&sinkBox{sink})
	r.repl.Store(&logBox{log})
	r.sessions.Attach(session.KeeperDeps{
		Expire:  r.expire,
		Report:  log.ReportSessions,
		CatchUp: log.ReadIndex,
		Exists:  r.HasSession,
	})
}

// Sessions returns the Keeper of the session duties.
func (r *Replica) Sessions() *session.Keeper { return r.sessions }

// Expect returns the channel the result of this server's entry reqID arrives
// on once applied; Forget drops it (the proposal failed).
func (r *Replica) Expect(reqID uint64) <-chan fsm.Result { return r.results.Register(reqID) }

// Forget drops an Expect.
func (r *Replica) Forget(reqID uint64) { r.results.Cancel(reqID) }

// Apply implements replication.StateMachine.
func (r *Replica) Apply(term, index uint64, data []byte) {
	e, err := fsm.Unmarshal(data)
	if err != nil {
		// Every server must apply the same entries; one that cannot be decoded
		// means the log is corrupt, and going on would diverge.
		r.log.Error("cannot decode log entry; stopping", "index", index, "err", err)
		panic(fmt.Sprintf("replica: undecodable log entry %d: %v", index, err))
	}
	sink := r.sink.Load().Sink
	var events []watch.Event
	r.mu.Lock()
	res := r.fsm.Apply(int64(term), e)
	for _, c := range res.Changes {
		events = r.watch.Trigger(c, events)
	}
	for i := range events {
		sink.Notify(events[i].Watcher, res.Zxid, &events[i].Event, events[i].ACL)
	}
	r.mu.Unlock()

	switch {
	case res.Stale:
		r.log.Info("discarded a session expiry decided by a deposed leader", "session", fmt.Sprintf("0x%x", e.Session),
			"decidedInTerm", e.Term, "orderedInTerm", term, "index", index)
		return
	case res.Duplicate:
		r.log.Debug("discarded a retried write applied before", "session", fmt.Sprintf("0x%x", e.Session), "seq", e.Seq, "index", index)
	case res.Ahead:
		r.log.Debug("discarded a write whose predecessor is missing", "session", fmt.Sprintf("0x%x", e.Session), "seq", e.Seq, "index", index)
		if e.Origin == r.opts.ID {
			sink.WriteAhead(e)
		}
	case res.Err == proto.ErrSessionMoved:
		r.log.Debug("refused a write out of its connection's order", "session", fmt.Sprintf("0x%x", e.Session),
			"conn", e.Conn, "seq", e.Seq, "retry", e.Retry, "index", index)
	}
	timeout := time.Duration(e.Timeout) * time.Millisecond
	switch e.Op {
	case proto.OpCreateSession:
		r.sessions.Opened(e.Session, timeout)
	case fsm.OpSetSessionTimeout:
		if res.Err == proto.ErrOK {
			r.sessions.TimeoutChanged(e.Session, timeout)
		}
	case proto.OpCloseSession:
		r.sessions.Closed(e.Session)
	}
	if len(res.Closed) > 0 {
		sink.SessionsClosed(e, res.Closed)
	}
	if e.Origin == r.opts.ID && e.ReqID != 0 && !res.Duplicate && !res.Ahead {
		r.results.Trigger(e.ReqID, res)
	}
}

// expire proposes the close of an overdue session, fenced to the term whose
// leader decided it; nobody waits for it (request id 0 routes its result
// nowhere).
func (r *Replica) expire(id int64, term uint64) error {
	l := r.repl.Load()
	if l == nil {
		return replication.ErrNoLeader
	}
	e := &fsm.Entry{Op: proto.OpCloseSession, Session: id, Origin: r.opts.ID, Time: time.Now().UnixMilli(), Term: term}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.TickTime)
	defer cancel()
	return l.Propose(ctx, e.Marshal())
}

// BeginSnapshot implements replication.DurableStateMachine.
func (r *Replica) BeginSnapshot() replication.Snapshotter {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fsm.BeginSnapshot()
}

// Restore implements replication.DurableStateMachine: it replaces the whole
// state with a snapshot.
func (r *Replica) Restore(payload []byte) error {
	f, err := fsm.DecodeSnapshot(payload)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.fsm = f
	r.mu.Unlock()
	r.sessions.Reload(r.eachSession)
	// Watches were set against the old state and no events describe the jump:
	// clients reconnect and re-register them with setWatches, which fires what
	// changed since the zxid they last saw.
	r.sink.Load().Replaced()
	return nil
}

// LeaderChanged implements replication.DurableStateMachine. A new leader gives
// every session a full timeout before it may expire it; a server that is not
// the leader expires nothing.
func (r *Replica) LeaderChanged(leader, term uint64, isLeader bool) {
	r.sessions.SetLeader(isLeader, term, r.eachSession)
	r.sink.Load().LeaderChanged(leader, isLeader)
}

// Touched implements replication.DurableStateMachine.
func (r *Replica) Touched(ids []int64) { r.sessions.Touched(ids) }

// RevalidateSession implements replication.SessionValidator.
func (r *Replica) RevalidateSession(id int64, timeout time.Duration) (bool, error) {
	return r.sessions.Revalidate(id, timeout)
}

func (r *Replica) eachSession(fn func(id int64, timeout time.Duration)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.fsm.EachSession(func(s *fsm.Session) { fn(s.ID, time.Duration(s.Timeout)*time.Millisecond) })
}

type nopSink struct{}

func (nopSink) Notify(uint64, int64, *proto.WatcherEvent, []proto.ACL) {}
func (nopSink) SessionsClosed(*fsm.Entry, []int64)                     {}
func (nopSink) Replaced()                                              {}
func (nopSink) LeaderChanged(uint64, bool)                             {}
func (nopSink) WriteAhead(*fsm.Entry)                                  {}
