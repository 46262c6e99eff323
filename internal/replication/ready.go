package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// run is the Ready loop: it ticks the node, persists and sends what each Ready
// holds, in the order raft requires, and applies committed entries.
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
			r.countFollowers()
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
	if !raft.IsEmptyHardState(rd.HardState) {
		// Before the soft state: the term a new leader leads in was saved
		// when it became a candidate, in this Ready or an earlier one.
		r.term = rd.HardState.Term
	}
	if rd.SoftState != nil {
		prev := r.leader.Swap(rd.SoftState.Lead)
		if prev != rd.SoftState.Lead {
			r.heardLeader.Store(time.Now().UnixNano())
			r.log.Info("leader changed", "leader", rd.SoftState.Lead, "self", r.cfg.ID, "state", rd.SoftState.RaftState.String())
			r.sm.LeaderChanged(rd.SoftState.Lead, r.term, rd.SoftState.Lead == r.cfg.ID)
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

func (r *Raft) publishApplied(i uint64) {
	if i >= r.startCommit {
		select {
		case <-r.replayed:
		default:
			close(r.replayed)
		}
	}
	r.appliedIndex.Advance(i)
}
