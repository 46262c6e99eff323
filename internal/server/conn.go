package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/acl"
	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication"
)

// maxQueuedBytes bounds a connection's unsent output; a client that reads
// slower than its events and replies arrive is disconnected.
const maxQueuedBytes = 64 << 20

type itemKind uint8

const (
	kindRead itemKind = iota
	kindWrite
	kindPing
	kindReply // a precomputed header-only reply (auth, unknown opcode, bad request)
)

// item is one request in a connection's FIFO pipeline.
type item struct {
	kind   itemKind
	hdr    proto.RequestHeader
	req    proto.Record
	auth   []proto.ID
	result <-chan fsm.Result
	err    proto.Err // kindReply
	close  bool      // close the connection after this reply
	start  time.Time
}

// conn is one client connection. Its reader, processor and writer goroutines
// are described in the package comment.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	id     uint64
	ip     string
	remote string
	log    *slog.Logger

	session    atomic.Int64
	timeout    time.Duration // negotiated; fixed after the handshake
	closingReq atomic.Uint64 // request id of this connection's closeSession
	local      bool          // a read-only server's unlogged session
	// writeConn and writeSeq sequence this connection's writes in the log (see
	// fsm.Entry.Conn); writeSeq is owned by the reader goroutine.
	writeConn uint64
	writeSeq  uint64

	authMu sync.Mutex
	auth   []proto.ID // replaced, never changed in place

	pending chan *item
	out     outbox
	done    chan struct{}
	ctx     context.Context // canceled when the connection closes
	cancel  context.CancelFunc
	once    sync.Once

	created  time.Time
	cstats   connStats
	lastOp   atomic.Value // string
	lastCxid atomic.Int32
	lastZxid atomic.Int64
	lastResp atomic.Int64 // ms since the epoch
	lastLat  atomic.Int64 // ms
}

func newConn(s *Server, nc net.Conn, id uint64, ip string) *conn {
	c := &conn{
		s: s, nc: nc, id: id, ip: ip, remote: nc.RemoteAddr().String(),
		br:      bufio.NewReaderSize(nc, 16<<10),
		pending: make(chan *item, s.opts.MaxOutstanding),
		done:    make(chan struct{}),
		created: time.Now(),
		auth:    []proto.ID{acl.IPIdentity(nc.RemoteAddr().String())},
	}
	c.log = s.log.With("conn", c.remote)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.writeConn = newConnID()
	c.out.init()
	c.cstats.reset()
	c.lastOp.Store("NA")
	return c
}

func (c *conn) sessionID() int64 { return c.session.Load() }

func (c *conn) authIDs() []proto.ID {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	return c.auth
}

func (c *conn) addAuth(ids []proto.ID) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	// Readers keep slices of the old length; appending never changes what they see.
	c.auth = acl.AddIDs(c.auth, ids...)
}

// shutdown closes the connection once; the goroutines notice and exit.
func (c *conn) shutdown(reason string) {
	c.once.Do(func() {
		c.log.Debug("closing connection", "reason", reason, "session", fmt.Sprintf("0x%x", c.sessionID()))
		close(c.done)
		c.cancel()
		c.out.close()
		c.nc.Close()
		c.s.forget(c)
	})
}

func (c *conn) serve() {
	ok, err := c.handshake()
	if err != nil {
		c.logReadErr("handshake", err)
	}
	if !ok {
		c.shutdown("connection ended")
		return
	}
	go c.writeLoop()
	go c.processLoop()
	if !c.readLoop() {
		c.shutdown("connection ended")
	}
}

func (c *conn) logReadErr(stage string, err error) {
	switch {
	case errors.Is(err, io.EOF):
		c.log.Debug("client closed the connection", "stage", stage)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Info("connection timed out; closing", "stage", stage)
	case errors.Is(err, net.ErrClosed):
	default:
		c.log.Warn("closing connection", "stage", stage, "err", err)
	}
}

