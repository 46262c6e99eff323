// Package zkproc starts Apache ZooKeeper (the Debian package's jar) as a
// standalone server for tests, on a free loopback port in a temporary
// directory, and stops it afterwards.
package zkproc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Jar is the ZooKeeper jar; its directory holds the dependencies.
var Jar = "/usr/share/java/zookeeper.jar"

// ErrUnavailable means java or the ZooKeeper jar is missing.
var ErrUnavailable = errors.New("zkproc: java or the ZooKeeper jar is missing")

// Server is a running ZooKeeper.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int
	Dir  string
	cmd  *exec.Cmd
	log  string
	exit chan error
}

// Config holds optional settings.
type Config struct {
	// TickTime in milliseconds (default 2000: session timeouts 4 s to 40 s).
	TickTime int
	// ContainerCheckInterval sets znode.container.checkIntervalMs (default 1000 ms here).
	ContainerCheckInterval time.Duration
	// Extra zoo.cfg lines.
	Extra []string
	// Dir is the data directory's parent (default: a new temporary directory).
	Dir string
}

// Available reports whether ZooKeeper can be started here.
func Available() bool {
	if _, err := exec.LookPath("java"); err != nil {
		return false
	}
	_, err := os.Stat(Jar)
	return err == nil
}

// Start starts a server for t, skipping the test if ZooKeeper is missing and
// failing it if the server does not come up. The server is stopped when the
// test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if !Available() {
		t.Skip(ErrUnavailable)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// New starts a server and waits until it serves; the caller must Stop it.
func New(cfg Config) (*Server, error) {
	if !Available() {
		return nil, ErrUnavailable
	}
	if cfg.TickTime == 0 {
		cfg.TickTime = 2000
	}
	if cfg.ContainerCheckInterval == 0 {
		cfg.ContainerCheckInterval = time.Second
	}
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "zkproc")
		if err != nil {
			return nil, err
		}
		cfg.Dir = d
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(cfg, attempt)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(cfg Config, attempt int) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.Dir, fmt.Sprintf("zk%d", attempt))
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	lines := []string{
		"tickTime=" + strconv.Itoa(cfg.TickTime),
		"dataDir=" + data,
		"clientPort=" + strconv.Itoa(port),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=*",
		"maxClientCnxns=0",
	}
	lines = append(lines, cfg.Extra...)
	confFile := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(confFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "zk.log")
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("java",
		"-Xmx256m",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.extendedTypesEnabled=true",
		"-Dznode.container.checkIntervalMs="+strconv.FormatInt(cfg.ContainerCheckInterval.Milliseconds(), 10),
		"-cp", "/etc/zookeeper/conf:"+Jar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", confFile)
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.Dir = dir
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("zkproc: starting java: %w", err)
	}
	lf.Close()
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir, cmd: cmd, log: logFile, exit: make(chan error, 1)}
	go func() { s.exit <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exit:
			s.exit <- err
			return nil, fmt.Errorf("zkproc: server exited: %v\n%s", err, s.logTail())
		default:
		}
		// conf names our data directory: proof that the server on this port
		// is the one we started.
		out, err := s.FourLetter("conf")
		if err == nil && strings.Contains(out, "dataDir="+data) {
			if out, err := s.FourLetter("srvr"); err == nil && strings.Contains(out, "Mode:") {
				return s, nil
			}
		} else if err == nil && strings.Contains(out, "dataDir=") {
			s.Stop()
			return nil, fmt.Errorf("zkproc: port %d is taken by another server", port)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("zkproc: server on %s did not start\n%s", s.Addr, s.logTail())
}

// FourLetter sends a four-letter word and returns the answer.
func (s *Server) FourLetter(word string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, word); err != nil {
		return "", err
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	return string(b), err
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	select {
	case err := <-s.exit:
		s.exit <- err
	case <-time.After(30 * time.Second):
	}
}
