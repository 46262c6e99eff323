// Package robustness runs gozk ensembles of real processes under a nemesis
// (crashes, pauses, partitions, packet loss, wiped members) while clients
// run recorded workloads, then checks the histories: linearizable
// compare-and-set registers and synced reads (porcupine), sequential
// creates, an ephemeral-node lock, persistent recursive watches, per-session
// guarantees, FIFO order of pipelined writes, and that every acknowledged
// write is in the final state, identical on every member. It is modelled on
// etcd's tests/robustness and Jepsen's ZooKeeper suite.
//
// The short mode runs by default (a few seeds, 3 voters and 5 voters plus
// an observer, about 30 s each):
//
//	go test ./tests/robustness
//
// The long mode runs many seeded runs and prints what it did:
//
//	go test ./tests/robustness -timeout 0 -v -run TestRobustness -robustness.long -robustness.runs 200 -robustness.duration 60s
//	GOZK_ROBUST_LONG=1 go test ./tests/robustness -timeout 0 -v
//
// A failed run prints its seed and the command that replays it
// (-robustness.seed with -robustness.voters), the directory holding its
// histories (and porcupine's visualization when a register history is not
// linearizable), and the members' log tails. A replay repeats the run's
// random choices (faults, targets, timings, operations); what the processes
// do in between is up to the scheduler.
//
// -robustness.faults=kill-all,bridge limits the nemesis to some kinds (see
// package nemesis), -robustness.keep keeps every run's histories. Each run
// writes run.log, nemesis.txt and one JSON history per workload.
//
// Partitions and packet loss need root, iptables and cgroup2 (see
// nemesis.NewNet); without them those faults are skipped, said so in the log
// (and TestPartitionTakesEffect skips, giving the reason), and every other
// fault still runs. Packet loss is done with iptables' statistic match, and
// slow links by shaping the traffic to one member's quorum address with tc
// (htb and u32 on the loopback interface, everything else unshaped): this
// kernel has no netem, so there is no fixed delay fault.
//
// The other tests here are regression tests of bugs the runs found (each
// tries its race a few rounds, more in long mode), and tests named TestBug*
// that show bugs not fixed yet: those skip unless -robustness.bugs (or
// GOZK_ROBUST_BUGS=1) is given. A session declared expired before its
// timeout is a violation.
package robustness

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/nemesis"
	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

var (
	flagLong     = flag.Bool("robustness.long", false, "long mode: many seeded runs (also GOZK_ROBUST_LONG=1)")
	flagRuns     = flag.Int("robustness.runs", 20, "long mode: number of runs (alternating 3 and 5 voters)")
	flagDuration = flag.Duration("robustness.duration", 0, "length of the faulty phase of a run (default 30s short, 60s long)")
	flagSeed     = flag.Uint64("robustness.seed", 0, "replay: run only this seed")
	flagVoters   = flag.Int("robustness.voters", 0, "replay: voters of the run (3, or 5 with an observer)")
	flagFaults   = flag.String("robustness.faults", "", "comma-separated fault kinds to draw from (default: all that can be injected; see package nemesis)")
	flagKeep     = flag.Bool("robustness.keep", false, "keep every run's histories, not only failed ones")
)

func TestMain(m *testing.M) { zktest.Main(m) }

func longMode() bool { return *flagLong || os.Getenv("GOZK_ROBUST_LONG") == "1" }

// runConfig is one run.
type runConfig struct {
	Seed     uint64
	Voters   int
	Observer bool
	Duration time.Duration
}

func (c runConfig) name() string {
	s := fmt.Sprintf("voters=%d", c.Voters)
	if c.Observer {
		s += "+observer"
	}
	return fmt.Sprintf("%s/seed=%d", s, c.Seed)
}

func (c runConfig) replay() string {
	return fmt.Sprintf("go test ./tests/robustness -count=1 -v -run 'TestRobustness' -robustness.seed=%d -robustness.voters=%d -robustness.duration=%v", c.Seed, c.Voters, c.Duration)
}

// runResult is what one run did and found.
type runResult struct {
	Ops        map[string]int
	Faults     map[nemesis.Kind]int
	Skipped    map[nemesis.Kind]int
	Violations []string
	Notes      []string
	Dir        string
}