// maxFrame is jute.maxbuffer: ZooKeeper closes a connection that announces a
// longer frame ("Len error").
func (c *conn) maxFrame() int { return c.s.opts.MaxBuffer }

// handshake reads the first frame: a four-letter word or a ConnectRequest. It
// reports whether the connection goes on to serve requests.
func (c *conn) handshake() (bool, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.s.opts.HandshakeTimeout))
	head, err := c.br.Peek(4)
	if err != nil {
		return false, err
	}
	if word := string(head); fourLetterWords[word] != nil {
		c.cstats.received.Add(1)
		c.s.fourLetter(word, c)
		return false, nil
	}
	frame, err := jute.ReadFrame(c.br, nil, c.maxFrame())
	if err != nil {
		return false, err
	}
	c.s.stats.received.Add(1)
	if !c.s.waitServing(c.s.opts.TickTime) {
		c.log.Info("refusing connection: no leader (LOOKING)")
		return false, nil
	}
	var req proto.ConnectRequest
	r := jute.NewReader(frame)
	req.Decode(r)
	if err := r.Err(); err != nil {
		return false, fmt.Errorf("malformed ConnectRequest: %w", err)
	}
	if req.ProtocolVersion != proto.ProtocolVersion {
		// ZooKeeper ignores the version too; note it for the operator.
		c.log.Info("client sent an unknown protocol version", "version", req.ProtocolVersion)
	}
	if req.LastZxidSeen > c.s.lastZxid() {
		// Behind the client: catch up with the leader if it is quick, else
		// refuse, as ZooKeeper does, so the client tries another server.
		ctx, cancel := context.WithTimeout(c.ctx, c.s.opts.TickTime)
		c.s.repl.ReadIndex(ctx)
		cancel()
		if z := c.s.lastZxid(); req.LastZxidSeen > z {
			c.log.Info("refusing session: client has seen a later zxid; it must try another server",
				"clientZxid", fmt.Sprintf("0x%x", req.LastZxidSeen), "ourZxid", fmt.Sprintf("0x%x", z))
			return false, nil
		}
	}
	timeout := time.Duration(req.TimeOut) * time.Millisecond
	timeout = min(max(timeout, c.s.opts.MinSessionTimeout), c.s.opts.MaxSessionTimeout)
	c.timeout = timeout
	resp := proto.ConnectResponse{HasReadOnly: req.HasReadOnly, TimeOut: int32(timeout.Milliseconds())}
	valid := true
	if c.s.readOnly() {
		// A server whose log failed serves reads only. As a read-only
		// ZooKeeper server, it refuses clients that do not accept one, and
		// gives those that do a local session that is never logged.
		if !req.ReadOnly {
			c.log.Info("refusing a client that does not accept a read-only server")
			return false, nil
		}
		resp.ReadOnly = true
		if req.SessionID == 0 || c.s.sessionFor(req.SessionID) == nil {
			req.SessionID, req.Passwd = c.s.ids.Next(), newPassword()
			c.local = true
		}
	}
	switch {
	case req.SessionID == 0:
		id, pw := c.s.ids.Next(), newPassword()
		res, err := c.proposeAndWait(&fsm.Entry{Op: proto.OpCreateSession, Session: id, Timeout: resp.TimeOut, Passwd: pw}, timeout)
		if err != nil {
			return false, fmt.Errorf("creating session: %w", err)
		}
		if res.Err != proto.ErrOK {
			return false, fmt.Errorf("creating session: %v", res.Err)
		}
		resp.SessionID, resp.Passwd = id, pw
	case c.local:
		resp.SessionID, resp.Passwd = req.SessionID, req.Passwd
	default:
		var err error
		if valid, err = c.resume(req.SessionID, req.Passwd, timeout); err != nil {
			return false, err
		}
		if valid {
			resp.SessionID, resp.Passwd = req.SessionID, req.Passwd
		}
	}
	if valid {
		// Bound before the client can learn its session id: a second
		// connection resuming the session must find this one to close it.
		c.bind(resp.SessionID)
		if _, ok := c.s.sessionInfo(resp.SessionID); !c.local && !ok {
			// Closed between the decision and the binding, too late for
			// sessionClosed to find this connection.
			c.unbind()
			valid = false
		}
	}
	if !valid {
		// ZooKeeper's answer to an expired session or a wrong password.
		resp.SessionID, resp.TimeOut, resp.Passwd = 0, 0, make([]byte, proto.PasswordLen)
		c.log.Info("session expired or invalid password", "session", fmt.Sprintf("0x%x", req.SessionID))
	}
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	resp.Encode(w)
	w.EndFrame(off)
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.nc.Write(w.Bytes()); err != nil {
		return false, err
	}
	c.s.stats.sent.Add(1)
	if !valid {
		return false, nil
	}
	c.log.Debug("session established", "session", fmt.Sprintf("0x%x", resp.SessionID), "timeout", timeout)
	return true, nil
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
	c.s.touch(id, time.Now())
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

