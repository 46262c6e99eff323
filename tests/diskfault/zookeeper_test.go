package diskfault

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestDiskFullZooKeeper runs the fill of TestDiskFull against Apache
// ZooKeeper (standalone) to record what it does on a full disk, and checks
// the one promise both servers share: every acknowledged create is there
// after a restart with room. What it observes is logged, not asserted.
func TestDiskFullZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("diskfault: starts a JVM")
	}
	mnt := mountTmpfs(t, "8m")
	s := zktest.StartZooKeeper(t, map[string]string{
		"dataDir":      mnt + "/data",
		"dataLogDir":   mnt + "/log",
		"preAllocSize": "64",
		"snapCount":    "10000000",
	})
	setup, _ := zktest.Connect(t, s.Addr)
	if _, err := setup.Create(parent, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create %s: %v", parent, err)
	}
	conns := make([]*zk.Conn, writers)
	for i := range conns {
		conns[i], _ = zktest.Connect(t, s.Addr)
	}
	f := writeUntilFull(t, conns, maxCreates)
	if !f.hasFailed() {
		t.Fatalf("no write failed after %d creates on an 8 MiB disk", maxCreates)
	}
	// Give the process a moment to exit if it is going to.
	for i := 0; i < 40 && s.Running(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	f.mu.Lock()
	t.Logf("ZooKeeper: %d writes, %d acknowledged nodes, first failure: %v", len(f.ops), len(f.acked), f.first)
	f.mu.Unlock()
	isro, err := zktest.FourLetter(s.Addr, "isro")
	t.Logf("ZooKeeper after the disk filled up: process running: %v, isro: %q (%v)", s.Running(), isro, err)
	for _, l := range strings.Split(s.Log(), "\n") {
		if strings.Contains(l, "No space left") || strings.Contains(l, "Severe unrecoverable") ||
			strings.Contains(l, "shutdown") || strings.Contains(l, "exiting") {
			t.Logf("zookeeper: %s", l)
		}
	}

	s.Kill()
	remountTmpfs(t, mnt, "64m")
	s.Restart(t)
	c, err := dialNew(t, s.Addr, 10*time.Second)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	checkPresent(t, c, f, "ZooKeeper after restart")
}
