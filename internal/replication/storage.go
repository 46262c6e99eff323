package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/replication/snap"
	"github.com/gozk/gozk/internal/replication/wal"
)

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
