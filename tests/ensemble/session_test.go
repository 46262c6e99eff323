package ensemble

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestSessionMoves connects a client to every member, first to the leader,
// then to a follower, creates an ephemeral and kills (SIGKILL) the member the
// client is connected to: the client moves to another member with the same
// session, its ephemeral and its watch survive, and closing the session
// removes its ephemerals everywhere, also on the killed member once it is
// back.
func TestSessionMoves(t *testing.T) {
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second})
	for _, role := range []string{zkensemble.ModeLeader, zkensemble.ModeFollower} {
		t.Run("from_"+role, func(t *testing.T) {
			e := e.For(t)
			l := e.Leader()
			e.WaitAllServing()
			from := l
			if role == zkensemble.ModeFollower {
				from = others(3, l)[0]
			}
			testSessionMove(t, e, from, "/moving-"+role)
		})
	}
}

func testSessionMove(t *testing.T, e *zkensemble.Ensemble, from int, path string) {
	rest := others(3, from)
	order := append([]int{from}, rest...)
	c, ev, err := e.Dial(t, order, zkensemble.SessionTimeout, zkensemble.ServeTimeout, e.InOrder(order...))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if got := e.IndexOf(c.Server()); got != from {
		t.Fatalf("client on member %d, want %d", got, from)
	}
	sid := c.SessionID()
	if _, err := c.Create(path, []byte("eph"), zk.FlagEphemeral, worldAll); err != nil {
		t.Fatalf("create ephemeral: %v", err)
	}
	// A watch set before the move must survive it.
	_, _, dataW, err := c.GetW(path)
	if err != nil {
		t.Fatalf("getW: %v", err)
	}

	e.Kill(from)
	killAt := time.Now()
	if err := zkensemble.WaitState(ev, zk.StateHasSession, waitFor); err != nil {
		t.Fatalf("client did not get its session back after member %d was killed: %v (modes %v)", from, err, e.Modes())
	}
	to := e.IndexOf(c.Server())
	t.Logf("client moved from member %d to member %d in %v", from, to, ms(time.Since(killAt)))
	if to == from || to < 0 {
		t.Fatalf("client on %q after member %d was killed", c.Server(), from)
	}
	if got := c.SessionID(); got != sid {
		t.Fatalf("session %#x after the move, want %#x", got, sid)
	}
	for _, i := range rest {
		oc, _ := e.Connect(t, i)
		if _, err := oc.Sync(path); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		ok, st, err := oc.Exists(path)
		if err != nil || !ok || st.EphemeralOwner != sid {
			t.Fatalf("member %d: ephemeral after the move: exists %v, %+v, %v; want owner %#x", i, ok, st, err, sid)
		}
	}
	// The session works through its new member: it writes, and the watch
	// set through the old member fires.
	if _, err := c.Set(path, []byte("moved"), -1); err != nil {
		t.Fatalf("set after the move: %v", err)
	}
	waitWatch(t, dataW, zk.EventNodeDataChanged, path, "watch set before the move")
	if _, err := c.Create(path+"2", nil, zk.FlagEphemeral, worldAll); err != nil {
		t.Fatalf("create ephemeral after the move: %v", err)
	}

	e.Restart(from)
	e.WaitServing(from)
	fc, _ := e.Connect(t, from)
	if _, err := fc.Sync("/"); err != nil {
		t.Fatalf("member %d: sync: %v", from, err)
	}
	for _, p := range []string{path, path + "2"} {
		ok, st, err := fc.Exists(p)
		if err != nil || !ok || st.EphemeralOwner != sid {
			t.Fatalf("restarted member %d: %s: exists %v, %+v, %v", from, p, ok, st, err)
		}
	}
	_, _, goneW, err := fc.ExistsW(path + "2")
	if err != nil {
		t.Fatalf("existsW: %v", err)
	}

	c.Close()
	waitWatch(t, goneW, zk.EventNodeDeleted, path+"2", "restarted member after close")
	for i := range 3 {
		oc, _ := e.Connect(t, i)
		if _, err := oc.Sync("/"); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		for _, p := range []string{path, path + "2"} {
			if ok, _, err := oc.Exists(p); err != nil || ok {
				t.Fatalf("member %d: %s after the session closed: exists %v, %v", i, p, ok, err)
			}
		}
	}
}

// TestSessionExpiresEverywhere silences a client (its connection swallows
// everything and reconnects are refused) until its session expires: its
// ephemerals disappear on every member, with a watch event on each, its
// persistent nodes stay, and once it may reconnect it learns it expired
// (go-zookeeper then starts a new session by itself).
func TestSessionExpiresEverywhere(t *testing.T) {
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second})
	cs := perMember(t, e)
	mustCreate(t, cs[0], "/exp", nil)

	d := &zktest.Dialer{}
	a, aev, err := e.Dial(t, []int{1}, 4*time.Second, zkensemble.ServeTimeout, zk.WithDialer(d.Dial))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	sid := a.SessionID()
	mustCreate(t, a, "/exp/kept", nil)
	if _, err := a.Create("/exp/eph", nil, zk.FlagEphemeral, worldAll); err != nil {
		t.Fatalf("create ephemeral: %v", err)
	}
	seq, err := a.Create("/exp/seq-", nil, zk.FlagEphemeral|zk.FlagSequence, worldAll)
	if err != nil {
		t.Fatalf("create ephemeral sequential: %v", err)
	}
	ephW := make([]<-chan zk.Event, 3)
	childW := make([]<-chan zk.Event, 3)
	for i := range 3 {
		if _, err := cs[i].Sync("/exp"); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		var ok bool
		var st *zk.Stat
		ok, st, ephW[i], err = cs[i].ExistsW("/exp/eph")
		if err != nil || !ok || st.EphemeralOwner != sid {
			t.Fatalf("member %d: ephemeral: exists %v, %+v, %v", i, ok, st, err)
		}
		if _, _, childW[i], err = cs[i].ChildrenW("/exp"); err != nil {
			t.Fatalf("member %d: childrenW: %v", i, err)
		}
	}

	d.Blackhole()
	silentAt := time.Now()
	for i := range 3 {
		where := "member " + strconv.Itoa(i)
		waitWatch(t, ephW[i], zk.EventNodeDeleted, "/exp/eph", where)
		waitWatch(t, childW[i], zk.EventNodeChildrenChanged, "/exp", where)
	}
	t.Logf("ephemerals of a 4s session gone on every member %v after its client fell silent", ms(time.Since(silentAt)))
	for i := range 3 {
		if _, err := cs[i].Sync("/exp"); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		kids, _, err := cs[i].Children("/exp")
		if err != nil || !slices.Equal(kids, []string{"kept"}) {
			t.Fatalf("member %d: children of /exp = %v, %v; want [kept] (%s gone)", i, kids, err, seq)
		}
		kv, err := e.Mntr(i)
		if err != nil || kv["zk_ephemerals_count"] != "0" {
			t.Fatalf("member %d: mntr zk_ephemerals_count = %q, %v", i, kv["zk_ephemerals_count"], err)
		}
	}

	d.Refuse(false)
	if err := zkensemble.WaitState(aev, zk.StateExpired, waitFor); err != nil {
		t.Fatalf("silenced client: %v", err)
	}
}
