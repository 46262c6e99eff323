// Package crash tests durability at the process level: it kills a server with
// SIGKILL while clients write, or damages its files on disk while it is down,
// restarts it on the same port and directories, and checks what survived
// against what the clients were told.
//
// Every test starts its own server through zktest.Start: gozk by default,
// Apache ZooKeeper with GOZK_TEST_SERVER=zookeeper (which is durable, so the
// checks themselves are validated there). Flags, after the package on the go
// test command line:
//
//	-crash.rounds=N   kill-and-restart rounds of TestCrashRecovery (default 5)
//	-crash.writers=N  concurrent writer sessions (default 8)
//	-crash.seed=S     random seed; every test logs the seed it used
//
// A SIGKILL loses what the process had not yet handed to the kernel, not
// what it wrote but did not fsync, so these tests check that a write is on
// its way to disk before it is acknowledged; they cannot check fsync itself.
package crash

import (
	"flag"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

var (
	flagRounds  = flag.Int("crash.rounds", 5, "kill-and-restart rounds of TestCrashRecovery")
	flagWriters = flag.Int("crash.writers", 8, "concurrent writer sessions in TestCrashRecovery")
	flagSeed    = flag.Int64("crash.seed", 0, "random seed (0: taken from the clock)")
)

func TestMain(m *testing.M) { zktest.Main(m) }

// newRand returns the test's random source and logs its seed.
func newRand(t *testing.T) *rand.Rand {
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	return rand.New(rand.NewSource(seed))
}

// sharedNodes is how many nodes per round the writers overwrite with setData.
const sharedNodes = 4

// Kill delay after the writers start, in milliseconds.
const (
	minKillDelay = 50
	maxKillDelay = 500
)

// TestCrashRecovery runs rounds of concurrent writes, each ended by a SIGKILL
// of the server at a random moment, and checks after every restart that the
// data is consistent with what the clients were told: every acknowledged
// create exists with its data; every shared node has a version at least its
// highest acknowledged one and the data of the write that produced that
// version; no node exists that nobody tried to create; every three-node multi
// is applied whole or not at all; the rounds before are unchanged.
func TestCrashRecovery(t *testing.T) {
	rng := newRand(t)
	rounds, writers := *flagRounds, *flagWriters
	if rounds < 1 || writers < 1 {
		t.Fatalf("-crash.rounds=%d -crash.writers=%d: both must be at least 1", rounds, writers)
	}
	s := startServer(t, nil)
	admin, _, _ := connect(t, s.Addr, zktest.DefaultSessionTimeout)
	if _, err := admin.Create("/crash", []byte("root"), 0, worldAll); err != nil {
		t.Fatalf("create /crash: %v", err)
	}

	var (
		done       []*verified
		totalAcked int
	)
	for r := range rounds {
		parent := fmt.Sprintf("/crash/r%03d", r)
		h := newHistory(parent)
		if _, err := admin.Create(parent, []byte(parent), 0, worldAll); err != nil {
			t.Fatalf("round %d: create %s: %v", r, parent, err)
		}
		for k := range sharedNodes {
			name, data := fmt.Sprintf("s%d", k), fmt.Sprintf("init/r%d/s%d", r, k)
			if _, err := admin.Create(parent+"/"+name, []byte(data), 0, worldAll); err != nil {
				t.Fatalf("round %d: create shared node %s/%s: %v", r, parent, name, err)
			}
			h.addShared(name, data)
		}
		admin.Close()

		delay := time.Duration(minKillDelay+rng.Intn(maxKillDelay-minKillDelay+1)) * time.Millisecond
		runWriters(t, s, h, r, writers, delay, rng)
		_, took := restart(t, s)
		totalAcked += h.ackedCount()
		t.Logf("round %d: SIGKILL %v after the writers started; %s; restarted in %v", r, delay, h.counts(), took.Round(time.Millisecond))

		admin, _, _ = connect(t, s.Addr, zktest.DefaultSessionTimeout)
		got, err := readChildren(admin, parent)
		if err != nil {
			t.Fatalf("round %d: after the restart, new session 0x%x: %v", r, admin.SessionID(), err)
		}
		if bad := h.check(got); len(bad) > 0 {
			report(t, fmt.Sprintf("round %d: after SIGKILL and restart", r), bad)
		}
		applied, unknowns := h.unknownApplied(got)
		t.Logf("round %d: consistent; %d of the %d creates and multis in flight at the kill were applied", r, applied, unknowns)
		full := r == rounds-1 || nodesIn(done) <= 20000
		if bad := checkVerified(admin, done, full, rng); len(bad) > 0 {
			report(t, fmt.Sprintf("round %d: earlier rounds changed after SIGKILL and restart", r), bad)
		}
		checkRoot(t, admin, r+1)
		done = append(done, &verified{parent: parent, nodes: got})
	}
	admin.Close()
	if totalAcked == 0 {
		t.Fatalf("no write was acknowledged in %d rounds: nothing was checked", rounds)
	}
	t.Logf("%d rounds, %d acknowledged writes checked", rounds, totalAcked)
}

// runWriters runs writers concurrent sessions writing under h.parent, and
// SIGKILLs the server delay after they start. It returns once every writer
// has returned and every writer session is closed; the writers' clients
// cannot reconnect after the kill, so nothing of theirs reaches the
// restarted server.
func runWriters(t *testing.T, s *zktest.Server, h *history, round, writers int, delay time.Duration, rng *rand.Rand) {
	t.Helper()
	var (
		conns   []*zk.Conn
		dialers []*zktest.Dialer
		ws      []*writer
	)
	for i := range writers {
		c, _, d := connect(t, s.Addr, zktest.DefaultSessionTimeout)
		conns = append(conns, c)
		dialers = append(dialers, d)
		ws = append(ws, &writer{id: i, round: round, c: c, h: h, rng: rand.New(rand.NewSource(rng.Int63()))})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(stop)
		}()
	}
	time.Sleep(delay)
	for _, d := range dialers {
		d.Refuse(true)
	}
	kill(t, s)
	close(stop)
	if !waitGroup(&wg, waitFor) {
		closeAll(t, conns)
		t.Fatalf("round %d: writers still blocked %v after the SIGKILL", round, waitFor)
	}
	closeAll(t, conns)
}

