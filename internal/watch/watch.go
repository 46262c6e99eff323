// Package watch registers, triggers and removes ZooKeeper watches: one-shot data,
// exist and child watches, and persistent and persistent-recursive watches
// (addWatch), following ZooKeeper's WatchManager semantics exactly.
//
// A watcher is identified by an opaque uint64 (the server uses a connection id).
// There are two tables, as in ZooKeeper: data watches (getData, exists, and every
// addWatch) and child watches (getChildren, and non-recursive addWatch). Each
// (watcher, path) pair carries a set of modes. A trigger on a path fires every
// watcher registered on that exact path, consuming its one-shot mode, and every
// persistent-recursive watcher on an ancestor; each watcher gets at most one event
// per trigger.
//
// Manager is safe for concurrent use.
package watch

import (
	"sort"
	"sync"

	"github.com/gozk/gozk/internal/proto"
)

// Mode is a set of watch modes on one path.
type Mode uint8

// Modes.
const (
	Standard   Mode = 1 << iota // one-shot
	Persistent                  // addWatch PERSISTENT
	Recursive                   // addWatch PERSISTENT_RECURSIVE
)

// Watcher identifies who receives events.
type Watcher = uint64

type table struct {
	byPath    map[string]map[Watcher]Mode
	byWatcher map[Watcher]map[string]struct{}
	recursive int
}

func newTable() table {
	return table{byPath: make(map[string]map[Watcher]Mode), byWatcher: make(map[Watcher]map[string]struct{})}
}

func (t *table) add(path string, w Watcher, m Mode) {
	ws := t.byPath[path]
	if ws == nil {
		ws = make(map[Watcher]Mode, 2)
		t.byPath[path] = ws
	}
	old := ws[w]
	ws[w] = old | m
	if m&Recursive != 0 && old&Recursive == 0 {
		t.recursive++
	}
	ps := t.byWatcher[w]
	if ps == nil {
		ps = make(map[string]struct{})
		t.byWatcher[w] = ps
	}
	ps[path] = struct{}{}
}

// remove clears modes m (all modes when m is 0) of w on path and reports whether
// anything changed.
func (t *table) remove(path string, w Watcher, m Mode) bool {
	ws := t.byPath[path]
	old, ok := ws[w]
	if !ok {
		return false
	}
	if m == 0 {
		m = old
	}
	nw := old &^ m
	if nw == old {
		return false
	}
	if old&Recursive != 0 && nw&Recursive == 0 {
		t.recursive--
	}
	if nw != 0 {
		ws[w] = nw
		return true
	}
	delete(ws, w)
	if len(ws) == 0 {
		delete(t.byPath, path)
	}
	if ps := t.byWatcher[w]; ps != nil {
		delete(ps, path)
		if len(ps) == 0 {
			delete(t.byWatcher, w)
		}
	}
	return true
}

func (t *table) has(path string, w Watcher, m Mode) bool {
	mode, ok := t.byPath[path][w]
	return ok && (m == 0 || mode&m != 0)
}

func (t *table) removeWatcher(w Watcher) {
	for p := range t.byWatcher[w] {
		t.remove(p, w, 0)
	}
}

// trigger collects the watchers fired by an event on path into fired (skipping
// those in suppress) and consumes one-shot modes.
func (t *table) trigger(path string, fired map[Watcher]struct{}, suppress map[Watcher]struct{}) {
	for p, exact := path, true; ; exact = false {
		for w, m := range t.byPath[p] {
			if exact {
				if m&Standard != 0 {
					t.remove(p, w, Standard)
				}
			} else if m&Recursive == 0 {
				continue
			}
			if _, skip := suppress[w]; !skip {
				fired[w] = struct{}{}
			}
		}
		if t.recursive == 0 || p == "/" {
			return
		}
		p = parent(p)
	}
}

func parent(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

// Manager holds all watches of one server.
type Manager struct {
	mu    sync.Mutex
	data  table
	child table
	fired map[Watcher]struct{} // Trigger's scratch set, reused under mu
}

// New returns an empty Manager.
func New() *Manager {
	return &Manager{data: newTable(), child: newTable(), fired: make(map[Watcher]struct{})}
}

// AddData registers a one-shot data (or exist) watch.
func (m *Manager) AddData(path string, w Watcher) {
	m.mu.Lock()
	m.data.add(path, w, Standard)
	m.mu.Unlock()
}

// AddChild registers a one-shot child watch.
func (m *Manager) AddChild(path string, w Watcher) {
	m.mu.Lock()
	m.child.add(path, w, Standard)
	m.mu.Unlock()
}

// AddPersistent registers an addWatch watch; recursive selects
// PERSISTENT_RECURSIVE.
func (m *Manager) AddPersistent(path string, w Watcher, recursive bool) {
	m.mu.Lock()
	if recursive {
		m.data.add(path, w, Recursive)
	} else {
		m.data.add(path, w, Persistent)
		m.child.add(path, w, Persistent)
	}
	m.mu.Unlock()
}

// Has reports whether w has a watch of type t on path (checkWatches).
func (m *Manager) Has(path string, w Watcher, t proto.WatcherType) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch t {
	case proto.WatcherChildren:
		return m.child.has(path, w, Standard)
	case proto.WatcherData:
		return m.data.has(path, w, Standard)
	case proto.WatcherPersistent:
		return m.data.has(path, w, Persistent)
	case proto.WatcherPersistentRecursive:
		return m.data.has(path, w, Recursive)
	case proto.WatcherAny:
		return m.child.has(path, w, 0) || m.data.has(path, w, 0)
	}
	return false
}

