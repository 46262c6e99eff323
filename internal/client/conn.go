package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// DefaultPort is the port used for an address given without one.
const DefaultPort = "2181"

// DefaultMaxFrame is the default limit on the size of a frame from the server.
const DefaultMaxFrame = 4 << 20

var (
	// ErrClosed is returned for requests on a Conn that Close has closed.
	ErrClosed = fmt.Errorf("client: connection closed: %w", proto.ErrConnectionLoss)
	// ErrEmptyACL is returned, before anything is sent, for a nil or empty ACL
	// (the Java client's InvalidACLException without a path).
	ErrEmptyACL = fmt.Errorf("client: empty ACL: %w", proto.ErrInvalidACL)
	// ErrNoServer is returned by Dial when no address is given.
	ErrNoServer = errors.New("client: no server address")
)

// Option configures Dial.
type Option func(*options)

type options struct {
	log      *slog.Logger
	watcher  Watcher
	readOnly bool
	dial     func(ctx context.Context, addr string) (net.Conn, error)
	maxFrame int
	session  int64
	passwd   []byte
	lastZxid int64
	maxQueue int
}

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithWatcher sets a default watcher function, called (on the event
// goroutine) for every event the Events channel receives.
func WithWatcher(w Watcher) Option { return func(o *options) { o.watcher = w } }

// WithReadOnly lets the session be served by a read-only server (the readOnly
// byte of the handshake).
func WithReadOnly(ro bool) Option { return func(o *options) { o.readOnly = ro } }

// WithDialer replaces net.Dialer, for example with one end of a net.Pipe.
func WithDialer(d func(ctx context.Context, addr string) (net.Conn, error)) Option {
	return func(o *options) { o.dial = d }
}

// WithMaxFrame sets the largest frame accepted from the server.
func WithMaxFrame(n int) Option { return func(o *options) { o.maxFrame = n } }

// WithSession resumes an existing session instead of creating one.
func WithSession(id int64, passwd []byte) Option {
	return func(o *options) { o.session, o.passwd = id, passwd }
}

// WithLastZxid sets the zxid sent in the handshake as the last one seen.
func WithLastZxid(zxid int64) Option { return func(o *options) { o.lastZxid = zxid } }

// Conn is one session on one server connection. Its methods are safe for
// concurrent use; concurrent requests are pipelined.
type Conn struct {
	log      *slog.Logger
	opts     options
	nc       net.Conn
	addr     string
	chroot   string // "" or a path without a trailing slash
	session  int64
	passwd   []byte
	timeout  time.Duration
	readOnly bool
	maxFrame int

	xid      int32 // owned by the writer goroutine
	lastZxid atomic.Int64

	sendq chan *request
	done  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	pending map[int32]*request
	authq   []*request
	state   ConnState
	closing bool
	cause   error

	watches   *watchManager
	dispatch  *queue[delivery]
	dispDone  chan struct{} // closed when the dispatch goroutine exits
	eventsOn  atomic.Bool   // Events has been called
	defaultQ  *queue[Event]
	events    chan Event
	eventsOne sync.Once
	closeOne  sync.Once
}

// request is one request in flight. The caller fills op, frame (with a
// placeholder xid that the writer sets), resp and onReply; the reader or the
// shutdown path fills hdr and err and closes done, exactly once.
type request struct {
	op      proto.OpCode
	frame   []byte
	resp    proto.Record
	onReply func(proto.Err) error // on the reader before done closes; returns the call's error
	xid     int32
	hdr     proto.ReplyHeader
	err     error
	done    chan struct{}
}

func (r *request) finish(err error) {
	r.err = err
	close(r.done)
}

// srv turns a client path into a server path (under the chroot).
func (c *Conn) srv(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == "/" {
		return c.chroot
	}
	return c.chroot + p
}

// cli turns a server path into a client path (relative to the chroot).
func (c *Conn) cli(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == c.chroot {
		return "/"
	}
	if strings.HasPrefix(p, c.chroot+"/") {
		return p[len(c.chroot):]
	}
	return p
}

// Chroot returns the chroot of the connect string, or "".
func (c *Conn) Chroot() string { return c.chroot }

// SessionID returns the session's id.
func (c *Conn) SessionID() int64 { return c.session }

// Password returns the session's password, for WithSession.
func (c *Conn) Password() []byte { return append([]byte(nil), c.passwd...) }

// SessionTimeout returns the timeout the server negotiated.
func (c *Conn) SessionTimeout() time.Duration { return c.timeout }

// Server returns the address of the server this Conn is connected to.
func (c *Conn) Server() string { return c.addr }

// ReadOnly reports whether the server accepted the session in read-only mode.
func (c *Conn) ReadOnly() bool { return c.readOnly }

// LastZxid returns the highest zxid seen in a reply.
func (c *Conn) LastZxid() int64 { return c.lastZxid.Load() }

// State returns the connection's state.
func (c *Conn) State() ConnState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Done is closed once the connection is gone (lost or closed).
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection is gone, or nil while it is alive.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Events returns the channel of the default watcher's events: session state
// changes (the first is SyncConnected) and the watches set with watch=true.
// Unless WithWatcher is used, events are buffered until Events is first
// called (with WithWatcher, the channel gets only the events after that
// call). Once Events has been called, the caller must keep receiving until
// the channel is closed, which happens after the connection is gone and its
// last event is delivered.
func (c *Conn) Events() <-chan Event {
	c.eventsOne.Do(func() {
		c.eventsOn.Store(true)
		c.defaultQ.start(func(ev Event) { c.events <- ev }, func() { close(c.events) })
	})
	return c.events
}

// WaitEvents returns once every event that arrived before the call has been
// handed to its watchers (the WithWatcher function included; not
// necessarily received from the Events channel), or when ctx ends.
func (c *Conn) WaitEvents(ctx context.Context) error {
	b := make(chan struct{})
	if c.dispatch.put(delivery{barrier: b}) {
		select {
		case <-b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-c.dispDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliver runs on the dispatch goroutine.
func (c *Conn) deliver(d delivery) {
	if d.barrier != nil {
		close(d.barrier)
		return
	}
	for _, fn := range d.fns {
		fn(d.ev)
	}
	if d.toDefault {
		if c.opts.watcher != nil {
			c.opts.watcher(d.ev)
		}
		if c.opts.watcher == nil || c.eventsOn.Load() {
			c.defaultQ.put(d.ev)
		}
	}
}

// Close closes the session (closeSession, waiting up to the session timeout
// for its reply), then the connection. The Events channel receives a Closed
// event and is closed. Close is idempotent and returns nil.
func (c *Conn) Close() error {
	c.closeOne.Do(func() {
		c.mu.Lock()
		alive := c.state.Alive()
		c.closing = true
		c.mu.Unlock()
		if alive {
			ctx, cancel := context.WithTimeout(context.Background(), max(c.timeout, time.Second))
			if _, err := c.call(ctx, proto.OpCloseSession, nil, nil, nil); err != nil {
				c.log.Debug("closeSession failed", "err", err)
			}
			cancel()
		}
		c.terminate(ErrClosed, StateClosed, proto.StateClosed)
	})
	c.wg.Wait()
	return nil
}

// terminate ends the connection once: it records the cause and state, fails
// every request in flight, queues the final session event and stops the
// event goroutine after it.
func (c *Conn) terminate(cause error, st ConnState, evState proto.State) {
	c.mu.Lock()
	if !c.state.Alive() {
		c.mu.Unlock()
		return
	}
	if c.closing && st == StateDisconnected {
		st, evState, cause = StateClosed, proto.StateClosed, ErrClosed
	}
	c.state = st
	c.cause = cause
	pending := c.pending
	authq := c.authq
	c.pending, c.authq = nil, nil
	c.mu.Unlock()
	close(c.done)
	c.nc.Close()
	lost := fmt.Errorf("client: %w", proto.ErrConnectionLoss)
	if errors.Is(cause, ErrClosed) {
		lost = ErrClosed
	}
	for _, r := range pending {
		r.finish(lost)
	}
	for _, r := range authq {
		r.finish(lost)
	}
	c.dispatch.put(c.watches.materialize(Event{Type: proto.EventNone, State: evState}))
	c.dispatch.close()
	c.log.Debug("connection ended", "cause", cause)
}

// call sends one request and waits for its reply. req and resp may be nil.
func (c *Conn) call(ctx context.Context, op proto.OpCode, req, resp proto.Record, onReply func(proto.Err) error) (proto.ReplyHeader, error) {
	xid := int32(0)
	if op == proto.OpAuth {
		xid = proto.XidAuth
	}
	w := jute.NewWriter(make([]byte, 0, 128))
	off := w.BeginFrame()
	h := proto.RequestHeader{Xid: xid, Type: op}
	h.Encode(w)
	if req != nil {
		req.Encode(w)
	}
	w.EndFrame(off)
	r := &request{op: op, frame: w.Bytes(), resp: resp, onReply: onReply, done: make(chan struct{})}
	select {
	case c.sendq <- r:
	case <-c.done:
		return proto.ReplyHeader{}, c.goneErr()
	case <-ctx.Done():
		return proto.ReplyHeader{}, ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return proto.ReplyHeader{}, ctx.Err()
	}
	if r.err != nil {
		return r.hdr, r.err
	}
	return r.hdr, nil
}

func (c *Conn) goneErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(c.cause, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("client: %w", proto.ErrConnectionLoss)
}

// register assigns r its xid and records it as waiting for a reply; it
// reports false (having failed r) if the connection is already gone.
func (c *Conn) register(r *request) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		r.finish(fmt.Errorf("client: %w", proto.ErrConnectionLoss))
		return false
	}
	if r.op == proto.OpAuth {
		c.authq = append(c.authq, r)
		return true
	}
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	r.xid = c.xid
	binary.BigEndian.PutUint32(r.frame[4:], uint32(r.xid))
	c.pending[r.xid] = r
	return true
}

var pingFrame = func() []byte {
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	h := proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}
	h.Encode(w)
	w.EndFrame(off)
	return w.Bytes()
}()

// writeLoop is the only writer of the socket. It writes requests in the order
// it receives them, flushing when no more are waiting, and pings when it has
// written nothing for a third of the session timeout.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	pingEvery := max(c.timeout/3, 10*time.Millisecond)
	timer := time.NewTimer(pingEvery)
	defer timer.Stop()
	flush := func() bool {
		c.nc.SetWriteDeadline(time.Now().Add(max(c.timeout, time.Second)))
		if err := bw.Flush(); err != nil {
			c.terminate(fmt.Errorf("client: write: %w", err), StateDisconnected, proto.StateDisconnected)
			return false
		}
		timer.Reset(pingEvery)
		return true
	}
	for {
		select {
		case r := <-c.sendq:
			for r != nil {
				if c.register(r) {
					bw.Write(r.frame)
				}
				select {
				case r = <-c.sendq:
				default:
					r = nil
				}
			}
			if !flush() {
				return
			}
		case <-timer.C:
			bw.Write(pingFrame)
			if !flush() {
				return
			}
		case <-c.done:
			return
		}
	}
}