// writer issues writes on one session until stopped or until a write's
// outcome is unknown (the connection is gone).
type writer struct {
	id, round int
	c         *zk.Conn
	h         *history
	rng       *rand.Rand
	seq       int
}

func (w *writer) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.seq++
		var out outcome
		switch p := w.rng.Intn(100); {
		case p < 40:
			out = w.create()
		case p < 60:
			out = w.multi()
		default:
			out = w.set()
		}
		if out == unknown {
			return
		}
	}
}

// payload returns data no other write of the test uses, of varying length.
func (w *writer) payload(kind string, seq int) string {
	return fmt.Sprintf("%s/r%d/w%d/%d/%s", kind, w.round, w.id, seq, strings.Repeat("x", w.rng.Intn(200)))
}

func (w *writer) create() outcome {
	name := fmt.Sprintf("c-w%d-%06d", w.id, w.seq)
	op := w.h.beginCreate(name, w.payload("create", w.seq))
	_, err := w.c.Create(w.h.parent+"/"+name, []byte(op.data), 0, worldAll)
	w.h.finishCreate(op, err)
	return classify(err)
}

func (w *writer) multi() outcome {
	var names, data [3]string
	ops := make([]any, 3)
	for i, suffix := range []string{"a", "b", "c"} {
		names[i] = fmt.Sprintf("m-w%d-%06d-%s", w.id, w.seq, suffix)
		data[i] = w.payload("multi-"+suffix, w.seq)
		ops[i] = &zk.CreateRequest{Path: w.h.parent + "/" + names[i], Data: []byte(data[i]), Acl: worldAll}
	}
	op := w.h.beginMulti(names, data)
	res, err := w.c.Multi(ops...)
	w.h.finishMulti(op, res, err)
	return classify(err)
}

