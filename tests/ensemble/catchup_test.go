package ensemble

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
)

// fill creates parent and n children under it through c, with some data
// changed and some children deleted, so that versions and zxids differ.
func fill(t *testing.T, c *zk.Conn, parent string, n int) {
	t.Helper()
	if _, err := c.Create(parent, []byte(parent), 0, worldAll); err != nil && err != zk.ErrNodeExists {
		t.Fatalf("create %s: %v", parent, err)
	}
	for i := range n {
		p := fmt.Sprintf("%s/n%04d", parent, i)
		mustCreate(t, c, p, []byte(p))
		switch i % 10 {
		case 3:
			if _, err := c.Set(p, []byte(p+"-changed"), 0); err != nil {
				t.Fatalf("set %s: %v", p, err)
			}
		case 7:
			if err := c.Delete(p, 0); err != nil {
				t.Fatalf("delete %s: %v", p, err)
			}
		}
	}
}

// sameTree checks that, after a sync, the children of parent and their data
// and Stat read through c equal those read through ref.
func sameTree(t *testing.T, ref, c *zk.Conn, parent, where string) {
	t.Helper()
	for _, cl := range []*zk.Conn{ref, c} {
		if _, err := cl.Sync(parent); err != nil {
			t.Fatalf("%s: sync: %v", where, err)
		}
	}
	want, wst, err := ref.Children(parent)
	if err != nil {
		t.Fatalf("%s: reference children: %v", where, err)
	}
	got, gst, err := c.Children(parent)
	if err != nil {
		t.Fatalf("%s: children of %s: %v", where, parent, err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) || *gst != *wst {
		t.Fatalf("%s: %d children of %s (stat %+v), want %d (stat %+v)", where, len(got), parent, gst, len(want), wst)
	}
	for _, name := range want {
		p := parent + "/" + name
		wd, ws, err := ref.Get(p)
		if err != nil {
			t.Fatalf("%s: reference get %s: %v", where, p, err)
		}
		gd, gs, err := c.Get(p)
		if err != nil || string(gd) != string(wd) || *gs != *ws {
			t.Fatalf("%s: %s = %q %+v, %v; want %q %+v", where, p, gd, gs, err, wd, ws)
		}
	}
}

// TestWipedFollowerCatchesUp kills a follower, empties its data directory
// (keeping myid) while the others take more writes, and restarts it: it
// rejoins as a follower holding the whole tree, with the same Stats.
func TestWipedFollowerCatchesUp(t *testing.T) {
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second})
	l := e.Leader()
	f := others(3, l)[0]
	c, _ := e.Connect(t, others(3, f)...)
	fill(t, c, "/wipe", 200)

	e.Kill(f)
	e.Wipe(f)
	fill(t, c, "/wipe-while-down", 100)
	mustCreate(t, c, "/wipe/late", []byte("/wipe/late"))

	e.Restart(f)
	e.WaitServing(f)
	if mode := e.Mode(f); mode != zkensemble.ModeFollower {
		t.Fatalf("wiped member %d restarted as %q, want follower", f, mode)
	}
	fc, _ := e.Connect(t, f)
	sameTree(t, c, fc, "/wipe", "wiped follower")
	sameTree(t, c, fc, "/wipe-while-down", "wiped follower")

	// It takes writes again, and the others see them.
	mustCreate(t, fc, "/wipe/after", []byte("after"))
	for _, i := range others(3, f) {
		oc, _ := e.Connect(t, i)
		if d, _, err := syncGet(oc, "/wipe/after"); err != nil || string(d) != "after" {
			t.Fatalf("member %d: /wipe/after = %q, %v", i, d, err)
		}
	}
	checkRoles(t, e)
}

