package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/replication/snap"
	"github.com/gozk/gozk/internal/replication/transport"
	"github.com/gozk/gozk/internal/replication/wal"
	"github.com/gozk/gozk/internal/wait"
)

// ErrDiskFailed is returned by Propose once the log could not be persisted: the
// server keeps serving reads but accepts no more writes.
var ErrDiskFailed = errors.New("replication: log storage failed; writes are disabled")

// Member is one server of the raft group.
type Member struct {
	ID      uint64
	Learner bool // an observer: receives the log, never votes
}

// Snapshotter is a point-in-time image of the state machine being written out.
type Snapshotter interface {
	WriteTo(w io.Writer) (int64, error)
	Close()
}

// DurableStateMachine is the state machine of a raft-backed log: it applies
// entries, takes snapshots while applying goes on, and restores from one.
type DurableStateMachine interface {
	StateMachine
	// BeginSnapshot captures the state as of the last applied entry. It is called
	// on the apply goroutine; the returned Snapshotter is written on another.
	BeginSnapshot() Snapshotter
	// Restore replaces the whole state with a snapshot's payload.
	Restore(payload []byte) error
	LeaderObserver
	// Touched tells the leader's state machine that a follower heard from
	// these sessions.
	Touched(ids []int64)
	// SessionValidator answers, on the leader, the followers' questions about
	// sessions resumed through them.
	SessionValidator
}

// RaftConfig configures a raft-backed log.
type RaftConfig struct {
	ID             uint64
	Members        []Member // the group at bootstrap (ignored once a log exists)
	WALDir         string
	SnapDir        string
	TickInterval   time.Duration
	ElectionTicks  int
	HeartbeatTicks int
	SnapCount      uint64 // entries between snapshots
	SnapRetain     int    // snapshots kept on disk
	CompactKeep    uint64 // entries kept in memory behind a snapshot (default 5000)
	NoSync         bool   // forceSync=no
	PreAllocSize   int64
	SegmentSize    int64
	// Peers are the other members' quorum addresses; ListenAddr is this
	// member's. Both are unused by a one-member group.
	Peers      []transport.Peer
	ListenAddr string
	ClusterID  uint64
	// NewNetwork, if set, replaces the TCP peer transport (in-process test
	// clusters with injected faults).
	NewNetwork func(h transport.Handler) (Network, error)
	Logger     *slog.Logger
}

// Network carries typed messages between the members; *transport.Transport is
// the TCP implementation.
type Network interface {
	Send(to uint64, kind byte, payload []byte) bool
	Close()
}

// Message kinds on the peer transport.
const (
	kindRaft     byte = 1 // a marshalled raftpb.Message
	kindSessions byte = 2 // session ids a follower heard from, 8 bytes each
	kindLastIdx  byte = 3 // a follower's last log index, 8 bytes
	// kindRevalidate and kindRevalidated ask the leader whether a session may
	// be resumed, and answer (revalidate.go).
	kindRevalidate  byte = 4
	kindRevalidated byte = 5
)

// Raft is a durable, replicated log on etcd's raft library. One goroutine (run)
// owns the raft node, the WAL and the MemoryStorage, and applies committed
// entries to the state machine in order.
type Raft struct {
	cfg     RaftConfig
	log     *slog.Logger
	sm      DurableStateMachine
	node    raft.Node
	storage *raft.MemoryStorage
	wal     *wal.WAL
	snaps   *snap.Store
	net     Network // nil for a one-member group
	learner atomic.Bool
	voters  atomic.Int64 // number of voting members

	leader       atomic.Uint64
	heardLeader  atomic.Int64 // unix nanos of the last message from the leader
	campaigning  atomic.Bool
	lastHandover time.Time // leader side of checkFollower; transport goroutines (guarded by handoverMu)
	handoverMu   sync.Mutex
	failed       atomic.Pointer[error]
	failedc      chan struct{}

	// Owned by run.
	applied, appliedTerm uint64
	term                 uint64 // the current term, as last saved
	snapIndex            uint64
	snapping             bool
	confState            raftpb.ConfState
	snapDone             chan snapResult

	appliedIndex wait.Index // applied index published to ReadIndex waiters

	reval          revalidations
	followerCounts atomic.Pointer[[4]int] // see countFollowers

	readWaits wait.Registry[uint64] // ReadIndex calls by request id
	readSeq   atomic.Uint64
	reads     readBatches

	// replayed is closed once the entries committed before start-up are
	// applied: until then the state is older than what clients have seen.
	replayed    chan struct{}
	startCommit uint64

	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
}