// TestRobustness runs the configured runs: in short mode two seeds of each
// ensemble shape, in long mode -robustness.runs of them; with
// -robustness.seed only that one.
func TestRobustness(t *testing.T) {
	var runs []runConfig
	dur := *flagDuration
	switch {
	case *flagSeed != 0:
		if dur == 0 {
			dur = 30 * time.Second
		}
		v := *flagVoters
		if v == 0 {
			v = 3
		}
		runs = append(runs, runConfig{Seed: *flagSeed, Voters: v, Observer: v >= 5, Duration: dur})
	case longMode():
		if dur == 0 {
			dur = 60 * time.Second
		}
		base := uint64(time.Now().UnixNano())
		for i := range *flagRuns {
			v := 3
			if i%2 == 1 {
				v = 5
			}
			runs = append(runs, runConfig{Seed: base + uint64(i)*7919, Voters: v, Observer: v == 5, Duration: dur})
		}
	default:
		if testing.Short() {
			t.Skip("robustness runs take minutes; -short skips them")
		}
		if dur == 0 {
			dur = 30 * time.Second
		}
		base := uint64(time.Now().UnixNano())
		runs = []runConfig{
			{Seed: base, Voters: 3, Duration: dur},
			{Seed: base + 1, Voters: 5, Observer: true, Duration: dur},
			{Seed: base + 2, Voters: 3, Duration: dur},
			{Seed: base + 3, Voters: 5, Observer: true, Duration: dur},
		}
	}

	total := runResult{Ops: map[string]int{}, Faults: map[nemesis.Kind]int{}, Skipped: map[nemesis.Kind]int{}}
	var failed []string
	var mu sync.Mutex
	done := 0
	for _, rc := range runs {
		t.Run(rc.name(), func(t *testing.T) {
			res := runOnce(t, rc)
			mu.Lock()
			defer mu.Unlock()
			done++
			for k, v := range res.Ops {
				total.Ops[k] += v
			}
			for k, v := range res.Faults {
				total.Faults[k] += v
			}
			for k, v := range res.Skipped {
				total.Skipped[k] += v
			}
			total.Violations = append(total.Violations, res.Violations...)
			if t.Failed() {
				failed = append(failed, rc.name())
			}
		})
	}
	t.Logf("robustness: %d runs (%s), ops %s, faults %s (skipped %s), violations %d, failed runs %v",
		done, shapes(runs), fmtCounts(total.Ops), fmtKinds(total.Faults), fmtKinds(total.Skipped), len(total.Violations), failed)
	if longMode() {
		seeds := make([]string, len(runs))
		for i, rc := range runs {
			seeds[i] = fmt.Sprintf("%d/%d", rc.Seed, rc.Voters)
		}
		fmt.Printf("robustness summary: runs=%d (%s) duration=%v seeds(seed/voters)=%v\n  ops=%d %s\n  faults=%d %s skipped=%s\n  violations=%d failed=%v\n",
			done, shapes(runs), runs[0].Duration, seeds, sum(total.Ops), fmtCounts(total.Ops), sumKinds(total.Faults), fmtKinds(total.Faults), fmtKinds(total.Skipped), len(total.Violations), failed)
		for _, v := range total.Violations {
			fmt.Printf("  violation: %s\n", v)
		}
	}
}

