package server

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
)

// resume decides whether the client may resume session id, as ZooKeeper's
// reopenSession does: the password must match, and the session must still be
// alive where sessions are expired (the leader, asked by a follower as
// ZooKeeper's followers ask with REVALIDATE), even if its expiry has not been
// swept yet. The timeout the client just negotiated becomes the session's
// timeout, on every member. An error leaves the question open: the connection
// is closed without an answer and the client tries again.
func (c *conn) resume(id int64, passwd []byte, timeout time.Duration) (bool, error) {
	s := c.s
	wait := min(timeout, 2*time.Second)
	sess, ok := s.rep.Session(id)
	if !ok {
		// This server may not have applied the session's creation yet (it
		// was just made through another server): catch up with the leader
		// before calling it expired.
		ctx, cancel := context.WithTimeout(c.ctx, wait)
		if s.repl.ReadIndex(ctx) == nil {
			sess, ok = s.rep.Session(id)
		}
		cancel()
	}
	if !ok || !bytes.Equal(sess.Passwd, passwd) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, wait)
	valid, err := s.repl.RevalidateSession(ctx, id, timeout)
	cancel()
	if err != nil {
		return false, fmt.Errorf("revalidating session 0x%x: %w", id, err)
	}
	if !valid {
		return false, nil
	}
	ms := int32(timeout.Milliseconds())
	if sess.Timeout == ms {
		return true, nil
	}
	res, err := c.proposeAndWait(&fsm.Entry{Op: fsm.OpSetSessionTimeout, Session: id, Timeout: ms}, timeout)
	if err != nil {
		return false, fmt.Errorf("logging the new timeout of session 0x%x: %w", id, err)
	}
	return res.Err == proto.ErrOK, nil
}

// proposeAndWait proposes an entry of the handshake and waits up to d for it
// to be applied.
func (c *conn) proposeAndWait(e *fsm.Entry, d time.Duration) (fsm.Result, error) {
	ctx, cancel := context.WithTimeout(c.ctx, d)
	defer cancel()
	ch, err := c.s.propose(ctx, e, nil, true)
	if err != nil {
		c.s.rep.Forget(e.ReqID)
		return fsm.Result{}, err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		return fsm.Result{}, fmt.Errorf("%v not applied: %w", e.Op, ctx.Err())
	}
}