// readLoop is the only reader of the socket.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	readTimeout := max(c.timeout*2/3, 20*time.Millisecond)
	var buf []byte
	for {
		c.nc.SetReadDeadline(time.Now().Add(readTimeout))
		frame, err := jute.ReadFrame(br, buf, c.maxFrame)
		if err != nil {
			c.terminate(fmt.Errorf("client: read: %w", err), StateDisconnected, proto.StateDisconnected)
			return
		}
		buf = frame[:0]
		if err := c.handleFrame(frame); err != nil {
			c.log.Warn("protocol error", "err", err)
			c.terminate(err, StateDisconnected, proto.StateDisconnected)
			return
		}
	}
}

func (c *Conn) handleFrame(frame []byte) error {
	rd := jute.NewReader(frame)
	var h proto.ReplyHeader
	h.Decode(rd)
	if rd.Err() != nil {
		return fmt.Errorf("client: reply header: %w", rd.Err())
	}
	if h.Zxid > 0 {
		c.lastZxid.Store(h.Zxid)
	}
	var r *request
	switch h.Xid {
	case proto.XidPing, proto.XidSetWatches:
		return nil
	case proto.XidNotification:
		var we proto.WatcherEvent
		we.Decode(rd)
		if rd.Err() != nil {
			return fmt.Errorf("client: notification: %w", rd.Err())
		}
		c.dispatch.put(c.watches.materialize(Event{Type: we.Type, State: we.State, Path: c.cli(we.Path)}))
		return nil
	case proto.XidAuth:
		c.mu.Lock()
		if len(c.authq) > 0 {
			r = c.authq[0]
			c.authq = c.authq[1:]
		}
		c.mu.Unlock()
		if h.Err == proto.ErrAuthFailed {
			if r != nil {
				r.hdr = h
				r.finish(proto.ErrAuthFailed)
			}
			c.terminate(proto.ErrAuthFailed, StateAuthFailed, proto.StateAuthFailed)
			return nil
		}
		if r == nil {
			c.log.Warn("auth reply with no auth request", "err", h.Err)
			return nil
		}
	default:
		c.mu.Lock()
		r = c.pending[h.Xid]
		delete(c.pending, h.Xid)
		c.mu.Unlock()
		if r == nil {
			c.log.Warn("reply for unknown xid", "xid", h.Xid, "err", h.Err)
			return nil
		}
	}
	r.hdr = h
	var err error
	switch {
	case h.Err != proto.ErrOK:
		err = h.Err
	case r.resp != nil:
		r.resp.Decode(rd)
		if rd.Err() != nil {
			r.finish(fmt.Errorf("client: %v reply: %w (%w)", r.op, proto.ErrMarshallingError, rd.Err()))
			return nil
		}
		if rd.Len() > 0 {
			c.log.Warn("trailing bytes in reply", "op", r.op, "bytes", rd.Len())
		}
	}
	if r.onReply != nil {
		err = r.onReply(h.Err)
	}
	r.finish(err)
	return nil
}
