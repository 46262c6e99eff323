// Package e2e drives real server processes with the go-zookeeper client.
//
// Every test starts its own server through zktest.Start: gozk by default,
// Apache ZooKeeper with GOZK_TEST_SERVER=zookeeper. The suite passes against
// ZooKeeper, so a failure against gozk is a difference from ZooKeeper.
package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// waitFor bounds every wait on an asynchronous outcome.
const waitFor = 30 * time.Second

var worldAll = zk.WorldACL(zk.PermAll)

// ZooKeeper error codes (KeeperException.Code) not exported by go-zookeeper.
const (
	codeOK                   = 0
	codeRuntimeInconsistency = -2
	codeMarshallingError     = -5
	codeUnimplemented        = -6
	codeBadArguments         = -8
	codeNoNode               = -101
	codeNoAuth               = -102
	codeBadVersion           = -103
	codeNoChildrenForEph     = -108
	codeNodeExists           = -110
	codeNotEmpty             = -111
	codeSessionExpired       = -112
	codeInvalidACL           = -114
	codeAuthFailed           = -115
	codeReconfigDisabled     = -123
)

// code is zktest.Code: the server error code behind a go-zookeeper error.
func code(err error) int32 { return zktest.Code(err) }

// wantCode fails the test unless err carries the server error code want.
func wantCode(t *testing.T, what string, err error, want int32) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("%s: error %v (code %d), want code %d", what, err, got, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// startServer starts the server under test (zktest.Start) with cfg plus
// forceSync=no: these tests kill processes but never the machine, so fsync
// only adds the multi-second stalls a busy disk can cause, which would make
// clients time out.
func startServer(t *testing.T, cfg map[string]string) *zktest.Server {
	t.Helper()
	all := map[string]string{"forceSync": "no"}
	for k, v := range cfg {
		all[k] = v
	}
	return zktest.Start(t, all)
}

// start starts a server with cfg and connects one client to it.
func start(t *testing.T, cfg map[string]string) (*zktest.Server, *zk.Conn) {
	t.Helper()
	s := startServer(t, cfg)
	c, _ := zktest.Connect(t, s.Addr)
	return s, c
}

func create(t *testing.T, c *zk.Conn, path string, data []byte, flags int32) string {
	t.Helper()
	p, err := c.Create(path, data, flags, worldAll)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return p
}

func stat(t *testing.T, c *zk.Conn, path string) *zk.Stat {
	t.Helper()
	ok, st, err := c.Exists(path)
	if err != nil || !ok {
		t.Fatalf("exists %s = %v, %v", path, ok, err)
	}
	return st
}

func exists(t *testing.T, c *zk.Conn, path string) bool {
	t.Helper()
	ok, _, err := c.Exists(path)
	if err != nil {
		t.Fatalf("exists %s: %v", path, err)
	}
	return ok
}

func children(t *testing.T, c *zk.Conn, path string) []string {
	t.Helper()
	ch, _, err := c.Children(path)
	if err != nil {
		t.Fatalf("children %s: %v", path, err)
	}
	sort.Strings(ch)
	return ch
}

// waitEvent waits for one event on a watch channel.
func waitEvent(t *testing.T, what string, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("%s: watch channel closed without an event", what)
		}
		return ev
	case <-time.After(waitFor):
		t.Fatalf("%s: no event within %v", what, waitFor)
	}
	return zk.Event{}
}

// noEvent fails if the watch channel has an event now.
func noEvent(t *testing.T, what string, ch <-chan zk.Event) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("%s: unexpected event %+v", what, ev)
	default:
	}
}

// nodeEvents returns the watch notifications (not session events) waiting
// on a channel from zktest.Connect, as "Type path" strings. Call it after a
// round trip on that client (any request): the server sends the notifications
// for earlier changes before the reply.
func nodeEvents(ch <-chan zk.Event) []string {
	var out []string
	for {
		select {
		case ev := <-ch:
			if ev.Type != zk.EventSession && ev.Type != zk.EventNotWatching {
				out = append(out, fmt.Sprintf("%s %s", ev.Type, ev.Path))
			}
		default:
			return out
		}
	}
}

// pollUntil polls cond until it is true or waitFor passes.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connectQuiet connects another client and returns an error instead of
// failing the test.
func connectQuiet(t *testing.T, addr string) (*zk.Conn, <-chan zk.Event, error) {
	t.Helper()
	return zktest.Dial(t, addr, zktest.DefaultSessionTimeout)
}
