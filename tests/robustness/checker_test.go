package robustness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// The checkers on made-up histories: each must pass a correct history and
// catch the violation planted in a wrong one. No server runs here.

func testRun(t *testing.T) *run {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r := &run{t: t, dir: dir, start: time.Now(), root: "/robust", stop: make(chan struct{}), logF: f}
	r.fin = &finalState{ref: map[string]node{}}
	return r
}

func wantViolations(t *testing.T, r *run, want string) {
	t.Helper()
	v := r.violations()
	if want == "" {
		if len(v) > 0 {
			t.Fatalf("violations in a correct history: %q", v)
		}
		return
	}
	for _, s := range v {
		if strings.Contains(s, want) {
			return
		}
	}
	t.Fatalf("no violation containing %q; got %q", want, v)
}

const k0 = "/robust/cas/k0"

func sread(client int, call, ret int64, val int64, ver int32, mzxid int64) casOp {
	return casOp{Client: client, Key: k0, Kind: "sread", Session: 1, After: 1, Call: call, Return: ret, Value: val, Version: ver, Mzxid: mzxid, Result: "ok"}
}

func casW(client int, call, ret int64, expect int32, val int64, result string, mzxid int64) casOp {
	op := casOp{Client: client, Key: k0, Kind: "cas", Session: int64(client + 1), After: int64(client + 1), Call: call, Return: ret, Expect: expect, Value: val, Result: result}
	if result == "ok" {
		op.Version, op.Mzxid = expect+1, mzxid
	}
	return op
}

func TestCheckerCAS(t *testing.T) {
	good := []casOp{
		casW(0, 0, 10, 0, 7, "ok", 100),
		sread(1, 11, 20, 7, 1, 100),
		casW(1, 21, 30, 0, 8, "badversion", 0),
		casW(0, 31, 40, 1, 9, "unknown", 0), // seen below: happened
		sread(1, 41, 50, 9, 2, 110),
		casW(0, 51, 60, 2, 10, "unknown", 0), // never seen: did not happen
		{Client: 100, Key: k0, Kind: "sread", Session: 9, After: 9, Call: 70, Return: 80, Value: 9, Version: 2, Mzxid: 110, Result: "ok", Final: true},
	}
	r := testRun(t)
	r.cas = &casWorkload{r: r, ops: good}
	r.cas.check()
	wantViolations(t, r, "")
	if _, resolved, dropped, open := casHistory(good); resolved != 1 || dropped != 1 || open != 0 {
		t.Fatalf("resolved %d, dropped %d, open %d; want 1, 1, 0", resolved, dropped, open)
	}

	// A synced read that misses a write acknowledged before it started.
	stale := append([]casOp(nil), good[:2]...)
	stale = append(stale, casW(0, 21, 30, 1, 8, "ok", 105), sread(1, 31, 40, 7, 1, 100))
	r = testRun(t)
	r.cas = &casWorkload{r: r, ops: stale}
	r.cas.check()
	wantViolations(t, r, "not linearizable")
	if _, err := os.Stat(filepath.Join(r.dir, "cas-porcupine.html")); err != nil {
		t.Fatalf("no visualization: %v", err)
	}

	// An acknowledged write lost: the final read has the older value.
	lost := []casOp{casW(0, 0, 10, 0, 7, "ok", 100), {Client: 100, Key: k0, Kind: "sread", Session: 9, After: 9, Call: 20, Return: 30, Value: 0, Version: 0, Mzxid: 50, Result: "ok", Final: true}}
	r = testRun(t)
	r.cas = &casWorkload{r: r, ops: lost}
	r.cas.check()
	wantViolations(t, r, "not linearizable")

	// Two members disagree on what version 1 holds.
	r = testRun(t)
	checkVersions(r, []casOp{sread(1, 0, 1, 7, 1, 100), sread(2, 0, 1, 8, 1, 100)})
	wantViolations(t, r, "version 1 seen as 7")
}

