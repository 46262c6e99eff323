package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// handshake reads the first frame: a four-letter word or a ConnectRequest. It
// reports whether the connection goes on to serve requests. An error, or
// false without an answer, closes the connection; the client tries again,
// elsewhere if it can.
func (c *conn) handshake() (bool, error) {
	req, ok, err := c.readConnect()
	if !ok || err != nil {
		return false, err
	}
	if !c.acceptable(req) {
		return false, nil
	}
	timeout := min(max(time.Duration(req.TimeOut)*time.Millisecond, c.s.opts.MinSessionTimeout), c.s.opts.MaxSessionTimeout)
	c.timeout = timeout
	resp := proto.ConnectResponse{HasReadOnly: req.HasReadOnly, TimeOut: int32(timeout.Milliseconds())}
	if c.s.readOnly() {
		// A server whose log failed serves reads only. As a read-only
		// ZooKeeper server, it refuses clients that do not accept one, and
		// gives those that do a local session that is never logged.
		if !req.ReadOnly {
			c.log.Info("refusing a client that does not accept a read-only server")
			return false, nil
		}
		resp.ReadOnly = true
		if req.SessionID == 0 || !c.s.rep.HasSession(req.SessionID) {
			req.SessionID, req.Passwd = c.s.ids.Next(), newPassword()
			c.local = true
		}
	}
	valid := true
	switch {
	case req.SessionID == 0:
		if resp.SessionID, resp.Passwd, err = c.createSession(timeout); err != nil {
			return false, err
		}
	case c.local:
		resp.SessionID, resp.Passwd = req.SessionID, req.Passwd
	default:
		if valid, err = c.resume(req.SessionID, req.Passwd, timeout); err != nil {
			return false, err
		}
		resp.SessionID, resp.Passwd = req.SessionID, req.Passwd
	}
	if valid {
		// Bound before the client can learn its session id: a second
		// connection resuming the session must find this one to close it.
		c.bind(resp.SessionID)
		if !c.local && !c.s.rep.HasSession(resp.SessionID) {
			// Closed between the decision and the binding, too late for
			// SessionsClosed to find this connection.
			c.unbind()
			valid = false
		}
	}
	if !valid {
		// ZooKeeper's answer to an expired session or a wrong password.
		resp.SessionID, resp.TimeOut, resp.Passwd = 0, 0, make([]byte, proto.PasswordLen)
		c.log.Info("session expired or invalid password", "session", fmt.Sprintf("0x%x", req.SessionID))
	}
	if err := c.sendConnectResponse(&resp); err != nil {
		return false, err
	}
	if valid {
		c.log.Debug("session established", "session", fmt.Sprintf("0x%x", resp.SessionID), "timeout", timeout)
	}
	return valid, nil
}

// readConnect reads the first frame. A four-letter word is answered here
// (ok false: the connection ends).
func (c *conn) readConnect() (req proto.ConnectRequest, ok bool, err error) {
	c.in.setIdle(c.s.opts.HandshakeTimeout)
	head, err := c.br.Peek(4)
	if err != nil {
		return req, false, err
	}
	if word := string(head); fourLetterWords[word] != nil {
		c.cstats.received.Add(1)
		c.s.fourLetter(word, c)
		return req, false, nil
	}
	frame, err := jute.ReadFrame(c.br, nil, c.maxFrame())
	if err != nil {
		return req, false, err
	}
	c.s.stats.received.Add(1)
	r := jute.NewReader(frame)
	req.Decode(r)
	if err := r.Err(); err != nil {
		return req, false, fmt.Errorf("malformed ConnectRequest: %w", err)
	}
	if req.ProtocolVersion != proto.ProtocolVersion {
		// ZooKeeper ignores the version too; note it for the operator.
		c.log.Info("client sent an unknown protocol version", "version", req.ProtocolVersion)
	}
	return req, true, nil
}

// acceptable reports whether this server may take the client now: it must
// know a leader, and have seen everything the client has.
func (c *conn) acceptable(req proto.ConnectRequest) bool {
	if t := c.s.opts.Throttle; t != nil && !t.Allow() {
		c.s.throttled.note(c.s.log)
		return false
	}
	if !c.s.waitServing(c.s.opts.TickTime) {
		c.log.Info("refusing connection: no leader (LOOKING)")
		return false
	}
	if req.LastZxidSeen <= c.s.rep.Zxid() {
		return true
	}
	// Behind the client: catch up with the leader if it is quick, else
	// refuse, as ZooKeeper does, so the client tries another server.
	ctx, cancel := context.WithTimeout(c.ctx, c.s.opts.TickTime)
	c.s.repl.ReadIndex(ctx)
	cancel()
	if z := c.s.rep.Zxid(); req.LastZxidSeen > z {
		c.log.Info("refusing session: client has seen a later zxid; it must try another server",
			"clientZxid", fmt.Sprintf("0x%x", req.LastZxidSeen), "ourZxid", fmt.Sprintf("0x%x", z))
		return false
	}
	return true
}

// createSession logs a new session and returns its id and password.
func (c *conn) createSession(timeout time.Duration) (int64, []byte, error) {
	id, pw := c.s.ids.Next(), newPassword()
	res, err := c.proposeAndWait(&fsm.Entry{Op: proto.OpCreateSession, Session: id, Timeout: int32(timeout.Milliseconds()), Passwd: pw}, timeout)
	if err != nil {
		return 0, nil, fmt.Errorf("creating session: %w", err)
	}
	if res.Err != proto.ErrOK {
		return 0, nil, fmt.Errorf("creating session: %v", res.Err)
	}
	return id, pw, nil
}

func (c *conn) sendConnectResponse(resp *proto.ConnectResponse) error {
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	resp.Encode(w)
	w.EndFrame(off)
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.nc.Write(w.Bytes()); err != nil {
		return err
	}
	c.s.stats.sent.Add(1)
	return nil
}

// bind makes c the connection of session id on this server, closing any older one.
func (c *conn) bind(id int64) {
	c.session.Store(id)
	c.s.connsMu.Lock()
	old := c.s.bySession[id]
	c.s.bySession[id] = c
	c.s.connsMu.Unlock()
	if old != nil && old != c {
		old.shutdown("session moved to a new connection")
	}
	c.s.rep.Sessions().Touch(id, time.Now())
}

// unbind undoes bind for a session that turned out to be closed.
func (c *conn) unbind() {
	id := c.session.Swap(0)
	c.s.connsMu.Lock()
	if c.s.bySession[id] == c {
		delete(c.s.bySession, id)
	}
	c.s.connsMu.Unlock()
}
