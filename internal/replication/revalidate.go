package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/wait"
)

// ErrNoLeader is returned by a request that only the leader can answer while
// no leader is known, or when the member asked is no longer the leader.
var ErrNoLeader = errors.New("replication: no leader")

// SessionValidator decides, where sessions are expired, whether a client may
// resume a session, and makes the resuming connection's timeout the session's
// (ZooKeeper's touchSession on the leader, asked by a follower's REVALIDATE).
// An error means it cannot tell (it is not, or not yet, the leader).
type SessionValidator interface {
	RevalidateSession(id int64, timeout time.Duration) (bool, error)
}

// Revalidation messages: a follower asks the leader (kindRevalidate: request
// id, session id, timeout in ms; 20 bytes), the leader answers
// (kindRevalidated: request id, then revalidInvalid, revalidValid or
// revalidNotLeader; 9 bytes).
const (
	revalidInvalid   byte = 0
	revalidValid     byte = 1
	revalidNotLeader byte = 2
)

// revalidations are a follower's questions waiting for the leader's answer.
type revalidations struct {
	waits wait.Registry[byte]
	seq   atomic.Uint64
}

// RevalidateSession asks the leader whether session id may be resumed with
// timeout. On the leader it asks the state machine directly. A question the
// leader does not answer soon (it died, or a leader change is on) is asked
// again, of whoever is the leader by then, until ctx ends; asking twice is
// harmless (the leader only touches the session).
func (r *Raft) RevalidateSession(ctx context.Context, id int64, timeout time.Duration) (bool, error) {
	for {
		valid, err := r.revalidateOnce(ctx, id, timeout)
		if !errors.Is(err, errAskAgain) {
			return valid, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-r.stopc:
			return false, ErrStopped
		case <-time.After(r.cfg.TickInterval):
		}
	}
}

// errAskAgain: the leader did not answer in time, or there was none.
var errAskAgain = errors.New("replication: ask the leader again")

// revalidateAttempt bounds how long one question waits for the leader.
const revalidateAttempt = 250 * time.Millisecond

func (r *Raft) revalidateOnce(ctx context.Context, id int64, timeout time.Duration) (bool, error) {
	l := r.leader.Load()
	if l == 0 {
		return false, errAskAgain
	}
	if l == r.cfg.ID || r.net == nil {
		valid, err := r.sm.RevalidateSession(id, timeout)
		if err != nil && r.net != nil {
			// Not the leader after all (it was deposed meanwhile), or it
			// could not confirm its leadership: ask whoever leads next.
			r.log.Debug("the leader's state machine cannot decide on a session; asking again", "session", id, "err", err)
			return false, errAskAgain
		}
		return valid, err
	}
	rv := &r.reval
	req := rv.seq.Add(1)
	ch := rv.waits.Register(req)
	defer rv.waits.Cancel(req)
	var b [20]byte
	binary.BigEndian.PutUint64(b[0:], req)
	binary.BigEndian.PutUint64(b[8:], uint64(id))
	binary.BigEndian.PutUint32(b[16:], uint32(timeout.Milliseconds()))
	if !r.net.Send(l, kindRevalidate, b[:]) {
		return false, errAskAgain
	}
	t := time.NewTimer(revalidateAttempt)
	defer t.Stop()
	select {
	case v := <-ch:
		if v == revalidNotLeader {
			return false, errAskAgain
		}
		return v == revalidValid, nil
	case <-t.C:
		return false, errAskAgain
	case <-ctx.Done():
		return false, ctx.Err()
	case <-r.stopc:
		return false, ErrStopped
	}
}

// answerRevalidate runs on the leader for a follower's question. The state
// machine may have to catch up to decide, so it runs off the transport's
// goroutine.
func (r *Raft) answerRevalidate(from uint64, payload []byte) {
	if len(payload) != 20 {
		return
	}
	req := payload[:8]
	id := int64(binary.BigEndian.Uint64(payload[8:]))
	timeout := time.Duration(binary.BigEndian.Uint32(payload[16:])) * time.Millisecond
	go func() {
		v := revalidNotLeader
		if r.IsLeader() {
			switch ok, err := r.sm.RevalidateSession(id, timeout); {
			case err != nil:
			case ok:
				v = revalidValid
			default:
				v = revalidInvalid
			}
		}
		r.net.Send(from, kindRevalidated, append(append(make([]byte, 0, 9), req...), v))
	}()
}

// revalidated delivers the leader's answer to the waiting question.
func (r *Raft) revalidated(payload []byte) {
	if len(payload) != 9 {
		return
	}
	r.reval.waits.Trigger(binary.BigEndian.Uint64(payload), payload[8])
}
