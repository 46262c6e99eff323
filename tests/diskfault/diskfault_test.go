// Package diskfault runs gozk on a small tmpfs that fills up and checks what
// its README promises under "Durability": a write the log could not persist is
// never acknowledged, the server logs why, refuses later writes with
// NOTREADONLY (-119) and keeps serving reads, and after a restart with room on
// the disk every acknowledged write is there and writes work again.
//
// The tests mount file systems, so they need root; otherwise they are skipped.
//
// What Apache ZooKeeper 3.8 does instead (TestDiskFullZooKeeper records it):
// its SyncRequestProcessor is a critical thread, and the IOException "No
// space left on device" from appending to the transaction log ends it; the
// server logs "Severe unrecoverable error, from thread : SyncThread:0", shuts
// down, logs "Unexpected exception, exiting abnormally" and the standalone
// process exits. Clients lose their connection and nothing is served until
// the server is restarted by hand; there is no read-only mode for this case
// (ZooKeeper's read-only mode is for a participant cut off from its quorum,
// and only for clients that asked for it). After a restart with room every
// acknowledged create is there.
package diskfault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

func TestMain(m *testing.M) { zktest.Main(m) }

// notReadOnly is ZooKeeper's NOTREADONLY error code.
const notReadOnly = -119

const (
	parent   = "/df"
	dataSize = 1024
	writers  = 6
	// afterFailure is how many writes each writer still attempts once a
	// write has failed.
	afterFailure = 12
	// maxCreates bounds the fill: far more than an 8 MiB disk holds.
	maxCreates = 40000
	fillLimit  = 40 * time.Second
)

// payload is the 1 KiB of data stored in the node name: derived from the
// name and incompressible, so that compressed snapshots fill a disk too.
func payload(name string) []byte {
	b := make([]byte, 0, dataSize+sha256.Size)
	sum := sha256.Sum256([]byte(name))
	for len(b) < dataSize {
		b = append(b, sum[:]...)
		sum = sha256.Sum256(sum[:])
	}
	return b[:dataSize]
}

// op is one write a writer attempted.
type op struct {
	kind       string // create, set, delete, multi
	path       string
	start, end time.Time
	err        error
}

func (o *op) String() string {
	return fmt.Sprintf("%s %s: %v", o.kind, o.path, o.err)
}

// fill is the outcome of writing until the disk was full.
type fill struct {
	mu      sync.Mutex
	ops     []*op
	acked   map[string]bool // created and acknowledged (and not deleted by an acknowledged delete)
	failed  bool            // some write has failed
	firstAt time.Time       // when the first failed write returned
	first   *op
}

func (f *fill) record(o *op) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, o)
	if o.err == nil {
		switch o.kind {
		case "create", "multi":
			f.acked[o.path] = true
		case "delete":
			delete(f.acked, o.path)
		}
		return
	}
	if !f.failed || o.end.Before(f.firstAt) {
		f.failed, f.firstAt, f.first = true, o.end, o
	}
}

func (f *fill) hasFailed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// ackedNames returns the acknowledged nodes, sorted.
func (f *fill) ackedNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.acked))
	for n := range f.acked {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// refused returns the creates the server definitely refused (NOTREADONLY):
// they must never appear.
func (f *fill) refused() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, o := range f.ops {
		if (o.kind == "create" || o.kind == "multi") && zktest.Code(o.err) == notReadOnly {
			names = append(names, o.path)
		}
	}
	return names
}

