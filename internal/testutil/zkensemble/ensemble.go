// Package zkensemble starts a replicated ensemble of real server processes
// (gozk, or Apache ZooKeeper's QuorumPeerMain with GOZK_TEST_SERVER=zookeeper)
// on distinct loopback addresses, and injects process faults into it: SIGKILL,
// SIGSTOP/SIGCONT, restarts and wiped data directories.
//
// Members are numbered from 0; member i has myid i+1. Every member gets its
// own address 127.0.0.x (x random in 2..250, distinct per member) with ports
// picked free on that address, or 127.0.0.1 with distinct ports when binding
// other loopback addresses fails. Every wait is bounded, every process is
// killed when the test ends, and the server logs are shown when it failed.
package zkensemble

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// Bounds on the waits of the harness.
const (
	// StartTimeout bounds how long Start waits for every member to serve.
	StartTimeout = 90 * time.Second
	// ServeTimeout bounds WaitServing.
	ServeTimeout = 60 * time.Second
	// LeaderTimeout bounds Leader.
	LeaderTimeout = 60 * time.Second
	// flwTimeout bounds one four-letter-word exchange.
	flwTimeout = 3 * time.Second
)

// Modes reported by Mode and Modes.
const (
	ModeLeader   = "leader"
	ModeFollower = "follower"
	ModeObserver = "observer"
	// ModeNotServing: the process answers but has no leader.
	ModeNotServing = "not serving"
	// ModeDown: the process is not running or does not answer.
	ModeDown = "down"
	// ModeStopped: the process is paused with SIGSTOP.
	ModeStopped = "stopped"
)

// NotServing is what srvr answers on a server that has no leader.
const NotServing = "This ZooKeeper instance is not currently serving requests"

// unsupported is how a gozk without ensemble support refuses server.N lines.
const unsupported = "is not supported yet"

// Environment variables for debugging ensemble tests: EnvLogLevel sets the
// members' --log-level (gozk), EnvKeepLogs names a directory that keeps the
// whole logs of the members of a failed test, ending with the stacks of
// the goroutines of those still running (SIGQUIT).
const (
	EnvLogLevel = "GOZK_TEST_LOGLEVEL"
	EnvKeepLogs = "GOZK_TEST_KEEPLOGS"
)

// Options shape an ensemble.
type Options struct {
	// Observers is how many members are observers: the last Observers of
	// the n members. The others are voting participants.
	Observers int
	// TickTime is tickTime; 0 means 2s.
	TickTime time.Duration
	// InitLimit and SyncLimit are in ticks; 0 means 10 and 5.
	InitLimit, SyncLimit int
	// Extra adds zoo.cfg keys to every member's configuration or, mapped to
	// "", removes a default one.
	Extra map[string]string
	// Deferred lists members that are configured (and listed in every
	// zoo.cfg) but not started by Start; start them with Restart.
	Deferred []int
}

// Member is one server of the ensemble.
type Member struct {
	// Index is the member's position, from 0.
	Index int
	// ID is the server id (myid), Index+1.
	ID int
	// Host is the member's loopback address, 127.0.0.x.
	Host string
	// Addr is the client address, Host:ClientPort.
	Addr string
	// ClientPort, QuorumPort and ElectionPort are the member's ports on Host.
	ClientPort, QuorumPort, ElectionPort int
	// Observer tells whether the member is an observer.
	Observer bool
	// Dir holds zoo.cfg, server.log and the data directory.
	Dir string
	// DataDir is the dataDir, holding myid.
	DataDir string

	kind    string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process has exited
	stopped bool
	runs    int
}

// Ensemble is a running ensemble.
type Ensemble struct {
	// Kind is zktest.KindGozk or zktest.KindZooKeeper.
	Kind string
	// Members are the servers, in id order.
	Members []*Member
	// Opts are the options with defaults filled in.
	Opts Options

	t   testing.TB
	bin string // gozk binary; "" for ZooKeeper
}

