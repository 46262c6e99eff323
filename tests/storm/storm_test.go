// Package storm holds session-storm measurements (issue 9): thousands of
// heartbeating sessions on one server while a writer works, and on a
// 3-member ensemble whose leader is killed. The sessions are raw-protocol
// clients (a handshake and a ping every third of the timeout), far cheaper
// than go-zookeeper clients, so that 10,000 fit in one test process.
//
// The normal run uses 2,000 sessions (one server) and 1,000 (ensemble); the
// big run is
//
//	go test ./tests/storm -run . -count=1 -v -timeout 30m -storm.sessions 10000
//
// Figures (latencies, reconnect times) are logged; only generous bounds are
// asserted, never speed. GOZK_TEST_SERVER=zookeeper runs the same storms
// against Apache ZooKeeper 3.8 for comparison.
package storm

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

var (
	flagSessions = flag.Int("storm.sessions", 0, "sessions per storm (0: 2000 on one server, 1000 on the ensemble)")
	flagWrite    = flag.Duration("storm.write", 10*time.Second, "how long the writer writes during the one-server storm")
	flagJitter   = flag.Duration("storm.jitter", time.Second, "a reconnecting session first sleeps a random time below this, as the Java client does (1s); 0: reconnect at once")
	flagFsync    = flag.Bool("storm.fsync", false, "forceSync=yes on the servers (default no: fsync stalls of a busy disk are not what is measured)")
)

func TestMain(m *testing.M) { zktest.Main(m) }

// Phases of a storm, for the ping round trips.
const (
	phaseOpening = iota // sessions are being opened
	phaseSteady         // all open, nothing else happens
	phaseWriting        // the writer writes (TestSessionStorm)
	nPhases
)

var phaseNames = [nPhases]string{"while the sessions were opened", "steady", "while the writer wrote"}

// phase is the current phase of the running storm.
var phase atomic.Int32

// sessionTimeout is what every storm session asks for.
const sessionTimeout = 10 * time.Second

// logLoad logs the machine's load average: the figures of a storm mean
// little on a machine busy with something else.
func logLoad(t *testing.T, when string) {
	t.Helper()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average %s: %s (%d CPUs)", when, strings.TrimSpace(string(b)), runtime.NumCPU())
	}
}

func forceSync() string {
	if *flagFsync {
		return "yes"
	}
	return "no"
}

func sessions(def int) int {
	if *flagSessions > 0 {
		return *flagSessions
	}
	return def
}