// writeUntilFull runs writers concurrent sessions that create 1 KiB nodes
// under parent until a write fails or maxCreates were attempted; each then attempts afterFailure more
// writes of every kind. It returns when every writer is done.
func writeUntilFull(t *testing.T, conns []*zk.Conn, maxCreates int) *fill {
	t.Helper()
	f := &fill{acked: map[string]bool{}}
	var wg sync.WaitGroup
	var created sync.Mutex
	total := 0
	done := make(chan struct{})
	for w, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string // this writer's acknowledged creates
			post := 0
			for seq := 0; ; seq++ {
				created.Lock()
				total++
				over := total > maxCreates
				created.Unlock()
				if over && !f.hasFailed() {
					return
				}
				after := f.hasFailed()
				if after {
					if post >= afterFailure {
						return
					}
					post++
				}
				name := fmt.Sprintf("%s/w%d-%06d", parent, w, seq)
				o := &op{kind: "create", path: name}
				// Once writes fail, also try the other kinds of write.
				if after && len(mine) > 0 {
					switch post % 4 {
					case 1:
						o.kind, o.path = "set", mine[post%len(mine)]
					case 2:
						o.kind, o.path = "delete", mine[len(mine)-1]
					case 3:
						o.kind = "multi"
					}
				}
				o.start = time.Now()
				switch o.kind {
				case "create":
					_, o.err = c.Create(name, payload(name), 0, zk.WorldACL(zk.PermAll))
				case "set":
					_, o.err = c.Set(o.path, []byte("overwritten"), -1)
				case "delete":
					o.err = c.Delete(o.path, -1)
				case "multi":
					_, o.err = c.Multi(&zk.CreateRequest{Path: name, Data: payload(name), Acl: zk.WorldACL(zk.PermAll)})
				}
				o.end = time.Now()
				f.record(o)
				if o.err == nil && o.kind == "create" {
					mine = append(mine, name)
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(fillLimit):
		t.Fatalf("writers still busy after %v (%d writes recorded, failed=%v)", fillLimit, len(f.ops), f.hasFailed())
	}
	return f
}

// checkNoAckAfterFailure fails the test for every write acknowledged although
// it started after a write had failed, and for errors other than NOTREADONLY
// or a lost connection once writes fail. It returns how many writes got
// NOTREADONLY.
func checkNoAckAfterFailure(t *testing.T, f *fill) int {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var refused, lost int
	for _, o := range f.ops {
		if o.err == nil {
			if o.start.After(f.firstAt) {
				t.Errorf("write acknowledged after the disk was full: %s %s (started %v after the first failure %v)",
					o.kind, o.path, o.start.Sub(f.firstAt), f.first)
			}
			continue
		}
		switch {
		case zktest.Code(o.err) == notReadOnly:
			refused++
		case errors.Is(o.err, zk.ErrConnectionClosed), errors.Is(o.err, zk.ErrNoServer):
			lost++
		default:
			t.Errorf("write failed with %v; want NOTREADONLY (%d) or a connection loss", o, notReadOnly)
		}
	}
	t.Logf("%d writes: %d acknowledged nodes, %d refused with NOTREADONLY, %d lost with their connection; first failure: %v",
		len(f.ops), len(f.acked), refused, lost, f.first)
	return refused
}

// dialNew opens a new session, failing with an error if none is established
// within timeout.
func dialNew(t *testing.T, addr string, timeout time.Duration) (*zk.Conn, error) {
	t.Helper()
	ev := make(chan zk.Event, 256)
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(quiet{}), zk.WithEventCallback(func(e zk.Event) {
		select {
		case ev <- e:
		default:
		}
	}))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := zktest.WaitSession(ev, timeout); err != nil {
		c.Close()
		return nil, err
	}
	t.Cleanup(c.Close)
	return c, nil
}

