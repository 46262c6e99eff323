package replication

import (
	"context"
	"encoding/binary"
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
	// LeaderChanged is called on the apply goroutine when the known leader
	// changes (0: none known).
	LeaderChanged(leader uint64, isLeader bool)
	// Touched tells the leader's state machine that a follower heard from
	// these sessions.
	Touched(ids []int64)
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
	snapIndex            uint64
	snapping             bool
	confState            raftpb.ConfState
	snapDone             chan snapResult

	appliedMu   sync.Mutex
	appliedCond *sync.Cond
	appliedPub  uint64 // applied index published to ReadIndex waiters

	readMu    sync.Mutex
	readWaits map[uint64]chan uint64
	readSeq   atomic.Uint64

	// replayed is closed once the entries committed before start-up are
	// applied: until then the state is older than what clients have seen.
	replayed    chan struct{}
	startCommit uint64

	stopc chan struct{}
	done  chan struct{}
	once  sync.Once
}

type snapResult struct {
	meta raftpb.SnapshotMetadata
	path string
	err  error
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
		storage:   raft.NewMemoryStorage(),
		failedc:   make(chan struct{}),
		snapDone:  make(chan snapResult, 1),
		readWaits: make(map[uint64]chan uint64),
		replayed:  make(chan struct{}),
		stopc:     make(chan struct{}),
		done:      make(chan struct{}),
	}
	r.appliedCond = sync.NewCond(&r.appliedMu)
	var err error
	if r.snaps, err = snap.New(cfg.SnapDir, snap.Options{Logger: cfg.Logger, NoSync: cfg.NoSync}); err != nil {
		return nil, fmt.Errorf("replication: snapshot store: %w", err)
	}
	walOpts := wal.Options{NoSync: cfg.NoSync, PreallocSize: cfg.PreAllocSize, SegmentSize: cfg.SegmentSize, Logger: cfg.Logger}
	rc := &raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   r.storage,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           256,
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

// bootstrap writes the initial membership as the first log entries, the same
// on every member, so that all logs agree from index 1.
func (r *Raft) bootstrap(opts wal.Options) error {
	meta := make([]byte, 8)
	binary.BigEndian.PutUint64(meta, r.cfg.ID)
	w, err := wal.Create(r.cfg.WALDir, meta, opts)
	if err != nil {
		return fmt.Errorf("replication: creating log in %s: %w", r.cfg.WALDir, err)
	}
	ents := make([]raftpb.Entry, 0, len(r.cfg.Members))
	for i, m := range r.cfg.Members {
		cc := raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: m.ID}
		if m.Learner {
			cc.Type = raftpb.ConfChangeAddLearnerNode
		}
		data, err := cc.Marshal()
		if err != nil {
			return err
		}
		ents = append(ents, raftpb.Entry{Type: raftpb.EntryConfChange, Term: 1, Index: uint64(i + 1), Data: data})
	}
	hs := raftpb.HardState{Term: 1, Commit: uint64(len(ents))}
	if err := w.Save(hs, ents); err != nil {
		w.Close()
		return fmt.Errorf("replication: bootstrapping log: %w", err)
	}
	r.wal = w
	if err := r.storage.Append(ents); err != nil {
		return err
	}
	return r.storage.SetHardState(hs)
}

// recover loads the newest snapshot and the log after it.
func (r *Raft) recover(opts wal.Options) error {
	start := time.Now()
	meta, payload, err := r.snaps.Load()
	var after wal.Snapshot
	switch {
	case errors.Is(err, snap.ErrNoSnapshot):
	case err != nil:
		return fmt.Errorf("replication: loading snapshot: %w", err)
	default:
		if err := r.sm.Restore(payload); err != nil {
			return fmt.Errorf("replication: restoring snapshot at index %d: %w", meta.Index, err)
		}
		if err := r.storage.ApplySnapshot(raftpb.Snapshot{Metadata: meta}); err != nil {
			return err
		}
		after = wal.Snapshot{Index: meta.Index, Term: meta.Term}
		r.applied, r.appliedTerm, r.snapIndex = meta.Index, meta.Term, meta.Index
		r.confState = meta.ConfState
		r.noteMembership()
		r.log.Info("restored snapshot", "index", meta.Index, "term", meta.Term, "bytes", len(payload), "took", time.Since(start))
	}
	w, err := wal.Open(r.cfg.WALDir, opts)
	if err != nil {
		return fmt.Errorf("replication: opening log in %s: %w", r.cfg.WALDir, err)
	}
	_, hs, ents, err := w.ReadAll(after)
	if err != nil {
		w.Close()
		return fmt.Errorf("replication: reading log in %s: %w", r.cfg.WALDir, err)
	}
	r.wal = w
	if err := r.storage.Append(ents); err != nil {
		return err
	}
	if err := r.storage.SetHardState(hs); err != nil {
		return err
	}
	r.startCommit = hs.Commit
	r.publishApplied(r.applied)
	r.log.Info("log recovered", "entries", len(ents), "commit", hs.Commit, "term", hs.Term, "took", time.Since(start))
	return nil
}

