package e2e

import (
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestWatchEventTypes: which change fires which watch, with which event.
func TestWatchEventTypes(t *testing.T) {
	s, c := start(t, nil)
	w, wev := zktest.Connect(t, s.Addr)
	create(t, c, "/d", []byte("1"), 0)
	create(t, c, "/p", nil, 0)
	create(t, c, "/p/k", nil, 0)

	// Data watch: setData -> NodeDataChanged, delete -> NodeDeleted.
	_, _, dataW, err := w.GetW("/d")
	must(t, "getw", err)
	_, _, existW, err := w.ExistsW("/d")
	must(t, "existsw", err)
	_, err = c.Set("/d", []byte("2"), -1)
	must(t, "set", err)
	for _, ch := range []<-chan zk.Event{dataW, existW} {
		if e := waitEvent(t, "set", ch); e.Type != zk.EventNodeDataChanged || e.Path != "/d" || e.State != zk.StateSyncConnected {
			t.Errorf("after set: %+v", e)
		}
	}
	// One notification for both watches of the same session on the same path.
	_, _ = w.Sync("/")
	if got := nodeEvents(wev); strings.Join(got, ";") != "EventNodeDataChanged /d" {
		t.Errorf("notifications after set: %v", got)
	}

	_, _, dataW, err = w.GetW("/d")
	must(t, "getw", err)
	must(t, "delete", c.Delete("/d", -1))
	if e := waitEvent(t, "delete", dataW); e.Type != zk.EventNodeDeleted || e.Path != "/d" {
		t.Errorf("after delete: %+v", e)
	}

	// Exist watch on a missing node: NodeCreated.
	ok, _, existW, err := w.ExistsW("/d")
	if err != nil || ok {
		t.Fatalf("existsw /d = %v, %v", ok, err)
	}
	create(t, c, "/d", nil, 0)
	if e := waitEvent(t, "create", existW); e.Type != zk.EventNodeCreated || e.Path != "/d" {
		t.Errorf("after create: %+v", e)
	}

	// Child watch: child create and delete -> NodeChildrenChanged on the
	// parent; a child's data change does not fire it.
	_, _, childW, err := w.ChildrenW("/p")
	must(t, "childrenw", err)
	_, err = c.Set("/p/k", []byte("x"), -1)
	must(t, "set child", err)
	_, err = c.Set("/p", []byte("x"), -1)
	must(t, "set parent", err)
	_, _ = w.Sync("/")
	noEvent(t, "child data / parent data change", childW)
	create(t, c, "/p/k2", nil, 0)
	if e := waitEvent(t, "child create", childW); e.Type != zk.EventNodeChildrenChanged || e.Path != "/p" {
		t.Errorf("after child create: %+v", e)
	}
	_, _, childW, err = w.ChildrenW("/p")
	must(t, "childrenw", err)
	must(t, "delete child", c.Delete("/p/k2", -1))
	if e := waitEvent(t, "child delete", childW); e.Type != zk.EventNodeChildrenChanged || e.Path != "/p" {
		t.Errorf("after child delete: %+v", e)
	}

	// Deleting a node fires its child watch with NodeDeleted and its parent's
	// child watch with NodeChildrenChanged.
	_, _, kChildW, err := w.ChildrenW("/p/k")
	must(t, "childrenw leaf", err)
	_, _, childW, err = w.ChildrenW("/p")
	must(t, "childrenw", err)
	_ = nodeEvents(wev)
	must(t, "delete leaf", c.Delete("/p/k", -1))
	if e := waitEvent(t, "leaf delete", kChildW); e.Type != zk.EventNodeDeleted || e.Path != "/p/k" {
		t.Errorf("child watch on the deleted node: %+v", e)
	}
	if e := waitEvent(t, "leaf delete", childW); e.Type != zk.EventNodeChildrenChanged || e.Path != "/p" {
		t.Errorf("child watch on the parent: %+v", e)
	}
	_, _ = w.Sync("/")
	if got := nodeEvents(wev); strings.Join(got, ";") != "EventNodeDeleted /p/k;EventNodeChildrenChanged /p" {
		t.Errorf("notification order for a delete: %v", got)
	}

	// Failed reads set no watch.
	_, _, _, err = w.GetW("/nope")
	wantCode(t, "getw missing", err, codeNoNode)
	_, _, _, err = w.ChildrenW("/nope")
	wantCode(t, "childrenw missing", err, codeNoNode)
	create(t, c, "/nope", nil, 0)
	_, _ = w.Sync("/")
	if got := nodeEvents(wev); len(got) != 0 {
		t.Errorf("failed getData/getChildren left watches: %v", got)
	}
}

// TestWatchOneShot: a watch fires once; later changes send nothing until it
// is set again.
func TestWatchOneShot(t *testing.T) {
	s, c := start(t, nil)
	w, wev := zktest.Connect(t, s.Addr)
	create(t, c, "/d", nil, 0)
	_, _, ch, err := w.GetW("/d")
	must(t, "getw", err)
	for i := 0; i < 3; i++ {
		_, err = c.Set("/d", []byte{byte(i)}, -1)
		must(t, "set", err)
	}
	waitEvent(t, "first set", ch)
	_, _ = w.Sync("/")
	if got := nodeEvents(wev); len(got) != 1 {
		t.Fatalf("three sets on a watched node sent %v, want one event", got)
	}
	_, _, _, err = w.GetW("/d")
	must(t, "getw again", err)
	_, err = c.Set("/d", nil, -1)
	must(t, "set", err)
	_, _ = w.Sync("/")
	if got := nodeEvents(wev); len(got) != 1 {
		t.Fatalf("re-armed watch sent %v, want one event", got)
	}
}

// TestWatchBeforeReply: on the connection that makes a change, the event for
// its own watch arrives before the reply to the write.
func TestWatchBeforeReply(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/d", nil, 0)
	create(t, c, "/p", nil, 0)
	for i := 0; i < 20; i++ {
		_, _, dataW, err := c.GetW("/d")
		must(t, "getw", err)
		_, _, childW, err := c.ChildrenW("/p")
		must(t, "childrenw", err)
		_, err = c.Set("/d", []byte{byte(i)}, -1)
		must(t, "set", err)
		select {
		case e := <-dataW:
			if e.Type != zk.EventNodeDataChanged {
				t.Fatalf("event %+v", e)
			}
		default:
			t.Fatalf("round %d: setData returned before its watch event", i)
		}
		_, err = c.Multi(&zk.CreateRequest{Path: "/p/c", Acl: worldAll}, &zk.DeleteRequest{Path: "/p/c", Version: -1})
		must(t, "multi", err)
		select {
		case e := <-childW:
			if e.Type != zk.EventNodeChildrenChanged {
				t.Fatalf("event %+v", e)
			}
		default:
			t.Fatalf("round %d: multi returned before its watch event", i)
		}
	}
}

// TestWatchOrderAcrossSessions: events for a sequence of changes arrive in
// the order of the changes, for every watching session.
func TestWatchOrderAcrossSessions(t *testing.T) {
	s, c := start(t, nil)
	var ws []*zk.Conn
	var evs []<-chan zk.Event
	for i := 0; i < 3; i++ {
		w, ev := zktest.Connect(t, s.Addr)
		ws = append(ws, w)
		evs = append(evs, ev)
	}
	create(t, c, "/a", nil, 0)
	create(t, c, "/b", nil, 0)
	for _, w := range ws {
		_, _, _, err := w.GetW("/a")
		must(t, "getw", err)
		_, _, _, err = w.ChildrenW("/b")
		must(t, "childrenw", err)
		_, _, _, err = w.ExistsW("/c")
		must(t, "existsw", err)
	}
	_, err := c.Multi(
		&zk.CreateRequest{Path: "/c", Acl: worldAll},
		&zk.SetDataRequest{Path: "/a", Version: -1},
		&zk.CreateRequest{Path: "/b/x", Acl: worldAll},
	)
	must(t, "multi", err)
	// ZooKeeper triggers a multi's watches op by op.
	want := "EventNodeCreated /c;EventNodeDataChanged /a;EventNodeChildrenChanged /b"
	for i, w := range ws {
		_, _ = w.Sync("/")
		if got := strings.Join(nodeEvents(evs[i]), ";"); got != want {
			t.Errorf("session %d events %q, want %q", i, got, want)
		}
	}
}

// TestWatchAfterSessionClose: a closed session's watches are gone.
func TestWatchAfterSessionClose(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/d", nil, 0)
	w, _ := zktest.Connect(t, s.Addr)
	_, _, _, err := w.GetW("/d")
	must(t, "getw", err)
	out, err := zktest.FourLetter(s.Addr, "wchs")
	must(t, "wchs", err)
	if !strings.Contains(out, "Total watches:1") {
		t.Fatalf("wchs before close: %q", out)
	}
	w.Close()
	pollUntil(t, "watch removed", func() bool {
		out, err := zktest.FourLetter(s.Addr, "wchs")
		return err == nil && strings.Contains(out, "Total watches:0")
	})
	_, err = c.Set("/d", nil, -1)
	must(t, "set", err)
}
