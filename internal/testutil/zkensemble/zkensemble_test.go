package zkensemble

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// TestHarness checks the harness against the server chosen by
// GOZK_TEST_SERVER: configuration files, one leader, a write seen through
// another member, and Kill, Stop/Cont, Wipe and Restart.
func TestHarness(t *testing.T) {
	e := Start(t, 3, Options{TickTime: 500 * time.Millisecond})
	hosts := map[string]bool{}
	for i, m := range e.Members {
		if m.ID != i+1 || m.Pid() == 0 || !strings.HasPrefix(m.Host, "127.") {
			t.Fatalf("member %d: %+v", i, m)
		}
		hosts[m.Addr] = true
		id, err := os.ReadFile(filepath.Join(m.DataDir, "myid"))
		if err != nil || strings.TrimSpace(string(id)) != strconv.Itoa(m.ID) {
			t.Fatalf("myid of member %d = %q, %v", m.ID, id, err)
		}
		cfg, err := os.ReadFile(filepath.Join(m.Dir, "zoo.cfg"))
		if err != nil || strings.Count(string(cfg), "\nserver.") != 3 {
			t.Fatalf("zoo.cfg of member %d:\n%s (%v)", m.ID, cfg, err)
		}
	}
	if len(hosts) != 3 {
		t.Fatalf("client addresses not distinct: %v", hosts)
	}
	l := e.Leader()
	modes := e.Modes()
	for i, mode := range modes {
		if want := ModeFollower; i == l && mode != ModeLeader || i != l && mode != want {
			t.Fatalf("modes %v, leader %d", modes, l)
		}
	}

	w, _ := e.Connect(t, (l+1)%3)
	if _, err := w.Create("/h", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create: %v", err)
	}
	r, _ := e.Connect(t, (l+2)%3)
	if _, err := r.Sync("/h"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if d, _, err := r.Get("/h"); err != nil || string(d) != "x" {
		t.Fatalf("get = %q, %v", d, err)
	}

	f := (l + 1) % 3
	e.Stop(f)
	if got := e.Mode(f); got != ModeStopped {
		t.Fatalf("mode of a stopped member = %q", got)
	}
	e.Cont(f)
	e.WaitServing(f)

	e.Kill(f)
	if e.Member(f).Running() || e.Mode(f) != ModeDown {
		t.Fatalf("member %d still up after Kill", f)
	}
	e.Wipe(f)
	if ents, _ := os.ReadDir(e.Member(f).DataDir); len(ents) != 1 {
		t.Fatalf("data dir after Wipe holds %d entries", len(ents))
	}
	e.Restart(f)
	e.WaitServing(f)
	c, _ := e.Connect(t, f)
	if _, err := c.Sync("/h"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if d, _, err := c.Get("/h"); err != nil || string(d) != "x" {
		t.Fatalf("get through the wiped member = %q, %v", d, err)
	}
}
