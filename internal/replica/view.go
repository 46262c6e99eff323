package replica

import (
	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/watch"
)

// View is the state as a read sees it, with the watches it may set: a read,
// its ACL check and its watch registration happen in one Read, so no write
// slips between them. A View is valid only inside the Read that made it.
type View struct {
	FSM   *fsm.FSM
	watch *watch.Manager
}

// Read calls fn with the current state, excluding apply meanwhile.
func (r *Replica) Read(fn func(v View)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(View{FSM: r.fsm, watch: r.watch})
}

// WatchData sets a data (or exist) watch of watcher on path.
func (v View) WatchData(path string, watcher uint64) { v.watch.AddData(path, watcher) }

// WatchChildren sets a child watch.
func (v View) WatchChildren(path string, watcher uint64) { v.watch.AddChild(path, watcher) }

// WatchPersistent sets a persistent (recursive) watch (addWatch).
func (v View) WatchPersistent(path string, watcher uint64, recursive bool) {
	v.watch.AddPersistent(path, watcher, recursive)
}

// HasWatch reports whether watcher has a watch of type t on path (checkWatches).
func (v View) HasWatch(path string, watcher uint64, t proto.WatcherType) bool {
	return v.watch.Has(path, watcher, t)
}

// RemoveWatch removes watcher's watches of type t on path (removeWatches) and
// reports whether there were any.
func (v View) RemoveWatch(path string, watcher uint64, t proto.WatcherType) bool {
	return v.watch.Remove(path, watcher, t)
}

// SetWatches re-registers a reconnecting client's watches, first firing,
// through fire, those whose condition already changed since the zxid the
// client last saw (ZooKeeper's DataTree.setWatches).
func (v View) SetWatches(r *proto.SetWatches, watcher uint64, fire func(proto.EventType, string)) {
	t := v.FSM.Tree()
	for _, p := range r.DataWatches {
		switch n := t.Get(p); {
		case n == nil:
			fire(proto.EventNodeDeleted, p)
		case n.Mzxid > r.RelativeZxid:
			fire(proto.EventNodeDataChanged, p)
		default:
			v.watch.AddData(p, watcher)
		}
	}
	for _, p := range r.ExistWatches {
		if t.Get(p) != nil {
			fire(proto.EventNodeCreated, p)
		} else {
			v.watch.AddData(p, watcher)
		}
	}
	for _, p := range r.ChildWatches {
		switch n := t.Get(p); {
		case n == nil:
			fire(proto.EventNodeDeleted, p)
		case n.Pzxid > r.RelativeZxid:
			fire(proto.EventNodeChildrenChanged, p)
		default:
			v.watch.AddChild(p, watcher)
		}
	}
	for _, p := range r.PersistentWatches {
		v.watch.AddPersistent(p, watcher, false)
	}
	for _, p := range r.RecursiveWatches {
		v.watch.AddPersistent(p, watcher, true)
	}
}

// Zxid returns the zxid of the last applied entry.
func (r *Replica) Zxid() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fsm.Zxid()
}

// Session returns a copy of a live session.
func (r *Replica) Session(id int64) (fsm.Session, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if s := r.fsm.Session(id); s != nil {
		return *s, true
	}
	return fsm.Session{}, false
}

// ForgetWatcher removes every watch of a watcher (its connection closed).
func (r *Replica) ForgetWatcher(watcher uint64) { r.watch.RemoveWatcher(watcher) }

// WatchSummary counts every watch (mntr).
func (r *Replica) WatchSummary() watch.Summary { return r.watch.Summary() }

// DataWatchSummary counts data and exist watches (wchs).
func (r *Replica) DataWatchSummary() watch.Summary { return r.watch.DataSummary() }

// DataWatchesByWatcher lists data and exist watches by watcher (wchc).
func (r *Replica) DataWatchesByWatcher() map[uint64][]string { return r.watch.DataByWatcher() }

// DataWatchesByPath lists data and exist watches by path (wchp).
func (r *Replica) DataWatchesByPath() map[string][]uint64 { return r.watch.DataByPath() }

// HasSession reports whether a session is live.
func (r *Replica) HasSession(id int64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.fsm.Session(id) != nil
}
