package replication

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/replication/transport"
)

// hub is an in-process network between cluster members that can cut links.
type hub struct {
	mu     sync.Mutex
	nodes  map[uint64]transport.Handler
	cut    map[[2]uint64]bool
	queues map[[2]uint64]chan hubMsg
}

type hubMsg struct {
	kind    byte
	payload []byte
}

func newHub() *hub {
	return &hub{nodes: map[uint64]transport.Handler{}, cut: map[[2]uint64]bool{}, queues: map[[2]uint64]chan hubMsg{}}
}

type memNet struct {
	h  *hub
	id uint64
}

func (n *memNet) Send(to uint64, kind byte, payload []byte) bool {
	h := n.h
	key := [2]uint64{n.id, to}
	h.mu.Lock()
	q := h.queues[key]
	if q == nil {
		q = make(chan hubMsg, 4096)
		h.queues[key] = q
		go h.deliver(key, q)
	}
	h.mu.Unlock()
	select {
	case q <- hubMsg{kind, append([]byte(nil), payload...)}:
		return true
	default:
		return false
	}
}

func (h *hub) deliver(key [2]uint64, q chan hubMsg) {
	for m := range q {
		h.mu.Lock()
		dst, cut := h.nodes[key[1]], h.cut[key]
		h.mu.Unlock()
		if dst != nil && !cut {
			dst.Receive(key[0], m.kind, m.payload)
		}
	}
}

func (n *memNet) Close() {
	n.h.mu.Lock()
	delete(n.h.nodes, n.id)
	n.h.mu.Unlock()
}

// isolate cuts every link between the groups.
func (h *hub) partition(groups ...[]uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cut = map[[2]uint64]bool{}
	for i, g := range groups {
		for j, o := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range o {
					h.cut[[2]uint64{a, b}] = true
				}
			}
		}
	}
}

func (h *hub) heal() { h.partition() }

type member struct {
	id      uint64
	dir     string
	learner bool
	sm      *counterSM
	r       *Raft
}

type cluster struct {
	t       *testing.T
	hub     *hub
	members []*member
	cfg     func(*RaftConfig)
}

func newCluster(t *testing.T, voters, learners int, mod func(*RaftConfig)) *cluster {
	c := &cluster{t: t, hub: newHub(), cfg: mod}
	for i := 0; i < voters+learners; i++ {
		c.members = append(c.members, &member{id: uint64(i + 1), dir: t.TempDir(), learner: i >= voters})
	}
	for i := range c.members {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.members {
			c.stop(i)
		}
	})
	return c
}

func (c *cluster) start(i int) {
	m := c.members[i]
	var all []Member
	var peers []transport.Peer
	for _, o := range c.members {
		all = append(all, Member{ID: o.id, Learner: o.learner})
		if o.id != m.id {
			peers = append(peers, transport.Peer{ID: o.id})
		}
	}
	cfg := RaftConfig{
		ID: m.id, Members: all, Peers: peers, WALDir: m.dir + "/wal", SnapDir: m.dir + "/snap",
		TickInterval: 10 * time.Millisecond, NoSync: true, PreAllocSize: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewNetwork: func(h transport.Handler) (Network, error) {
			c.hub.mu.Lock()
			c.hub.nodes[m.id] = h
			c.hub.mu.Unlock()
			return &memNet{h: c.hub, id: m.id}, nil
		},
	}
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	m.sm = newCounterSM()
	r, err := StartRaft(cfg, m.sm)
	if err != nil {
		c.t.Fatal(err)
	}
	m.r = r
}

func (c *cluster) stop(i int) {
	if m := c.members[i]; m.r != nil {
		m.r.Stop()
		m.r = nil
	}
}