// StartRaft opens (or bootstraps) the durable log and starts the raft node. The
// state machine is restored from the newest snapshot before StartRaft returns;
// entries logged after it are applied by the running node.
func StartRaft(cfg RaftConfig, sm DurableStateMachine) (*Raft, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 100 * time.Millisecond
		if len(cfg.Members) <= 1 {
			// A group of one has no peers to heartbeat; a short tick only
			// makes it elect itself sooner at start-up.
			cfg.TickInterval = 10 * time.Millisecond
		}
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = 10
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = 1
	}
	if cfg.SnapCount == 0 {
		cfg.SnapCount = 100000
	}
	if cfg.CompactKeep == 0 {
		cfg.CompactKeep = 5000
	}
	if cfg.SnapRetain < 3 {
		cfg.SnapRetain = 3
	}
	if len(cfg.Members) == 0 {
		cfg.Members = []Member{{ID: cfg.ID}}
	}
	r := &Raft{
		cfg: cfg, log: cfg.Logger, sm: sm,
		storage:  raft.NewMemoryStorage(),
		failedc:  make(chan struct{}),
		snapDone: make(chan snapResult, 1),
		replayed: make(chan struct{}),
		stopc:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	var err error
	if r.snaps, err = snap.New(cfg.SnapDir, snap.Options{Logger: cfg.Logger, NoSync: cfg.NoSync}); err != nil {
		return nil, fmt.Errorf("replication: snapshot store: %w", err)
	}
	walOpts := wal.Options{NoSync: cfg.NoSync, PreallocSize: cfg.PreAllocSize, SegmentSize: cfg.SegmentSize, Logger: cfg.Logger}
	rc := &raft.Config{
		ID:              cfg.ID,
		ElectionTick:    cfg.ElectionTicks,
		HeartbeatTick:   cfg.HeartbeatTicks,
		Storage:         r.storage,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		// Bounds the appends in flight to one member (catching up after a
		// pause or a restart): the Ready loop marshals what it sends, and
		// 256 messages of 1 MiB each once took it seconds, so that the
		// other members missed heartbeats and the leader lost its quorum.
		MaxInflightBytes:          8 << 20,
		MaxUncommittedEntriesSize: 1 << 30,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{cfg.Logger},
	}
	if wal.Exists(cfg.WALDir) {
		if err := r.recover(walOpts); err != nil {
			return nil, err
		}
		rc.Applied = r.applied
	} else {
		if err := r.bootstrap(walOpts); err != nil {
			return nil, err
		}
	}
	r.node = raft.RestartNode(rc)
	if len(cfg.Peers) > 0 || cfg.NewNetwork != nil {
		n, err := r.newNetwork()
		if err != nil {
			r.node.Stop()
			r.wal.Close()
			return nil, fmt.Errorf("replication: peer transport: %w", err)
		}
		r.net = n
	}
	go r.run()
	return r, nil
}

// Propose submits an entry. It fails with ErrNoLeader while no leader is
// known, and when raft drops the proposal (a leadership transfer).
func (r *Raft) Propose(ctx context.Context, data []byte) error {
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrDiskFailed, err)
	}
	if r.leader.Load() == 0 {
		// Raft would hold the proposal until a leader is known; the caller
		// decides whether to wait for one (the server proposes its clients'
		// writes again at the next leader change).
		return ErrNoLeader
	}
	if err := r.node.Propose(ctx, data); err != nil {
		switch {
		case errors.Is(err, raft.ErrStopped):
			return ErrStopped
		case errors.Is(err, raft.ErrProposalDropped):
			// No leader known (an election is on): nothing was proposed.
			return fmt.Errorf("%w: %w", ErrNoLeader, err)
		}
		return err
	}
	return nil
}

// IsLeader reports whether this member is the raft leader.
func (r *Raft) IsLeader() bool { return r.leader.Load() == r.cfg.ID }

// Step hands a message from a peer to the raft node.
func (r *Raft) Step(ctx context.Context, m raftpb.Message) error { return r.node.Step(ctx, m) }

func (r *Raft) noteMembership() {
	r.learner.Store(slices.Contains(r.confState.Learners, r.cfg.ID))
	r.voters.Store(int64(len(r.confState.Voters)))
}

// Stop stops the node and closes the log.
func (r *Raft) Stop() {
	r.once.Do(func() {
		close(r.stopc)
		<-r.done
		if r.net != nil {
			r.net.Close()
		}
		if r.snapping {
			res := <-r.snapDone
			if res.err == nil {
				r.finishSnapshot(res)
			}
		}
		r.wal.Close()
	})
}

// raftLogger adapts slog to raft's logger.
type raftLogger struct{ l *slog.Logger }

func (g raftLogger) Debug(v ...any)              { g.l.Debug(fmt.Sprint(v...)) }
func (g raftLogger) Debugf(f string, v ...any)   { g.l.Debug(fmt.Sprintf(f, v...)) }
func (g raftLogger) Info(v ...any)               { g.l.Info(fmt.Sprint(v...)) }
func (g raftLogger) Infof(f string, v ...any)    { g.l.Info(fmt.Sprintf(f, v...)) }
func (g raftLogger) Warning(v ...any)            { g.l.Warn(fmt.Sprint(v...)) }
func (g raftLogger) Warningf(f string, v ...any) { g.l.Warn(fmt.Sprintf(f, v...)) }
func (g raftLogger) Error(v ...any)              { g.l.Error(fmt.Sprint(v...)) }
func (g raftLogger) Errorf(f string, v ...any)   { g.l.Error(fmt.Sprintf(f, v...)) }
func (g raftLogger) Fatal(v ...any)              { g.l.Error(fmt.Sprint(v...)); panic(fmt.Sprint(v...)) }
func (g raftLogger) Fatalf(f string, v ...any)   { g.Fatal(fmt.Sprintf(f, v...)) }
func (g raftLogger) Panic(v ...any)              { panic(fmt.Sprint(v...)) }
func (g raftLogger) Panicf(f string, v ...any)   { panic(fmt.Sprintf(f, v...)) }