// Start configures n members (the last opts.Observers of them observers),
// starts all but opts.Deferred, and waits until each started member serves.
// With gozk it skips the test when the binary refuses ensemble configurations.
func Start(t testing.TB, n int, opts Options) *Ensemble {
	t.Helper()
	if n < 1 || opts.Observers < 0 || opts.Observers >= n {
		t.Fatalf("zkensemble: %d members with %d observers", n, opts.Observers)
	}
	if opts.TickTime == 0 {
		opts.TickTime = 2 * time.Second
	}
	if opts.InitLimit == 0 {
		opts.InitLimit = 10
	}
	if opts.SyncLimit == 0 {
		opts.SyncLimit = 5
	}
	e := &Ensemble{Kind: zktest.Kind(), Opts: opts, t: t}
	switch e.Kind {
	case zktest.KindZooKeeper:
		if _, err := exec.LookPath("java"); err != nil {
			t.Skipf("zkensemble: java not found: %v", err)
		}
		if _, err := os.Stat(zktest.ZooKeeperJar); err != nil {
			t.Skipf("zkensemble: %s missing: %v", zktest.ZooKeeperJar, err)
		}
	default:
		e.bin = zktest.GozkBinary(t)
	}

	hosts := pickHosts(t, n)
	root := t.TempDir()
	for i := range n {
		h := hosts[i]
		ports := freePorts(t, h, 3)
		m := &Member{
			Index:        i,
			ID:           i + 1,
			Host:         h,
			ClientPort:   ports[0],
			QuorumPort:   ports[1],
			ElectionPort: ports[2],
			Observer:     i >= n-opts.Observers,
			Dir:          filepath.Join(root, "m"+strconv.Itoa(i+1)),
			kind:         e.Kind,
		}
		m.Addr = net.JoinHostPort(h, strconv.Itoa(m.ClientPort))
		m.DataDir = filepath.Join(m.Dir, "data")
		m.logPath = filepath.Join(m.Dir, "server.log")
		e.Members = append(e.Members, m)
	}
	for _, m := range e.Members {
		if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
			t.Fatalf("zkensemble: %v", err)
		}
		if err := m.writeMyID(); err != nil {
			t.Fatalf("zkensemble: %v", err)
		}
		if err := os.WriteFile(filepath.Join(m.Dir, "zoo.cfg"), []byte(e.config(m)), 0o644); err != nil {
			t.Fatalf("zkensemble: write zoo.cfg: %v", err)
		}
	}
	t.Cleanup(func() {
		keep := os.Getenv(EnvKeepLogs)
		if t.Failed() && keep != "" {
			// The whole logs are kept: put the members' goroutines in them.
			for _, m := range e.Members {
				m.dumpStacks()
			}
		}
		for _, m := range e.Members {
			m.kill()
		}
		if t.Failed() {
			for _, m := range e.Members {
				t.Logf("zkensemble: member %d (%s, %s) log (tail):\n%s", m.ID, m.Addr, roleName(m), m.LogTail(24<<10))
				if keep != "" {
					name := filepath.Join(keep, fmt.Sprintf("%s-member%d.log", strings.ReplaceAll(t.Name(), "/", "_"), m.ID))
					if err := os.WriteFile(name, []byte(m.Log()), 0o644); err == nil {
						t.Logf("zkensemble: member %d's whole log kept in %s", m.ID, name)
					}
				}
			}
		}
	})

	var started []int
	for i := range e.Members {
		if slices.Contains(opts.Deferred, i) {
			continue
		}
		if err := e.launch(i); err != nil {
			t.Fatalf("zkensemble: %v", err)
		}
		started = append(started, i)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for _, i := range started {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.waitServing(i, StartTimeout)
		}()
	}
	wg.Wait()
	for _, i := range started {
		if errs[i] == nil {
			continue
		}
		m := e.Members[i]
		if e.Kind == zktest.KindGozk && !m.Running() && strings.Contains(m.Log(), unsupported) {
			t.Skipf("zkensemble: this gozk does not run ensembles yet: %s", lastLine(m.Log()))
		}
		t.Fatalf("zkensemble: ensemble did not start (modes %v): %v", e.Modes(), errs[i])
	}
	t.Logf("zkensemble: %s ensemble of %d (%d observers) at %s", e.Kind, n, opts.Observers, e.ConnectString())
	return e
}