// raiseNoFile raises RLIMIT_NOFILE of the test process (and so of the
// servers it starts, which inherit it) to what n sessions need. gozk itself
// does not raise its limit: it only reports it (internal/server/rlimit_linux.go).
func raiseNoFile(t *testing.T, n int) {
	t.Helper()
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	need := uint64(n + 4096)
	if r.Cur >= need {
		return
	}
	want := syscall.Rlimit{Cur: need, Max: max(r.Max, need)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Without privilege only the soft limit can rise, up to the hard one.
		want = syscall.Rlimit{Cur: r.Max, Max: r.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			t.Fatalf("setrlimit: %v", err)
		}
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
	t.Logf("RLIMIT_NOFILE %d (hard %d) for %d sessions", r.Cur, r.Max, n)
	if r.Cur < uint64(n+256) {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d sessions", r.Cur, n)
	}
}

// --- A raw heartbeating session.

// sess is one session: it pings every timeout/3, and when its connection
// fails it reconnects, going round the addresses, resuming its session id.
type sess struct {
	idx     int
	addrs   []string
	cur     int // index in addrs of the member it is connected to
	sid     int64
	passwd  []byte
	timeout time.Duration

	mu        sync.Mutex
	r         *zktest.Raw
	lastHeard time.Time   // last answer from a server
	lost      []time.Time // when a connection was found broken
	lostWhy   []string    // and how
	tries     [][]string  // per resumption, the attempts that led to it
	resumed   []time.Time // when a reconnect succeeded (same session)
	gap       []time.Duration
	expired   string // why the session is gone, "" while it lives
	watching  bool   // blocked in watch
	pings     int
	maxRTT    time.Duration
	rtts      [nPhases][]time.Duration // ping round trips by phase
}

var errExpired = errors.New("session expired")

// handshake opens a connection to addr (waiting up to dial for it) and
// creates (sid 0) or resumes the session, waiting up to wait for the answer.
func handshake(addr string, timeout time.Duration, sid int64, passwd []byte, dial, wait time.Duration) (*zktest.Raw, zktest.ConnectResponse, error) {
	c, err := net.DialTimeout("tcp", addr, dial)
	if err != nil {
		return nil, zktest.ConnectResponse{}, err
	}
	r := &zktest.Raw{Conn: c}
	var e zktest.Enc
	e.Int(0)
	e.Long(0)
	e.Int(int32(timeout.Milliseconds()))
	e.Long(sid)
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	e.Buffer(passwd)
	e.Bool(false)
	if err := r.WriteFrame(e.Bytes()); err != nil {
		r.Close()
		return nil, zktest.ConnectResponse{}, err
	}
	p, err := r.ReadFrame(wait)
	if err != nil {
		r.Close()
		return nil, zktest.ConnectResponse{}, err
	}
	d := zktest.Dec{B: p}
	resp := zktest.ConnectResponse{ProtocolVersion: d.Int(), TimeOut: d.Int(), SessionID: d.Long(), Passwd: d.Buffer()}
	if d.Err != nil {
		r.Close()
		return nil, resp, d.Err
	}
	if resp.TimeOut <= 0 || resp.SessionID == 0 || (sid != 0 && resp.SessionID != sid) {
		r.Close()
		return nil, resp, fmt.Errorf("%w: answer timeOut %d session %#x", errExpired, resp.TimeOut, resp.SessionID)
	}
	return r, resp, nil
}

// open creates the session on addrs[first].
func open(idx int, addrs []string, first int) (*sess, error) {
	r, resp, err := handshake(addrs[first], sessionTimeout, 0, nil, 10*time.Second, 20*time.Second)
	if err != nil {
		return nil, err
	}
	return &sess{
		idx: idx, addrs: addrs, cur: first, sid: resp.SessionID, passwd: resp.Passwd,
		timeout: time.Duration(resp.TimeOut) * time.Millisecond, r: r, lastHeard: time.Now(),
	}, nil
}

// request sends one request and waits for its reply (pings included),
// skipping notifications.
func (s *sess) request(xid, op int32, body []byte, wait time.Duration) (zktest.ReplyHeader, error) {
	var e zktest.Enc
	e.Int(xid)
	e.Int(op)
	e.Raw(body)
	s.mu.Lock()
	r := s.r
	s.mu.Unlock()
	if r == nil {
		return zktest.ReplyHeader{}, errors.New("not connected")
	}
	if err := r.WriteFrame(e.Bytes()); err != nil {
		return zktest.ReplyHeader{}, err
	}
	deadline := time.Now().Add(wait)
	for {
		p, err := r.ReadFrame(time.Until(deadline))
		if err != nil {
			return zktest.ReplyHeader{}, err
		}
		d := zktest.Dec{B: p}
		h := zktest.ReplyHeader{Xid: d.Int(), Zxid: d.Long(), Err: d.Int()}
		if h.Xid == xid {
			s.mu.Lock()
			s.lastHeard = time.Now()
			s.mu.Unlock()
			return h, nil
		}
	}
}

// run heartbeats until stop is closed; it reconnects when the connection
// fails and gives up when the server says the session expired or after
// giveUp without a server. Between pings it keeps reading, as real clients
// do, so that a closed connection is noticed at once.
func (s *sess) run(stop <-chan struct{}, giveUp time.Duration) {
	interval := s.timeout / 3
	// Spread the pings of the sessions over an interval.
	next := time.Now().Add(time.Duration(rand.Int64N(int64(interval))))
	for {
		err := s.watch(stop, next)
		select {
		case <-stop:
			return
		default:
		}
		if err == nil {
			start := time.Now()
			next = start.Add(interval)
			var h zktest.ReplyHeader
			h, err = s.request(-2, 11, nil, s.timeout*2/3)
			if err == nil && h.Err != 0 {
				err = fmt.Errorf("ping answered %d", h.Err)
			}
			if err == nil {
				rtt := time.Since(start)
				s.mu.Lock()
				s.pings++
				s.maxRTT = max(s.maxRTT, rtt)
				p := phase.Load()
				s.rtts[p] = append(s.rtts[p], rtt)
				s.mu.Unlock()
				continue
			}
		}
		select {
		case <-stop:
			return
		default:
		}
		if !s.reconnect(stop, giveUp, err) {
			return
		}
		next = time.Now() // ping at once on the new connection
	}
}

// watch reads (and drops) whatever the server sends until the deadline;
// nil when the deadline passed with the connection intact. halt cuts the
// wait short (only this one: a ping's reply is read to its end, so that the
// connection stays usable after halt).
func (s *sess) watch(stop <-chan struct{}, until time.Time) error {
	s.mu.Lock()
	r := s.r
	select {
	case <-stop:
		s.mu.Unlock()
		return nil
	default:
	}
	if r == nil {
		s.mu.Unlock()
		return errors.New("not connected")
	}
	s.watching = true
	_ = r.SetReadDeadline(until)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.watching = false
		s.mu.Unlock()
	}()
	buf := make([]byte, 512)
	for {
		_, err := r.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
}

// reconnect resumes the session on the next address that takes it; false
// when the session is gone (or stop was closed).
func (s *sess) reconnect(stop <-chan struct{}, giveUp time.Duration, why error) bool {
	s.mu.Lock()
	lostAt := time.Now()
	s.lost = append(s.lost, lostAt)
	s.lostWhy = append(s.lostWhy, fmt.Sprintf("%s: %s", s.addrs[s.cur], reason(why)))
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	heard := s.lastHeard
	s.mu.Unlock()
	deadline := lostAt.Add(giveUp)
	var tries []string
	// sleep waits d unless stop is closed first.
	sleep := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && attempt%len(s.addrs) == 0 {
			// Every address tried since the last connection: the Java
			// client's host provider pauses a second here.
			if time.Now().After(deadline) {
				s.mu.Lock()
				s.expired = fmt.Sprintf("no server took the session within %v", giveUp)
				s.mu.Unlock()
				return false
			}
			pause := time.Second
			if *flagJitter == 0 {
				pause = time.Duration(50+rand.IntN(100)) * time.Millisecond
			}
			if !sleep(pause) {
				return false
			}
		}
		// The Java client sleeps a random time up to a second before
		// every connection attempt but its very first.
		if *flagJitter > 0 && !sleep(time.Duration(rand.Int64N(int64(*flagJitter)))) {
			return false
		}
		i := (s.cur + 1 + attempt) % len(s.addrs)
		// The Java client's connect timeout: the session timeout shared
		// among the servers.
		t0 := time.Now()
		r, _, err := handshake(s.addrs[i], s.timeout, s.sid, s.passwd, s.timeout/time.Duration(len(s.addrs)), 5*time.Second)
		res := "resumed"
		if err != nil {
			res = reason(err)
		}
		tries = append(tries, fmt.Sprintf("+%v %s: %s in %v", t0.Sub(lostAt).Round(time.Millisecond), s.addrs[i], res, time.Since(t0).Round(time.Millisecond)))
		if errors.Is(err, errExpired) {
			s.mu.Lock()
			s.expired = fmt.Sprintf("%v (from %s, %v after the last answer)", err, s.addrs[i], time.Since(heard).Round(time.Millisecond))
			s.mu.Unlock()
			return false
		}
		if err == nil {
			now := time.Now()
			s.mu.Lock()
			s.r, s.cur, s.lastHeard = r, i, now
			s.resumed = append(s.resumed, now)
			s.tries = append(s.tries, tries)
			s.gap = append(s.gap, now.Sub(heard))
			s.mu.Unlock()
			return true
		}
		select {
		case <-stop:
			return false
		default:
		}
	}
}

