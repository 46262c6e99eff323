package client

import (
	"fmt"
	"sync"

	"github.com/gozk/gozk/internal/proto"
)

// Event is a watch notification or a change of the session's state
// (Type proto.EventNone, Path empty).
type Event struct {
	Type  proto.EventType
	State proto.State
	Path  string
}

// String formats the event as the Java client's WatchedEvent.toString does:
// "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x" (path:null for
// session events).
func (e Event) String() string {
	p := e.Path
	if p == "" && e.Type == proto.EventNone {
		p = "null"
	}
	return "WatchedEvent state:" + StateName(e.State) + " type:" + EventTypeName(e.Type) + " path:" + p
}

// Watcher receives events. Watchers are called one at a time from the
// connection's event goroutine; a slow watcher delays the ones after it.
type Watcher func(Event)

var eventTypeNames = map[proto.EventType]string{
	proto.EventNone:                   "None",
	proto.EventNodeCreated:            "NodeCreated",
	proto.EventNodeDeleted:            "NodeDeleted",
	proto.EventNodeDataChanged:        "NodeDataChanged",
	proto.EventNodeChildrenChanged:    "NodeChildrenChanged",
	proto.EventDataWatchRemoved:       "DataWatchRemoved",
	proto.EventChildWatchRemoved:      "ChildWatchRemoved",
	proto.EventPersistentWatchRemoved: "PersistentWatchRemoved",
}

// EventTypeName returns the Java name of an event type (Watcher.Event.EventType).
func EventTypeName(t proto.EventType) string {
	if s, ok := eventTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("EventType(%d)", int32(t))
}

var stateNames = map[proto.State]string{
	proto.StateUnknown:           "Unknown",
	proto.StateDisconnected:      "Disconnected",
	1:                            "NoSyncConnected",
	proto.StateSyncConnected:     "SyncConnected",
	proto.StateAuthFailed:        "AuthFailed",
	proto.StateConnectedReadOnly: "ConnectedReadOnly",
	proto.StateSASLAuthenticated: "SaslAuthenticated",
	proto.StateExpired:           "Expired",
	proto.StateClosed:            "Closed",
}

// StateName returns the Java name of a keeper state (Watcher.Event.KeeperState).
func StateName(s proto.State) string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("KeeperState(%d)", int32(s))
}

// ConnState is the state of a Conn, named as the Java client's
// ZooKeeper.States.
type ConnState int32

// Connection states.
const (
	StateConnected ConnState = iota
	StateConnectedReadOnly
	// StateDisconnected: the connection was lost; this Conn will not reconnect.
	StateDisconnected
	StateClosed
	StateAuthFailed
)

func (s ConnState) String() string {
	switch s {
	case StateConnected:
		return "CONNECTED"
	case StateConnectedReadOnly:
		return "CONNECTEDREADONLY"
	case StateDisconnected:
		return "NOT_CONNECTED"
	case StateClosed:
		return "CLOSED"
	case StateAuthFailed:
		return "AUTH_FAILED"
	}
	return fmt.Sprintf("ConnState(%d)", int32(s))
}

// Alive reports whether requests can still be sent in state s.
func (s ConnState) Alive() bool { return s == StateConnected || s == StateConnectedReadOnly }

// queue is an unbounded FIFO drained, once started, by one goroutine that
// calls fn for each item in order. put never blocks; past max items (if max
// is positive) the oldest are dropped.
type queue[T any] struct {
	mu      sync.Mutex
	items   []T
	closed  bool
	wake    chan struct{}
	max     int
	dropped int
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{wake: make(chan struct{}, 1), max: max}
}

// start launches the goroutine; onExit runs after the last item, once the
// queue is closed and drained.
func (q *queue[T]) start(fn func(T), onExit func()) { go q.run(fn, onExit) }

// put appends v; it reports false once the queue is closed.
func (q *queue[T]) put(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.max > 0 && len(q.items) >= q.max {
		var zero T
		q.items[0] = zero
		q.items = q.items[1:]
		q.dropped++
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *queue[T]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close makes the queue refuse further items; the items already queued are
// still delivered.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue[T]) run(fn func(T), onExit func()) {
	if onExit != nil {
		defer onExit()
	}
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		closed := q.closed
		q.mu.Unlock()
		for _, v := range items {
			fn(v)
		}
		if len(items) > 0 {
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}
