// Package zktest starts real gozk and Apache ZooKeeper server processes for
// end-to-end and differential tests, and connects go-zookeeper clients to them.
//
// Start chooses the implementation from the environment: GOZK_TEST_SERVER=zookeeper
// runs Apache ZooKeeper (ZooKeeperServerMain from /usr/share/java/zookeeper.jar),
// anything else runs gozk built from ./cmd/gozk of the enclosing module. GOZK_BIN
// names a prebuilt gozk binary to use instead of building one.
//
// Every process started here is killed by a t.Cleanup of the test that started it.
package zktest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kinds of server.
const (
	KindGozk      = "gozk"
	KindZooKeeper = "zookeeper"
)

// EnvServer selects the server implementation used by Start.
const EnvServer = "GOZK_TEST_SERVER"

// EnvBin names a prebuilt gozk binary; when unset the binary is built once per test binary.
const EnvBin = "GOZK_BIN"

// ZooKeeperJar is the Apache ZooKeeper jar used by StartZooKeeper.
const ZooKeeperJar = "/usr/share/java/zookeeper.jar"

// StartTimeout bounds how long a server may take to become ready.
const StartTimeout = 20 * time.Second

// Server is one running (or killed) server process.
type Server struct {
	// Addr is the client address, "127.0.0.1:port".
	Addr string
	// Port is the client port.
	Port int
	// Dir is the server's working directory: zoo.cfg, server.log and, unless
	// dataDir is overridden, the data directory Dir/data.
	Dir string
	// DataDir is the dataDir written to zoo.cfg.
	DataDir string
	// Kind is KindGozk or KindZooKeeper.
	Kind string
	// Config is the effective configuration (zoo.cfg keys and, for ZooKeeper, the
	// keys passed as JVM flags).
	Config map[string]string

	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	runs int
}

// Kind returns the server kind selected by GOZK_TEST_SERVER.
func Kind() string {
	if strings.EqualFold(os.Getenv(EnvServer), KindZooKeeper) {
		return KindZooKeeper
	}
	return KindGozk
}

// Start starts the server selected by GOZK_TEST_SERVER (gozk by default).
func Start(t testing.TB, cfg map[string]string) *Server {
	t.Helper()
	if Kind() == KindZooKeeper {
		return StartZooKeeper(t, cfg)
	}
	return StartGozk(t, cfg)
}

// The cfg maps of StartGozk and StartZooKeeper extend and override the
// defaults: tickTime=2000, dataDir=Dir/data, clientPort=<a free port>,
// clientPortAddress=127.0.0.1, 4lw.commands.whitelist=*,
// extendedTypesEnabled=true, znode.container.checkIntervalMs=1000,
// admin.enableServer=false. A key mapped to "" is left out.

// StartGozk builds (once per test binary) and starts `gozk server --config zoo.cfg`.
func StartGozk(t testing.TB, cfg map[string]string) *Server {
	t.Helper()
	bin := GozkBinary(t)
	s := newServer(t, KindGozk, cfg)
	s.start(t, func() *exec.Cmd {
		return exec.Command(bin, "server", "--config", filepath.Join(s.Dir, "zoo.cfg"))
	})
	return s
}

// zkJVMFlags maps configuration keys that ZooKeeper reads from system properties
// rather than zoo.cfg to their property names. They are removed from zoo.cfg and
// passed as -D flags.
var zkJVMFlags = map[string]string{
	"znode.container.checkIntervalMs": "znode.container.checkIntervalMs",
	"znode.container.maxPerMinute":    "znode.container.maxPerMinute",
	"extendedTypesEnabled":            "zookeeper.extendedTypesEnabled",
	"jute.maxbuffer":                  "jute.maxbuffer",
	"admin.enableServer":              "zookeeper.admin.enableServer",
	"4lw.commands.whitelist":          "zookeeper.4lw.commands.whitelist",
	"forceSync":                       "zookeeper.forceSync",
}

// StartZooKeeper starts Apache ZooKeeper (standalone, ZooKeeperServerMain). It
// skips the test when java or the ZooKeeper jar is missing.
func StartZooKeeper(t testing.TB, cfg map[string]string) *Server {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		t.Skipf("zktest: java not found: %v", err)
	}
	if _, err := os.Stat(ZooKeeperJar); err != nil {
		t.Skipf("zktest: %s missing: %v", ZooKeeperJar, err)
	}
	s := newServer(t, KindZooKeeper, cfg)
	s.start(t, s.zkCommand)
	return s
}

