// Package ensemble tests replicated ensembles of real server processes: 3
// and 5 voters, observers, leader failover, paused minorities and majorities,
// members restarted with empty data, sessions moving between members.
//
// Every test starts its own ensemble through zkensemble.Start: gozk by
// default, Apache ZooKeeper's QuorumPeerMain with GOZK_TEST_SERVER=zookeeper.
// The suite passes against ZooKeeper, so a failure against gozk is a
// difference from ZooKeeper. Timings are measured and logged (run with -v),
// never asserted; -ensemble.rounds sets how many failover rounds are
// measured per ensemble size:
//
//	GOZK_TEST_SERVER=zookeeper go test -v ./tests/ensemble/ -run Failover -ensemble.rounds=10
//
// Against a gozk that refuses server.N lines the tests skip.
package ensemble

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

var rounds = flag.Int("ensemble.rounds", 3, "leader-failover rounds measured per ensemble size")

func TestMain(m *testing.M) { zktest.Main(m) }

// waitFor bounds every wait on an asynchronous outcome.
const waitFor = 60 * time.Second

var worldAll = zk.WorldACL(zk.PermAll)

// perMember connects one client to each of the given members (all running
// members when none are given), each client knowing only its own member.
// The result is indexed by member; members not asked for have nil.
func perMember(t *testing.T, e *zkensemble.Ensemble, members ...int) []*zk.Conn {
	t.Helper()
	if len(members) == 0 {
		members = e.Running()
	}
	cs := make([]*zk.Conn, e.Len())
	for _, i := range members {
		cs[i], _ = e.Connect(t, i)
	}
	return cs
}

// mustCreate creates a persistent node.
func mustCreate(t *testing.T, c *zk.Conn, path string, data []byte) {
	t.Helper()
	if _, err := c.Create(path, data, 0, worldAll); err != nil {
		t.Fatalf("create %s through %s: %v", path, c.Server(), err)
	}
}

// syncGet syncs the client's server with the leader, then reads path.
func syncGet(c *zk.Conn, path string) ([]byte, *zk.Stat, error) {
	if _, err := c.Sync(path); err != nil {
		return nil, nil, fmt.Errorf("sync %s through %s: %w", path, c.Server(), err)
	}
	d, st, err := c.Get(path)
	if err != nil {
		return nil, nil, fmt.Errorf("get %s through %s: %w", path, c.Server(), err)
	}
	return d, st, nil
}

// waitWatch waits for the one-shot watch ch to fire with the given type and path.
func waitWatch(t *testing.T, ch <-chan zk.Event, typ zk.EventType, path, where string) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.Type != typ || ev.Path != path || ev.Err != nil {
			t.Fatalf("%s: watch fired with %+v, want %v on %s", where, ev, typ, path)
		}
	case <-time.After(waitFor):
		t.Fatalf("%s: no %v event on %s within %v", where, typ, path, waitFor)
	}
}

// noWatch checks that the one-shot watch ch has not fired.
func noWatch(t *testing.T, ch <-chan zk.Event, where string) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("%s: unexpected watch event %+v", where, ev)
	default:
	}
}

// writer creates prefix/0, prefix/1, ... one at a time through its client
// and records which creates were acknowledged.
type writer struct {
	t      *testing.T
	c      *zk.Conn
	prefix string
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	acked    []string
	ackedAt  []time.Time
	failures int
	lastErr  error
	quiet    bool // set when the test may have ended: no more t.Logf
}

func startWriter(t *testing.T, c *zk.Conn, prefix string) *writer {
	t.Helper()
	if _, err := c.Create(prefix, nil, 0, worldAll); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create %s: %v", prefix, err)
	}
	w := &writer{t: t, c: c, prefix: prefix, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	t.Cleanup(func() { w.halt() })
	return w
}

