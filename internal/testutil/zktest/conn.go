package zktest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// DefaultSessionTimeout is the session timeout Connect asks for.
const DefaultSessionTimeout = 10 * time.Second

// ConnOption is a go-zookeeper connection option such as zk.WithDialer(d).
type ConnOption = func(*zk.Conn)

// Connect connects a go-zookeeper client to addr with DefaultSessionTimeout and
// waits until it has a session. The client's log goes to t.Log; the client is
// closed when the test ends.
func Connect(t testing.TB, addr string, opts ...ConnOption) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	return ConnectSession(t, addr, DefaultSessionTimeout, opts...)
}

// ConnectSession is Connect with a chosen session timeout.
func ConnectSession(t testing.TB, addr string, timeout time.Duration, opts ...ConnOption) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := Dial(t, addr, timeout, opts...)
	if err != nil {
		t.Fatalf("zktest: connect %s: %v", addr, err)
	}
	return c, ev
}

// Dial is ConnectSession returning an error instead of failing the test. The
// client is closed when the test ends, also when Dial fails.
func Dial(t testing.TB, addr string, timeout time.Duration, opts ...ConnOption) (*zk.Conn, <-chan zk.Event, error) {
	t.Helper()
	lg := &testLogger{t: t}
	all := func(c *zk.Conn) {
		zk.WithLogger(lg)(c)
		for _, o := range opts {
			o(c)
		}
	}
	c, ev, err := zk.Connect([]string{addr}, timeout, all)
	if err != nil {
		return nil, nil, fmt.Errorf("zk.Connect: %w", err)
	}
	t.Cleanup(func() {
		c.Close()
		lg.stop()
	})
	if err := WaitSession(ev, StartTimeout); err != nil {
		return c, ev, err
	}
	return c, ev, nil
}

// WaitSession reads session events until StateHasSession arrives.
func WaitSession(ev <-chan zk.Event, timeout time.Duration) error {
	return WaitState(ev, zk.StateHasSession, timeout)
}

// WaitState reads events until one of type EventSession with the given state arrives.
func WaitState(ev <-chan zk.Event, state zk.State, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-ev:
			if !ok {
				return fmt.Errorf("zktest: event channel closed while waiting for %v", state)
			}
			if e.Type == zk.EventSession && e.State == state {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("zktest: no %v within %v", state, timeout)
		}
	}
}

// testLogger forwards go-zookeeper's log to t.Log until the test ends.
type testLogger struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (l *testLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Helper()
		l.t.Logf("zk: "+format, args...)
	}
}

func (l *testLogger) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// ErrBlackholed is returned by a Dialer's Dial while it is black-holed.
var ErrBlackholed = errors.New("zktest: dialer is black-holed")

// Dialer is a go-zookeeper dialer whose connections a test can break: CloseAll
// drops every connection (the client reconnects with its session), and
// Blackhole makes existing connections swallow writes and never deliver reads
// while refusing new ones, so the server hears nothing from the client and
// eventually expires its session. Use it as zk.WithDialer(d.Dial).
type Dialer struct {
	mu        sync.Mutex
	conns     []*faultConn
	blackhole bool
	dials     int
}

// Dial dials addr unless the dialer is black-holed.
func (d *Dialer) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	bh := d.blackhole
	d.mu.Unlock()
	if bh {
		time.Sleep(10 * time.Millisecond)
		return nil, ErrBlackholed
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	fc := &faultConn{Conn: c, closed: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, fc)
	d.dials++
	d.mu.Unlock()
	return fc, nil
}

// Dials returns how many connections the dialer has made.
func (d *Dialer) Dials() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dials
}

// CloseAll closes every connection made so far.
func (d *Dialer) CloseAll() {
	d.mu.Lock()
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Blackhole switches black-holing on or off. Turning it on affects existing
// connections too; turning it off affects only new ones (black-holed
// connections stay dead and the client abandons them when its receive
// timeout fires).
func (d *Dialer) Blackhole(on bool) {
	d.mu.Lock()
	d.blackhole = on
	conns := d.conns
	if on {
		d.conns = nil
	}
	d.mu.Unlock()
	if on {
		for _, c := range conns {
			c.setBlackhole()
		}
	}
}

type faultConn struct {
	net.Conn
	mu        sync.Mutex
	blackhole bool
	once      sync.Once
	closed    chan struct{}
}

func (c *faultConn) setBlackhole() {
	c.mu.Lock()
	c.blackhole = true
	c.mu.Unlock()
	// Unblock a pending Read; the server side stays open and silent.
	_ = c.Conn.SetReadDeadline(time.Now())
}

func (c *faultConn) isBlackholed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blackhole
}

func (c *faultConn) Read(p []byte) (int, error) {
	if !c.isBlackholed() {
		n, err := c.Conn.Read(p)
		if !c.isBlackholed() {
			return n, err
		}
	}
	// Black-holed: nothing arrives until the client gives up on the
	// connection (its deadline) or closes it.
	<-c.closed
	return 0, net.ErrClosed
}

func (c *faultConn) SetReadDeadline(t time.Time) error {
	if c.isBlackholed() {
		if !t.IsZero() {
			d := time.Until(t)
			go func() {
				select {
				case <-time.After(d):
					c.Close()
				case <-c.closed:
				}
			}()
		}
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *faultConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *faultConn) Write(p []byte) (int, error) {
	if c.isBlackholed() {
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

func (c *faultConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