func shapes(runs []runConfig) string {
	n3, n5 := 0, 0
	for _, r := range runs {
		if r.Voters == 3 {
			n3++
		} else {
			n5++
		}
	}
	return fmt.Sprintf("%d with 3 voters, %d with 5 voters + observer", n3, n5)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sumKinds(m map[nemesis.Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%d", k, m[k])
	}
	b.WriteString("}")
	return b.String()
}

func fmtKinds(m map[nemesis.Kind]int) string {
	s := map[string]int{}
	for k, v := range m {
		s[string(k)] = v
	}
	return fmtCounts(s)
}

// sessionTimeout is the clients' session timeout: it outlasts most faults
// (so sessions usually survive them) but not the longest pauses and
// partitions, so expiries happen too.
const sessionTimeout = 6 * time.Second

// runOnce runs one seeded run and checks it.
func runOnce(t *testing.T, rc runConfig) runResult {
	rng := rand.New(rand.NewPCG(rc.Seed, rc.Seed>>1|1))
	res := runResult{Ops: map[string]int{}}
	t.Logf("robustness: seed %d, %d voters, observer %v, %v of faults; replay with: %s", rc.Seed, rc.Voters, rc.Observer, rc.Duration, rc.replay())

	dir, err := os.MkdirTemp("", fmt.Sprintf("gozk-robust-%d-", rc.Seed))
	if err != nil {
		t.Fatal(err)
	}
	res.Dir = dir
	t.Cleanup(func() {
		if t.Failed() || *flagKeep {
			t.Logf("robustness: histories kept in %s (seed %d; replay: %s)", dir, rc.Seed, rc.replay())
			return
		}
		os.RemoveAll(dir)
	})

	// The network faults need the members in cgroups of their own: the
	// Net (and its cleanup) exists before the ensemble, so its cleanup
	// runs after the ensemble's processes are gone.
	var nt *nemesis.Net
	if zktest.Kind() == zktest.KindGozk {
		// Registered first, so it runs last: after the Net's cleanup.
		t.Cleanup(func() {
			if nt == nil {
				return
			}
			left, err := nt.Leftovers()
			if err != nil || len(left) > 0 {
				t.Errorf("iptables not clean after the run: %q %v", left, err)
			}
		})
		nt, err = nemesis.NewNet(t)
		if err != nil {
			t.Logf("robustness: network faults (partitions, packet loss) skipped: %v", err)
			res.Notes = append(res.Notes, "network faults skipped: "+err.Error())
			nt = nil
		} else {
			wrapper, err := nt.Wrapper(zktest.GozkBinary(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv(zktest.EnvBin, wrapper)
		}
	} else {
		t.Logf("robustness: network faults need gozk members in cgroups; skipped for %s", zktest.Kind())
	}

	n := rc.Voters
	obs := 0
	if rc.Observer {
		n++
		obs = 1
	}
	e := zkensemble.Start(t, n, zkensemble.Options{Observers: obs, TickTime: time.Second, SyncLimit: 5})
	// Whole member logs next to the histories of a kept run (the test log
	// shows only their tails).
	t.Cleanup(func() {
		if !t.Failed() && !*flagKeep {
			return
		}
		if t.Failed() {
			e.DumpStacks() // the logs end with the goroutines of live members
		}
		for _, m := range e.Members {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("member-%d.log", m.ID)), []byte(m.Log()), 0o644)
		}
	})
	r := newRun(t, e, rc, rng, dir)
	r.setup()

	var kinds []nemesis.Kind
	if *flagFaults != "" {
		for _, k := range strings.Split(*flagFaults, ",") {
			kind := nemesis.Kind(strings.TrimSpace(k))
			if !slices.Contains(nemesis.ProcessKinds, kind) && !slices.Contains(nemesis.NetworkKinds, kind) {
				t.Fatalf("-robustness.faults: unknown fault %q (kinds: %v %v)", kind, nemesis.ProcessKinds, nemesis.NetworkKinds)
			}
			kinds = append(kinds, kind)
		}
	}
	nem := nemesis.New(t, e, nt, nemesis.Config{
		Kinds:    kinds,
		Seed:     rng.Uint64(),
		MinQuiet: 500 * time.Millisecond, MaxQuiet: 2 * time.Second,
		MinFault: time.Second, MaxFault: 6 * time.Second,
		Logf: r.logf,
	})
	r.startWorkloads()
	ctx, cancel := contextWithTimeout(rc.Duration)
	defer cancel()
	go nem.Run(ctx)
	nem.Wait()
	r.logf("robustness: faults over; healing")
	r.heal()
	// Some time with every member up, so that the histories end with
	// acknowledged operations.
	time.Sleep(3 * time.Second)
	r.stopWorkloads()
	r.final()
	res.Faults = nem.Counts()
	res.Skipped = nem.Skipped()
	for _, ev := range nem.Events() {
		r.logf("fault: %s", ev)
	}
	r.writeNemesis(nem.Events())
	r.check()
	res.Ops = r.opCounts()
	res.Violations = r.violations()
	r.mu.Lock()
	res.Notes = append(res.Notes, r.notes...)
	r.mu.Unlock()
	t.Logf("robustness: seed %d: ops %s, faults %s (skipped %s), violations %d, notes %d (see run.log)", rc.Seed, fmtCounts(res.Ops), fmtKinds(res.Faults), fmtKinds(res.Skipped), len(res.Violations), len(res.Notes))
	if len(res.Violations) > 0 {
		shown := res.Violations
		if len(shown) > 40 {
			shown = shown[:40]
		}
		t.Errorf("robustness: %d violations (seed %d, histories in %s; replay: %s):\n  %s",
			len(res.Violations), rc.Seed, dir, rc.replay(), strings.Join(shown, "\n  "))
	}
	if errs := nem.Errors(); len(errs) > 0 {
		t.Errorf("robustness: nemesis failures (seed %d): %v", rc.Seed, errs)
	}
	return res
}

// run is the state of one run shared by the workloads and checkers.
type run struct {
	t     *testing.T
	e     *zkensemble.Ensemble
	rc    runConfig
	rng   *rand.Rand // the run's source; only the test goroutine draws from it
	dir   string
	start time.Time
	root  string

	stop chan struct{}
	wg   sync.WaitGroup

	logMu sync.Mutex
	logF  *os.File

	mu    sync.Mutex
	viols []string
	notes []string

	cas   *casWorkload
	seq   *seqWorkload
	lock  *lockWorkload
	watch *watchWorkload
	fifo  *fifoWorkload
	fin   *finalState
}

func newRun(t *testing.T, e *zkensemble.Ensemble, rc runConfig, rng *rand.Rand, dir string) *run {
	f, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &run{t: t, e: e, rc: rc, rng: rng, dir: dir, start: time.Now(), root: "/robust", stop: make(chan struct{}), logF: f}
}

// now is the run's clock: nanoseconds since the run started (monotonic).
func (r *run) now() int64 { return int64(time.Since(r.start)) }

// logf writes to the run's log file (and to t.Log in verbose runs).
func (r *run) logf(format string, args ...any) {
	line := fmt.Sprintf("%8.3fs ", time.Since(r.start).Seconds()) + fmt.Sprintf(format, args...)
	r.logMu.Lock()
	fmt.Fprintln(r.logF, line)
	r.logMu.Unlock()
	if testing.Verbose() {
		r.t.Log(line)
	}
}

func (r *run) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.viols = append(r.viols, msg)
	r.mu.Unlock()
	r.logf("VIOLATION: %s", msg)
}

