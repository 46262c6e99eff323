package e2e

// The bad-input matrix (issue 9): one server, one table of malformed,
// oversized and abusive inputs, each on its own connection. For every case
// the answer is checked (the error code in the reply header, or that the
// server closed that connection) against what Apache ZooKeeper 3.8 does
// (recorded with GOZK_TEST_SERVER=zookeeper; the want column is ZooKeeper's
// behaviour), and a healthy go-zookeeper client is checked to be served
// during (a bystander doing round trips all along) and after every case.
// Where gozk closes a connection it must log a line naming that connection.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// Outcomes of a matrix case, as strings so that the table reads as the
// record of what ZooKeeper does:
//
//	"closed"               the server closed the connection without answering
//	"silent"               no answer within mxWait, connection still open
//	"session, open"        a handshake was answered with a session, and the
//	                       connection then served an exists
//	"expired, closed"      a handshake was answered with timeOut 0 (no session)
//	"<code>, open|closed"  the reply carried <code>; afterwards the
//	                       connection served an exists (open) or was closed
const (
	outClosed  = "closed"
	outSilent  = "silent"
	outSession = "session, open"
)

// mxWait bounds the wait for one answer.
const mxWait = 4 * time.Second

// mxRoundTrip bounds the healthy client's create/get round trip.
const mxRoundTrip = 5 * time.Second

var codeNames = map[int32]string{
	0: "OK", -2: "RuntimeInconsistency", -4: "ConnectionLoss", -5: "MarshallingError",
	-6: "Unimplemented", -7: "OperationTimeout", -8: "BadArguments", -12: "UnknownSession",
	-100: "APIError", -101: "NoNode", -102: "NoAuth", -103: "BadVersion",
	-108: "NoChildrenForEphemerals", -110: "NodeExists", -111: "NotEmpty",
	-112: "SessionExpired", -114: "InvalidACL", -115: "AuthFailed", -118: "SessionMoved",
	-119: "NotReadOnly", -121: "NoWatcher", -123: "ReconfigDisabled",
	-124: "SessionClosedRequireSASL",
}

func codeName(c int32) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return strconv.Itoa(int(c))
}

// mxCase is one row of the matrix.
type mxCase struct {
	name string
	// run performs the case on connections it opens with m.dial or
	// m.session and returns the outcome.
	run  func(t *testing.T, m *matrix) string
	want string // ZooKeeper 3.8's outcome
	// gozk is gozk's outcome where it differs from ZooKeeper's on purpose
	// (the README says so); "" means the same as want.
	gozk string
	// noLog: gozk need not log about this connection even when it closes
	// it (the client asked for the close).
	noLog bool
}

// matrix is the shared state of one run: the server, the healthy client, and
// the connections of the current case.
type matrix struct {
	s     *zktest.Server
	c     *zk.Conn
	mu    sync.Mutex
	conns []*zktest.Raw
}

func (m *matrix) track(r *zktest.Raw) *zktest.Raw {
	m.mu.Lock()
	m.conns = append(m.conns, r)
	m.mu.Unlock()
	return r
}

// dial opens a raw connection for the current case.
func (m *matrix) dial(t *testing.T) *zktest.Raw { return m.track(zktest.DialRaw(t, m.s.Addr)) }

// session opens a raw connection with a session.
func (m *matrix) session(t *testing.T) *zktest.Raw {
	t.Helper()
	r := m.dial(t)
	if _, err := r.Handshake(10000, 0, nil, true); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readReply reads frames until the reply with xid arrives; it counts the
// notifications (xid -1) read on the way.
func readReply(r *zktest.Raw, xid int32, wait time.Duration) (hdr zktest.ReplyHeader, body []byte, notes int, err error) {
	deadline := time.Now().Add(wait)
	for {
		p, err := r.ReadFrame(time.Until(deadline))
		if err != nil {
			return hdr, nil, notes, err
		}
		d := zktest.Dec{B: p}
		hdr = zktest.ReplyHeader{Xid: d.Int(), Zxid: d.Long(), Err: d.Int()}
		if d.Err != nil {
			return hdr, nil, notes, fmt.Errorf("short reply %x", p)
		}
		if hdr.Xid == xid {
			return hdr, d.B, notes, nil
		}
		if hdr.Xid == -1 {
			notes++
		}
	}
}

// state tells whether the connection still serves: it sends an exists and
// waits for its answer.
func state(r *zktest.Raw) string {
	const probe = 0x7ffffff0
	var e zktest.Enc
	e.Int(probe)
	e.Int(3)
	e.Raw(existsBody("/"))
	if err := r.WriteFrame(e.Bytes()); err != nil {
		return "closed"
	}
	if _, _, _, err := readReply(r, probe, mxWait); err != nil {
		if isTimeout(err) {
			return "silent"
		}
		return "closed"
	}
	return "open"
}

// answer is the outcome of a request sent with xid on r.
func answer(r *zktest.Raw, xid int32) string {
	h, _, _, err := readReply(r, xid, mxWait)
	if err != nil {
		if isTimeout(err) {
			return outSilent
		}
		return outClosed
	}
	return codeName(h.Err) + ", " + state(r)
}

// send sends RequestHeader{xid, op} + body and returns the outcome.
func (m *matrix) send(t *testing.T, op int32, body []byte) string {
	t.Helper()
	return m.sendXid(t, 7, op, body)
}

// sendXid is send with a chosen xid.
func (m *matrix) sendXid(t *testing.T, xid, op int32, body []byte) string {
	t.Helper()
	r := m.session(t)
	if err := r.WriteFrame(req(xid, op, body)); err != nil {
		// The server may close the connection while a large frame is
		// still being written (it reads the length first): the write
		// then fails with a reset, which is the outcome "closed".
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return outClosed
		}
		t.Fatalf("write: %v", err)
	}
	return answer(r, xid)
}