// TestObserver runs three voters and one observer that is listed in every
// configuration but started later: it catches up, reports Mode: observer,
// serves reads, watches and writes; killing it does not stop writes; and
// with two voters killed, the remaining voter and the observer never form a
// quorum, as observers do not vote.
func TestObserver(t *testing.T) {
	const obs = 3
	e := zkensemble.Start(t, 4, zkensemble.Options{Observers: 1, Deferred: []int{obs}, TickTime: time.Second, SyncLimit: 3})
	voters := e.Voters()
	if !slices.Equal(voters, []int{0, 1, 2}) || !e.Member(obs).Observer || e.Member(obs).Running() {
		t.Fatalf("voters %v, observer %d running %v", voters, obs, e.Member(obs).Running())
	}
	c, _ := e.Connect(t, voters...)
	fill(t, c, "/obs", 50)

	e.Restart(obs)
	e.WaitServing(obs)
	if mode := e.Mode(obs); mode != zkensemble.ModeObserver {
		t.Fatalf("observer reports %q", mode)
	}
	checkRoles(t, e)
	oc, _ := e.Connect(t, obs)
	sameTree(t, c, oc, "/obs", "observer")

	// Watches through the observer fire for writes through a voter, and
	// writes through the observer reach the voters.
	_, _, dataW, err := oc.GetW("/obs")
	if err != nil {
		t.Fatalf("getW through the observer: %v", err)
	}
	if _, err := c.Set("/obs", []byte("changed"), -1); err != nil {
		t.Fatalf("set: %v", err)
	}
	waitWatch(t, dataW, zk.EventNodeDataChanged, "/obs", "observer")
	if d, _, err := oc.Get("/obs"); err != nil || string(d) != "changed" {
		t.Fatalf("observer: get after the event = %q, %v", d, err)
	}
	mustCreate(t, oc, "/obs/from-observer", []byte("/obs/from-observer"))
	checkPresent(t, e, voters, []string{"/obs/from-observer"})

	// Without the observer, the voters go on.
	e.Kill(obs)
	w := startWriter(t, c, "/obs-acked")
	w.waitAcked(t, 10, time.Time{})
	e.Restart(obs)
	e.WaitServing(obs)
	w.waitAcked(t, 10, time.Now())
	if !w.halt() {
		t.Fatalf("the writer's create has not returned within %v", waitFor)
	}
	acked := w.Acked()
	checkPresent(t, e, []int{obs}, acked)

	// Two voters down: one voter and one observer are not a quorum.
	l := e.Leader()
	down := []int{l, others(3, l)[0]}
	last := others(3, down...)[0]
	oc2, _ := e.Connect(t, last, obs)
	for _, i := range down {
		e.Kill(i)
	}
	killAt := time.Now()
	pending := make(chan error, 1)
	go func() {
		_, err := oc2.Create("/obs-no-quorum", nil, 0, worldAll)
		pending <- err
	}()
	answered := false
	checkPending := func() {
		if answered {
			return
		}
		select {
		case err := <-pending:
			answered = true
			if err == nil {
				t.Fatalf("create acknowledged by one voter and one observer")
			}
			t.Logf("create through voter %d / observer %d: %v", last, obs, err)
		default:
		}
	}
	deadline := time.Now().Add(waitFor)
	for e.Mode(last) != zkensemble.ModeNotServing || e.Mode(obs) != zkensemble.ModeNotServing {
		if time.Now().After(deadline) {
			t.Fatalf("with voters %v killed: modes %v after %v, want the rest not serving", down, e.Modes(), waitFor)
		}
		checkPending()
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("voter %d and observer %d stopped serving %v after voters %v were killed", last, obs, ms(time.Since(killAt)), down)
	// Several election rounds' worth of time: nobody may lead or follow.
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); {
		if modes := e.Modes(); slices.Contains(modes, zkensemble.ModeLeader) || slices.Contains(modes, zkensemble.ModeFollower) {
			t.Fatalf("voter %d and observer %d alone: modes %v", last, obs, modes)
		}
		checkPending()
		time.Sleep(200 * time.Millisecond)
	}
	checkPending()

	for _, i := range down {
		e.Restart(i)
	}
	e.Leader()
	e.WaitAllServing()
	checkRoles(t, e)
	if !answered {
		select {
		case err := <-pending:
			if err == nil {
				// Acknowledged only now that there is a quorum again.
				checkExists(t, e, "/obs-no-quorum", true)
			}
		case <-time.After(waitFor):
			t.Fatalf("create through voter %d / observer %d has no answer %v after the voters came back", last, obs, waitFor)
		}
	}
	checkPresent(t, e, others(4), append(acked, "/obs/from-observer"))
	for i := range 4 {
		if d, _, err := syncGet(perMember(t, e, i)[i], "/obs"); err != nil || string(d) != "changed" {
			t.Fatalf("member %d: /obs = %q, %v", i, d, err)
		}
	}
}