// checkPresent reads every acknowledged node (get, exists and the parent's
// children) and checks that no refused create appeared.
func checkPresent(t *testing.T, c *zk.Conn, f *fill, when string) {
	t.Helper()
	acked := f.ackedNames()
	kids, _, err := c.Children(parent)
	if err != nil {
		t.Fatalf("%s: children of %s: %v", when, parent, err)
	}
	have := map[string]bool{}
	for _, k := range kids {
		have[parent+"/"+k] = true
	}
	var missing, wrong []string
	for _, n := range acked {
		if !have[n] {
			missing = append(missing, n)
		}
		data, _, err := c.Get(n)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (get: %v)", n, err))
			continue
		}
		if !bytes.Equal(data, payload(n)) {
			wrong = append(wrong, fmt.Sprintf("%s (%d bytes, starting %x)", n, len(data), data[:min(8, len(data))]))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: %d of %d acknowledged nodes missing, e.g. %s", when, len(missing), len(acked), head(missing))
	}
	if len(wrong) > 0 {
		t.Errorf("%s: %d acknowledged nodes with wrong data, e.g. %s", when, len(wrong), head(wrong))
	}
	if len(acked) > 0 {
		if ok, _, err := c.Exists(acked[len(acked)-1]); err != nil || !ok {
			t.Errorf("%s: exists %s = %v, %v; want true", when, acked[len(acked)-1], ok, err)
		}
	}
	var ghosts []string
	for _, n := range f.refused() {
		if have[n] {
			ghosts = append(ghosts, n)
		}
	}
	if len(ghosts) > 0 {
		t.Errorf("%s: nodes whose create was refused with NOTREADONLY exist: %s", when, head(ghosts))
	}
	t.Logf("%s: %d children under %s, %d acknowledged", when, len(kids), parent, len(acked))
}

// quiet discards go-zookeeper's log.
type quiet struct{}

func (quiet) Printf(string, ...any) {}

func head(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + ", ..."
	}
	return strings.Join(s, ", ")
}

