package ensemble

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestLeaderChangeKeepsClients: clients of the members that survive the
// leader's death are not disconnected. A raw client on each follower keeps
// pipelining sequential creates (data = its own counter) while the leader is
// SIGKILLed: its connection stays up, every create is answered OK, and the
// children show each create applied exactly once and in the order sent —
// writes the old leader lost were proposed again to the new one, and those it
// had were not applied twice.
func TestLeaderChangeKeepsClients(t *testing.T) {
	if zktest.Kind() == zktest.KindZooKeeper {
		t.Skip("ZooKeeper drops every client when its leader goes")
	}
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second})
	e.WaitAllServing()
	l := e.Leader()
	followers := others(3, l)
	type result struct {
		member int
		parent string
		total  int
		err    error
	}
	results := make(chan result, len(followers))
	killAt := make(chan struct{})
	for _, f := range followers {
		parent := fmt.Sprintf("/keep-%d", f)
		go func() {
			n, err := pipelineCreates(e.Member(f).Addr, parent, killAt)
			results <- result{f, parent, n, err}
		}()
	}
	time.Sleep(300 * time.Millisecond) // writes are flowing
	e.Kill(l)
	close(killAt)
	for range followers {
		r := <-results
		if r.err != nil {
			t.Fatalf("client on member %d: %v (modes %v)", r.member, r.err, e.Modes())
		}
		t.Logf("client on member %d: %d creates", r.member, r.total)
		checkChildrenInOrder(t, e, r.member, r.parent, r.total)
	}
}

// pipelineCreates creates parent, then sends sequential creates under it
// without waiting for replies (at most 64 outstanding) until 2000 more have
// been answered after killed is closed, and checks every reply is OK, in
// order, on one connection that must stay up. It returns how many it created.
func pipelineCreates(addr, parent string, killed <-chan struct{}) (int, error) {
	r, err := zktest.RawDial(addr)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if _, err := r.Handshake(10000, 0, nil, false); err != nil {
		return 0, fmt.Errorf("handshake: %w", err)
	}
	create := func(path string, data []byte, flags int32) []byte {
		var b zktest.Enc
		b.String(path)
		b.Buffer(data)
		b.Int(1) // one ACL: world:anyone, all
		b.Int(31)
		b.String("world")
		b.String("anyone")
		b.Int(flags)
		return b.Bytes()
	}
	if h, _, err := r.Request(1, 1, create(parent, nil, 0)); err != nil || h.Err != 0 {
		return 0, fmt.Errorf("create %s: err=%v code=%d", parent, err, h.Err)
	}
	const window, after = 64, 2000
	n := 1 << 30 // until after replies since the kill
	sent, got := 0, 0
	var afterKill int
	for got < n {
		for sent < n && sent-got < window {
			var e zktest.Enc
			e.Int(int32(100 + sent)) // xid
			e.Int(1)                 // create
			e.Raw(create(parent+"/n-", []byte(strconv.Itoa(sent)), 2))
			if err := r.WriteFrame(e.Bytes()); err != nil {
				return got, fmt.Errorf("send create %d: %w", sent, err)
			}
			sent++
		}
		p, err := r.ReadFrame(20 * time.Second)
		if err != nil {
			return got, fmt.Errorf("after %d replies (%d since the kill): connection lost: %w", got, afterKill, err)
		}
		xid := int32(binary.BigEndian.Uint32(p))
		code := int32(binary.BigEndian.Uint32(p[12:]))
		if xid < 0 {
			continue // a ping or notification
		}
		if xid != int32(100+got) || code != 0 {
			return got, fmt.Errorf("reply %d: xid %d err %d", got, xid, code)
		}
		got++
		select {
		case <-killed:
			if afterKill++; afterKill == after {
				n = sent // drain what is outstanding, send no more
			}
		default:
		}
	}
	return got, nil
}

// checkChildrenInOrder reads parent's children through member i: exactly
// total of them, and in sequence order their data counts 0, 1, 2, ...
func checkChildrenInOrder(t *testing.T, e *zkensemble.Ensemble, i int, parent string, total int) {
	t.Helper()
	c, _ := e.Connect(t, i)
	if _, err := c.Sync(parent); err != nil {
		t.Fatalf("sync: %v", err)
	}
	kids, _, err := c.Children(parent)
	if err != nil {
		t.Fatalf("children of %s: %v", parent, err)
	}
	if len(kids) != total {
		t.Fatalf("%s has %d children, want %d (a write lost or applied twice)", parent, len(kids), total)
	}
	sort.Strings(kids)
	for k, name := range kids {
		data, _, err := c.Get(parent + "/" + name)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		if string(data) != strconv.Itoa(k) {
			t.Fatalf("%s/%s holds %q, want %d: writes applied out of order", parent, name, data, k)
		}
	}
}