func (w *writer) run() {
	defer close(w.done)
	for n := 0; ; n++ {
		select {
		case <-w.stop:
			return
		default:
		}
		p := w.prefix + "/" + strconv.Itoa(n)
		_, err := w.c.Create(p, []byte(p), 0, worldAll)
		w.mu.Lock()
		if err == nil {
			w.acked = append(w.acked, p)
			w.ackedAt = append(w.ackedAt, time.Now())
		} else {
			w.failures++
			w.lastErr = err
		}
		if err != nil && w.failures <= 20 && !w.quiet {
			w.t.Logf("writer %s: create %s through %s: %v", w.prefix, p, w.c.Server(), err)
		}
		w.mu.Unlock()
		if err != nil {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// halt stops the writer and waits (bounded) for its last create to return.
// It reports whether the writer stopped.
func (w *writer) halt() bool {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	select {
	case <-w.done:
		return true
	case <-time.After(waitFor):
		w.mu.Lock()
		w.quiet = true
		w.mu.Unlock()
		return false
	}
}

// Acked returns the acknowledged creates so far.
func (w *writer) Acked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// Failures returns how many creates failed or returned an error.
func (w *writer) Failures() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failures
}

// ackedAfter counts the creates acknowledged after t0.
func (w *writer) ackedAfter(t0 time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, at := range w.ackedAt {
		if at.After(t0) {
			n++
		}
	}
	return n
}

// waitAcked waits until at least n creates were acknowledged after t0.
func (w *writer) waitAcked(t *testing.T, n int, t0 time.Time) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for w.ackedAfter(t0) < n {
		if time.Now().After(deadline) {
			w.mu.Lock()
			defer w.mu.Unlock()
			t.Fatalf("writer %s: fewer than %d creates acknowledged within %v (%d failures, last %v)", w.prefix, n, waitFor, w.failures, w.lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkPresent checks through a fresh client on each given member, after a
// sync, that every path exists with its own path as data.
func checkPresent(t *testing.T, e *zkensemble.Ensemble, members []int, paths []string) {
	t.Helper()
	if len(paths) == 0 {
		return
	}
	for _, i := range members {
		c, _ := e.Connect(t, i)
		if _, err := c.Sync(paths[0]); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		for _, p := range paths {
			d, _, err := c.Get(p)
			if err != nil || string(d) != p {
				t.Fatalf("member %d: acknowledged create %s lost: get = %q, %v", i, p, d, err)
			}
		}
		c.Close()
	}
}

// checkRoles checks srvr and mntr on every running member: exactly one
// leader, voters following, observers observing, and the leader's learner
// counts. ZooKeeper 3.8 has no zk_followers: the leader's mntr shows
// zk_learners (followers and observers), zk_synced_followers (voters only),
// zk_synced_non_voting_followers, zk_synced_observers and zk_pending_syncs.
func checkRoles(t *testing.T, e *zkensemble.Ensemble) {
	t.Helper()
	l := e.Leader()
	if e.Member(l).Observer {
		t.Fatalf("observer %d is leader", l)
	}
	running := e.Running()
	observers := 0
	for _, i := range running {
		if e.Member(i).Observer {
			observers++
		}
	}
	voters := len(e.Voters())
	for _, i := range running {
		want, peer := zkensemble.ModeFollower, "following"
		switch {
		case i == l:
			want, peer = zkensemble.ModeLeader, "leading"
		case e.Member(i).Observer:
			want, peer = zkensemble.ModeObserver, "observing"
		}
		out, err := e.Srvr(i)
		if err != nil {
			t.Fatalf("srvr on member %d: %v", i, err)
		}
		if got := zkensemble.ParseMode(out); got != want {
			t.Fatalf("member %d: srvr Mode %q, want %q:\n%s", i, got, want, out)
		}
		kv, err := e.Mntr(i)
		if err != nil {
			t.Fatalf("mntr on member %d: %v", i, err)
		}
		if kv["zk_server_state"] != want {
			t.Fatalf("member %d: mntr zk_server_state %q, want %q", i, kv["zk_server_state"], want)
		}
		if got := kv["zk_peer_state"]; got != peer+" - broadcast" {
			t.Fatalf("member %d: mntr zk_peer_state %q, want %q", i, got, peer+" - broadcast")
		}
		// Despite its name, zk_quorum_size is the number of voters.
		if got := kv["zk_quorum_size"]; got != strconv.Itoa(voters) {
			t.Fatalf("member %d: mntr zk_quorum_size %q, want %d (the voters)", i, got, voters)
		}
		for _, k := range []string{"zk_synced_followers", "zk_synced_observers", "zk_learners", "zk_pending_syncs"} {
			if _, ok := kv[k]; (i == l) != ok {
				t.Fatalf("member %d (%s): mntr has %s = %v", i, want, k, ok)
			}
		}
	}
	// Every running voter and observer is synced once it serves; the
	// counts may lag by a moment.
	deadline := time.Now().Add(waitFor)
	for {
		kv, err := e.Mntr(l)
		if err != nil {
			t.Fatalf("mntr on leader %d: %v", l, err)
		}
		got := [4]string{kv["zk_synced_followers"], kv["zk_synced_observers"], kv["zk_synced_non_voting_followers"], kv["zk_learners"]}
		want := [4]string{strconv.Itoa(len(running) - observers - 1), strconv.Itoa(observers), "0", strconv.Itoa(len(running) - 1)}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader %d mntr: zk_synced_followers, zk_synced_observers, zk_synced_non_voting_followers, zk_learners = %q, want %q", l, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stats summarises durations: min, median and max.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("min %v, median %v, max %v (%d rounds)", ms(s[0]), ms(med), ms(s[len(s)-1]), len(s))
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// others returns 0..n-1 without the given members.
func others(n int, without ...int) []int {
	var r []int
	for i := range n {
		if !slices.Contains(without, i) {
			r = append(r, i)
		}
	}
	return r
}
