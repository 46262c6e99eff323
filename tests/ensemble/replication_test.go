package ensemble

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
)

// TestReplication runs, on ensembles of 3 and 5 voters: the roles reported by
// srvr and mntr, writes through one member read (and watched) through every
// other, and the basic client operations with clients spread over the members.
func TestReplication(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(strconv.Itoa(n)+"_voters", func(t *testing.T) {
			e := zkensemble.Start(t, n, zkensemble.Options{TickTime: time.Second})
			t.Run("roles", func(t *testing.T) { checkRoles(t, e.For(t)) })
			t.Run("write_one_read_all", func(t *testing.T) { testWriteOneReadAll(t, e.For(t)) })
			t.Run("crud_spread", func(t *testing.T) { testCRUDSpread(t, e.For(t)) })
		})
	}
}

// testWriteOneReadAll writes through a follower and then through the leader;
// every other member delivers the watch events and, after a sync, the data,
// with the same Stat everywhere.
func testWriteOneReadAll(t *testing.T, e *zkensemble.Ensemble) {
	l := e.Leader()
	cs := perMember(t, e)
	mustCreate(t, cs[l], "/r", nil)
	// Members apply writes at their own pace: sync before reading elsewhere.
	for i := range cs {
		if _, err := cs[i].Sync("/r"); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
	}
	follower := others(e.Len(), l)[0]
	for _, w := range []int{follower, l} {
		path := "/r/via" + strconv.Itoa(w)
		readers := others(e.Len(), w)
		existsW := make([]<-chan zk.Event, e.Len())
		childW := make([]<-chan zk.Event, e.Len())
		for _, i := range readers {
			ok, _, ch, err := cs[i].ExistsW(path)
			if err != nil || ok {
				t.Fatalf("member %d: exists %s = %v, %v", i, path, ok, err)
			}
			existsW[i] = ch
			if _, _, childW[i], err = cs[i].ChildrenW("/r"); err != nil {
				t.Fatalf("member %d: children: %v", i, err)
			}
		}

		mustCreate(t, cs[w], path, []byte("one"))
		_, want, err := cs[w].Get(path)
		if err != nil {
			t.Fatalf("get through writer %d: %v", w, err)
		}
		dataW := make([]<-chan zk.Event, e.Len())
		for _, i := range readers {
			where := fmt.Sprintf("member %d (write through %d)", i, w)
			waitWatch(t, existsW[i], zk.EventNodeCreated, path, where)
			waitWatch(t, childW[i], zk.EventNodeChildrenChanged, "/r", where)
			// A client never sees the event before the change: once the
			// event is in, a read through the same server shows the data.
			d, st, ch, err := cs[i].GetW(path)
			if err != nil || string(d) != "one" {
				t.Fatalf("%s: get after the event = %q, %v", where, d, err)
			}
			if *st != *want {
				t.Fatalf("%s: stat %+v, writer saw %+v", where, st, want)
			}
			dataW[i] = ch
		}

		st, err := cs[w].Set(path, []byte("two"), 0)
		if err != nil {
			t.Fatalf("set through %d: %v", w, err)
		}
		for _, i := range readers {
			where := fmt.Sprintf("member %d (set through %d)", i, w)
			waitWatch(t, dataW[i], zk.EventNodeDataChanged, path, where)
			d, st2, err := cs[i].Get(path)
			if err != nil || string(d) != "two" || *st2 != *st {
				t.Fatalf("%s: get = %q, %+v, %v; writer's stat %+v", where, d, st2, err, st)
			}
			ok, _, ch, err := cs[i].ExistsW(path)
			if err != nil || !ok {
				t.Fatalf("%s: exists = %v, %v", where, ok, err)
			}
			existsW[i] = ch
		}

		if err := cs[w].Delete(path, 1); err != nil {
			t.Fatalf("delete through %d: %v", w, err)
		}
		for _, i := range readers {
			where := fmt.Sprintf("member %d (delete through %d)", i, w)
			waitWatch(t, existsW[i], zk.EventNodeDeleted, path, where)
			if ok, _, err := cs[i].Exists(path); err != nil || ok {
				t.Fatalf("%s: exists after the event = %v, %v", where, ok, err)
			}
		}
	}

	// Without watches, sync is what makes a read through another member
	// see a write that was just acknowledged.
	for k := range 20 {
		w := k % e.Len()
		p := "/r/s" + strconv.Itoa(k)
		mustCreate(t, cs[w], p, []byte(p))
		for _, i := range others(e.Len(), w) {
			d, _, err := syncGet(cs[i], p)
			if err != nil || string(d) != p {
				t.Fatalf("member %d: after sync, %s = %q, %v", i, p, d, err)
			}
		}
	}
}