func (r *Raft) run() {
	defer close(r.done)
	ticker := time.NewTicker(r.cfg.TickInterval)
	defer ticker.Stop()
	ticks := 0
	for {
		select {
		case <-ticker.C:
			r.node.Tick()
			r.maybeCampaign()
			r.checkLeaderSilence()
			if ticks++; ticks%reportEvery == 0 {
				r.reportLastIndex()
			}
		case rd := <-r.node.Ready():
			if err := r.handleReady(rd); err != nil {
				r.fail(err)
				r.node.Stop()
				return
			}
			r.node.Advance()
		case res := <-r.snapDone:
			if err := r.finishSnapshot(res); err != nil {
				r.fail(err)
				r.node.Stop()
				return
			}
		case <-r.stopc:
			r.node.Stop()
			return
		}
	}
}

// handleReady follows the raft contract: persist the snapshot, entries and hard
// state (fsync) before sending messages or applying, then apply committed
// entries in order.
func (r *Raft) handleReady(rd raft.Ready) error {
	if rd.SoftState != nil {
		prev := r.leader.Swap(rd.SoftState.Lead)
		if prev != rd.SoftState.Lead {
			r.heardLeader.Store(time.Now().UnixNano())
			r.log.Info("leader changed", "leader", rd.SoftState.Lead, "self", r.cfg.ID, "state", rd.SoftState.RaftState.String())
			r.sm.LeaderChanged(rd.SoftState.Lead, rd.SoftState.Lead == r.cfg.ID)
		}
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := r.installSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	if err := r.wal.Save(rd.HardState, rd.Entries); err != nil {
		return fmt.Errorf("replication: persisting log: %w", err)
	}
	if err := r.storage.Append(rd.Entries); err != nil {
		return fmt.Errorf("replication: memory storage: %w", err)
	}
	if r.net != nil && len(rd.Messages) > 0 {
		r.send(rd.Messages)
	}
	for _, rs := range rd.ReadStates {
		r.deliverRead(rs)
	}
	if err := r.apply(rd.CommittedEntries); err != nil {
		return err
	}
	r.maybeCampaign()
	r.maybeSnapshot()
	return nil
}

// maybeCampaign makes the only voter of a group elect itself as soon as it knows
// the membership, instead of waiting out an election timeout.
func (r *Raft) maybeCampaign() {
	if r.leader.Load() != 0 || r.campaigning.Load() {
		return
	}
	if len(r.confState.Voters) != 1 || r.confState.Voters[0] != r.cfg.ID {
		return
	}
	// Raft ignores the campaign while the membership entries are not yet
	// acknowledged as applied; it is retried every tick until a leader exists.
	r.campaigning.Store(true)
	go func() {
		defer r.campaigning.Store(false)
		if err := r.node.Campaign(context.Background()); err != nil && !errors.Is(err, raft.ErrStopped) {
			r.log.Warn("campaign failed", "err", err)
		}
	}()
}

// installSnapshot handles a snapshot received from the leader. The payload
// travels in the raft message (see the transport).
func (r *Raft) installSnapshot(s raftpb.Snapshot) error {
	if _, err := r.snaps.Save(s.Metadata, func(w io.Writer) error {
		_, err := w.Write(s.Data)
		return err
	}); err != nil {
		return fmt.Errorf("replication: saving received snapshot: %w", err)
	}
	if err := r.wal.SaveSnapshot(wal.Snapshot{Index: s.Metadata.Index, Term: s.Metadata.Term}); err != nil {
		return fmt.Errorf("replication: persisting log: %w", err)
	}
	if err := r.storage.ApplySnapshot(s); err != nil {
		return fmt.Errorf("replication: memory storage: %w", err)
	}
	if err := r.sm.Restore(s.Data); err != nil {
		return fmt.Errorf("replication: restoring received snapshot: %w", err)
	}
	r.applied, r.appliedTerm, r.snapIndex = s.Metadata.Index, s.Metadata.Term, s.Metadata.Index
	r.confState = s.Metadata.ConfState
	r.noteMembership()
	r.publishApplied(r.applied)
	return nil
}

func (r *Raft) apply(ents []raftpb.Entry) error {
	for _, e := range ents {
		if e.Index <= r.applied {
			continue
		}
		switch e.Type {
		case raftpb.EntryNormal:
			if len(e.Data) > 0 {
				r.sm.Apply(e.Term, e.Index, e.Data)
			}
		case raftpb.EntryConfChange:
			var cc raftpb.ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("replication: bad conf change at %d: %w", e.Index, err)
			}
			r.confState = *r.node.ApplyConfChange(cc)
			r.noteMembership()
		case raftpb.EntryConfChangeV2:
			var cc raftpb.ConfChangeV2
			if err := cc.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("replication: bad conf change at %d: %w", e.Index, err)
			}
			r.confState = *r.node.ApplyConfChange(cc)
			r.noteMembership()
		}
		r.applied, r.appliedTerm = e.Index, e.Term
	}
	if len(ents) > 0 {
		r.publishApplied(r.applied)
	}
	return nil
}