func (w *writer) set() outcome {
	name := fmt.Sprintf("s%d", w.rng.Intn(sharedNodes))
	op := w.h.beginSet(name, w.payload("set-"+name, w.seq))
	st, err := w.c.Set(w.h.parent+"/"+name, []byte(op.data), -1)
	w.h.finishSet(op, st, err)
	return classify(err)
}

// verified is the state of one round's nodes as read after its restart; no
// write touches them afterwards, so every later read must return it exactly.
type verified struct {
	parent string
	nodes  map[string]nodeState
}

func nodesIn(vs []*verified) int {
	n := 0
	for _, v := range vs {
		n += len(v.nodes)
	}
	return n
}

// checkVerified reads the earlier rounds back: every child list in full and,
// unless full, the data of at most 500 nodes picked at random.
func checkVerified(c *zk.Conn, vs []*verified, full bool, rng *rand.Rand) []string {
	var bad []string
	for _, v := range vs {
		names, _, err := c.Children(v.parent)
		if err != nil {
			return append(bad, fmt.Sprintf("children of %s: %v", v.parent, err))
		}
		seen := map[string]bool{}
		for _, n := range names {
			seen[n] = true
			if _, ok := v.nodes[n]; !ok {
				bad = append(bad, fmt.Sprintf("%s/%s appeared after its round was verified", v.parent, n))
			}
		}
		for n := range v.nodes {
			if !seen[n] {
				bad = append(bad, fmt.Sprintf("%s/%s disappeared after its round was verified", v.parent, n))
			}
		}
	}
	if len(bad) > 0 {
		return bad
	}
	type ref struct {
		v    *verified
		name string
	}
	var refs []ref
	for _, v := range vs {
		names := make([]string, 0, len(v.nodes))
		for n := range v.nodes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			refs = append(refs, ref{v, n})
		}
	}
	if !full && len(refs) > 500 {
		rng.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
		refs = refs[:500]
	}
	for _, r := range refs {
		p := r.v.parent + "/" + r.name
		data, st, err := c.Get(p)
		if err != nil {
			bad = append(bad, fmt.Sprintf("get %s: %v", p, err))
			continue
		}
		want := r.v.nodes[r.name]
		if got := (nodeState{data: string(data), version: st.Version}); got != want {
			bad = append(bad, fmt.Sprintf("%s: now version %d data %q; after its round version %d data %q", p, got.version, got.data, want.version, want.data))
		}
	}
	return bad
}

// checkRoot fails unless /crash holds exactly the round nodes made so far.
func checkRoot(t *testing.T, c *zk.Conn, rounds int) {
	t.Helper()
	names, _, err := c.Children("/crash")
	if err != nil {
		t.Fatalf("children of /crash: %v", err)
	}
	sort.Strings(names)
	var want []string
	for r := range rounds {
		want = append(want, fmt.Sprintf("r%03d", r))
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("children of /crash: %v, want %v", names, want)
	}
}

// report fails the test with every inconsistency found (at most 50 shown).
func report(t *testing.T, what string, bad []string) {
	t.Helper()
	sort.Strings(bad)
	shown := bad
	if len(shown) > 50 {
		shown = shown[:50]
	}
	t.Fatalf("%s: %d inconsistencies with what the clients were told:\n  %s", what, len(bad), strings.Join(shown, "\n  "))
}

