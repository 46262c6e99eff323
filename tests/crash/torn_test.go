package crash

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// The torn tests write tornNodes nodes of tornDataSize bytes one after the
// other under /torn, each acknowledged before the next is sent, so the log
// holds them in order and each in its own record.
const (
	tornNodes    = 40
	tornDataSize = 256
)

func tornName(i int) string { return fmt.Sprintf("n%03d", i) }

func tornData(i int) string {
	head := fmt.Sprintf("node %03d:", i)
	return head + strings.Repeat(strconv.Itoa(i%10), tornDataSize-len(head))
}

// writeTorn creates /torn (if from is 0) and nodes from..from+n-1 under it.
func writeTorn(t *testing.T, c *zk.Conn, from, n int, size int) {
	t.Helper()
	if from == 0 {
		if _, err := c.Create("/torn", nil, 0, worldAll); err != nil {
			t.Fatalf("create /torn: %v", err)
		}
	}
	for i := from; i < from+n; i++ {
		data := []byte(tornData(i))
		if size > len(data) {
			data = append(data, make([]byte, size-len(data))...)
			for j := tornDataSize; j < size; j++ {
				data[j] = byte('a' + (i+j)%26)
			}
		}
		if _, err := c.Create("/torn/"+tornName(i), data, 0, worldAll); err != nil {
			t.Fatalf("create /torn/%s: %v", tornName(i), err)
		}
	}
}

// writeAndKill starts a server, writes the torn nodes and SIGKILLs the
// server while the writing session is still open (its client is kept from
// reconnecting), so the last thing in the log is the last create.
func writeAndKill(t *testing.T) *zktest.Server {
	t.Helper()
	s := startServer(t, nil)
	c, _, d := connect(t, s.Addr, zktest.DefaultSessionTimeout)
	writeTorn(t, c, 0, tornNodes, tornDataSize)
	d.Refuse(true)
	kill(t, s)
	go c.Close()
	return s
}

// checkSurvivors reads /torn after a restart. The nodes left must be the
// first m written, m >= written-maxLost, each with its data, plus the extra
// nodes named (which must all be there). It returns m.
func checkSurvivors(t *testing.T, s *zktest.Server, written, maxLost int, extra ...string) int {
	t.Helper()
	c, _, _ := connect(t, s.Addr, zktest.DefaultSessionTimeout)
	defer c.Close()
	got, err := readChildren(c, "/torn")
	if err != nil {
		t.Fatalf("after the restart: %v (the server kept no data?)", err)
	}
	var bad []string
	for _, name := range extra {
		if _, ok := got[name]; !ok {
			bad = append(bad, fmt.Sprintf("/torn/%s, written after the repair, is missing", name))
		}
	}
	m := 0
	for m < written {
		if _, ok := got[tornName(m)]; !ok {
			break
		}
		m++
	}
	for name, n := range got {
		if slices.Contains(extra, name) {
			continue
		}
		i, err := strconv.Atoi(strings.TrimPrefix(name, "n"))
		switch {
		case err != nil || tornName(i) != name || i >= written:
			bad = append(bad, fmt.Sprintf("/torn/%s exists but was never written", name))
		case i >= m:
			bad = append(bad, fmt.Sprintf("/torn/%s exists but /torn/%s, written before it, is missing (a hole in the log)", name, tornName(m)))
		case !strings.HasPrefix(n.data, tornData(i)):
			bad = append(bad, fmt.Sprintf("/torn/%s: data %.40q..., written %.40q...", name, n.data, tornData(i)))
		}
	}
	if lost := written - m; lost > maxLost {
		bad = append(bad, fmt.Sprintf("%d of the %d nodes written are kept: the last %d are lost, at most %d may be (they were all acknowledged; only the damaged tail may go)", m, written, lost, maxLost))
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		t.Fatalf("after the restart:\n  %s", strings.Join(bad, "\n  "))
	}
	return m
}

