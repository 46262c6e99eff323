package robustness

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/nemesis"
)

var worldAll = zk.WorldACL(zk.PermAll)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// quietLogger drops go-zookeeper's log lines (reconnects are the point of
// the test; the run's own log says what happened).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// connect returns a go-zookeeper client over every member (it moves between
// them on connection loss and resumes its session, or starts a new one when
// the session expired), retrying until it has a session or the workloads
// stop. It returns nil only when they stopped.
func (r *run) connect(name string, members ...int) *zk.Conn {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, _, err := r.e.Dial(r.t, members, sessionTimeout, 20*time.Second, zk.WithLogger(quietLogger{}))
		if err == nil {
			return c
		}
		r.logf("%s: connect: %v", name, err)
		if r.stopped() && len(members) == 0 {
			return nil
		}
		if len(members) > 0 && time.Now().After(deadline) {
			r.t.Fatalf("%s: no session on members %v within 2 minutes: %v", name, members, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustCreate(t testing.TB, c *zk.Conn, path string, data []byte) {
	t.Helper()
	if _, err := c.Create(path, data, 0, worldAll); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create %s: %v", path, err)
	}
}

// definite reports whether a go-zookeeper error says for sure that a write
// did not happen: a server's answer that the condition failed. Anything
// else (connection loss, no server, session expired or moved, a closing
// client) leaves the write's fate unknown.
func definite(err error) bool {
	switch {
	case errors.Is(err, zk.ErrBadVersion), errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrNodeExists),
		errors.Is(err, zk.ErrNotEmpty), errors.Is(err, zk.ErrNoChildrenForEphemerals), errors.Is(err, zk.ErrBadArguments),
		errors.Is(err, zk.ErrInvalidACL), errors.Is(err, zk.ErrNoAuth):
		return true
	}
	return false
}

// writeJSON writes v as indented JSON into the run's directory.
func (r *run) writeJSON(name string, v any) {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		r.t.Errorf("history %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o644); err != nil {
		r.t.Errorf("history %s: %v", name, err)
	}
}

func (r *run) writeNemesis(evs []nemesis.Event) {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.String())
		b.WriteString(" at +")
		b.WriteString(ev.Start.Sub(r.start).Round(time.Millisecond).String())
		b.WriteString("\n")
	}
	_ = os.WriteFile(filepath.Join(r.dir, "nemesis.txt"), []byte(b.String()), 0o644)
}

// seqOf returns the sequence number of a sequential node's name.
func seqOf(name string) (int64, bool) {
	if len(name) < 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(name[len(name)-10:], 10, 64)
	return n, err == nil
}

func hex(z int64) string { return "0x" + strconv.FormatInt(z, 16) }
