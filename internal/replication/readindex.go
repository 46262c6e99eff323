package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
)

// ReadIndex waits until the local state reflects every entry committed before
// the call (raft's ReadIndex, then local apply up to the read index). Its
// success does not prove that this member still leads: a deposed leader that
// has learnt of its successor forwards the read index to it (session.Keeper
// checks its term afterwards for that reason).
//
// Concurrent calls share one raft read index, as etcd's linearizable reads
// do: a call joins the batch that has not been sent to raft yet, and one
// goroutine sends a batch as soon as the previous one is answered. Every
// caller's batch is sent after the caller arrived, so each read index covers
// everything committed before its callers' calls.
func (r *Raft) ReadIndex(ctx context.Context) error {
	b := r.reads.join(r.readLoop)
	select {
	case <-b.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopc:
		return ErrStopped
	}
	if b.err != nil {
		return b.err
	}
	return r.waitApplied(ctx, b.index)
}

// readBatch is one raft read index shared by the calls that joined it.
type readBatch struct {
	done  chan struct{} // closed once index or err is set
	index uint64
	err   error
}

// readBatches holds the batch being gathered and whether a loop sends them.
type readBatches struct {
	mu      sync.Mutex
	next    *readBatch
	sending bool
}

// join returns the batch being gathered, starting loop to send it if none
// runs.
func (q *readBatches) join(loop func()) *readBatch {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next == nil {
		q.next = &readBatch{done: make(chan struct{})}
	}
	b := q.next
	if !q.sending {
		q.sending = true
		go loop()
	}
	return b
}

// take hands the gathered batch to the loop, or ends the loop if there is none.
func (q *readBatches) take() *readBatch {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.next
	q.next = nil
	if b == nil {
		q.sending = false
	}
	return b
}

// readRetry is how long a read index may go unanswered before it is asked
// again: raft drops a read index silently when there is no leader or the
// leader changes while it is in flight.
const readRetry = 500 * time.Millisecond

// errReadUnconfirmed: no leader confirmed a read index in time.
var errReadUnconfirmed = errors.New("replication: no leader confirmed a read index")

// readLoop sends gathered batches to raft one at a time.
func (r *Raft) readLoop() {
	for b := r.reads.take(); b != nil; b = r.reads.take() {
		b.index, b.err = r.readOnce()
		close(b.done)
	}
}

// readOnce asks raft for a read index until one is answered, the log stops,
// or two election timeouts pass.
func (r *Raft) readOnce() (uint64, error) {
	give := time.NewTimer(2 * time.Duration(r.cfg.ElectionTicks) * r.cfg.TickInterval)
	defer give.Stop()
	for {
		id := r.readSeq.Add(1)
		ch := r.readWaits.Register(id)
		var rctx [8]byte
		binary.BigEndian.PutUint64(rctx[:], id)
		ctx, cancel := context.WithTimeout(context.Background(), readRetry)
		err := r.node.ReadIndex(ctx, rctx[:])
		if err == nil {
			select {
			case index := <-ch:
				cancel()
				r.readWaits.Cancel(id)
				return index, nil
			case <-ctx.Done():
			case <-give.C:
				err = errReadUnconfirmed
			case <-r.stopc:
				err = ErrStopped
			}
		}
		cancel()
		r.readWaits.Cancel(id)
		switch {
		case errors.Is(err, raft.ErrStopped), errors.Is(err, ErrStopped):
			return 0, ErrStopped
		case errors.Is(err, errReadUnconfirmed):
			return 0, err
		}
		select {
		case <-give.C:
			return 0, errReadUnconfirmed
		case <-r.stopc:
			return 0, ErrStopped
		default:
		}
	}
}

// deliverRead hands a read index raft confirmed to the batch waiting for it.
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
