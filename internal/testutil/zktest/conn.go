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

// EventBuffer is the capacity of the event channel Connect returns.
const EventBuffer = 1 << 14

// Connect connects a go-zookeeper client to addr with DefaultSessionTimeout and
// waits until it has a session. The client's log goes to t.Log; the client is
// closed when the test ends.
//
// The returned channel carries every event the client reports (session states
// and watch notifications) in the order it reported them, and unlike
// go-zookeeper's own channel it does not drop events while nobody reads (up
// to EventBuffer of them). It is fed by an event callback installed after
// opts, so a zk.WithEventCallback among opts has no effect.
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
	return DialServers(t, []string{addr}, timeout, StartTimeout, opts...)
}

// DialServers connects a client to any of addrs and waits up to wait for its
// session. Its log goes to t.Log, and it is closed when the test ends (also
// when DialServers fails; the client is returned with the error then).
// Options are applied before the event callback that feeds the returned
// channel, so a zk.WithEventCallback among them has no effect.
func DialServers(t testing.TB, addrs []string, timeout, wait time.Duration, opts ...ConnOption) (*zk.Conn, <-chan zk.Event, error) {
	t.Helper()
	lg := &testLogger{t: t}
	events := make(chan zk.Event, EventBuffer)
	all := func(c *zk.Conn) {
		zk.WithLogger(lg)(c)
		for _, o := range opts {
			o(c)
		}
		zk.WithEventCallback(func(ev zk.Event) {
			select {
			case events <- ev:
			default:
				lg.Printf("zktest: event buffer full, dropped %+v", ev)
			}
		})(c)
	}
	c, _, err := zk.Connect(addrs, timeout, all)
	if err != nil {
		return nil, nil, fmt.Errorf("zk.Connect: %w", err)
	}
	t.Cleanup(func() {
		c.Close()
		lg.stop()
	})
	if err := WaitSession(events, wait); err != nil {
		return c, events, err
	}
	return c, events, nil
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

// ErrBlackholed is returned by a Dialer's Dial while it refuses connections.
var ErrBlackholed = errors.New("zktest: dialer is black-holed")

// Dialer is a go-zookeeper dialer whose connections a test can break: CloseAll
// drops every connection (the client reconnects and resumes its session),
// Refuse makes new dials fail, and Blackhole makes the existing connections
// swallow writes and never deliver reads while refusing new ones, so the server
// hears nothing more from the client and eventually expires its session. Use it
// as zk.WithDialer(d.Dial).
type Dialer struct {
	mu     sync.Mutex
	conns  []*faultConn
	refuse bool
	dials  int
}

// Dial dials addr unless the dialer refuses connections.
func (d *Dialer) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	refuse := d.refuse
	d.mu.Unlock()
	if refuse {
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

// Refuse switches refusing new connections on or off.
func (d *Dialer) Refuse(on bool) {
	d.mu.Lock()
	d.refuse = on
	d.mu.Unlock()
}

// Blackhole silences every existing connection and refuses new ones until
// Refuse(false). A black-holed connection stays open towards the server until
// the client gives up on it (its receive timeout) and closes it.
func (d *Dialer) Blackhole() {
	d.mu.Lock()
	d.refuse = true
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	for _, c := range conns {
		c.setBlackhole()
	}
}

type faultConn struct {
	net.Conn
	mu           sync.Mutex
	blackhole    bool
	readDeadline time.Time
	once         sync.Once
	closed       chan struct{}
}

func (c *faultConn) setBlackhole() {
	c.mu.Lock()
	c.blackhole = true
	dl := c.readDeadline
	c.mu.Unlock()
	// The client's pending read deadline still applies: the connection
	// closes when it passes, as a silent real connection would time out.
	c.closeAt(dl)
	// Unblock a pending Read; it then waits for the close.
	_ = c.Conn.SetReadDeadline(time.Now())
}

// closeAt closes the connection when t passes (never for the zero time).
func (c *faultConn) closeAt(t time.Time) {
	if t.IsZero() {
		return
	}
	go func() {
		select {
		case <-time.After(time.Until(t)):
			c.Close()
		case <-c.closed:
		}
	}()
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
	c.mu.Lock()
	c.readDeadline = t
	bh := c.blackhole
	c.mu.Unlock()
	if bh {
		c.closeAt(t)
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