// Replayed is closed once the entries committed before start-up are applied.
func (r *Raft) Replayed() <-chan struct{} { return r.replayed }

func (r *Raft) publishApplied(i uint64) {
	if i >= r.startCommit {
		select {
		case <-r.replayed:
		default:
			close(r.replayed)
		}
	}
	r.appliedMu.Lock()
	r.appliedPub = i
	r.appliedMu.Unlock()
	r.appliedCond.Broadcast()
}

// maybeSnapshot starts a background snapshot every SnapCount entries.
func (r *Raft) maybeSnapshot() {
	if r.snapping || r.applied-r.snapIndex < r.cfg.SnapCount {
		return
	}
	r.snapping = true
	meta := raftpb.SnapshotMetadata{Index: r.applied, Term: r.appliedTerm, ConfState: r.confState}
	begin := time.Now()
	s := r.sm.BeginSnapshot()
	pause := time.Since(begin)
	go func() {
		start := time.Now()
		path, err := r.snaps.Save(meta, func(w io.Writer) error {
			_, err := s.WriteTo(w)
			return err
		})
		s.Close()
		if err == nil {
			r.log.Info("snapshot written", "index", meta.Index, "file", path, "took", time.Since(start), "applyPause", pause)
		}
		r.snapDone <- snapResult{meta: meta, path: path, err: err}
	}()
}

func (r *Raft) finishSnapshot(res snapResult) error {
	r.snapping = false
	if res.err != nil {
		return fmt.Errorf("replication: writing snapshot at index %d: %w", res.meta.Index, res.err)
	}
	if err := r.wal.SaveSnapshot(wal.Snapshot{Index: res.meta.Index, Term: res.meta.Term}); err != nil {
		return fmt.Errorf("replication: persisting log: %w", err)
	}
	cs := res.meta.ConfState
	if _, err := r.storage.CreateSnapshot(res.meta.Index, &cs, nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		return fmt.Errorf("replication: memory storage: %w", err)
	}
	// Entries stay in memory behind the snapshot so that a slightly lagging
	// follower catches up from the log rather than from a snapshot.
	if keep := r.cfg.CompactKeep; res.meta.Index > keep {
		if err := r.storage.Compact(res.meta.Index - keep); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return fmt.Errorf("replication: compacting: %w", err)
		}
	}
	r.snapIndex = res.meta.Index
	if removed, err := r.snaps.Purge(r.cfg.SnapRetain); err != nil {
		r.log.Warn("could not purge old snapshots", "err", err)
	} else if len(removed) > 0 {
		r.log.Info("purged old snapshots", "files", removed)
	}
	// Keep the log behind the oldest snapshot kept, so that start-up can fall
	// back to it if a newer one turns out damaged.
	if oldest := r.oldestSnapshot(); oldest > 0 {
		if err := r.wal.ReleaseTo(oldest); err != nil {
			r.log.Warn("could not release old log segments", "err", err)
		}
	}
	return nil
}