func roleName(m *Member) string {
	if m.Observer {
		return "observer"
	}
	return "participant"
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// config renders member m's zoo.cfg.
func (e *Ensemble) config(m *Member) string {
	cfg := map[string]string{
		"tickTime":               strconv.FormatInt(e.Opts.TickTime.Milliseconds(), 10),
		"initLimit":              strconv.Itoa(e.Opts.InitLimit),
		"syncLimit":              strconv.Itoa(e.Opts.SyncLimit),
		"dataDir":                m.DataDir,
		"clientPort":             strconv.Itoa(m.ClientPort),
		"clientPortAddress":      m.Host,
		"4lw.commands.whitelist": "*",
		"admin.enableServer":     "false",
		"forceSync":              "no",
	}
	if m.Observer {
		cfg["peerType"] = "observer"
	}
	for k, v := range e.Opts.Extra {
		if v == "" {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	var b strings.Builder
	for _, k := range sortedKeys(cfg) {
		fmt.Fprintf(&b, "%s=%s\n", k, cfg[k])
	}
	for _, o := range e.Members {
		fmt.Fprintf(&b, "server.%d=%s:%d:%d:%s;%s\n", o.ID, o.Host, o.QuorumPort, o.ElectionPort, roleName(o), o.Addr)
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (m *Member) writeMyID() error {
	if err := os.WriteFile(filepath.Join(m.DataDir, "myid"), []byte(strconv.Itoa(m.ID)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write myid: %w", err)
	}
	return nil
}

// pickHosts returns n distinct loopback addresses 127.0.0.x, or n times
// 127.0.0.1 when other loopback addresses cannot be bound.
func pickHosts(t testing.TB, n int) []string {
	t.Helper()
	xs := rand.Perm(249)[:n]
	hosts := make([]string, n)
	for i, x := range xs {
		hosts[i] = "127.0.0." + strconv.Itoa(x+2)
		l, err := net.Listen("tcp", net.JoinHostPort(hosts[i], "0"))
		if err != nil {
			t.Logf("zkensemble: cannot bind %s (%v); every member on 127.0.0.1", hosts[i], err)
			for j := range hosts {
				hosts[j] = "127.0.0.1"
			}
			return hosts
		}
		l.Close()
	}
	return hosts
}

// freePorts returns k distinct ports that were free on host a moment ago.
func freePorts(t testing.TB, host string, k int) []int {
	t.Helper()
	ports := make([]int, 0, k)
	for range k {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatalf("zkensemble: free port on %s: %v", host, err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// For returns a view of the ensemble that reports its failures to t, for use
// inside subtests (a test may fail only from its own goroutine). The members
// are shared with e.
func (e *Ensemble) For(t testing.TB) *Ensemble {
	c := *e
	c.t = t
	return &c
}

// Len returns the number of members.
func (e *Ensemble) Len() int { return len(e.Members) }

// Member returns member i.
func (e *Ensemble) Member(i int) *Member {
	e.t.Helper()
	if i < 0 || i >= len(e.Members) {
		e.t.Fatalf("zkensemble: no member %d in an ensemble of %d", i, len(e.Members))
	}
	return e.Members[i]
}

// Voters returns the indexes of the participants.
func (e *Ensemble) Voters() []int {
	var v []int
	for _, m := range e.Members {
		if !m.Observer {
			v = append(v, m.Index)
		}
	}
	return v
}

// Observers returns the indexes of the observers.
func (e *Ensemble) Observers() []int {
	var v []int
	for _, m := range e.Members {
		if m.Observer {
			v = append(v, m.Index)
		}
	}
	return v
}

// launch starts member i's process without waiting for it to serve.
func (e *Ensemble) launch(i int) error {
	m := e.Members[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		select {
		case <-m.done:
		default:
			return fmt.Errorf("member %d is already running", m.ID)
		}
	}
	m.runs++
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("member %d log: %w", m.ID, err)
	}
	fmt.Fprintf(logf, "=== zkensemble: start #%d of %s member %d (%s) on %s\n", m.runs, e.Kind, m.ID, roleName(m), m.Addr)
	cfg := filepath.Join(m.Dir, "zoo.cfg")
	var cmd *exec.Cmd
	if e.Kind == zktest.KindZooKeeper {
		cmd = zkCommand(cfg)
	} else {
		args := []string{"server", "--config", cfg}
		if lv := os.Getenv(EnvLogLevel); lv != "" {
			args = append(args, "--log-level", lv)
		}
		cmd = exec.Command(e.bin, args...)
	}
	cmd.Dir = m.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start member %d: %w", m.ID, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	m.cmd, m.done, m.stopped = cmd, done, false
	return nil
}

// zkCommand is the java command line of a ZooKeeper quorum peer.
func zkCommand(cfg string) *exec.Cmd {
	cp := "/etc/zookeeper/conf:" + zktest.ZooKeeperJar
	if _, err := os.Stat("/usr/share/java/slf4j-simple.jar"); err == nil {
		cp += ":/usr/share/java/slf4j-simple.jar"
	}
	return exec.Command("java",
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		// Read when the classes load; zoo.cfg sets them too.
		"-Dzookeeper.forceSync=no",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.4lw.commands.whitelist=*",
		"-cp", cp, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg)
}

// ConnectString returns the client addresses of the given members (all when
// none are given), comma-separated.
func (e *Ensemble) ConnectString(members ...int) string {
	return strings.Join(e.Addrs(members...), ",")
}

// Addrs returns the client addresses of the given members (all when none are
// given).
func (e *Ensemble) Addrs(members ...int) []string {
	if len(members) == 0 {
		for i := range e.Members {
			members = append(members, i)
		}
	}
	addrs := make([]string, 0, len(members))
	for _, i := range members {
		addrs = append(addrs, e.Member(i).Addr)
	}
	return addrs
}

// Running returns the indexes of the members whose processes are alive and
// not stopped.
func (e *Ensemble) Running() []int {
	var r []int
	for _, m := range e.Members {
		if m.Running() && !m.Stopped() {
			r = append(r, m.Index)
		}
	}
	return r
}

var errExited = errors.New("process exited")

// IndexOf returns the index of the member whose client address is addr (as
// go-zookeeper's Conn.Server reports it), or -1.
func (e *Ensemble) IndexOf(addr string) int {
	for _, m := range e.Members {
		if m.Addr == addr {
			return m.Index
		}
	}
	return -1
}