// lostAtMost bounds the nodes that damage to the last k bytes of the log can
// take: the records it touches (each node's is longer than tornDataSize) and
// one for a batch that holds no node.
func lostAtMost(k int64) int {
	return int((k+tornDataSize-1)/tornDataSize) + 2
}

// wantNamed fails unless the server's log has a warning or error naming the
// file it dropped data from. For ZooKeeper, whose messages are its own, it
// only notes it unless zkToo.
func wantNamed(t *testing.T, s *zktest.Server, logged, file, what string, zkToo bool) {
	t.Helper()
	base := filepath.Base(file)
	var named []string
	for _, l := range strings.Split(logged, "\n") {
		if strings.Contains(l, base) && (strings.Contains(l, "WARN") || strings.Contains(l, "ERROR")) {
			named = append(named, l)
		}
	}
	switch {
	case len(named) > 0:
		t.Logf("server log: %s", strings.Join(named[:min(len(named), 3)], "\n"))
	case s.Kind == zktest.KindZooKeeper && !zkToo:
		t.Logf("ZooKeeper logs no warning naming %s", base)
	default:
		t.Errorf("the server's log after the restart has no warning or error naming %s, %s; log of the restart:\n%s", file, what, tail(logged, 8<<10))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}

// TestTornLogTail damages the end of the newest log segment of a killed
// server, as a crash in the middle of a write leaves it, and restarts it: it
// must start, serve, keep every node but the few whose records the damage
// touched (and no others: what is kept is a prefix of what was written),
// say in its log which file it dropped bytes from, and go on appending
// durably after the repair.
func TestTornLogTail(t *testing.T) {
	cases := []struct {
		name   string
		k      int64
		damage func(t *testing.T, path string, k int64, rng *rand.Rand) string
	}{
		{"truncate 5 bytes", 5, truncateDamage},
		{"truncate 333 bytes", 333, truncateDamage},
		{"garbage over 48 bytes", 48, garbageDamage},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			rng := newRand(t)
			s := writeAndKill(t)
			files := logFiles(t, s)
			if len(files) == 0 {
				t.Skipf("no log segment found (%s) under dataLogDir %s or dataDir %s: the server keeps no log on disk", logPattern(s), s.Config["dataLogDir"], s.DataDir)
			}
			newest := files[len(files)-1]
			t.Logf("segments: %s; damaging %s: %s", baseNames(files), filepath.Base(newest), tc.damage(t, newest, tc.k, rng))

			logged, _ := restart(t, s)
			m := checkSurvivors(t, s, tornNodes, lostAtMost(tc.k))
			t.Logf("%d of %d nodes kept", m, tornNodes)
			wantNamed(t, s, logged, newest, "whose damaged tail it had to drop", false)

			// Appends go on after the repaired tail and survive a crash.
			c, _, d := connect(t, s.Addr, zktest.DefaultSessionTimeout)
			if _, err := c.Create("/torn/after", []byte("after"), 0, worldAll); err != nil {
				t.Fatalf("create after the repair: %v", err)
			}
			d.Refuse(true)
			kill(t, s)
			go c.Close()
			logged, _ = restart(t, s)
			for _, l := range strings.Split(logged, "\n") {
				if s.Kind == zktest.KindGozk && strings.Contains(l, filepath.Base(newest)) && strings.Contains(strings.ToLower(l), "drop") {
					t.Errorf("the second restart, after a clean kill, drops data again: %s", l)
				}
			}
			if got := checkSurvivors(t, s, tornNodes, tornNodes-m, "after"); got != m {
				t.Fatalf("second restart kept %d nodes, the first %d", got, m)
			}
		})
	}
}

func truncateDamage(t *testing.T, path string, k int64, _ *rand.Rand) string {
	end, size, err := truncateTail(path, k)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("data ended at %d; truncated to %d bytes", end, size)
}

func garbageDamage(t *testing.T, path string, k int64, rng *rand.Rand) string {
	off, err := garbleTail(path, k, rng)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("overwrote bytes %d..%d (the end of the data) with garbage", off, off+k)
}