// leader waits for a member that the others agree is leader and returns its
// index.
func (c *cluster) leader() int {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range c.members {
			if m.r != nil && m.r.IsLeader() {
				return i
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return -1
}

func (c *cluster) propose(i int, s string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.members[i].r.Propose(ctx, []byte(s))
}

func (c *cluster) waitApplied(i, n int) {
	c.t.Helper()
	c.members[i].sm.waitCount(c.t, n)
}

func (c *cluster) sameLogs(n int) {
	c.t.Helper()
	ref := c.members[0].sm
	c.waitApplied(0, n)
	for i, m := range c.members {
		if m.r == nil || i == 0 {
			continue
		}
		c.waitApplied(i, n)
		m.sm.mu.Lock()
		ref.mu.Lock()
		for k := 0; k < n; k++ {
			if string(m.sm.applied[k]) != string(ref.applied[k]) {
				c.t.Fatalf("member %d entry %d = %q, member 1 has %q", m.id, k, m.sm.applied[k], ref.applied[k])
			}
		}
		ref.mu.Unlock()
		m.sm.mu.Unlock()
	}
}

func TestClusterReplicatesInOneOrder(t *testing.T) {
	c := newCluster(t, 3, 1, nil)
	c.leader()
	var wg sync.WaitGroup
	for i := range c.members {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				for c.propose(i, fmt.Sprintf("m%d-%d", i, k)) != nil {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}(i)
	}
	wg.Wait()
	// Raft may drop a forwarded proposal (the receiver's step is bounded,
	// so a busy member can lose one): propose what is missing again. What
	// is checked is that every member applies one and the same order.
	c.proposeMissing(0, 200, func(i int) string { return fmt.Sprintf("m%d-%d", i/50, i%50) })
	c.sameLogs(200)
}

// proposeMissing waits until member i has applied every payload of 0..n-1,
// proposing again through the leader those that do not appear.
func (c *cluster) proposeMissing(i, n int, payload func(int) string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m := c.members[i].sm
		m.mu.Lock()
		have := make(map[string]bool, len(m.applied))
		for _, b := range m.applied {
			have[string(b)] = true
		}
		m.mu.Unlock()
		var missing []string
		for k := 0; k < n; k++ {
			if !have[payload(k)] {
				missing = append(missing, payload(k))
			}
		}
		if len(missing) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
		for _, p := range missing {
			c.propose(c.leader(), p)
		}
	}
	c.t.Fatalf("member %d never applied every proposal", i)
}

func TestClusterFailoverKeepsCommittedEntries(t *testing.T) {
	c := newCluster(t, 3, 0, nil)
	l := c.leader()
	for k := 0; k < 20; k++ {
		if err := c.propose(l, fmt.Sprint("a", k)); err != nil {
			t.Fatal(err)
		}
	}
	c.waitApplied((l+1)%3, 20)
	c.stop(l)
	nl := c.leader()
	if nl == l {
		t.Fatal("stopped member still leader")
	}
	for k := 0; k < 20; k++ {
		for c.propose(nl, fmt.Sprint("b", k)) != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.start(l) // rejoins and catches up from the log
	c.sameLogs(40)
}

func TestClusterMinorityNeverCommits(t *testing.T) {
	c := newCluster(t, 3, 0, nil)
	l := c.leader()
	c.propose(l, "before")
	c.sameLogs(1)
	var others []uint64
	for _, m := range c.members {
		if m.id != c.members[l].id {
			others = append(others, m.id)
		}
	}
	c.hub.partition([]uint64{c.members[l].id}, others)
	// The isolated old leader accepts the proposal into its log but can never
	// commit it.
	c.propose(l, "lost")
	var nl int
	deadline := time.Now().Add(10 * time.Second)
	for {
		nl = c.leader()
		if nl != l {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("majority did not elect a new leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.propose(nl, "after"); err != nil {
		t.Fatal(err)
	}
	c.waitApplied(nl, 2)
	if n := c.members[l].sm.count(); n != 1 {
		t.Fatalf("the minority side applied %d entries, want 1", n)
	}
	c.hub.heal()
	c.sameLogs(2)
	for _, m := range c.members {
		m.sm.mu.Lock()
		for _, e := range m.sm.applied {
			if string(e) == "lost" {
				t.Errorf("member %d applied an entry the minority accepted", m.id)
			}
		}
		m.sm.mu.Unlock()
	}
}

func TestClusterLearnerNeverCounts(t *testing.T) {
	c := newCluster(t, 2, 1, nil)
	l := c.leader()
	if c.members[l].learner {
		t.Fatal("a learner became leader")
	}
	c.propose(l, "x")
	c.sameLogs(1)
	// Stopping the other voter leaves leader + learner: no quorum.
	c.stop(1 - l)
	c.propose(l, "y")
	time.Sleep(300 * time.Millisecond)
	if n := c.members[l].sm.count(); n != 1 {
		t.Fatalf("committed without a voting quorum (%d entries)", n)
	}
	if !c.members[2].r.Status().Learner {
		t.Fatal("learner does not know it is one")
	}
}

func TestClusterCatchUpBySnapshot(t *testing.T) {
	c := newCluster(t, 3, 0, func(cfg *RaftConfig) { cfg.SnapCount = 50; cfg.CompactKeep = 10 })
	l := c.leader()
	lag := (l + 1) % 3
	c.stop(lag)
	for k := 0; k < 300; k++ {
		for c.propose(l, fmt.Sprint("s", k)) != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.waitApplied(l, 300)
	c.start(lag) // far behind the compacted log: needs the snapshot
	c.waitApplied(lag, 300)
	c.sameLogs(300)
}

func TestClusterWipedMemberResyncs(t *testing.T) {
	c := newCluster(t, 3, 0, func(cfg *RaftConfig) { cfg.SnapCount = 50; cfg.CompactKeep = 10 })
	l := c.leader()
	for k := 0; k < 120; k++ {
		for c.propose(l, fmt.Sprint("w", k)) != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	f := (l + 1) % 3
	c.waitApplied(f, 120)
	c.stop(f)
	c.members[f].dir = t.TempDir() // restarted with an empty data directory
	c.start(f)
	for k := 120; k < 130; k++ {
		for {
			nl := c.leader()
			if c.propose(nl, fmt.Sprint("w", k)) == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	c.waitApplied(f, 130)
	c.sameLogs(130)
}

// TestClusterReadIndexBatches: concurrent ReadIndex calls share raft read
// indexes, and each returns with every entry committed before it applied.
func TestClusterReadIndexBatches(t *testing.T) {
	c := newCluster(t, 3, 0, nil)
	l := c.leader()
	for k, i := range []int{l, (l + 1) % 3} {
		r := c.members[i].r
		if err := c.propose(l, fmt.Sprint("before-", i)); err != nil {
			t.Fatal(err)
		}
		c.waitApplied(l, k+1)
		committed := c.members[l].sm.count()
		before := r.readSeq.Load()
		const calls = 200
		start := make(chan struct{})
		errs := make(chan error, calls)
		for range calls {
			go func() {
				<-start
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err := r.ReadIndex(ctx)
				if n := c.members[i].sm.count(); err == nil && n < committed {
					err = fmt.Errorf("applied %d entries after ReadIndex, %d were committed before", n, committed)
				}
				errs <- err
			}()
		}
		close(start)
		for range calls {
			if err := <-errs; err != nil {
				t.Fatalf("member %d: ReadIndex: %v", c.members[i].id, err)
			}
		}
		if n := r.readSeq.Load() - before; n >= calls/2 {
			t.Fatalf("member %d: %d concurrent ReadIndex calls sent %d raft read indexes; want them batched", c.members[i].id, calls, n)
		}
	}
}
