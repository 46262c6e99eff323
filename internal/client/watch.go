package client

import (
	"strings"
	"sync"

	"github.com/gozk/gozk/internal/proto"
)

// watchKind is one of the client's watch tables, as in the Java client's
// ZKWatchManager.
type watchKind int

const (
	kindData watchKind = iota
	kindExist
	kindChild
	kindPersistent
	kindRecursive
	numKinds
)

// watchSet is the watchers registered on one path in one table. def records a
// registration for the default watcher (counted once, like a Java Set).
type watchSet struct {
	def bool
	fns []Watcher
}

func (s *watchSet) add(w Watcher) {
	if w == nil {
		s.def = true
	} else {
		s.fns = append(s.fns, w)
	}
}

// delivery is one event and the watchers it goes to.
type delivery struct {
	ev        Event
	fns       []Watcher
	toDefault bool
	barrier   chan struct{} // WaitEvents: closed instead of delivering ev
}

func (d *delivery) addSet(s *watchSet) {
	if s == nil {
		return
	}
	d.toDefault = d.toDefault || s.def
	d.fns = append(d.fns, s.fns...)
}

// watchManager holds the client side of every watch of a session.
type watchManager struct {
	mu     sync.Mutex
	tables [numKinds]map[string]*watchSet
}

func newWatchManager() *watchManager {
	m := &watchManager{}
	for i := range m.tables {
		m.tables[i] = make(map[string]*watchSet)
	}
	return m
}

func (m *watchManager) add(k watchKind, path string, w Watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.tables[k][path]
	if s == nil {
		s = &watchSet{}
		m.tables[k][path] = s
	}
	s.add(w)
}

// materialize returns the delivery of a server notification, removing the
// one-shot watches it triggers (ZKWatchManager.materialize).
func (m *watchManager) materialize(ev Event) delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := delivery{ev: ev}
	take := func(k watchKind) {
		d.addSet(m.tables[k][ev.Path])
		delete(m.tables[k], ev.Path)
	}
	switch ev.Type {
	case proto.EventNone:
		d.toDefault = true
		for k := range m.tables {
			for _, s := range m.tables[k] {
				d.fns = append(d.fns, s.fns...)
			}
		}
		return d
	case proto.EventNodeDataChanged, proto.EventNodeCreated:
		take(kindData)
		take(kindExist)
	case proto.EventNodeChildrenChanged:
		take(kindChild)
	case proto.EventNodeDeleted:
		take(kindData)
		take(kindExist)
		take(kindChild)
	}
	d.addSet(m.tables[kindPersistent][ev.Path])
	for p := ev.Path; ; p = parentPath(p) {
		d.addSet(m.tables[kindRecursive][p])
		if p == "/" || p == "" {
			break
		}
	}
	return d
}

// remove drops the registrations that a successful removeWatches of type t on
// path removed on the server, and returns the removal events to deliver; it
// returns nil if there were none.
func (m *watchManager) remove(path string, t proto.WatcherType) []delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []delivery
	drop := func(evType proto.EventType, kinds ...watchKind) {
		d := delivery{ev: Event{Type: evType, State: proto.StateSyncConnected, Path: path}}
		found := false
		for _, k := range kinds {
			if s := m.tables[k][path]; s != nil {
				d.addSet(s)
				delete(m.tables[k], path)
				found = true
			}
		}
		if found {
			out = append(out, d)
		}
	}
	switch t {
	case proto.WatcherChildren:
		drop(proto.EventChildWatchRemoved, kindChild)
	case proto.WatcherData:
		drop(proto.EventDataWatchRemoved, kindData, kindExist)
	case proto.WatcherAny:
		drop(proto.EventChildWatchRemoved, kindChild)
		drop(proto.EventDataWatchRemoved, kindData, kindExist)
		drop(proto.EventPersistentWatchRemoved, kindPersistent, kindRecursive)
	case proto.WatcherPersistent:
		drop(proto.EventPersistentWatchRemoved, kindPersistent)
	case proto.WatcherPersistentRecursive:
		drop(proto.EventPersistentWatchRemoved, kindRecursive)
	}
	return out
}

// paths returns the registered paths of one table, for tests and tools.
func (m *watchManager) paths(k watchKind) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.tables[k]))
	for p := range m.tables[k] {
		out = append(out, p)
	}
	return out
}

// parentPath returns the parent of an absolute path ("/" for "/a").
func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}