// oldestSnapshot returns the index of the oldest sound snapshot on disk.
func (r *Raft) oldestSnapshot() uint64 {
	infos, err := r.snaps.List()
	if err != nil {
		return 0
	}
	var oldest uint64
	for _, in := range infos {
		if in.Err == nil && (oldest == 0 || in.Index < oldest) {
			oldest = in.Index
		}
	}
	return oldest
}

func (r *Raft) fail(err error) {
	r.log.Error("log storage failed: refusing writes from now on; reads are still served", "err", err)
	r.failed.Store(&err)
	close(r.failedc)
}

// Failed is closed when the log storage has failed.
func (r *Raft) Failed() <-chan struct{} { return r.failedc }

// Err returns the storage failure, if any.
func (r *Raft) Err() error {
	if p := r.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// Propose submits an entry.
func (r *Raft) Propose(ctx context.Context, data []byte) error {
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrDiskFailed, err)
	}
	if err := r.node.Propose(ctx, data); err != nil {
		if errors.Is(err, raft.ErrStopped) {
			return ErrStopped
		}
		return err
	}
	return nil
}

// ReadIndex waits until the local state reflects every entry committed before
// the call (raft's ReadIndex, then local apply up to the read index).
func (r *Raft) ReadIndex(ctx context.Context) error {
	id := r.readSeq.Add(1)
	ch := make(chan uint64, 1)
	r.readMu.Lock()
	r.readWaits[id] = ch
	r.readMu.Unlock()
	defer func() {
		r.readMu.Lock()
		delete(r.readWaits, id)
		r.readMu.Unlock()
	}()
	var rctx [8]byte
	binary.BigEndian.PutUint64(rctx[:], id)
	if err := r.node.ReadIndex(ctx, rctx[:]); err != nil {
		return err
	}
	var index uint64
	select {
	case index = <-ch:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopc:
		return ErrStopped
	}
	return r.waitApplied(ctx, index)
}

func (r *Raft) deliverRead(rs raft.ReadState) {
	if len(rs.RequestCtx) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(rs.RequestCtx)
	r.readMu.Lock()
	ch := r.readWaits[id]
	r.readMu.Unlock()
	if ch != nil {
		select {
		case ch <- rs.Index:
		default:
		}
	}
}

func (r *Raft) waitApplied(ctx context.Context, index uint64) error {
	stop := context.AfterFunc(ctx, func() {
		r.appliedMu.Lock()
		r.appliedCond.Broadcast()
		r.appliedMu.Unlock()
	})
	defer stop()
	r.appliedMu.Lock()
	defer r.appliedMu.Unlock()
	for r.appliedPub < index {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.appliedCond.Wait()
	}
	return nil
}

// IsLeader reports whether this member is the raft leader.
func (r *Raft) IsLeader() bool { return r.leader.Load() == r.cfg.ID }

// Leader returns the known leader's id, 0 if none.
func (r *Raft) Leader() uint64 { return r.leader.Load() }

// Step hands a message from a peer to the raft node.
func (r *Raft) Step(ctx context.Context, m raftpb.Message) error { return r.node.Step(ctx, m) }

func (r *Raft) newNetwork() (Network, error) {
	if r.cfg.NewNetwork != nil {
		return r.cfg.NewNetwork(r)
	}
	t, err := transport.New(transport.Config{
		ID: r.cfg.ID, ListenAddr: r.cfg.ListenAddr, Peers: r.cfg.Peers, ClusterID: r.cfg.ClusterID, Logger: r.cfg.Logger,
	}, r)
	if err != nil {
		return nil, err
	}
	t.Start()
	return t, nil
}

