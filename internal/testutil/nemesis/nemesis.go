// Package nemesis injects faults into a zkensemble ensemble of real server
// processes, in the manner of Jepsen's nemeses and etcd's robustness tests:
// process crashes (SIGKILL, then a restart), pauses (SIGSTOP, then SIGCONT),
// network partitions and packet loss between members (iptables, see Net),
// and a member restarted with an empty data directory.
//
// A Nemesis draws every choice (which fault, which member, how long, how
// long to wait before the next) from a seeded random source, so a run's
// schedule is reproducible from its seed; what the processes do in between
// is not. Faults never overlap: each one is undone (restart, SIGCONT, rules
// removed) before the next starts, and a wipe happens only while every
// member serves, then waits until the wiped member has caught up.
//
//	nt, err := nemesis.NewNet(t)          // nil and a reason without root/iptables
//	bin, _ := nt.Wrapper(zktest.GozkBinary(t))
//	t.Setenv(zktest.EnvBin, bin)          // members run in their own cgroups
//	e := zkensemble.Start(t, 3, opts)
//	n := nemesis.New(t, e, nt, nemesis.Config{Seed: seed})
//	go n.Run(ctx)                         // until ctx is done, then heals
//	...
//	n.Wait()                              // Run has returned and healed
//	n.Counts()                            // faults injected, by kind
//
// Run never calls t.FailNow: harness failures (a member that will not
// start, a process that does not stop) are reported with t.Errorf and end
// Run early.
package nemesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
)

// Kind names a fault.
type Kind string

// The faults a Nemesis injects.
const (
	// KillMember SIGKILLs a random member and restarts it after the fault's
	// duration.
	KillMember Kind = "kill-member"
	// KillLeader is KillMember on the leader.
	KillLeader Kind = "kill-leader"
	// KillMajority SIGKILLs a majority of the voters at once and restarts
	// them after the fault's duration.
	KillMajority Kind = "kill-majority"
	// KillAll SIGKILLs every member at once and restarts them all after
	// the fault's duration: everything acknowledged must come back from
	// the members' logs and snapshots.
	KillAll Kind = "kill-all"
	// PauseMember SIGSTOPs a random member for the fault's duration.
	PauseMember Kind = "pause-member"
	// PauseLeader is PauseMember on the leader.
	PauseLeader Kind = "pause-leader"
	// IsolateMember cuts a random member off from all the others.
	IsolateMember Kind = "isolate-member"
	// IsolateLeader cuts the leader off from all the others.
	IsolateLeader Kind = "isolate-leader"
	// SplitMajority splits the voters into a majority and a minority (the
	// observers fall on either side).
	SplitMajority Kind = "split-majority"
	// Bridge splits the members into two sides that cannot reach each
	// other, and one voter that reaches both.
	Bridge Kind = "bridge"
	// PacketLoss drops a random share (5-30%) of the packets on every link
	// between members.
	PacketLoss Kind = "packet-loss"
	// WipeMember kills a member, empties its data directory and restarts
	// it, then waits until it has caught up with the leader.
	WipeMember Kind = "wipe-member"
	// SlowMember shapes the links into a random member to a low rate (64
	// kbit/s to 2 Mbit/s): what is sent to it queues as on a congested
	// link, heartbeats behind appends. (The delay of tc netem is not
	// available in this kernel; see Net.Slow.)
	SlowMember Kind = "slow-member"
)

// ProcessKinds are the faults that need no network access.
var ProcessKinds = []Kind{KillMember, KillLeader, KillMajority, KillAll, PauseMember, PauseLeader, WipeMember}

// NetworkKinds are the faults that need a Net.
var NetworkKinds = []Kind{IsolateMember, IsolateLeader, SplitMajority, Bridge, PacketLoss, SlowMember}

// Config shapes a Nemesis. Zero durations take the defaults given.
type Config struct {
	// Seed seeds every random choice.
	Seed uint64
	// Kinds are the faults to draw from (uniformly); nil means all that
	// can be injected (NetworkKinds only with a Net).
	Kinds []Kind
	// MinQuiet and MaxQuiet bound the time between two faults (default
	// 0.5s to 3s).
	MinQuiet, MaxQuiet time.Duration
	// MinFault and MaxFault bound how long a fault lasts (default 1s to
	// 6s).
	MinFault, MaxFault time.Duration
	// CatchUp bounds the wait for a wiped member to catch up, and for
	// the ensemble to serve again after a fault before the next one (a
	// slow recovery is logged, not failed; default 60s).
	CatchUp time.Duration
	// Logf receives one line per fault; nil means t.Logf.
	Logf func(format string, args ...any)
}

