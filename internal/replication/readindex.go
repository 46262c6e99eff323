package replication

import (
	"context"
	"encoding/binary"

	"go.etcd.io/raft/v3"
)

// ReadIndex waits until the local state reflects every entry committed before
// the call (raft's ReadIndex, then local apply up to the read index).
func (r *Raft) ReadIndex(ctx context.Context) error {
	id := r.readSeq.Add(1)
	ch := r.readWaits.Register(id)
	defer r.readWaits.Cancel(id)
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

// deliverRead hands a read index raft confirmed to the ReadIndex call waiting
// for it.
func (r *Raft) deliverRead(rs raft.ReadState) {
	if len(rs.RequestCtx) != 8 {
		return
	}
	r.readWaits.Trigger(binary.BigEndian.Uint64(rs.RequestCtx), rs.Index)
}

func (r *Raft) waitApplied(ctx context.Context, index uint64) error {
	select {
	case <-r.appliedIndex.Wait(index):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopc:
		return ErrStopped
	}
}