// numbers matches the numbers (session ids, ports) in a log line.
var numbers = regexp.MustCompile(`0x[0-9a-f]+|[0-9]+`)

// reason names a connection failure without its addresses.
func reason(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "?"
	case errors.Is(err, io.EOF):
		return "closed by the server (EOF)"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset by the server"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer (timeout)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return err.Error()
}

func (s *sess) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
}

// fleet is a set of heartbeating sessions.
type fleet struct {
	all  []*sess
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// halt stops every session's heartbeat and waits for them.
func (f *fleet) halt() {
	f.once.Do(func() {
		close(f.stop)
		// Wake the sessions blocked reading.
		for _, s := range f.all {
			if s == nil {
				continue
			}
			s.mu.Lock()
			if s.r != nil && s.watching {
				_ = s.r.SetReadDeadline(time.Now())
			}
			s.mu.Unlock()
		}
		f.wg.Wait()
	})
}

// openAll opens n sessions, session i on addrs[i%len(addrs)], 64 at a
// time. Each runs setup (when given) on its fresh connection and then
// heartbeats at once, so that no session waits for the others to be opened;
// after a lost connection it tries the addresses for up to giveUp.
func openAll(t *testing.T, n int, addrs []string, giveUp time.Duration, setup func(*sess) error) *fleet {
	t.Helper()
	f := &fleet{all: make([]*sess, n), stop: make(chan struct{})}
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := time.Now()
	phase.Store(phaseOpening)
	defer phase.Store(phaseSteady)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := open(i, addrs, i%len(addrs))
			if err != nil {
				errs <- fmt.Errorf("session %d on %s: %w", i, addrs[i%len(addrs)], err)
				return
			}
			f.all[i] = s
			if setup != nil {
				if err := setup(s); err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
				}
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				s.run(f.stop, giveUp)
			}()
		}()
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		f.halt()
		for _, s := range f.all {
			if s != nil {
				s.close()
			}
		}
	})
	failed := 0
	for err := range errs {
		if failed < 5 {
			t.Errorf("opening: %v", err)
		}
		failed++
	}
	if failed > 0 {
		t.Fatalf("%d of %d sessions could not be opened", failed, n)
	}
	t.Logf("%d sessions opened in %v", n, time.Since(start).Round(time.Millisecond))
	return f
}

