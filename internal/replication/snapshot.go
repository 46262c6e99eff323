package replication

import (
	"errors"
	"fmt"
	"io"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/replication/snap"
	"github.com/gozk/gozk/internal/replication/wal"
)

type snapResult struct {
	meta raftpb.SnapshotMetadata
	path string
	err  error
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
