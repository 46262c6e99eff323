package zkensemble

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// SessionTimeout is the session timeout Connect asks for. It outlasts a
// leader election, so that sessions survive failovers.
const SessionTimeout = 20 * time.Second

// EventBuffer is the capacity of the event channels returned by Connect.
const EventBuffer = zktest.EventBuffer

// Connect connects a go-zookeeper client to the given members (all when none
// are given; the client picks among them in random order and moves between
// them on connection loss) and waits until it has a session. The client is
// closed when the test ends.
//
// The channel carries every event the client reports, session states and
// watch notifications, in order; unlike go-zookeeper's own channel it keeps
// up to EventBuffer events while nobody reads.
func (e *Ensemble) Connect(t testing.TB, members ...int) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	return e.ConnectSession(t, SessionTimeout, members...)
}

// ConnectSession is Connect with a chosen session timeout.
func (e *Ensemble) ConnectSession(t testing.TB, timeout time.Duration, members ...int) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := e.Dial(t, members, timeout, ServeTimeout)
	if err != nil {
		t.Fatalf("zkensemble: connect to %s: %v", e.ConnectString(members...), err)
	}
	return c, ev
}

// ConnOption is a go-zookeeper connection option such as zk.WithDialer(d).
type ConnOption = zktest.ConnOption

// Dial connects a client to the given members (all when members is empty)
// with the given session timeout and returns an error when it has no session
// within wait. The client's log goes to t.Log, and the client is closed when
// the test ends (also when Dial fails). Options are applied before the
// event callback that feeds the returned channel, so a zk.WithEventCallback
// among them has no effect.
func (e *Ensemble) Dial(t testing.TB, members []int, timeout, wait time.Duration, opts ...ConnOption) (*zk.Conn, <-chan zk.Event, error) {
	t.Helper()
	c, events, err := zktest.DialServers(t, e.Addrs(members...), timeout, wait, opts...)
	if err != nil {
		if c != nil {
			go c.Close()
		}
		return nil, nil, err
	}
	return c, events, nil
}

// WaitState reads events until a session event with the given state arrives.
func WaitState(ev <-chan zk.Event, state zk.State, timeout time.Duration) error {
	return zktest.WaitState(ev, state, timeout)
}

// Within runs f and returns its error, or an error when f has not returned
// after d (f then finishes in the background). go-zookeeper calls take no
// deadline; this bounds them.
func Within(d time.Duration, f func() error) error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		return fmt.Errorf("%w after %v", ErrNoAnswer, d)
	}
}

// ErrNoAnswer is returned by Within when the call has not returned in time.
var ErrNoAnswer = errors.New("zkensemble: no answer")

// InOrder is a ConnOption that makes the client try the given members in
// that order, starting with the first, instead of go-zookeeper's random
// order. Members left out of the list are never tried.
func (e *Ensemble) InOrder(members ...int) ConnOption {
	return zk.WithHostProvider(&orderedHosts{addrs: e.Addrs(members...)})
}

// orderedHosts is a zk.HostProvider that walks a fixed list in order.
type orderedHosts struct {
	mu    sync.Mutex
	addrs []string
	cur   int // index returned by the last Next
	last  int // index of the last successful connection; -1 before any
}

func (h *orderedHosts) Init([]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.addrs) == 0 {
		return errors.New("zkensemble: InOrder with no members")
	}
	h.cur, h.last = -1, -1
	return nil
}

func (h *orderedHosts) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.addrs)
}

// Next returns the next address; retryStart tells that the whole list was
// tried since the last successful connection (go-zookeeper then pauses).
func (h *orderedHosts) Next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = (h.cur + 1) % len(h.addrs)
	retryStart := h.cur == h.last
	if h.last < 0 {
		h.last = h.cur
	}
	return h.addrs[h.cur], retryStart
}

func (h *orderedHosts) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = h.cur
}