// --- Figures.

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	r := func(x time.Duration) time.Duration {
		if x < 10*time.Millisecond {
			return x.Round(10 * time.Microsecond)
		}
		return x.Round(time.Millisecond)
	}
	return fmt.Sprintf("n=%d min %v median %v p99 %v max %v", len(d), r(pct(d, 0)), r(pct(d, 0.5)), r(pct(d, 0.99)), r(pct(d, 1)))
}

func existsBody(p string) []byte {
	var e zktest.Enc
	e.String(p)
	e.Bool(false)
	return e.Bytes()
}

func createBody(path string, flags int32) []byte {
	var e zktest.Enc
	e.String(path)
	e.Buffer(nil)
	e.Int(1)
	e.Int(31)
	e.String("world")
	e.String("anyone")
	e.Int(flags)
	return e.Bytes()
}

// within bounds a go-zookeeper call.
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

// TestSessionStorm: one server holds N heartbeating sessions while a writer
// session creates nodes one after another: not one session expires or even
// loses its connection, every session still answers at the end, and the
// writer's p99 latency stays under 2 s (the figures are logged).
func TestSessionStorm(t *testing.T) {
	n := sessions(2000)
	raiseNoFile(t, n)
	logLoad(t, "at the start")
	defer logLoad(t, "at the end")
	s := zktest.Start(t, map[string]string{"maxClientCnxns": "0", "forceSync": forceSync()})
	// One server: a reconnect can only go back to it.
	f := openAll(t, n, []string{s.Addr}, sessionTimeout, nil)
	all := f.all
	defer f.halt()

	// Let every session ping at least once before the writer starts.
	time.Sleep(sessionTimeout / 3)
	w, _ := zktest.Connect(t, s.Addr)
	if _, err := w.Create("/storm", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create /storm: %v", err)
	}
	var lat []time.Duration
	var werrs int
	data := make([]byte, 100)
	end := time.Now().Add(*flagWrite)
	phase.Store(phaseWriting)
	for time.Now().Before(end) {
		start := time.Now()
		err := within(10*time.Second, func() error {
			_, err := w.Create("/storm/n-", data, zk.FlagSequence, zk.WorldACL(zk.PermAll))
			return err
		})
		if err != nil {
			werrs++
			if werrs <= 5 {
				t.Errorf("writer create: %v", err)
			}
			continue
		}
		lat = append(lat, time.Since(start))
	}
	phase.Store(phaseSteady)
	// One more heartbeat round after the writer, then stop.
	time.Sleep(sessionTimeout / 3)
	f.halt()

	// Every session is still there: its connection answers an exists.
	var expired, lostConn, unanswered atomic.Int64
	var pingRTT [nPhases][]time.Duration
	var maxRTT time.Duration
	pings := 0
	sem := make(chan struct{}, 64)
	var cw sync.WaitGroup
	var mu sync.Mutex
	for _, x := range all {
		x.mu.Lock()
		if x.expired != "" {
			expired.Add(1)
			if expired.Load() <= 5 {
				t.Errorf("session %d (%#x): %s", x.idx, x.sid, x.expired)
			}
		}
		if len(x.lost) > 0 {
			lostConn.Add(1)
		}
		pings += x.pings
		maxRTT = max(maxRTT, x.maxRTT)
		for p := range pingRTT {
			pingRTT[p] = append(pingRTT[p], x.rtts[p]...)
		}
		x.mu.Unlock()
		cw.Add(1)
		go func() {
			defer cw.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			h, err := x.request(1, 3, existsBody("/storm"), 10*time.Second)
			if err != nil || h.Err != 0 {
				unanswered.Add(1)
				mu.Lock()
				if unanswered.Load() <= 5 {
					t.Errorf("session %d (%#x) at the end: %+v %v", x.idx, x.sid, h, err)
				}
				mu.Unlock()
			}
		}()
	}
	cw.Wait()
	t.Logf("%s, forceSync=%s, %d sessions (timeout %v): writer %d creates in %v, latency %s, %d failed",
		s.Kind, forceSync(), n, sessionTimeout, len(lat), *flagWrite, spread(lat), werrs)
	t.Logf("heartbeats: %d pings answered; %d sessions expired, %d lost a connection, %d did not answer at the end",
		pings, expired.Load(), lostConn.Load(), unanswered.Load())
	for p, d := range pingRTT {
		t.Logf("ping round trips %s: %s", phaseNames[p], spread(d))
	}
	if out, err := zktest.FourLetter(s.Addr, "mntr"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "zk_num_alive_connections") || strings.HasPrefix(l, "zk_open_file_descriptor_count") || strings.HasPrefix(l, "zk_max_file_descriptor_count") {
				t.Logf("mntr: %s", l)
			}
		}
	}
	if expired.Load() > 0 || lostConn.Load() > 0 || unanswered.Load() > 0 {
		t.Errorf("%d sessions expired, %d lost their connection, %d did not answer at the end; want none", expired.Load(), lostConn.Load(), unanswered.Load())
	}
	if len(lat) == 0 {
		t.Fatalf("the writer completed no create")
	}
	if p99 := pct(lat, 0.99); p99 > 2*time.Second {
		t.Errorf("writer p99 latency %v, want < 2s", p99)
	}
}

