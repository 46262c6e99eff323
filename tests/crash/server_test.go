package crash

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// waitFor bounds every wait on the server or a client.
const waitFor = 30 * time.Second

var worldAll = zk.WorldACL(zk.PermAll)

// startServer starts the server selected by GOZK_TEST_SERVER with its
// dataDir (the harness's) and a separate dataLogDir, both in temporary
// directories that outlive restarts and are removed when the test ends.
// extra adds or overrides zoo.cfg keys.
func startServer(t *testing.T, extra map[string]string) *zktest.Server {
	t.Helper()
	logDir := filepath.Join(t.TempDir(), "datalog")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"dataLogDir": logDir}
	for k, v := range extra {
		cfg[k] = v
	}
	s := zktest.Start(t, cfg)
	t.Logf("%s server on %s, dataDir %s, dataLogDir %s", s.Kind, s.Addr, s.DataDir, s.Config["dataLogDir"])
	return s
}

// kill SIGKILLs the server and fails the test unless the process is gone.
func kill(t *testing.T, s *zktest.Server) {
	t.Helper()
	s.Kill()
	if s.Running() {
		t.Fatalf("server on %s still running after SIGKILL", s.Addr)
	}
}

// restart starts the killed server again on the same port, directories and
// configuration, and returns what it logged during this start.
func restart(t *testing.T, s *zktest.Server) (logged string, took time.Duration) {
	t.Helper()
	before := len(s.Log())
	start := time.Now()
	s.Restart(t)
	took = time.Since(start)
	if !s.Running() {
		t.Fatalf("server on %s not running after restart", s.Addr)
	}
	l := s.Log()
	if len(l) < before {
		before = 0
	}
	return l[before:], took
}

// quiet discards go-zookeeper's log (reconnect attempts after a kill).
type quiet struct{}

func (quiet) Printf(string, ...any) {}

// connect opens a session through its own dialer, so the test can stop the
// client from reconnecting, and with go-zookeeper's log discarded.
func connect(t *testing.T, addr string, timeout time.Duration) (*zk.Conn, <-chan zk.Event, *zktest.Dialer) {
	t.Helper()
	d := &zktest.Dialer{}
	c, ev, err := zktest.Dial(t, addr, timeout, zk.WithDialer(d.Dial), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	return c, ev, d
}

// closeAll closes clients concurrently, waiting at most waitFor.
func closeAll(t *testing.T, conns []*zk.Conn) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *zk.Conn) {
			defer wg.Done()
			c.Close()
		}(c)
	}
	if !waitGroup(&wg, waitFor) {
		t.Fatalf("clients did not close within %v", waitFor)
	}
}

// waitGroup waits for wg at most d and reports whether it finished.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// readChildren reads the data and version of every child of parent.
func readChildren(c *zk.Conn, parent string) (map[string]nodeState, error) {
	names, _, err := c.Children(parent)
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", parent, err)
	}
	sort.Strings(names)
	got := make(map[string]nodeState, len(names))
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan string)
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				mu.Lock()
				stop := first != nil
				mu.Unlock()
				if stop {
					continue // one failure is enough; do not wait on the rest
				}
				data, st, err := c.Get(parent + "/" + name)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("get %s/%s: %w", parent, name, err)
					}
				} else {
					got[name] = nodeState{data: string(data), version: st.Version}
				}
				mu.Unlock()
			}
		}()
	}
	for _, n := range names {
		next <- n
	}
	close(next)
	wg.Wait()
	return got, first
}

// startExpectingFailure runs the gozk binary on the server's zoo.cfg and
// expects it to refuse to start: it must exit non-zero within waitFor
// without ever answering ruok. It returns what the process printed.
func startExpectingFailure(t *testing.T, s *zktest.Server) string {
	t.Helper()
	if s.Kind != zktest.KindGozk {
		t.Fatalf("startExpectingFailure runs gozk only, not %s", s.Kind)
	}
	var out bytes.Buffer
	cmd := exec.Command(zktest.GozkBinary(t), "server", "--config", filepath.Join(s.Dir, "zoo.cfg"))
	cmd.Dir = s.Dir
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gozk: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.After(waitFor)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			var ee *exec.ExitError
			switch {
			case err == nil:
				t.Fatalf("gozk exited with status 0; want a non-zero status. Output:\n%s", out.String())
			case !errors.As(err, &ee):
				t.Fatalf("gozk: %v. Output:\n%s", err, out.String())
			}
			t.Logf("gozk refused to start (%v)", err)
			return out.String()
		case <-tick.C:
			if r, err := zktest.FourLetter(s.Addr, "ruok"); err == nil && r == "imok" {
				stop()
				t.Fatalf("gozk started serving (ruok answered imok); want it to refuse to start. Output:\n%s", out.String())
			}
		case <-deadline:
			stop()
			t.Fatalf("gozk neither served nor exited within %v. Output:\n%s", waitFor, out.String())
		}
	}
}