// testCRUDSpread runs the basic client operations with each step through a
// different member.
func testCRUDSpread(t *testing.T, e *zkensemble.Ensemble) {
	n := e.Len()
	cs := perMember(t, e)
	on := func(k int) *zk.Conn { return cs[k%n] }

	mustCreate(t, on(0), "/crud", []byte("root"))
	// The node exists for every member's clients: the create is checked
	// by the leader, whatever member it goes through.
	for i := range n {
		if _, err := cs[i].Create("/crud", nil, 0, worldAll); !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("member %d: second create of /crud = %v, want node exists", i, err)
		}
	}

	// Sequential children created through every member share one counter.
	var names []string
	for i := range 2 * n {
		p, err := on(i).Create("/crud/seq-", []byte(strconv.Itoa(i)), zk.FlagSequence, worldAll)
		if err != nil {
			t.Fatalf("member %d: sequential create: %v", i%n, err)
		}
		if want := fmt.Sprintf("/crud/seq-%010d", i); p != want {
			t.Fatalf("member %d: sequential create = %s, want %s", i%n, p, want)
		}
		names = append(names, p[len("/crud/"):])
	}
	for i := range n {
		if _, err := cs[i].Sync("/crud"); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		got, st, err := cs[i].Children("/crud")
		slices.Sort(got)
		if err != nil || !slices.Equal(got, names) || st.NumChildren != int32(len(names)) || st.Cversion != int32(len(names)) {
			t.Fatalf("member %d: children %v (%+v), %v; want %v", i, got, st, err, names)
		}
	}

	// Conditional writes: versions are checked against the leader's state.
	if _, err := on(1).Set("/crud", []byte("v1"), 0); err != nil {
		t.Fatalf("set version 0: %v", err)
	}
	if _, err := on(2).Set("/crud", []byte("stale"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("set with a stale version through member %d = %v, want bad version", 2%n, err)
	}
	if err := on(3).Delete("/crud", 1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete of a parent = %v, want not empty", err)
	}

	// Watches set through one member fire for changes made through others.
	_, _, dataW, err := on(3).GetW("/crud")
	if err != nil {
		t.Fatalf("getW: %v", err)
	}
	_, _, childW, err := on(4).ChildrenW("/crud")
	if err != nil {
		t.Fatalf("childrenW: %v", err)
	}
	if _, err := on(0).Set("/crud", []byte("v2"), 1); err != nil {
		t.Fatalf("set version 1: %v", err)
	}
	waitWatch(t, dataW, zk.EventNodeDataChanged, "/crud", "data watch")
	noWatch(t, childW, "child watch after a set")
	if err := on(2).Delete("/crud/"+names[0], -1); err != nil {
		t.Fatalf("delete: %v", err)
	}
	waitWatch(t, childW, zk.EventNodeChildrenChanged, "/crud", "child watch")

	// A multi through one member is atomic everywhere.
	_, err = on(1).Multi(
		&zk.CreateRequest{Path: "/crud/m1", Data: []byte("a"), Acl: worldAll},
		&zk.SetDataRequest{Path: "/crud", Data: []byte("v3"), Version: 2},
		&zk.CreateRequest{Path: "/crud/m2", Data: []byte("b"), Acl: worldAll},
	)
	if err != nil {
		t.Fatalf("multi: %v", err)
	}
	_, err = on(2).Multi(
		&zk.CreateRequest{Path: "/crud/m3", Acl: worldAll},
		&zk.CheckVersionRequest{Path: "/crud", Version: 2},
	)
	if !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("multi with a failing check = %v, want bad version", err)
	}
	for i := range n {
		d, st, err := syncGet(cs[i], "/crud")
		if err != nil || string(d) != "v3" || st.Version != 3 {
			t.Fatalf("member %d: /crud = %q, %+v, %v", i, d, st, err)
		}
		for p, want := range map[string]bool{"/crud/m1": true, "/crud/m2": true, "/crud/m3": false} {
			if ok, _, err := cs[i].Exists(p); err != nil || ok != want {
				t.Fatalf("member %d: exists %s = %v, %v; want %v", i, p, ok, err, want)
			}
		}
	}

	// Deleting through one member, then the tree is the same everywhere.
	for _, name := range append(names[1:], "m1", "m2") {
		if err := on(len(name)).Delete("/crud/"+name, -1); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	if err := on(1).Delete("/crud", 3); err != nil {
		t.Fatalf("delete /crud: %v", err)
	}
	for i := range n {
		if _, err := cs[i].Sync("/"); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		if ok, _, err := cs[i].Exists("/crud"); err != nil || ok {
			t.Fatalf("member %d: /crud still exists (%v)", i, err)
		}
	}
}