// TestSessionSurvivesRestart checks that sessions are as durable as data: a
// session whose client reconnects within its timeout after a SIGKILL and
// restart keeps its ephemeral node; one whose client stays away loses its
// ephemeral node once its timeout passes after the restart, and its client is
// told the session expired when it comes back.
func TestSessionSurvivesRestart(t *testing.T) {
	const (
		timeoutA = 8 * time.Second // reconnects
		timeoutB = 2 * time.Second // stays away
	)
	s := startServer(t, map[string]string{"tickTime": "500"})
	a, evA, _ := connect(t, s.Addr, timeoutA)
	b, evB, dialB := connect(t, s.Addr, timeoutB)
	for _, n := range []struct {
		c    *zk.Conn
		path string
	}{{a, "/eph-a"}, {b, "/eph-b"}} {
		if _, err := n.c.Create(n.path, []byte(n.path), zk.FlagEphemeral, worldAll); err != nil {
			t.Fatalf("create ephemeral %s: %v", n.path, err)
		}
	}
	if _, err := a.Create("/persistent", []byte("p"), 0, worldAll); err != nil {
		t.Fatalf("create /persistent: %v", err)
	}
	sidA, sidB := a.SessionID(), b.SessionID()

	dialB.Refuse(true)
	kill(t, s)
	if err := zktest.WaitState(evA, zk.StateDisconnected, waitFor); err != nil {
		t.Fatalf("client A did not notice the SIGKILL: %v", err)
	}
	_, took := restart(t, s)
	restarted := time.Now()
	t.Logf("restarted in %v", took.Round(time.Millisecond))

	if err := waitSession(evA, timeoutA); err != nil {
		t.Fatalf("session A (timeout %v) after the restart: %v", timeoutA, err)
	}
	if got := a.SessionID(); got != sidA {
		t.Fatalf("session A reconnected as 0x%x, want its own session 0x%x", got, sidA)
	}
	if _, err := a.Create("/after-restart", nil, 0, worldAll); err != nil {
		t.Fatalf("session A cannot write after the restart: %v", err)
	}

	c, _, _ := connect(t, s.Addr, zktest.DefaultSessionTimeout)
	if ok, _, err := c.Exists("/persistent"); err != nil || !ok {
		t.Fatalf("/persistent after the restart: exists=%v err=%v (the server kept no data)", ok, err)
	}
	deadline := restarted.Add(timeoutB + waitFor/2)
	for {
		ok, _, err := c.Exists("/eph-b")
		if err != nil {
			t.Fatalf("exists /eph-b: %v", err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ephemeral /eph-b of session 0x%x (timeout %v), whose client never came back, still exists %v after the restart", sidB, timeoutB, time.Since(restarted).Round(time.Millisecond))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("/eph-b gone %v after the restart", time.Since(restarted).Round(time.Millisecond))

	// Session A outlives its own timeout after the restart.
	time.Sleep(time.Until(restarted.Add(timeoutA + time.Second)))
	_, st, err := c.Exists("/eph-a")
	switch {
	case err != nil:
		t.Fatalf("exists /eph-a: %v", err)
	case st == nil || st.EphemeralOwner != sidA:
		t.Fatalf("/eph-a %v after the restart: stat %+v, want an ephemeral of session 0x%x", time.Since(restarted).Round(time.Millisecond), st, sidA)
	}
	if _, _, err := a.Get("/eph-a"); err != nil {
		t.Fatalf("session A %v after the restart: %v", time.Since(restarted).Round(time.Millisecond), err)
	}

	// B's client comes back and learns its session is gone.
	dialB.Refuse(false)
	if err := zktest.WaitState(evB, zk.StateExpired, waitFor); err != nil {
		t.Fatalf("client B after its session's ephemerals were deleted: %v", err)
	}
}

// waitSession waits until the client has its session back, and fails if it
// learns instead that the session expired.
func waitSession(ev <-chan zk.Event, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case e := <-ev:
			if e.Type != zk.EventSession {
				continue
			}
			switch e.State {
			case zk.StateHasSession:
				return nil
			case zk.StateExpired:
				return fmt.Errorf("the server says the session expired (the restart lost it)")
			}
		case <-deadline:
			return fmt.Errorf("client did not get its session back within %v", timeout)
		}
	}
}