func logPattern(s *zktest.Server) string {
	if s.Kind == zktest.KindZooKeeper {
		return "log.*"
	}
	return "*.wal"
}

// TestCorruptNewestSnapshot corrupts the newest snapshot of a killed server
// and restarts it: it must start, serve, keep every node (an older snapshot
// and the log after it still hold them all, as ZooKeeper keeps them) and
// name in its log the snapshot it could not use.
func TestCorruptNewestSnapshot(t *testing.T) {
	// snapCount=2 makes the server snapshot every few transactions; snapshots
	// are written in the background, so write until there are two.
	s := startServer(t, map[string]string{"snapCount": "2"})
	c, _, d := connect(t, s.Addr, zktest.DefaultSessionTimeout)
	writeTorn(t, c, 0, tornNodes, tornDataSize)
	written := tornNodes
	for len(snapshotFiles(t, s)) < 2 && written < 10*tornNodes {
		time.Sleep(100 * time.Millisecond)
		writeTorn(t, c, written, 10, tornDataSize)
		written += 10
	}
	time.Sleep(500 * time.Millisecond) // let a snapshot being written finish
	d.Refuse(true)
	kill(t, s)
	go c.Close()

	snaps := snapshotFiles(t, s)
	if len(snaps) < 2 {
		t.Skipf("found %d snapshot files (snapshot*) under dataDir %s after %d writes with snapCount=2; need 2", len(snaps), s.DataDir, written)
	}
	newest := snaps[len(snaps)-1]
	off, err := corruptMiddle(newest, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes written; snapshots: %s; flipped 16 bytes of %s at %d", written, baseNames(snaps), filepath.Base(newest), off)
	logged, _ := restart(t, s)
	checkSurvivors(t, s, written, 0)
	wantNamed(t, s, logged, newest, "the corrupt snapshot it could not use", true)
}

// TestCorruptOlderLogSegment corrupts a record in the middle of a log
// segment that is not the newest. That cannot be a torn write (a segment is
// finished and synced before the next one starts), so acknowledged data is
// gone: the server must refuse to start, exit non-zero and name the file.
func TestCorruptOlderLogSegment(t *testing.T) {
	if zktest.Kind() == zktest.KindZooKeeper {
		t.Skip("gozk only: ZooKeeper reads only the logs after its newest snapshot (it snapshots at every start), so it never reads an older segment")
	}
	s := startServer(t, nil)
	c, _, d := connect(t, s.Addr, zktest.DefaultSessionTimeout)
	// No zoo.cfg key sets gozk's segment size, so write large nodes until
	// the log cuts a second segment (64 MiB by default).
	const size, limit = 900 << 10, 200
	var files []string
	for i := 0; ; i++ {
		writeTorn(t, c, i, 1, size)
		files = logFiles(t, s)
		if len(files) == 0 {
			t.Skipf("no log segment (*.wal) under dataLogDir %s or dataDir %s after a write: the server keeps no log on disk", s.Config["dataLogDir"], s.DataDir)
		}
		if len(files) >= 2 {
			t.Logf("%d segments after %d writes of %d KiB", len(files), i+1, size>>10)
			break
		}
		if i+1 == limit {
			t.Skipf("still one log segment after %d writes of %d KiB", limit, size>>10)
		}
	}
	// A few more, so the newest segment holds entries too.
	writeTorn(t, c, len(files)+1000, 3, tornDataSize)
	d.Refuse(true)
	kill(t, s)
	go c.Close()

	files = logFiles(t, s)
	older := files[len(files)-2]
	off, err := corruptMiddle(older, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("segments: %s; flipped 16 bytes of %s at %d", baseNames(files), filepath.Base(older), off)
	out := startExpectingFailure(t, s)
	if !strings.Contains(out, filepath.Base(older)) {
		t.Fatalf("gozk refused to start but its output does not name the corrupt segment %s:\n%s", older, tail(out, 8<<10))
	}
	t.Logf("gozk's output: %s", tail(strings.TrimSpace(out), 2<<10))
}
