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
	reqID  uint64    // of a write
	err    proto.Err // kindReply
	close  bool      // close the connection after this reply
	start  time.Time
}

// conn is one client connection. Its reader, processor and writer goroutines
// are described in the package comment.
type conn struct {
	s      *Server
	nc     net.Conn
	in     idleReader
	br     *bufio.Reader // reads c.in
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
	writes    writes // proposed and not yet applied (retry.go)

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
		pending: make(chan *item, s.opts.MaxOutstanding),
		done:    make(chan struct{}),
		created: time.Now(),
		auth:    []proto.ID{acl.IPIdentity(nc.RemoteAddr().String())},
	}
	c.in.nc = nc
	c.br = bufio.NewReaderSize(&c.in, 16<<10)
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
		switch reason {
		case "connection ended", "session closed", "server closing":
			c.log.Debug("closing connection", "reason", reason, "session", fmt.Sprintf("0x%x", c.sessionID()))
		default:
			// As ZooKeeper logs the sockets it closes, at info.
			c.log.Info("closing connection", "reason", reason, "session", fmt.Sprintf("0x%x", c.sessionID()))
		}
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

// idleReader reads a connection with a deadline renewed before every read,
// so a connection is closed after a time of silence however slowly it
// sends, as ZooKeeper's connection expiry is refreshed by every read.
type idleReader struct {
	nc   net.Conn
	idle atomic.Int64 // nanoseconds; 0: no deadline
}

func (r *idleReader) setIdle(d time.Duration) { r.idle.Store(int64(d)) }

func (r *idleReader) Read(p []byte) (int, error) {
	if d := r.idle.Load(); d > 0 {
		r.nc.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	return r.nc.Read(p)
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
	c.in.setIdle(c.idleLimit())
	for {
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
		c.s.rep.Sessions().Touch(c.sessionID(), it.start)
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

func (c *conn) submit(it *item, e *fsm.Entry, closing bool) bool {
	c.writeSeq++
	e.Conn, e.Seq = c.writeConn, c.writeSeq
	var before func(uint64)
	if closing {
		// Known before the entry can apply, so that apply recognises the
		// connection closing its own session and leaves the reply to it.
		before = func(id uint64) { c.closingReq.Store(id) }
	}
	ch, err := c.submitWrite(e, before)
	if errors.Is(err, replication.ErrDiskFailed) {
		it.kind, it.err, it.close = kindReply, proto.ErrNotReadOnly, closing
		return true
	}
	if err != nil {
		c.log.Warn("cannot submit write; closing", "op", e.Op.String(), "err", err)
		return false
	}
	it.close = closing
	it.kind, it.result, it.reqID = kindWrite, ch, e.ReqID
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
		// ZooKeeper answers a ping with the ping xid, whatever was sent.
		hdr.Xid, hdr.Zxid = proto.XidPing, c.s.rep.Zxid()
	case kindReply:
		hdr.Err = it.err
		switch {
		case it.err == proto.ErrUnimplemented:
			hdr.Zxid = -1
		case it.hdr.Type != proto.OpAuth:
			hdr.Zxid = c.s.rep.Zxid()
		}
	case kindWrite:
		var res fsm.Result
		timer := time.NewTimer(c.timeout)
		select {
		case res = <-it.result:
			timer.Stop()
			c.applied(it.reqID)
		case <-c.done:
			timer.Stop()
			return false
		case <-timer.C:
			// The proposal was lost for good: the client sees a connection
			// loss and retries elsewhere.
			c.logLostWrite(it.reqID)
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
	if !c.out.reply(func(w *jute.Writer) {
		hdr.Encode(w)
		if hdr.Err == proto.ErrOK && resp != nil {
			resp.Encode(w)
		}
	}) {
		c.overflow()
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
	c.lastOp.Store(it.hdr.Type.Abbrev())
	if it.hdr.Xid >= 0 {
		c.lastCxid.Store(it.hdr.Xid)
	}
	c.lastZxid.Store(hdr.Zxid)
	c.lastResp.Store(time.Now().UnixMilli())
	c.lastLat.Store(lat.Milliseconds())
}

// overflow closes a connection whose client does not read what it is sent.
func (c *conn) overflow() {
	c.log.Warn("closing a connection whose client does not read its replies and events",
		"session", fmt.Sprintf("0x%x", c.sessionID()), "limit", eventLimit)
	c.shutdown("output queue overflow")
}

// sendEvent queues a watch notification. Called from apply.
func (c *conn) sendEvent(zxid int64, ev *proto.WatcherEvent) {
	hdr := proto.ReplyHeader{Xid: proto.XidNotification, Zxid: zxid}
	if c.out.event(func(w *jute.Writer) {
		hdr.Encode(w)
		ev.Encode(w)
	}) {
		go c.overflow()
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
			c.out.written(b)
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