func req(xid, op int32, body []byte) []byte {
	var e zktest.Enc
	e.Int(xid)
	e.Int(op)
	e.Raw(body)
	return e.Bytes()
}

// handshakeOutcome reads what the server answers to a handshake attempt.
func handshakeOutcome(r *zktest.Raw) string {
	p, err := r.ReadFrame(mxWait)
	if err != nil {
		if isTimeout(err) {
			return outSilent
		}
		return outClosed
	}
	d := zktest.Dec{B: p}
	_, to, sid := d.Int(), d.Int(), d.Long()
	if d.Err != nil {
		return fmt.Sprintf("short ConnectResponse %x", p)
	}
	if to == 0 || sid == 0 {
		return "expired, " + state(r)
	}
	return "session, " + state(r)
}

// rawBytes writes b on a fresh connection (half-closing it when eof is set)
// and returns how the server answers the handshake.
func (m *matrix) rawBytes(t *testing.T, b []byte, eof bool) string {
	t.Helper()
	r := m.dial(t)
	_, err := r.Write(b)
	must(t, "write", err)
	if eof {
		must(t, "half-close", r.Conn.(*net.TCPConn).CloseWrite())
	}
	return handshakeOutcome(r)
}

// afterHandshake completes a handshake and then sends extra (in the same
// write as the ConnectRequest when sameWrite is set, else after the
// ConnectResponse arrived), half-closing when eof is set; it returns what
// happens to the extra bytes: a reply with xid, or the connection's end.
func (m *matrix) afterHandshake(t *testing.T, extra []byte, sameWrite, eof bool, xid int32) string {
	t.Helper()
	r := m.dial(t)
	b := frame(connectRequest(0, 0, make([]byte, 16)))
	if sameWrite {
		b = append(b, extra...)
	}
	_, err := r.Write(b)
	must(t, "write", err)
	if _, err := r.ReadFrame(mxWait); err != nil {
		return "no ConnectResponse: " + err.Error()
	}
	if !sameWrite {
		_, err := r.Write(extra)
		must(t, "write", err)
	}
	if eof {
		must(t, "half-close", r.Conn.(*net.TCPConn).CloseWrite())
	}
	h, _, _, err := readReply(r, xid, mxWait)
	if err != nil {
		if isTimeout(err) {
			return "session; " + outSilent
		}
		return "session; " + outClosed
	}
	if eof {
		return "session; " + codeName(h.Err)
	}
	return "session; " + codeName(h.Err) + ", " + state(r)
}

// serverPID finds the server process by its working directory.
func serverPID(s *zktest.Server) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == s.Dir {
			return pid
		}
	}
	return 0
}

// rssKB returns VmRSS and VmHWM of pid in KiB.
func rssKB(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}

// bystander is a healthy go-zookeeper client doing create/get round trips
// for as long as the matrix runs.
type bystander struct {
	mu     sync.Mutex
	n      int
	max    time.Duration
	fails  []string
	stop   chan struct{}
	done   chan struct{}
	during string // the case being run
}

func within(d time.Duration, f func() error) error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer within %v", d)
	}
}

// roundTrip creates a node with data and reads it back, within mxRoundTrip.
func roundTrip(c *zk.Conn, prefix, data string) error {
	return within(mxRoundTrip, func() error {
		p, err := c.Create(prefix, []byte(data), zk.FlagSequence, worldAll)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		got, _, err := c.Get(p)
		if err != nil {
			return fmt.Errorf("get %s: %w", p, err)
		}
		if string(got) != data {
			return fmt.Errorf("get %s = %q, want %q", p, got, data)
		}
		return c.Delete(p, -1)
	})
}