func (r *run) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.notes = append(r.notes, msg)
	r.mu.Unlock()
	r.logf("note: %s", msg)
}

func (r *run) violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.viols)
}

func (r *run) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// pause sleeps d or until the workloads stop; it reports whether they go on.
func (r *run) pause(d time.Duration) bool {
	select {
	case <-r.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// goWork runs a workload goroutine.
func (r *run) goWork(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

func (r *run) startWorkloads() {
	r.cas.start()
	r.seq.start()
	r.lock.start()
	r.watch.start()
	r.fifo.start()
}

// stopWorkloads tells every workload to stop and waits for them: a client
// blocked in a call returns within its session's receive timeout.
func (r *run) stopWorkloads() {
	close(r.stop)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		r.t.Errorf("robustness: workloads did not stop within 2 minutes")
	}
}

// heal waits until every member serves after the nemesis healed.
func (r *run) heal() {
	deadline := time.Now().Add(zkensemble.ServeTimeout)
	for {
		ok := true
		modes := r.e.Modes()
		for _, m := range modes {
			if m != zkensemble.ModeLeader && m != zkensemble.ModeFollower && m != zkensemble.ModeObserver {
				ok = false
			}
		}
		if ok {
			r.logf("robustness: all members serving: %v", modes)
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("robustness: ensemble not serving %v after healing: modes %v (seed %d; replay: %s)", zkensemble.ServeTimeout, modes, r.rc.Seed, r.rc.replay())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *run) opCounts() map[string]int {
	return map[string]int{
		"cas":   len(r.cas.ops),
		"seq":   len(r.seq.ops),
		"lock":  r.lock.count(),
		"watch": r.watch.count(),
		"fifo":  r.fifo.count(),
	}
}

func (r *run) setup() {
	c := r.connect("setup")
	mustCreate(r.t, c, r.root, nil)
	r.cas = newCAS(r, c)
	r.seq = newSeq(r, c)
	r.lock = newLock(r, c)
	r.watch = newWatch(r, c)
	r.fifo = newFIFO(r, c)
	c.Close()
}

func (r *run) check() {
	r.cas.check()
	r.seq.check()
	r.lock.check()
	r.watch.check()
	r.fifo.check()
	r.checkSessions()
}