// idleLimit is how long a connection may stay silent. A logged session is
// not ended by a silent connection: as in ZooKeeper, its expiry ends it (and
// then closes the connection), so that a client cannot keep a session alive
// by reconnecting without ever pinging. The limit is only a backstop for a
// connection whose session went on elsewhere. A read-only server's local
// session lives as long as its connection.
func (c *conn) idleLimit() time.Duration {
	if c.local {
		return c.timeout
	}
	return 2*c.timeout + 2*c.s.opts.TickTime
}

// readLoop reads requests until the connection fails (false: shut it down) or a
// request that ends the connection was queued (true: the writer closes it once
// the reply is out).
func (c *conn) readLoop() bool {
	var buf []byte
	r := jute.NewReader(nil)
	idle := c.idleLimit()
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		frame, err := jute.ReadFrame(c.br, buf, c.maxFrame())
		if err != nil {
			c.logReadErr("request", err)
			return false
		}
		if cap(frame) <= 64<<10 {
			buf = frame[:0] // decoded records copy what they keep
		}
		c.s.stats.received.Add(1)
		c.cstats.received.Add(1)
		r.Reset(frame)
		it := &item{start: time.Now()}
		it.hdr.Decode(r)
		if r.Err() != nil {
			c.log.Warn("malformed request header; closing", "len", len(frame))
			return false
		}
		c.s.touch(c.sessionID(), it.start)
		if !c.decode(r, it) {
			return false
		}
		select {
		case c.pending <- it:
		case <-c.done:
			return false
		}
		if it.close {
			return true
		}
	}
}

// decode turns a request frame into a pipeline item; false closes the connection.
func (c *conn) decode(r *jute.Reader, it *item) bool {
	op := it.hdr.Type
	switch op {
	case proto.OpPing:
		it.kind = kindPing
		return true
	case proto.OpAuth:
		return c.authenticate(r, it)
	case proto.OpCloseSession:
		if c.local {
			it.kind, it.err, it.close = kindReply, proto.ErrOK, true
			return true
		}
		return c.submit(it, &fsm.Entry{Op: op, Session: c.sessionID()}, true)
	case proto.OpWhoAmI:
		it.kind, it.auth = kindRead, c.authIDs()
		return true
	case proto.OpReconfig:
		// Dynamic reconfiguration is off, as with ZooKeeper's default
		// reconfigEnabled=false.
		it.kind, it.err = kindReply, proto.ErrReconfigDisabled
		return true
	}
	rec := proto.NewRequest(op)
	if rec == nil {
		// ZooKeeper answers UNIMPLEMENTED (with zxid -1) and closes.
		c.log.Warn("unknown opcode; closing", "op", int32(op), "xid", it.hdr.Xid)
		it.kind, it.err, it.close = kindReply, proto.ErrUnimplemented, true
		return true
	}
	rec.Decode(r)
	if err := r.Err(); err == nil {
		err = checkMulti(op, rec)
		if err != nil {
			r.Fail(err)
		}
	}
	if err := r.Err(); err != nil {
		c.log.Warn("malformed request", "op", op.String(), "xid", it.hdr.Xid, "err", err)
		it.kind, it.err = kindReply, proto.ErrMarshallingError
		return true
	}
	it.req = rec
	if proto.IsWrite(op) {
		return c.submit(it, &fsm.Entry{Op: op, Session: c.sessionID(), Auth: c.authIDs(), Req: rec}, false)
	}
	it.kind, it.auth = kindRead, c.authIDs()
	return true
}