// TestEnsembleStormLeaderKill: a 3-member ensemble (tickTime 2000) holds N
// sessions (timeout 10 s) spread over its members, each with an ephemeral
// node; the leader is killed with SIGKILL. Not one session may expire: each
// client that lost its connection resumes its session (same id) on a
// survivor within its timeout, and every ephemeral still exists a full
// session timeout later. The spread of reconnect times from the kill, and
// how many sessions were disconnected at all or more than once, are logged.
func TestEnsembleStormLeaderKill(t *testing.T) {
	n := sessions(1000)
	raiseNoFile(t, n)
	logLoad(t, "at the start")
	defer logLoad(t, "at the end")
	begin := time.Now()
	e := zkensemble.Start(t, 3, zkensemble.Options{
		TickTime: 2 * time.Second,
		Extra:    map[string]string{"maxClientCnxns": "0", "forceSync": forceSync()},
	})
	leader := e.Leader()
	addrs := e.Addrs()
	c, _ := e.ConnectSession(t, sessionTimeout, others(3, leader)...)
	if _, err := c.Create("/storm", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create /storm: %v", err)
	}
	// One ephemeral per session, created through its own connection.
	f := openAll(t, n, addrs, 3*sessionTimeout, func(x *sess) error {
		h, err := x.request(1, 1, createBody(ephemeral(x.idx), 1), 20*time.Second)
		if err == nil && h.Err != 0 {
			err = fmt.Errorf("create %s: error %d", ephemeral(x.idx), h.Err)
		}
		return err
	})
	all := f.all
	defer f.halt()
	t.Logf("%d sessions with an ephemeral each after %v; leader is member %d", n, time.Since(begin).Round(time.Millisecond), leader+1)

	// A full heartbeat round before the kill.
	time.Sleep(sessionTimeout/3 + time.Second)
	perMember := make([]int, 3)
	for _, x := range all {
		x.mu.Lock()
		perMember[x.cur]++
		x.mu.Unlock()
	}

	killAt := time.Now()
	e.Kill(leader)
	t.Logf("killed the leader, member %d (%d sessions were connected to it; per member %v), SIGKILL to exit %v",
		leader+1, perMember[leader], perMember, time.Since(killAt).Round(time.Millisecond))
	// When each survivor serves again (srvr polled every 25 ms).
	serving := make(chan string, 2)
	for _, i := range others(3, leader) {
		go func() {
			deadline := killAt.Add(3 * sessionTimeout)
			for time.Now().Before(deadline) {
				if m := e.Mode(i); m == zkensemble.ModeLeader || m == zkensemble.ModeFollower {
					serving <- fmt.Sprintf("member %d (%s) %s at +%v", i+1, addrs[i], m, time.Since(killAt).Round(time.Millisecond))
					return
				}
				time.Sleep(25 * time.Millisecond)
			}
			serving <- fmt.Sprintf("member %d (%s) not serving within %v", i+1, addrs[i], 3*sessionTimeout)
		}()
	}

	// Wait until every session is connected again (or given up), then
	// keep heartbeating for a full session timeout: a session the new
	// leader forgot would expire in that time.
	settle := time.Now().Add(3 * sessionTimeout)
	for time.Now().Before(settle) {
		down := 0
		for _, x := range all {
			x.mu.Lock()
			if x.r == nil && x.expired == "" {
				down++
			}
			x.mu.Unlock()
		}
		if down == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	allBack := time.Since(killAt)
	t.Logf("survivors serving again: %s; %s", <-serving, <-serving)
	newLeader, err := e.WaitLeader(zkensemble.LeaderTimeout, leader)
	if err != nil {
		t.Fatalf("no new leader: %v", err)
	}
	time.Sleep(sessionTimeout + 2*time.Second)

	// Every ephemeral is still there, owned by its session.
	var kids []string
	for try := 1; ; try++ {
		err = within(20*time.Second, func() error {
			var err error
			kids, _, err = c.Children("/storm")
			return err
		})
		if err == nil {
			break
		}
		if try == 3 {
			t.Fatalf("children of /storm: %v", err)
		}
		t.Logf("children of /storm (try %d): %v", try, err)
	}
	have := make(map[string]bool, len(kids))
	for _, k := range kids {
		have[k] = true
	}
	missing := 0
	for _, x := range all {
		if !have[strings.TrimPrefix(ephemeral(x.idx), "/storm/")] {
			if missing++; missing <= 5 {
				t.Errorf("ephemeral of session %d (%#x) is gone", x.idx, x.sid)
			}
		}
	}
	// A sample: the owner is the session.
	for i := 0; i < n; i += max(1, n/50) {
		x := all[i]
		var st *zk.Stat
		err := within(10*time.Second, func() error {
			var err error
			_, st, err = c.Exists(ephemeral(x.idx))
			return err
		})
		if err == nil && st != nil && st.EphemeralOwner != x.sid {
			t.Errorf("%s owned by %#x, want %#x", ephemeral(x.idx), st.EphemeralOwner, x.sid)
		}
	}
	f.halt()

	var reconnect []time.Duration
	var gaps []time.Duration
	disconnected, twice, expired, late := 0, 0, 0, 0
	whys := map[string]int{}
	type slowOne struct {
		d     time.Duration
		idx   int
		tries []string
	}
	var slow []slowOne
	memberOf := func(why string) string {
		addr, rest, _ := strings.Cut(why, ": ")
		return fmt.Sprintf("member %d (%s)", e.IndexOf(addr)+1, rest)
	}
	for _, x := range all {
		x.mu.Lock()
		if x.expired != "" {
			expired++
			if expired <= 5 {
				t.Errorf("session %d (%#x) expired: %s", x.idx, x.sid, x.expired)
			}
		}
		var lost int
		for _, at := range x.lost {
			if !at.Before(killAt) {
				lost++
			}
		}
		if lost > 0 {
			disconnected++
		}
		if lost > 1 {
			twice++
			for j, at := range x.lost {
				if !at.Before(killAt) {
					whys[fmt.Sprintf("disconnect #%d at +%v from %s", j+1-(len(x.lost)-lost), at.Sub(killAt).Round(100*time.Millisecond), memberOf(x.lostWhy[j]))]++
				}
			}
		}
		for i, at := range x.resumed {
			if !at.Before(killAt) {
				reconnect = append(reconnect, at.Sub(killAt))
				slow = append(slow, slowOne{at.Sub(killAt), x.idx, x.tries[i]})
				if x.gap[i] > x.timeout {
					late++
				}
				gaps = append(gaps, x.gap[i])
				break
			}
		}
		x.mu.Unlock()
	}
	t.Logf("%s ensemble, %d sessions (timeout %v), leader member %d killed, new leader member %d", e.Kind, n, sessionTimeout, leader+1, newLeader+1)
	t.Logf("disconnected at all: %d; more than once: %d; expired: %d; every session connected again %v after the kill",
		disconnected, twice, expired, allBack.Round(time.Millisecond))
	t.Logf("first reconnect after the kill (from the SIGKILL): %s", spread(reconnect))
	if len(whys) > 0 {
		keys := make([]string, 0, len(whys))
		for k := range whys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "\n  %4d  %s", whys[k], k)
		}
		t.Logf("disconnects of the sessions disconnected more than once:%s", b.String())
	}
	sort.Slice(slow, func(i, j int) bool { return slow[i].d > slow[j].d })
	for _, x := range slow[:min(3, len(slow))] {
		t.Logf("slow reconnect: session %d after %v: %s", x.idx, x.d.Round(time.Millisecond), strings.Join(x.tries, "; "))
	}
	t.Logf("silence seen by a reconnected session (last answer to reconnect): %s; %d longer than the session timeout", spread(gaps), late)

	// Why the survivors closed or refused connections, and (ZooKeeper)
	// how long their election took, from their logs.
	{
		for _, i := range others(3, leader) {
			counts := map[string]int{}
			last := map[string]string{}
			for _, l := range strings.Split(e.Member(i).Log(), "\n") {
				if e.Kind == zktest.KindGozk {
					// Every gozk line about a connection, and the
					// leader changes, by message (and error).
					_, msg, ok := strings.Cut(l, " msg=")
					if !ok || !strings.Contains(l, " conn=") && !strings.Contains(l, "leader changed") {
						continue
					}
					if q, err := strconv.QuotedPrefix(msg); err == nil {
						msg = q
					} else {
						msg, _, _ = strings.Cut(msg, " ")
					}
					if _, er, ok := strings.Cut(l, " err="); ok {
						msg += " err=" + numbers.ReplaceAllString(er, "N")
					}
					last[msg] = l
					counts[msg]++
					continue
				}
				for _, w := range []string{"ELECTION TOOK", "OutOfMemoryError", "Expiring session", "not running"} {
					if strings.Contains(l, w) {
						last[w] = l
						counts[w]++
					}
				}
			}
			t.Logf("member %d log: %v", i+1, counts)
			for _, l := range last {
				t.Logf("  last: %s", l)
			}
		}
	}
	t.Logf("%d of %d ephemerals still exist; test took %v", len(kids), n, time.Since(begin).Round(time.Millisecond))
	if expired > 0 || missing > 0 {
		t.Errorf("%d sessions expired and %d ephemerals vanished after the leader was killed; want none", expired, missing)
	}
	if late > 0 {
		t.Errorf("%d sessions reconnected later than their timeout after the last answer", late)
	}
}

func ephemeral(i int) string { return fmt.Sprintf("/storm/e-%05d", i) }

func others(n, not int) []int {
	var o []int
	for i := range n {
		if i != not {
			o = append(o, i)
		}
	}
	sort.Ints(o)
	return o
}
