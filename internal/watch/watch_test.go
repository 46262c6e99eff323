package watch

import (
	"fmt"
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

func render(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%d:%d:%s", e.Watcher, e.Event.Type, e.Event.Path))
	}
	return out
}

func same(t *testing.T, what string, got []Event, want ...string) {
	t.Helper()
	g := render(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, g, want)
	}
}

const (
	created = proto.EventNodeCreated
	deleted = proto.EventNodeDeleted
	changed = proto.EventNodeDataChanged
)

func TestOneShotWatchesFireOnce(t *testing.T) {
	m := New()
	m.AddData("/a", 1)
	m.AddChild("/", 2)
	same(t, "create", m.Trigger(Change{Type: created, Path: "/a"}, nil), "1:1:/a", "2:4:/")
	same(t, "again", m.Trigger(Change{Type: changed, Path: "/a"}, nil))
}

func TestDeleteFiresDataAndChildWatchersOnceEach(t *testing.T) {
	m := New()
	m.AddData("/a", 1)
	m.AddChild("/a", 1) // same watcher on both tables: one NodeDeleted
	m.AddChild("/a", 2)
	m.AddChild("/", 3)
	same(t, "delete", m.Trigger(Change{Type: deleted, Path: "/a"}, nil), "1:2:/a", "2:2:/a", "3:4:/")
	if s := m.Summary(); s.Total != 0 {
		t.Fatalf("watches left: %+v", s)
	}
}

func TestPersistentAndRecursive(t *testing.T) {
	m := New()
	m.AddPersistent("/p", 1, false)
	m.AddPersistent("/r", 2, true)
	for i := 0; i < 2; i++ { // persistent: they stay
		same(t, "child of persistent", m.Trigger(Change{Type: created, Path: "/p/x"}, nil), "1:4:/p")
		same(t, "persistent node changed", m.Trigger(Change{Type: changed, Path: "/p"}, nil), "1:3:/p")
		// A recursive watch sees every node below, but never NodeChildrenChanged.
		same(t, "deep create under recursive", m.Trigger(Change{Type: created, Path: "/r/a/b"}, nil), "2:1:/r/a/b")
		same(t, "recursive root changed", m.Trigger(Change{Type: changed, Path: "/r"}, nil), "2:3:/r")
	}
	if !m.Has("/r", 2, proto.WatcherPersistentRecursive) || m.Has("/r", 2, proto.WatcherPersistent) {
		t.Fatal("Has disagrees with the modes")
	}
	if !m.Remove("/p", 1, proto.WatcherPersistent) || m.Remove("/p", 1, proto.WatcherPersistent) {
		t.Fatal("Remove should succeed once")
	}
	same(t, "after removal", m.Trigger(Change{Type: changed, Path: "/p"}, nil))
	m.RemoveWatcher(2)
	same(t, "after watcher gone", m.Trigger(Change{Type: created, Path: "/r/z"}, nil))
}

func TestStandardAndPersistentOnOnePath(t *testing.T) {
	m := New()
	m.AddPersistent("/x", 1, false)
	m.AddData("/x", 1)
	same(t, "first", m.Trigger(Change{Type: changed, Path: "/x"}, nil), "1:3:/x")
	// The one-shot mode is consumed; the persistent one remains.
	if m.Has("/x", 1, proto.WatcherData) || !m.Has("/x", 1, proto.WatcherPersistent) {
		t.Fatal("modes after trigger")
	}
	same(t, "second", m.Trigger(Change{Type: changed, Path: "/x"}, nil), "1:3:/x")
}

func TestDataSummaryCountsDataWatchesOnly(t *testing.T) {
	m := New()
	m.AddData("/a", 1)
	m.AddData("/b", 1)
	m.AddChild("/a", 2)
	if s := m.DataSummary(); s != (Summary{Connections: 1, Paths: 2, Total: 2}) {
		t.Fatalf("data summary %+v", s)
	}
	if s := m.Summary(); s.Total != 3 {
		t.Fatalf("summary %+v", s)
	}
}