func TestCheckerSessions(t *testing.T) {
	read := func(client int, sess int64, call int64, ver int32, mzxid int64) casOp {
		return casOp{Client: client, Key: k0, Kind: "read", Session: sess, After: sess, Call: call, Return: call + 1, Version: ver, Mzxid: mzxid, Result: "ok"}
	}
	other := func(call int64, mzxid int64) casOp {
		return casOp{Client: 0, Key: "/robust/cas/k1", Kind: "read", Session: 5, After: 5, Call: call, Return: call + 1, Version: 3, Mzxid: mzxid, Result: "ok"}
	}
	var msgs []string
	report := func(format string, args ...any) { msgs = append(msgs, format) }

	w1 := casW(1, 0, 5, 0, 7, "ok", 100) // client 1, session 2
	ops := []casOp{w1, read(0, 5, 10, 1, 100), other(20, 200), read(0, 5, 30, 1, 100)}
	// Client 0 saw k1 at zxid 200 > 100 and then read k0 at 100: fine, the
	// write at 100 is the latest one.
	checkSessionOps(ops, report)
	if len(msgs) > 0 {
		t.Fatalf("violations in a correct history: %q", msgs)
	}
	// Client 0 saw zxid 200 (k1), then read k0 without the write at 150.
	ops = []casOp{w1, casW(1, 6, 9, 1, 8, "ok", 150), other(20, 200), read(0, 5, 30, 1, 100)}
	checkSessionOps(ops, report)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "missing the write") {
		t.Fatalf("stale read across keys: %q", msgs)
	}
	// Read your writes: client 1 wrote at 100, then read version 0.
	msgs = nil
	ops = []casOp{w1, read(1, 2, 10, 0, 50)}
	checkSessionOps(ops, report)
	if len(msgs) != 1 {
		t.Fatalf("read-your-writes: %q", msgs)
	}
	// Per key, going back.
	msgs = nil
	ops = []casOp{read(0, 5, 10, 2, 120), read(0, 5, 20, 1, 100)}
	checkSessionOps(ops, report)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "monotonic") {
		t.Fatalf("monotonic reads: %q", msgs)
	}
	// A new session starts afresh.
	msgs = nil
	ops = []casOp{read(0, 5, 10, 2, 120), read(0, 6, 20, 1, 100)}
	checkSessionOps(ops, report)
	if len(msgs) != 0 {
		t.Fatalf("across sessions: %q", msgs)
	}
}

func TestCheckerLock(t *testing.T) {
	holds := []lockHold{
		{Client: 0, Node: "/robust/lock/n-0000000001", Seq: 1, Grant: 10, Writes: []int64{11, 12}},
		{Client: 1, Node: "/robust/lock/n-0000000002", Seq: 2, Grant: 13, Writes: []int64{14}},
	}
	r := testRun(t)
	r.lock = &lockWorkload{r: r, holds: holds}
	r.lock.check()
	wantViolations(t, r, "")
	holds[1].Grant = 12
	r = testRun(t)
	r.lock = &lockWorkload{r: r, holds: holds}
	r.lock.check()
	wantViolations(t, r, "two holders")
}