// Event is one fault injected.
type Event struct {
	Kind    Kind
	Members []int // indexes of the members it acted on (for partitions: the first side)
	Detail  string
	Start   time.Time
	End     time.Time // when it was undone
}

func (ev Event) String() string {
	return fmt.Sprintf("%s %v %s [%s, %s]", ev.Kind, ev.Members, ev.Detail, ev.Start.Format("15:04:05.000"), ev.End.Format("15:04:05.000"))
}

// Nemesis injects faults into one ensemble.
type Nemesis struct {
	t   testing.TB
	e   *zkensemble.Ensemble // reports to bg
	net *Net
	cfg Config
	rng *rand.Rand

	done chan struct{}

	mu      sync.Mutex
	events  []Event
	skipped map[Kind]int
	errs    []string
}

// New returns a Nemesis for e. With a nil net, network faults are left out
// of the default kinds (and skipped if asked for).
func New(t testing.TB, e *zkensemble.Ensemble, net *Net, cfg Config) *Nemesis {
	if cfg.MinQuiet <= 0 {
		cfg.MinQuiet = 500 * time.Millisecond
	}
	if cfg.MaxQuiet < cfg.MinQuiet {
		cfg.MaxQuiet = max(cfg.MinQuiet, 3*time.Second)
	}
	if cfg.MinFault <= 0 {
		cfg.MinFault = time.Second
	}
	if cfg.MaxFault < cfg.MinFault {
		cfg.MaxFault = max(cfg.MinFault, 6*time.Second)
	}
	if cfg.CatchUp <= 0 {
		cfg.CatchUp = 60 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	if cfg.Kinds == nil {
		cfg.Kinds = slices.Clone(ProcessKinds)
		if net != nil {
			cfg.Kinds = append(cfg.Kinds, NetworkKinds...)
		}
	}
	n := &Nemesis{
		t:       t,
		net:     net,
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		done:    make(chan struct{}),
		skipped: map[Kind]int{},
	}
	n.e = e.For(&bgTB{TB: t, n: n})
	return n
}

// bgTB lets the ensemble's helpers run on the nemesis goroutine: a fatal
// failure is reported with Errorf and ends that goroutine only.
type bgTB struct {
	testing.TB
	n *Nemesis
}

func (b *bgTB) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.n.fail(msg)
	runtime.Goexit()
}

func (b *bgTB) Fatal(args ...any) { b.Fatalf("%s", fmt.Sprint(args...)) }
func (b *bgTB) FailNow()          { b.Fatalf("FailNow") }
func (b *bgTB) Helper()           {}

func (n *Nemesis) fail(msg string) {
	n.mu.Lock()
	n.errs = append(n.errs, msg)
	n.mu.Unlock()
	n.t.Errorf("nemesis: %s", msg)
}

// Errors returns the harness failures Run met.
func (n *Nemesis) Errors() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.errs)
}

// Run injects faults until ctx is done, then undoes the one in force,
// resumes paused members, restarts dead ones and heals the network. Call
// it once.
func (n *Nemesis) Run(ctx context.Context) {
	defer close(n.done)
	defer n.HealAll()
	for ctx.Err() == nil {
		if !sleep(ctx, n.between(n.cfg.MinQuiet, n.cfg.MaxQuiet)) {
			return
		}
		kind := n.cfg.Kinds[n.rng.IntN(len(n.cfg.Kinds))]
		n.inject(ctx, kind)
		n.recover(ctx)
	}
}

// Wait blocks until Run has returned.
func (n *Nemesis) Wait() { <-n.done }

// Events returns the faults injected so far.
func (n *Nemesis) Events() []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.events)
}

// Counts returns how many faults of each kind were injected.
func (n *Nemesis) Counts() map[Kind]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := map[Kind]int{}
	for _, ev := range n.events {
		c[ev.Kind]++
	}
	return c
}

// Skipped returns how many drawn faults were not injected, by kind (a
// network fault without a Net, a wipe while a member did not serve).
func (n *Nemesis) Skipped() map[Kind]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := map[Kind]int{}
	for k, v := range n.skipped {
		c[k] = v
	}
	return c
}

func (n *Nemesis) skip(k Kind, why string) {
	n.mu.Lock()
	n.skipped[k]++
	n.mu.Unlock()
	n.cfg.Logf("nemesis: skip %s: %s", k, why)
}

func (n *Nemesis) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(n.rng.Int64N(int64(hi-lo)))
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// leader returns the current leader, or a random voter when there is none
// right now.
func (n *Nemesis) leader() int {
	if l, err := n.e.WaitLeader(2 * time.Second); err == nil {
		return l
	}
	v := n.e.Voters()
	return v[n.rng.IntN(len(v))]
}

