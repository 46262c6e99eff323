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

// deliverRead hands a read index raft confirmed to the ReadIndex call waiting
// for it.
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