// Remove removes w's watches of type t on path (removeWatches) and reports
// whether any was removed.
func (m *Manager) Remove(path string, w Watcher, t proto.WatcherType) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch t {
	case proto.WatcherChildren:
		return m.child.remove(path, w, Standard)
	case proto.WatcherData:
		return m.data.remove(path, w, Standard)
	case proto.WatcherPersistent:
		a := m.child.remove(path, w, Persistent)
		b := m.data.remove(path, w, Persistent)
		return a || b
	case proto.WatcherPersistentRecursive:
		return m.data.remove(path, w, Recursive)
	case proto.WatcherAny:
		a := m.child.remove(path, w, 0)
		b := m.data.remove(path, w, 0)
		return a || b
	}
	return false
}

// RemoveWatcher drops every watch of w (its connection closed).
func (m *Manager) RemoveWatcher(w Watcher) {
	m.mu.Lock()
	m.data.removeWatcher(w)
	m.child.removeWatcher(w)
	m.mu.Unlock()
}

// Change is a change to the tree that may fire watches. ACL and ParentACL are
// the node's and its parent's ACLs: an event is delivered only to watchers that
// may READ the node it names (ZooKeeper filters notifications by ACL).
type Change struct {
	Type      proto.EventType // NodeCreated, NodeDeleted or NodeDataChanged
	Path      string
	ACL       []proto.ACL
	ParentACL []proto.ACL
}

// Event is one notification for one watcher, with the ACL that decides
// whether it may be delivered.
type Event struct {
	Watcher Watcher
	Event   proto.WatcherEvent
	ACL     []proto.ACL
}

// Trigger fires the watches for c as ZooKeeper's DataTree does, appending the
// notifications to out in delivery order, and returns out. A create fires data
// watches on the path (NodeCreated), then child watches on the parent
// (NodeChildrenChanged); a delete fires data watches and then child watches on the
// path (NodeDeleted, once per watcher), then child watches on the parent; a data
// change fires data watches on the path.
func (m *Manager) Trigger(c Change, out []Event) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.data.byPath) == 0 && len(m.child.byPath) == 0 {
		return out
	}
	fired := m.fired
	clear(fired)
	emit := func(t proto.EventType, path string, acl []proto.ACL) {
		if len(fired) == 0 {
			return
		}
		ws := make([]Watcher, 0, len(fired))
		for w := range fired {
			ws = append(ws, w)
		}
		sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
		for _, w := range ws {
			out = append(out, Event{Watcher: w, Event: proto.WatcherEvent{Type: t, State: proto.StateSyncConnected, Path: path}, ACL: acl})
		}
	}
	switch c.Type {
	case proto.EventNodeCreated:
		m.data.trigger(c.Path, fired, nil)
		emit(proto.EventNodeCreated, c.Path, c.ACL)
		clear(fired)
		m.child.trigger(parent(c.Path), fired, nil)
		emit(proto.EventNodeChildrenChanged, parent(c.Path), c.ParentACL)
	case proto.EventNodeDeleted:
		m.data.trigger(c.Path, fired, nil)
		suppress := make(map[Watcher]struct{}, len(fired))
		for w := range fired {
			suppress[w] = struct{}{}
		}
		m.child.trigger(c.Path, fired, suppress)
		emit(proto.EventNodeDeleted, c.Path, c.ACL)
		clear(fired)
		m.child.trigger(parent(c.Path), fired, nil)
		emit(proto.EventNodeChildrenChanged, parent(c.Path), c.ParentACL)
	case proto.EventNodeDataChanged:
		m.data.trigger(c.Path, fired, nil)
		emit(proto.EventNodeDataChanged, c.Path, c.ACL)
	}
	return out
}

// Summary counts watches as ZooKeeper's wchs does.
type Summary struct {
	Connections int // watchers with at least one watch
	Paths       int // watched paths
	Total       int // (watcher, path) pairs
}

// Summary returns watch counts over both tables.
func (m *Manager) Summary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s Summary
	paths := make(map[string]struct{})
	watchers := make(map[Watcher]struct{})
	for _, t := range []*table{&m.data, &m.child} {
		for p, ws := range t.byPath {
			paths[p] = struct{}{}
			s.Total += len(ws)
		}
		for w := range t.byWatcher {
			watchers[w] = struct{}{}
		}
	}
	s.Connections, s.Paths = len(watchers), len(paths)
	return s
}

// DataSummary counts the data and exist watches alone (ZooKeeper's wchs).
func (m *Manager) DataSummary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Summary{Connections: len(m.data.byWatcher), Paths: len(m.data.byPath)}
	for _, ws := range m.data.byPath {
		s.Total += len(ws)
	}
	return s
}

// DataByWatcher returns, for each watcher, its sorted data-watched paths (wchc).
func (m *Manager) DataByWatcher() map[Watcher][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[Watcher][]string, len(m.data.byWatcher))
	for w, ps := range m.data.byWatcher {
		for p := range ps {
			out[w] = append(out[w], p)
		}
		sort.Strings(out[w])
	}
	return out
}

// DataByPath returns, for each data-watched path, its sorted watchers (wchp).
func (m *Manager) DataByPath() map[string][]Watcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]Watcher, len(m.data.byPath))
	for p, ws := range m.data.byPath {
		for w := range ws {
			out[p] = append(out[p], w)
		}
		sort.Slice(out[p], func(i, j int) bool { return out[p][i] < out[p][j] })
	}
	return out
}
