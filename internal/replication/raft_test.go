package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// counterSM is a state machine whose state is the list of applied payloads.
type counterSM struct {
	mu      sync.Mutex
	applied [][]byte
	terms   []uint64
	leader  bool
	notify  chan struct{}
	// resumed records RevalidateSession's timeouts by session: sessions with
	// a positive id are valid, others expired.
	resumed map[int64]time.Duration
}

func newCounterSM() *counterSM { return &counterSM{notify: make(chan struct{}, 1024)} }

func (c *counterSM) Apply(term, index uint64, data []byte) {
	c.mu.Lock()
	c.applied = append(c.applied, append([]byte(nil), data...))
	c.terms = append(c.terms, term)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

type listSnap struct{ items [][]byte }

func (l listSnap) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	for _, it := range l.items {
		binary.Write(&buf, binary.BigEndian, uint32(len(it)))
		buf.Write(it)
	}
	return buf.WriteTo(w)
}
func (listSnap) Close() {}

func (c *counterSM) BeginSnapshot() Snapshotter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return listSnap{items: append([][]byte(nil), c.applied...)}
}

func (c *counterSM) Restore(p []byte) error {
	var items [][]byte
	for len(p) >= 4 {
		n := binary.BigEndian.Uint32(p)
		items = append(items, p[4:4+n])
		p = p[4+n:]
	}
	c.mu.Lock()
	c.applied = items
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return nil
}

func (c *counterSM) LeaderChanged(_, _ uint64, isLeader bool) {
	c.mu.Lock()
	c.leader = isLeader
	c.mu.Unlock()
}

func (c *counterSM) Touched([]int64) {}

func (c *counterSM) RevalidateSession(id int64, timeout time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.leader {
		return false, errors.New("not the leader")
	}
	if c.resumed == nil {
		c.resumed = map[int64]time.Duration{}
	}
	c.resumed[id] = timeout
	return id > 0, nil
}

func (c *counterSM) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.applied)
}

func (c *counterSM) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for c.count() < n {
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("applied %d entries, want %d", c.count(), n)
		}
	}
}

func testConfig(dir string) RaftConfig {
	return RaftConfig{
		ID: 1, WALDir: dir + "/wal", SnapDir: dir + "/snap",
		TickInterval: 10 * time.Millisecond, SnapCount: 50,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// waitLeader waits until r knows a leader (Propose fails fast until then).
func waitLeader(t *testing.T, r *Raft) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Status().Leader == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRaftAppliesAndRecovers(t *testing.T) {
	dir := t.TempDir()
	sm := newCounterSM()
	r, err := StartRaft(testConfig(dir), sm)
	if err != nil {
		t.Fatal(err)
	}
	const n = 230 // several snapshots at SnapCount 50
	waitLeader(t, r)
	for i := 0; i < n; i++ {
		if err := r.Propose(context.Background(), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	sm.waitCount(t, n)
	if err := r.ReadIndex(context.Background()); err != nil {
		t.Fatalf("read index: %v", err)
	}
	if !r.IsLeader() {
		t.Fatal("a one-member group is its own leader")
	}
	r.Stop()

	sm2 := newCounterSM()
	r2, err := StartRaft(testConfig(dir), sm2)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Stop()
	sm2.waitCount(t, n)
	for i, b := range sm2.applied[:n] {
		if string(b) != fmt.Sprint(i) {
			t.Fatalf("entry %d = %q after restart", i, b)
		}
	}
	// The log goes on after the restart, in a later term.
	waitLeader(t, r2)
	if err := r2.Propose(context.Background(), []byte("after")); err != nil {
		t.Fatal(err)
	}
	sm2.waitCount(t, n+1)
	sm2.mu.Lock()
	last := sm2.terms[len(sm2.terms)-1]
	sm2.mu.Unlock()
	if last < 2 {
		t.Fatalf("term after restart = %d, want a new term", last)
	}
}