// errorLines returns the server log's ERROR lines that mention substr.
func errorLines(log, substr string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// waitFourLetter polls a four-letter word until it answers want.
func waitFourLetter(addr, word, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, err := zktest.FourLetter(addr, word)
		if err == nil && strings.TrimSpace(out) == want {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	s := zktest.StartGozk(t, map[string]string{
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
	if len(f.ackedNames()) == 0 {
		t.Fatalf("no create was acknowledged before the disk filled up")
	}
	checkNoAckAfterFailure(t, f)
	// The writers' own clients are turned away once the server is read-only
	// (they do not accept a read-only server), so a write that reaches it comes
	// from a client that does: it gets NOTREADONLY.
	if code, err := readOnlyCreate(s.Addr, "/df/after-full"); err != nil || code != notReadOnly {
		t.Errorf("write through a read-only session = %d, %v; want NOTREADONLY (%d)", code, err, notReadOnly)
	}
	if !s.Running() {
		t.Fatalf("gozk exited when its disk filled up; log:\n%s", s.LogTail(8<<10))
	}

	if out, err := waitFourLetter(s.Addr, "isro", "ro", 5*time.Second); err != nil || out != "ro" {
		t.Errorf("isro = %q, %v; want ro", out, err)
	}
	enospc := errorLines(s.Log(), "no space left on device")
	if len(enospc) == 0 {
		t.Errorf("the server log has no ERROR line naming the cause (no space left on device)")
	}
	var named bool
	for _, l := range enospc {
		t.Logf("server: %s", l)
		named = named || strings.Contains(l, "log storage")
	}
	if len(enospc) > 0 && !named {
		t.Errorf("the ERROR lines naming ENOSPC do not say it is the log storage that failed")
	}

	// A server that can no longer write its log is a read-only server: like a
	// read-only ZooKeeper server it turns away clients that do not accept one
	// (go-zookeeper never does), and serves those that do.
	if c, err := dialNew(t, s.Addr, 3*time.Second); err == nil {
		c.Close()
		t.Errorf("read-only server: a client that does not accept a read-only server got a session")
	}
	// And through a new session of a client that accepts a read-only server.
	acked := f.ackedNames()
	if ro, data, err := readOnlyGet(s.Addr, acked[0]); err != nil {
		t.Errorf("read-only server: new session with readOnly=true: %v", err)
	} else if !bytes.Equal(data, payload(acked[0])) {
		t.Errorf("read-only server: new readOnly session read %d bytes starting %x from %s; want its payload", len(data), data[:min(8, len(data))], acked[0])
	} else {
		t.Logf("read-only server: new session with readOnly=true read %s (ConnectResponse readOnly=%v)", acked[0], ro)
	}

	// Stop, make room, restart.
	s.Kill()
	remountTmpfs(t, mnt, "64m")
	s.Restart(t)
	if out, err := waitFourLetter(s.Addr, "isro", "rw", 5*time.Second); err != nil || out != "rw" {
		t.Errorf("after restart with room: isro = %q, %v; want rw", out, err)
	}
	c, err := dialNew(t, s.Addr, 10*time.Second)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	checkPresent(t, c, f, "after restart")

	// Writes work again, through the new session and a resumed one.
	p := parent + "/after-restart"
	if _, err := c.Create(p, []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create after restart: %v", err)
	}
	if _, err := c.Set(p, []byte("y"), 0); err != nil {
		t.Errorf("set after restart: %v", err)
	}
	if _, err := conns[1].Create(p+"-resumed", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Errorf("create through a session from before the restart: %v", err)
	}
	if err := c.Delete(p, 1); err != nil {
		t.Errorf("delete after restart: %v", err)
	}
	if data, _, err := c.Get(p + "-resumed"); err != nil || len(data) != 0 {
		t.Errorf("get %s-resumed = %q, %v", p, data, err)
	}
}

// TestSnapshotDiskFull puts only dataDir (the snapshots) on a small tmpfs and
// the log on a roomy disk, with a snapshot every few hundred writes, so that
// writing a snapshot is what runs out of space. Whatever gozk does then
// (carry on, or refuse writes), no write may be acknowledged after one was
// refused, and a restart with room must bring back every acknowledged node.
func TestSnapshotDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "6m")
	s := zktest.StartGozk(t, map[string]string{
		"dataDir":      mnt + "/data",
		"dataLogDir":   t.TempDir(),
		"preAllocSize": "64",
		"snapCount":    "500",
	})
	setup, _ := zktest.Connect(t, s.Addr)
	if _, err := setup.Create(parent, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create %s: %v", parent, err)
	}
	conns := make([]*zk.Conn, writers)
	for i := range conns {
		conns[i], _ = zktest.Connect(t, s.Addr)
	}
	// 8 MiB of node data: snapshots of it cannot fit on a 6 MiB disk.
	f := writeUntilFull(t, conns, 8<<10)
	if f.hasFailed() {
		checkNoAckAfterFailure(t, f)
	}
	enospc := errorLines(s.Log(), "no space left on device")
	for _, l := range enospc {
		t.Logf("server: %s", l)
	}
	if len(enospc) == 0 {
		t.Errorf("the snapshot disk filled up, but the server log has no ERROR line naming the cause (no space left on device)")
	}
	isro, _ := zktest.FourLetter(s.Addr, "isro")
	t.Logf("snapshot disk full: %d acknowledged creates, writes failed: %v, server running: %v, isro: %q",
		len(f.ackedNames()), f.hasFailed(), s.Running(), isro)
	if s.Running() {
		// Read-only now: only a client that accepts a read-only server is served.
		if acked := f.ackedNames(); len(acked) > 0 {
			if _, data, err := readOnlyGet(s.Addr, acked[0]); err != nil || !bytes.Equal(data, payload(acked[0])) {
				t.Errorf("snapshot disk full: read of %s through a read-only session: %v", acked[0], err)
			}
		}
	}

	s.Kill()
	remountTmpfs(t, mnt, "64m")
	s.Restart(t)
	c, err := dialNew(t, s.Addr, 10*time.Second)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	checkPresent(t, c, f, "after restart")
	if _, err := c.Create(parent+"/after-restart", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Errorf("create after restart: %v", err)
	}
}