// send hands raft's messages to the transport. A snapshot message gets the
// snapshot file's payload attached here: the in-memory raft storage keeps only
// the metadata.
func (r *Raft) send(msgs []raftpb.Message) {
	for i := range msgs {
		m := &msgs[i]
		if m.Type == raftpb.MsgSnap {
			payload, err := r.snapshotPayload(m.Snapshot.Metadata.Index)
			if err != nil {
				r.log.Warn("cannot send snapshot", "to", m.To, "index", m.Snapshot.Metadata.Index, "err", err)
				r.node.ReportSnapshot(m.To, raft.SnapshotFailure)
				continue
			}
			m.Snapshot.Data = payload
		}
		b, err := m.Marshal()
		if err != nil {
			r.log.Error("cannot marshal raft message", "err", err)
			continue
		}
		ok := r.net.Send(m.To, kindRaft, b)
		if !ok {
			r.node.ReportUnreachable(m.To)
		}
		if m.Type == raftpb.MsgSnap {
			status := raft.SnapshotFinish
			if !ok {
				status = raft.SnapshotFailure
			}
			r.node.ReportSnapshot(m.To, status)
		}
	}
}

func (r *Raft) snapshotPayload(index uint64) ([]byte, error) {
	infos, err := r.snaps.List()
	if err != nil {
		return nil, err
	}
	for _, in := range infos {
		if in.Index == index && in.Err == nil {
			_, payload, err := snap.ReadFile(in.Path)
			return payload, err
		}
	}
	return nil, fmt.Errorf("no snapshot file at index %d", index)
}

// Receive implements transport.Handler.
func (r *Raft) Receive(from uint64, kind byte, payload []byte) {
	switch kind {
	case kindRaft:
		var m raftpb.Message
		if err := m.Unmarshal(payload); err != nil {
			r.log.Warn("dropping undecodable raft message", "from", from, "err", err)
			return
		}
		if from == r.leader.Load() {
			r.heardLeader.Store(time.Now().UnixNano())
		}
		if m.Type == raftpb.MsgHeartbeat {
			// A member that lost its data (restarted with an empty data
			// directory) is told a commit index beyond its log by a leader
			// that still remembers its old progress; raft would panic. It
			// waits instead until the leader, told of its log (kindLastIdx),
			// gives way to a new term that starts its progress afresh.
			if last, err := r.storage.LastIndex(); err == nil && m.Commit > last {
				m.Commit = last
			}
		}
		// A forwarded proposal (MsgProp) waits inside raft while this member
		// knows no leader; it must not block the connection it came on, or the
		// messages behind it (a new leader's heartbeats) would never arrive. A
		// dropped proposal is allowed: its sender times out.
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TickInterval)
		err := r.node.Step(ctx, m)
		cancel()
		if err != nil && !errors.Is(err, raft.ErrStopped) {
			r.log.Debug("raft step failed", "from", from, "type", m.Type.String(), "err", err)
		}
	case kindLastIdx:
		if len(payload) == 8 {
			r.checkFollower(from, binary.BigEndian.Uint64(payload))
		}
	case kindSessions:
		ids := make([]int64, 0, len(payload)/8)
		for i := 0; i+8 <= len(payload); i += 8 {
			ids = append(ids, int64(binary.BigEndian.Uint64(payload[i:])))
		}
		r.sm.Touched(ids)
	}
}