// checkMulti rejects sub-operations of the wrong kind: multi takes writes,
// multiRead takes getData and getChildren.
func checkMulti(op proto.OpCode, rec proto.Record) error {
	m, ok := rec.(*proto.MultiRequest)
	if !ok {
		return nil
	}
	for _, sub := range m.Ops {
		read := sub.Type == proto.OpGetData || sub.Type == proto.OpGetChildren
		if read != (op == proto.OpMultiRead) {
			return fmt.Errorf("operation %v not allowed in %v", sub.Type, op)
		}
	}
	return nil
}

func (c *conn) submit(it *item, e *fsm.Entry, closing bool) bool {
	c.writeSeq++
	e.Conn, e.Seq = c.writeConn, c.writeSeq
	var before func(uint64)
	if closing {
		// Known before the entry can apply, so that apply recognises the
		// connection closing its own session and leaves the reply to it.
		before = func(id uint64) { c.closingReq.Store(id) }
	}
	_, ch, err := c.s.propose(c.ctx, e, before)
	if errors.Is(err, replication.ErrDiskFailed) {
		it.kind, it.err, it.close = kindReply, proto.ErrNotReadOnly, closing
		return true
	}
	if err != nil {
		c.log.Warn("cannot submit write; closing", "op", e.Op.String(), "err", err)
		return false
	}
	it.close = closing
	it.kind, it.result = kindWrite, ch
	return true
}

func (c *conn) authenticate(r *jute.Reader, it *item) bool {
	var ap proto.AuthPacket
	ap.Decode(r)
	it.kind = kindReply
	if r.Err() != nil {
		c.log.Warn("malformed auth packet; closing", "err", r.Err())
		it.err, it.close = proto.ErrAuthFailed, true
		return true
	}
	ids, err := acl.Authenticate(ap.Scheme, ap.Auth, c.s.opts.SuperDigest)
	if err != nil {
		c.log.Warn("authentication failed; closing", "scheme", ap.Scheme, "err", err)
		it.err, it.close = proto.ErrAuthFailed, true
		return true
	}
	c.addAuth(ids)
	it.err = proto.ErrOK
	return true
}

func (c *conn) processLoop() {
	for {
		select {
		case it := <-c.pending:
			if !c.process(it) {
				return
			}
		case <-c.done:
			return
		}
	}
}

// process answers one request; false ends the connection.
func (c *conn) process(it *item) bool {
	hdr := proto.ReplyHeader{Xid: it.hdr.Xid}
	var resp proto.Record
	switch it.kind {
	case kindPing:
		hdr.Zxid = c.s.lastZxid()
	case kindReply:
		hdr.Err = it.err
		switch {
		case it.err == proto.ErrUnimplemented:
			hdr.Zxid = -1
		case it.hdr.Type != proto.OpAuth:
			hdr.Zxid = c.s.lastZxid()
		}
	case kindWrite:
		var res fsm.Result
		timer := time.NewTimer(c.timeout)
		select {
		case res = <-it.result:
			timer.Stop()
		case <-c.done:
			timer.Stop()
			return false
		case <-timer.C:
			// The proposal was lost (no leader, or a leader change): the client
			// sees a connection loss and retries elsewhere.
			c.shutdown("write not applied within the session timeout")
			return false
		}
		if res.Err == proto.ErrSessionMoved {
			// An earlier write of this connection was lost or the session moved
			// on: ZooKeeper closes such a connection without a reply.
			c.shutdown("session moved or an earlier write was lost")
			return false
		}
		hdr.Zxid, hdr.Err = res.Zxid, res.Err
		if res.Err == proto.ErrOK {
			resp = res.Resp
		}
	case kindRead:
		hdr.Zxid, hdr.Err, resp = c.s.read(c, it)
	}
	c.recordReply(it, &hdr)
	if !c.out.frame(func(w *jute.Writer) {
		hdr.Encode(w)
		if hdr.Err == proto.ErrOK && resp != nil {
			resp.Encode(w)
		}
	}) {
		c.shutdown("output queue overflow")
		return false
	}
	if it.close {
		c.out.closeAfterFlush()
		return false
	}
	return true
}

