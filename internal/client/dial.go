package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// Dial connects to the first server of addrs that accepts a session and
// returns the connected Conn. An address without a port gets DefaultPort; an
// element may itself be a comma-separated list, and a "/path" after the last
// address is a chroot, as in Java's connect strings ("h1:2181,h2:2181/app"):
// the Conn's paths are then relative to it. The context bounds the whole
// dial, handshakes included. sessionTimeout is the requested timeout; the
// server's negotiated value is SessionTimeout.
func Dial(ctx context.Context, addrs []string, sessionTimeout time.Duration, opts ...Option) (*Conn, error) {
	o := options{maxFrame: DefaultMaxFrame, maxQueue: 1 << 16}
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.dial == nil {
		var d net.Dialer
		o.dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	chroot, err := chrootOf(addrs)
	if err != nil {
		return nil, err
	}
	list := SplitServers(addrs)
	if len(list) == 0 {
		return nil, ErrNoServer
	}
	var errs []error
	for _, addr := range list {
		c, err := dialOne(ctx, addr, chroot, sessionTimeout, o)
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if errors.Is(err, proto.ErrSessionExpired) || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("client: cannot connect: %w", errors.Join(errs...))
}

// chrootOf returns the chroot of a connect string ("" for none or "/").
func chrootOf(addrs []string) (string, error) {
	chroot := ""
	for _, a := range addrs {
		if i := strings.IndexByte(a, '/'); i >= 0 {
			chroot = a[i:]
		}
	}
	if chroot == "" || chroot == "/" {
		return "", nil
	}
	if err := ValidatePath(chroot); err != nil {
		return "", fmt.Errorf("client: chroot: %w", err)
	}
	return chroot, nil
}

// SplitServers splits comma-separated server lists, drops a chroot suffix
// and adds DefaultPort to addresses without a port.
func SplitServers(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		if i := strings.IndexByte(a, '/'); i >= 0 {
			a = a[:i]
		}
		for _, s := range strings.Split(a, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(s); err != nil {
				s = net.JoinHostPort(strings.Trim(s, "[]"), DefaultPort)
			}
			out = append(out, s)
		}
	}
	return out
}

func dialOne(ctx context.Context, addr, chroot string, sessionTimeout time.Duration, o options) (*Conn, error) {
	nc, err := o.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	resp, err := handshake(ctx, nc, sessionTimeout, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &Conn{
		log:      o.log.With("server", addr, "session", fmt.Sprintf("0x%x", resp.SessionID)),
		opts:     o,
		nc:       nc,
		addr:     addr,
		chroot:   chroot,
		session:  resp.SessionID,
		passwd:   resp.Passwd,
		timeout:  time.Duration(resp.TimeOut) * time.Millisecond,
		readOnly: resp.ReadOnly,
		maxFrame: o.maxFrame,
		sendq:    make(chan *request),
		done:     make(chan struct{}),
		pending:  make(map[int32]*request),
		watches:  newWatchManager(),
		events:   make(chan Event, 16),
	}
	c.lastZxid.Store(o.lastZxid)
	c.state = StateConnected
	state := proto.StateSyncConnected
	if c.readOnly {
		c.state = StateConnectedReadOnly
		state = proto.StateConnectedReadOnly
	}
	c.defaultQ = newQueue[Event](o.maxQueue)
	c.dispatch = newQueue[delivery](0)
	c.dispDone = make(chan struct{})
	c.dispatch.start(c.deliver, func() { c.defaultQ.close(); close(c.dispDone) })
	c.dispatch.put(delivery{ev: Event{Type: proto.EventNone, State: state}, toDefault: true})
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	c.log.Debug("session established", "timeout", c.timeout, "readOnly", c.readOnly)
	return c, nil
}

// handshake sends the ConnectRequest and reads the ConnectResponse.
func handshake(ctx context.Context, nc net.Conn, sessionTimeout time.Duration, o options) (*proto.ConnectResponse, error) {
	deadline := time.Now().Add(max(sessionTimeout, time.Second))
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	passwd := o.passwd
	if passwd == nil {
		passwd = make([]byte, proto.PasswordLen)
	}
	req := proto.ConnectRequest{
		ProtocolVersion: proto.ProtocolVersion,
		LastZxidSeen:    o.lastZxid,
		TimeOut:         int32(sessionTimeout / time.Millisecond),
		SessionID:       o.session,
		Passwd:          passwd,
		ReadOnly:        o.readOnly,
		HasReadOnly:     true,
	}
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	req.Encode(w)
	w.EndFrame(off)
	if _, err := nc.Write(w.Bytes()); err != nil {
		return nil, fmt.Errorf("client: sending ConnectRequest: %w", ctxErr(ctx, err))
	}
	frame, err := jute.ReadFrame(nc, nil, o.maxFrame)
	if err != nil {
		return nil, fmt.Errorf("client: reading ConnectResponse: %w", ctxErr(ctx, err))
	}
	var resp proto.ConnectResponse
	r := jute.NewReader(frame)
	resp.Decode(r)
	if r.Err() != nil {
		return nil, fmt.Errorf("client: decoding ConnectResponse: %w", r.Err())
	}
	if resp.TimeOut <= 0 {
		return nil, proto.ErrSessionExpired
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return &resp, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