func (b *bystander) setCase(name string) {
	b.mu.Lock()
	b.during = name
	b.mu.Unlock()
}

func (b *bystander) loop(c *zk.Conn) {
	defer close(b.done)
	for i := 0; ; i++ {
		select {
		case <-b.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		start := time.Now()
		err := roundTrip(c, "/alive/b-", strconv.Itoa(i))
		lat := time.Since(start)
		b.mu.Lock()
		b.n++
		b.max = max(b.max, lat)
		if err != nil {
			b.fails = append(b.fails, fmt.Sprintf("during %q: %v", b.during, err))
		}
		b.mu.Unlock()
	}
}

// logNames tells whether the gozk log has a line about the connection whose
// client side is local.
func logNames(s *zktest.Server, local string) bool {
	return strings.Contains(s.Log(), "conn="+local+" ") || strings.Contains(s.Log(), "conn="+local+"\n")
}

// TestBadInputMatrix runs the matrix against one server.
func TestBadInputMatrix(t *testing.T) {
	begin := time.Now()
	// No container sweeps during the run: a case checks who may delete an
	// emptied container.
	s := startServer(t, map[string]string{"znode.container.checkIntervalMs": "600000"})
	c, _ := zktest.Connect(t, s.Addr)
	m := &matrix{s: s, c: c}
	create(t, c, "/alive", nil, 0)
	create(t, c, "/m", nil, 0)
	create(t, c, "/m/node", []byte("data"), 0)
	create(t, c, "/m/big", make([]byte, 1000000), 0)
	if _, err := c.CreateContainer("/m/cont", nil, zk.FlagContainer, worldAll); err != nil {
		t.Fatalf("create /m/cont: %v", err)
	}

	// The bystander has its own session.
	bc, _ := zktest.Connect(t, s.Addr)
	by := &bystander{stop: make(chan struct{}), done: make(chan struct{})}
	go by.loop(bc)

	// Slow clients run in the background across the whole matrix.
	bg := startSlowloris(s.Addr)

	cases := matrixCases()
	results := make([][3]string, 0, len(cases)+2)
	for i, tc := range cases {
		by.setCase(tc.name)
		m.conns = nil
		var got string
		ok := t.Run(tc.name, func(t *testing.T) {
			got = tc.run(t, m)
			switch {
			case s.Kind == zktest.KindGozk && tc.gozk != "":
				if got != tc.gozk {
					t.Errorf("outcome %q, want %q (gozk, on purpose; ZooKeeper 3.8: %q)", got, tc.gozk, tc.want)
				}
			case got != tc.want:
				t.Errorf("outcome %q, want %q (ZooKeeper 3.8)", got, tc.want)
			}
			// gozk logs why it closed a connection.
			if s.Kind == zktest.KindGozk && strings.Contains(got, "closed") && !tc.noLog {
				for _, r := range m.conns {
					local := r.LocalAddr().String()
					deadline := time.Now().Add(2 * time.Second)
					for !logNames(s, local) && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
					if !logNames(s, local) {
						t.Errorf("no log line about the closed connection conn=%s", local)
					}
				}
			}
			if err := roundTrip(c, "/alive/after-", tc.name); err != nil {
				t.Fatalf("the healthy client after the case: %v", err)
			}
		})
		status := "ok"
		if !ok {
			status = "FAIL"
		}
		results = append(results, [3]string{fmt.Sprintf("%02d %s", i+1, tc.name), got, status})
	}

	for _, sl := range bg {
		by.setCase(sl.name)
		var got string
		ok := t.Run(sl.name, func(t *testing.T) {
			select {
			case got = <-sl.result:
			case <-time.After(40 * time.Second):
				t.Fatalf("no outcome")
			}
			if got != sl.want {
				t.Errorf("outcome %q, want %q (ZooKeeper 3.8)", got, sl.want)
			}
			if err := roundTrip(c, "/alive/after-", sl.name); err != nil {
				t.Fatalf("the healthy client after the case: %v", err)
			}
		})
		status := "ok"
		if !ok {
			status = "FAIL"
		}
		results = append(results, [3]string{sl.name, got, status})
	}

	close(by.stop)
	<-by.done
	by.mu.Lock()
	t.Logf("bystander: %d round trips, slowest %v, %d failed", by.n, by.max.Round(time.Millisecond), len(by.fails))
	for _, f := range by.fails {
		t.Errorf("bystander round trip failed %s", f)
	}
	by.mu.Unlock()
	if !s.Running() {
		t.Errorf("the server is no longer running")
	}
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "  %-4s %-70s %s\n", r[2], r[0], r[1])
	}
	t.Logf("%s: %d cases in %v:\n%s", s.Kind, len(results), time.Since(begin).Round(time.Millisecond), b.String())
}