func (c *conn) recordReply(it *item, hdr *proto.ReplyHeader) {
	lat := time.Since(it.start)
	c.s.stats.sent.Add(1)
	c.s.stats.observe(lat)
	c.cstats.sent.Add(1)
	c.cstats.observe(lat)
	c.lastOp.Store(opAbbrev(it.hdr.Type))
	if it.hdr.Xid >= 0 {
		c.lastCxid.Store(it.hdr.Xid)
	}
	c.lastZxid.Store(hdr.Zxid)
	c.lastResp.Store(time.Now().UnixMilli())
	c.lastLat.Store(lat.Milliseconds())
}

// sendEvent queues a watch notification. Called from apply.
func (c *conn) sendEvent(zxid int64, ev *proto.WatcherEvent) {
	hdr := proto.ReplyHeader{Xid: proto.XidNotification, Zxid: zxid}
	if !c.out.frame(func(w *jute.Writer) {
		hdr.Encode(w)
		ev.Encode(w)
	}) {
		go c.shutdown("output queue overflow")
	}
}

func (c *conn) writeLoop() {
	for {
		select {
		case <-c.out.wake:
		case <-c.done:
			return
		}
		b, closing := c.out.take()
		if len(b) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
			if _, err := c.nc.Write(b); err != nil {
				c.log.Debug("write failed; closing", "err", err)
				c.shutdown("write failed")
				return
			}
			c.out.recycle(b)
		}
		if closing {
			c.linger()
			c.shutdown("session closed")
			return
		}
	}
}

// lingerTimeout bounds how long a closing connection waits for its client to
// hang up after the last reply.
const lingerTimeout = time.Second

// linger ends a connection gracefully after its last reply: it half-closes
// (the client reads the reply, then end of stream) and discards what the
// client still sends until it hangs up. Closing at once, with requests still
// unread, would make the kernel reset the connection, and a reset can destroy
// the last reply before the client reads it. The reader goroutine has stopped
// reading by then.
func (c *conn) linger() {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return
	}
	tc.CloseWrite()
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.Copy(io.Discard, c.nc)
}

// outbox is a connection's queue of encoded frames, filled by the processor and
// by apply, drained by the writer in one write per wake-up.
type outbox struct {
	mu      sync.Mutex
	cur     *jute.Writer
	spare   []byte
	closed  bool
	closing bool
	wake    chan struct{}
}

func (o *outbox) init() {
	o.cur = jute.NewWriter(make([]byte, 0, 4096))
	o.wake = make(chan struct{}, 1)
}

// frame encodes one length-prefixed frame; false if the outbox is closed or full.
func (o *outbox) frame(fn func(w *jute.Writer)) bool {
	o.mu.Lock()
	if o.closed || o.closing {
		o.mu.Unlock()
		return !o.closed
	}
	off := o.cur.BeginFrame()
	fn(o.cur)
	o.cur.EndFrame(off)
	full := o.cur.Len() > maxQueuedBytes
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return !full
}

func (o *outbox) take() ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.cur.Bytes()
	o.cur = jute.NewWriter(o.spare[:0])
	o.spare = nil
	return b, o.closing
}

func (o *outbox) recycle(b []byte) {
	if cap(b) > 1<<20 {
		return
	}
	o.mu.Lock()
	if o.spare == nil {
		o.spare = b[:0]
	}
	o.mu.Unlock()
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

func (o *outbox) closeAfterFlush() {
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