// PeerLost implements transport.Handler. When the leader's connection breaks
// (its process died: the kernel resets the socket), followers forget it and one
// of them campaigns at once instead of waiting out an election timeout. They
// campaign in turn, by rank of id, so as not to split the vote; PreVote keeps a
// follower that is merely cut off from disturbing a healthy leader.
func (r *Raft) PeerLost(id uint64, err error) {
	if id == 0 || id != r.leader.Load() {
		return
	}
	if r.learner.Load() {
		// An observer cannot elect anyone: it forgets the leader (and stops
		// serving) until the new one reaches it.
		r.log.Info("lost the leader's connection", "leader", id, "err", err)
		r.node.ForgetLeader(context.Background())
		return
	}
	r.log.Info("lost the leader's connection; electing a new leader now", "leader", id, "err", err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.node.ForgetLeader(ctx); err != nil {
		return
	}
	rank := 0
	for _, p := range r.cfg.Peers {
		if p.ID != id && p.ID < r.cfg.ID {
			rank++
		}
	}
	time.AfterFunc(time.Duration(rank)*campaignStagger, func() {
		if l := r.leader.Load(); l == 0 || l == id {
			r.node.Campaign(context.Background())
		}
	})
}

// checkFollower runs on the leader when a follower reports its last log index.
// A follower whose log ends before what the leader believes it has lost its
// data; raft never lowers a follower's match index within a term, so the
// leader hands over leadership: the next leader starts every follower's
// progress afresh and brings this one up to date by log or snapshot.
func (r *Raft) checkFollower(from, last uint64) {
	if !r.IsLeader() {
		return
	}
	st := r.node.Status()
	pr, ok := st.Progress[from]
	if !ok || pr.Match <= last {
		return
	}
	now := time.Now()
	r.handoverMu.Lock()
	defer r.handoverMu.Unlock()
	if now.Sub(r.lastHandover) < 5*time.Second {
		return
	}
	var best uint64
	var bestMatch uint64
	for id, p := range st.Progress {
		if id == r.cfg.ID || id == from || p.IsLearner {
			continue
		}
		if p.Match > bestMatch {
			best, bestMatch = id, p.Match
		}
	}
	if best == 0 {
		r.log.Warn("a member lost its log but no other voter can take over to resync it", "member", from)
		return
	}
	r.lastHandover = now
	r.log.Warn("a member lost its log (restarted empty?); handing leadership over so it can be resynced",
		"member", from, "itsLastIndex", last, "expected", pr.Match, "newLeader", best)
	r.node.TransferLeadership(context.Background(), r.cfg.ID, best)
}

// reportLastIndex tells the leader how far this member's log goes (see
// checkFollower).
func (r *Raft) reportLastIndex() {
	l := r.leader.Load()
	if r.net == nil || l == 0 || l == r.cfg.ID {
		return
	}
	last, err := r.storage.LastIndex()
	if err != nil {
		return
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], last)
	r.net.Send(l, kindLastIdx, b[:])
}

// checkLeaderSilence makes an observer forget a leader it has not heard from for
// an election timeout (raft learners never campaign, so nothing else would):
// like a ZooKeeper observer, it then stops serving until a leader reaches it.
func (r *Raft) checkLeaderSilence() {
	if !r.learner.Load() || r.leader.Load() == 0 {
		return
	}
	silence := time.Since(time.Unix(0, r.heardLeader.Load()))
	if silence > 2*time.Duration(r.cfg.ElectionTicks)*r.cfg.TickInterval {
		r.log.Info("no word from the leader; forgetting it", "leader", r.leader.Load(), "silence", silence)
		r.heardLeader.Store(time.Now().UnixNano())
		go r.node.ForgetLeader(context.Background())
	}
}

// reportEvery is how many ticks apart a follower reports its last index.
const reportEvery = 5

// campaignStagger separates the campaigns of followers that lost their leader
// together.
const campaignStagger = 30 * time.Millisecond

// ReportSessions sends the ids of sessions this member heard from to the
// leader.
func (r *Raft) ReportSessions(ids []int64) {
	l := r.leader.Load()
	if r.net == nil || l == 0 || l == r.cfg.ID {
		return
	}
	b := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(b[8*i:], uint64(id))
	}
	r.net.Send(l, kindSessions, b)
}

func (r *Raft) noteMembership() {
	r.learner.Store(slices.Contains(r.confState.Learners, r.cfg.ID))
	r.voters.Store(int64(len(r.confState.Voters)))
}

// Voters returns the number of voting members (ZooKeeper's quorum size).
func (r *Raft) Voters() int { return int(r.voters.Load()) }

// IsLearner reports whether this member is a non-voting learner (an observer).
func (r *Raft) IsLearner() bool { return r.learner.Load() }

// Followers returns, on the leader, the number of learners (followers and
// observers), of voting followers, of voting followers that have every
// committed entry, and of observers that have.
func (r *Raft) Followers() (learners, followers, synced, syncedObservers int) {
	st := r.node.Status()
	for id, pr := range st.Progress {
		if id == r.cfg.ID {
			continue
		}
		learners++
		upToDate := pr.Match >= st.Commit
		switch {
		case pr.IsLearner && upToDate:
			syncedObservers++
		case !pr.IsLearner:
			followers++
			if upToDate {
				synced++
			}
		}
	}
	return learners, followers, synced, syncedObservers
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