func (n *Nemesis) nodes(idx []int) []Node {
	ns := make([]Node, len(idx))
	for k, i := range idx {
		m := n.e.Members[i]
		ns[k] = Node{Name: "m" + strconv.Itoa(m.ID), Host: m.Host, Port: m.QuorumPort}
	}
	return ns
}

func (n *Nemesis) all() []int {
	idx := make([]int, n.e.Len())
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func without(xs []int, drop ...int) []int {
	var r []int
	for _, x := range xs {
		if !slices.Contains(drop, x) {
			r = append(r, x)
		}
	}
	return r
}

// inject applies one fault, holds it, and undoes it.
func (n *Nemesis) inject(ctx context.Context, kind Kind) {
	if slices.Contains(NetworkKinds, kind) && n.net == nil {
		n.skip(kind, "no network fault injection (see NewNet)")
		return
	}
	dur := n.between(n.cfg.MinFault, n.cfg.MaxFault)
	ev := Event{Kind: kind, Start: time.Now()}
	var undo func()
	switch kind {
	case KillMember, KillLeader:
		i := n.rng.IntN(n.e.Len())
		if kind == KillLeader {
			i = n.leader()
		}
		ev.Members = []int{i}
		n.e.Kill(i)
		undo = func() { n.e.Restart(i) }
	case KillMajority, KillAll:
		victims := n.all()
		if kind == KillMajority {
			voters := slices.Clone(n.e.Voters())
			n.rng.Shuffle(len(voters), func(a, b int) { voters[a], voters[b] = voters[b], voters[a] })
			victims = voters[:len(voters)/2+1]
			slices.Sort(victims)
		}
		ev.Members = victims
		for _, i := range victims {
			n.e.Kill(i)
		}
		undo = func() {
			for _, i := range victims {
				n.e.Restart(i)
			}
		}
	case PauseMember, PauseLeader:
		i := n.rng.IntN(n.e.Len())
		if kind == PauseLeader {
			i = n.leader()
		}
		if !n.e.Member(i).Running() {
			n.skip(kind, fmt.Sprintf("member %d is not running", i))
			return
		}
		ev.Members = []int{i}
		n.e.Stop(i)
		undo = func() { n.e.Cont(i) }
	case IsolateMember, IsolateLeader:
		i := n.rng.IntN(n.e.Len())
		if kind == IsolateLeader {
			i = n.leader()
		}
		ev.Members = []int{i}
		n.partition(&ev, []int{i}, without(n.all(), i))
		undo = n.heal
	case SplitMajority:
		voters := slices.Clone(n.e.Voters())
		n.rng.Shuffle(len(voters), func(a, b int) { voters[a], voters[b] = voters[b], voters[a] })
		minority := slices.Clone(voters[:len(voters)/2])
		majority := slices.Clone(voters[len(voters)/2:])
		for _, o := range n.e.Observers() {
			if n.rng.IntN(2) == 0 {
				minority = append(minority, o)
			} else {
				majority = append(majority, o)
			}
		}
		ev.Members = slices.Clone(minority)
		ev.Detail = fmt.Sprintf("minority %v | majority %v", minority, majority)
		n.partition(&ev, minority, majority)
		undo = n.heal
	case Bridge:
		voters := slices.Clone(n.e.Voters())
		n.rng.Shuffle(len(voters), func(a, b int) { voters[a], voters[b] = voters[b], voters[a] })
		bridge := voters[0]
		rest := append(slices.Clone(voters[1:]), n.e.Observers()...)
		n.rng.Shuffle(len(rest), func(a, b int) { rest[a], rest[b] = rest[b], rest[a] })
		left, right := rest[:len(rest)/2], rest[len(rest)/2:]
		ev.Members = []int{bridge}
		ev.Detail = fmt.Sprintf("bridge %d between %v and %v", bridge, left, right)
		n.partition(&ev, left, right)
		undo = n.heal
	case PacketLoss:
		p := 0.05 + 0.25*n.rng.Float64()
		ev.Members = n.all()
		ev.Detail = fmt.Sprintf("p=%.2f", p)
		ns := n.nodes(n.all())
		for a := range ns {
			for b := range ns {
				if a != b {
					if err := n.net.Loss(ns[a], ns[b], p); err != nil {
						n.fail(err.Error())
						n.heal()
						runtime.Goexit()
					}
				}
			}
		}
		undo = n.heal
	case SlowMember:
		i := n.rng.IntN(n.e.Len())
		kbit := 64 << n.rng.IntN(6)
		ev.Members = []int{i}
		ev.Detail = fmt.Sprintf("%d kbit/s", kbit)
		if err := n.net.Slow(n.nodes(ev.Members)[0], kbit); err != nil {
			n.heal()
			n.skip(kind, err.Error())
			return
		}
		undo = n.heal
	case WipeMember:
		if !n.allServing(ctx, n.cfg.CatchUp) {
			n.skip(kind, "not every member serves")
			return
		}
		i := n.rng.IntN(n.e.Len())
		ev.Members = []int{i}
		n.cfg.Logf("nemesis: %s %v", kind, ev.Members)
		n.e.Kill(i)
		n.e.Wipe(i)
		sleep(ctx, dur)
		var target int64
		if l, err := n.e.WaitLeader(n.cfg.CatchUp, i); err == nil {
			target = n.zxid(l)
		}
		n.e.Restart(i)
		ev.End = time.Now()
		ev.Detail = fmt.Sprintf("down %v", dur.Round(time.Millisecond))
		n.record(ev)
		n.waitCaughtUp(i, target)
		n.cfg.Logf("nemesis: wiped member %d caught up with zxid 0x%x %v after its restart", i, target, time.Since(ev.End).Round(time.Millisecond))
		return
	default:
		n.fail("unknown fault kind " + string(kind))
		runtime.Goexit()
	}
	n.cfg.Logf("nemesis: %s %v %s for %v", kind, ev.Members, ev.Detail, dur.Round(time.Millisecond))
	sleep(ctx, dur)
	undo()
	ev.End = time.Now()
	n.record(ev)
}

func (n *Nemesis) record(ev Event) {
	n.mu.Lock()
	n.events = append(n.events, ev)
	n.mu.Unlock()
}

func (n *Nemesis) partition(ev *Event, a, b []int) {
	if ev.Detail == "" {
		ev.Detail = fmt.Sprintf("%v | %v", a, b)
	}
	if err := n.net.Partition(n.nodes(a), n.nodes(b)); err != nil {
		n.fail(err.Error())
		n.heal()
		runtime.Goexit()
	}
}

func (n *Nemesis) heal() {
	if n.net == nil {
		return
	}
	if err := n.net.Heal(); err != nil {
		n.fail(err.Error())
	}
}

// HealAll removes every network rule, resumes paused members and restarts
// members that are not running. Run calls it when it ends.
func (n *Nemesis) HealAll() {
	n.heal()
	for _, m := range n.e.Members {
		switch {
		case m.Stopped():
			n.e.Cont(m.Index)
		case !m.Running():
			n.e.Restart(m.Index)
		}
	}
}

// recover waits (bounded, logged) until every member serves again.
func (n *Nemesis) recover(ctx context.Context) {
	start := time.Now()
	if !n.allServing(ctx, n.cfg.CatchUp) && ctx.Err() == nil {
		n.cfg.Logf("nemesis: ensemble not fully serving %v after the last fault: modes %v", n.cfg.CatchUp, n.e.Modes())
		return
	}
	if d := time.Since(start); d > 5*time.Second {
		n.cfg.Logf("nemesis: ensemble serving again after %v", d.Round(time.Millisecond))
	}
}

func (n *Nemesis) allServing(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, mode := range n.e.Modes() {
			if mode != zkensemble.ModeLeader && mode != zkensemble.ModeFollower && mode != zkensemble.ModeObserver {
				ok = false
			}
		}
		if ok {
			return true
		}
		if time.Now().After(deadline) || !sleep(ctx, 100*time.Millisecond) {
			return false
		}
	}
}