func TestCheckerWatch(t *testing.T) {
	st := func(cz, mz int64, ver int32) zk.Stat { return zk.Stat{Czxid: cz, Mzxid: mz, Version: ver} }
	fin := map[string]node{
		"/robust/pw":   {Stat: st(1, 1, 0)},
		"/robust/pw/a": {Stat: st(10, 10, 0)},
		"/robust/pw/b": {Stat: st(11, 13, 1)},
		"/robust/pw/c": {Stat: st(12, 12, 0)},
		"/robust/pw/d": {Stat: st(14, 14, 0)},
	}
	ev := func(typ int32, p string, z int64) watchEvent { return watchEvent{Type: typ, Path: p, Zxid: z} }
	all := []watchEvent{ev(evNodeCreated, "/robust/pw/a", 10), ev(evNodeCreated, "/robust/pw/b", 11), ev(evNodeCreated, "/robust/pw/c", 12),
		ev(evNodeDataChanged, "/robust/pw/b", 13), ev(evNodeCreated, "/robust/pw/d", 14)}
	check := func(sessions ...*watchSession) *run {
		r := testRun(t)
		r.fin.ref = fin
		r.watch = &watchWorkload{r: r, path: "/robust/pw", sessions: sessions}
		r.watch.check()
		return r
	}
	// Everything on one connection.
	wantViolations(t, check(&watchSession{ID: 1, Periods: []watchPeriod{{Z0: 5, Zend: 20, Events: all}}}), "")
	// Changes made while away are lost, not a violation.
	wantViolations(t, check(&watchSession{ID: 1, Periods: []watchPeriod{{Z0: 5, Events: all[:1]}, {Z0: 12, Zend: 20, Events: all[3:]}}}), "")
	// A change missed on a connection that lasted.
	wantViolations(t, check(&watchSession{ID: 1, Periods: []watchPeriod{{Z0: 5, Zend: 20, Events: []watchEvent{all[0], all[2], all[3], all[4]}}}}), "missed 1 changes")
	// The final read shows a change the watcher never got.
	wantViolations(t, check(&watchSession{ID: 1, Periods: []watchPeriod{{Z0: 5, Zend: 20, Events: all[:4]}}}), "missed 1 changes")
	// Delivered twice across a reconnect.
	wantViolations(t, check(&watchSession{ID: 1, Periods: []watchPeriod{{Z0: 5, Events: all[:2]}, {Z0: 9, Zend: 20, Events: all[1:]}}}), "repeated or out of order")
	// An event that matches no change.
	wantViolations(t, check(&watchSession{ID: 1, Periods: []watchPeriod{{Z0: 5, Zend: 20, Events: append(all[:1:1], ev(evNodeDeleted, "/robust/pw/b", 11))}}}), "matches no change")
}

func TestCheckerFIFO(t *testing.T) {
	mk := func(present ...int) map[string]node {
		m := map[string]node{}
		for k, i := range present {
			m[(&fifoWorkload{parent: "/robust/fifo"}).name(0, 0, i)] = node{Stat: zk.Stat{Czxid: int64(100 + k)}}
		}
		return m
	}
	batch := fifoBatchRec{Acked: make([]int64, fifoBatch), Errs: make([]int32, fifoBatch)}
	batch.Acked[0], batch.Acked[1] = 100, 101
	check := func(nodes map[string]node) *run {
		r := testRun(t)
		r.fin.ref = nodes
		r.fifo = &fifoWorkload{r: r, parent: "/robust/fifo", batches: []fifoBatchRec{batch}}
		r.fifo.check()
		return r
	}
	wantViolations(t, check(mk(0, 1, 2)), "")
	wantViolations(t, check(mk(0, 1, 3)), "did not")
	wantViolations(t, check(mk(0)), "is lost")
}

func TestCheckerSeq(t *testing.T) {
	ops := []seqOp{
		{Client: 0, Data: "c0-0", Result: "ok", Name: "/robust/seq/n-0000000000"},
		{Client: 0, Data: "c0-1", Result: "unknown"},
		{Client: 1, Data: "c1-0", Result: "ok", Name: "/robust/seq/n-0000000002"},
	}
	nodes := map[string]node{
		"/robust/seq/n-0000000000": {Data: []byte("c0-0"), Stat: zk.Stat{Czxid: 10}},
		"/robust/seq/n-0000000001": {Data: []byte("c0-1"), Stat: zk.Stat{Czxid: 11}},
		"/robust/seq/n-0000000002": {Data: []byte("c1-0"), Stat: zk.Stat{Czxid: 12}},
	}
	check := func(nodes map[string]node) *run {
		r := testRun(t)
		r.fin.ref = nodes
		r.seq = &seqWorkload{r: r, parent: "/robust/seq", ops: ops}
		r.seq.check()
		return r
	}
	wantViolations(t, check(nodes), "")
	delete(nodes, "/robust/seq/n-0000000002")
	wantViolations(t, check(nodes), "is lost")
	nodes["/robust/seq/n-0000000002"] = node{Data: []byte("c0-0"), Stat: zk.Stat{Czxid: 12}}
	wantViolations(t, check(nodes), "created twice")
	nodes["/robust/seq/n-0000000002"] = node{Data: []byte("c1-0"), Stat: zk.Stat{Czxid: 9}}
	wantViolations(t, check(nodes), "not increasing")
}