func newServer(t testing.TB, kind string, cfg map[string]string) *Server {
	t.Helper()
	dir := t.TempDir()
	port := FreePort(t)
	eff := map[string]string{
		"tickTime":                        "2000",
		"dataDir":                         filepath.Join(dir, "data"),
		"clientPort":                      strconv.Itoa(port),
		"clientPortAddress":               "127.0.0.1",
		"4lw.commands.whitelist":          "*",
		"extendedTypesEnabled":            "true",
		"znode.container.checkIntervalMs": "1000",
		"admin.enableServer":              "false",
	}
	for k, v := range cfg {
		if v == "" {
			delete(eff, k)
			continue
		}
		eff[k] = v
	}
	if p, err := strconv.Atoi(eff["clientPort"]); err == nil {
		port = p
	}
	s := &Server{
		Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:    port,
		Dir:     dir,
		DataDir: eff["dataDir"],
		Kind:    kind,
		Config:  eff,
		logPath: filepath.Join(dir, "server.log"),
	}
	if s.DataDir != "" {
		if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
			t.Fatalf("zktest: %v", err)
		}
	}
	var b strings.Builder
	for _, k := range sortedKeys(eff) {
		if _, jvm := zkJVMFlags[k]; jvm && kind == KindZooKeeper && k != "admin.enableServer" {
			continue
		}
		fmt.Fprintf(&b, "%s=%s\n", k, eff[k])
	}
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(b.String()), 0o644); err != nil {
		t.Fatalf("zktest: write zoo.cfg: %v", err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("zktest: %s server %s log (tail):\n%s", s.Kind, s.Addr, s.LogTail(32<<10))
		}
	})
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// start runs the command built by mk and waits until the server is ready.
func (s *Server) start(t testing.TB, mk func() *exec.Cmd) {
	t.Helper()
	s.mu.Lock()
	s.runs++
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		t.Fatalf("zktest: %v", err)
	}
	fmt.Fprintf(logf, "=== zktest: start #%d of %s on %s\n", s.runs, s.Kind, s.Addr)
	cmd := mk()
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		t.Fatalf("zktest: start %s: %v", s.Kind, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.cmd = cmd
	s.done = done
	s.mu.Unlock()

	deadline := time.Now().Add(StartTimeout)
	for {
		if s.ready() {
			return
		}
		select {
		case <-done:
			t.Fatalf("zktest: %s exited before serving (%v); log:\n%s", s.Kind, cmd.ProcessState, s.LogTail(32<<10))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			t.Fatalf("zktest: %s on %s not ready after %v; log:\n%s", s.Kind, s.Addr, StartTimeout, s.LogTail(32<<10))
		}
	}
}

// ready reports whether the server is serving: srvr showing Mode: (ZooKeeper
// answers ruok before it serves) or, for gozk, ruok answering imok. When a
// test's whitelist disables both, stat and mntr are tried too.
func (s *Server) ready() bool {
	if s.Kind == KindGozk {
		if out, err := FourLetter(s.Addr, "ruok"); err == nil && out == "imok" {
			return true
		}
	}
	for _, w := range []string{"srvr", "stat"} {
		out, err := FourLetter(s.Addr, w)
		if err != nil {
			return false
		}
		if strings.Contains(out, "Mode:") {
			return true
		}
	}
	out, err := FourLetter(s.Addr, "mntr")
	return err == nil && strings.Contains(out, "zk_server_state\t")
}

// Kill kills the server process with SIGKILL and waits for it to exit. It is a
// no-op when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Running reports whether the server process is still alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Restart kills the server (if running) and starts it again on the same port
// with the same directory and configuration.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	switch s.Kind {
	case KindZooKeeper:
		s.start(t, s.zkCommand)
	default:
		bin := GozkBinary(t)
		s.start(t, func() *exec.Cmd {
			return exec.Command(bin, "server", "--config", filepath.Join(s.Dir, "zoo.cfg"))
		})
	}
}

// zkCommand builds the java command line for this server.
func (s *Server) zkCommand() *exec.Cmd {
	cp := "/etc/zookeeper/conf:" + ZooKeeperJar
	if _, err := os.Stat("/usr/share/java/slf4j-simple.jar"); err == nil {
		cp += ":/usr/share/java/slf4j-simple.jar"
	}
	args := []string{
		"-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
	}
	for _, k := range sortedKeys(s.Config) {
		if prop, ok := zkJVMFlags[k]; ok {
			args = append(args, "-D"+prop+"="+s.Config[k])
		}
	}
	args = append(args, "-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(s.Dir, "zoo.cfg"))
	return exec.Command("java", args...)
}

// Log returns everything the server has written to stdout and stderr.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// LogTail returns at most the last n bytes of the server log.
func (s *Server) LogTail(n int) string {
	l := s.Log()
	if len(l) > n {
		l = "...\n" + l[len(l)-n:]
	}
	return l
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("zktest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FourLetter sends a four-letter word and returns everything the server
// answers before closing the connection.
func FourLetter(addr, word string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("four-letter word %s: %w", word, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, word); err != nil {
		return "", fmt.Errorf("four-letter word %s: %w", word, err)
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		return buf.String(), fmt.Errorf("four-letter word %s: %w", word, err)
	}
	return buf.String(), nil
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