// zxid returns the Zxid member i reports in srvr, or 0.
func (n *Nemesis) zxid(i int) int64 {
	out, err := n.e.Srvr(i)
	if err != nil {
		return 0
	}
	return ParseZxid(out)
}

// ParseZxid returns the zxid of a srvr answer's "Zxid: 0x..." line, or 0.
func ParseZxid(out string) int64 {
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, "Zxid:"); ok {
			z, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "0x"), 16, 64)
			if err == nil {
				return z
			}
		}
	}
	return 0
}

// waitCaughtUp waits until member i serves and has applied target. Not
// catching up within CatchUp is a failure: every other member is up, so
// nothing stands in its way.
func (n *Nemesis) waitCaughtUp(i int, target int64) {
	deadline := time.Now().Add(n.cfg.CatchUp)
	for {
		mode := n.e.Mode(i)
		if (mode == zkensemble.ModeLeader || mode == zkensemble.ModeFollower || mode == zkensemble.ModeObserver) && n.zxid(i) >= target {
			return
		}
		if time.Now().After(deadline) {
			n.fail(fmt.Sprintf("wiped member %d not caught up to zxid 0x%x within %v (mode %s, zxid 0x%x)", i, target, n.cfg.CatchUp, mode, n.zxid(i)))
			runtime.Goexit()
		}
		time.Sleep(100 * time.Millisecond)
	}
}
