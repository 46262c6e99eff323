package tree

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Snapshots without stalling writes. BeginSnapshot collects the node pointers (a
// short pause under the caller's lock) and turns on copy-on-write: from then on,
// the first in-place change to a node that existed at the snapshot saves a copy
// of it first, so the snapshot sees every node exactly as it was. Nodes added
// later are not in the view; removed ones are still referenced by it.

type cow struct {
	active atomic.Bool // read on every change without the lock
	mu     sync.Mutex
	saved  map[*Node]*Node
}

// Modify must be called before changing a node's fields in place.
func (t *Tree) Modify(n *Node) {
	if !t.cow.active.Load() {
		return
	}
	t.cow.mu.Lock()
	if _, ok := t.cow.saved[n]; !ok && t.cow.saved != nil {
		c := *n
		c.children = nil
		t.cow.saved[n] = &c
	}
	t.cow.mu.Unlock()
}

// View is a frozen view of the tree for serialisation.
type View struct {
	t     *Tree
	paths []string
	nodes []*Node
}

// BeginSnapshot returns a view of the tree as it is now. The caller must hold
// its state lock so no change runs during the call, and must Close the view.
// Only one view may be open at a time.
func (t *Tree) BeginSnapshot() *View {
	v := &View{t: t, paths: make([]string, 0, len(t.nodes)), nodes: make([]*Node, 0, len(t.nodes))}
	for p, n := range t.nodes {
		v.paths = append(v.paths, p)
		v.nodes = append(v.nodes, n)
	}
	t.cow.mu.Lock()
	t.cow.saved = make(map[*Node]*Node)
	t.cow.mu.Unlock()
	t.cow.active.Store(true)
	return v
}

// Len returns the number of nodes in the view.
func (v *View) Len() int { return len(v.paths) }

// Each calls fn for every node in the view (in no particular order) with the
// node as it was when the view began. It may run while the tree changes.
func (v *View) Each(fn func(path string, n *Node) error) error {
	for i, p := range v.paths {
		n := v.nodes[i]
		v.t.cow.mu.Lock()
		if s := v.t.cow.saved[n]; s != nil {
			n = s
		}
		// Copy under the lock: the live node may change right after.
		c := *n
		v.t.cow.mu.Unlock()
		if err := fn(p, &c); err != nil {
			return err
		}
	}
	return nil
}

// Close ends copy-on-write.
func (v *View) Close() {
	v.t.cow.active.Store(false)
	v.t.cow.mu.Lock()
	v.t.cow.saved = nil
	v.t.cow.mu.Unlock()
}

// Builder rebuilds a tree from a snapshot's nodes, given in any order.
type Builder struct {
	t *Tree
}

// NewBuilder returns a Builder for an empty tree.
func NewBuilder(extended bool) *Builder {
	t := New(extended)
	t.nodes = make(map[string]*Node)
	t.dataSize = 0
	return &Builder{t: t}
}

// Put adds a node (its children are linked by Finish).
func (b *Builder) Put(path string, n *Node) error {
	if _, dup := b.t.nodes[path]; dup {
		return fmt.Errorf("tree: duplicate node %q in snapshot", path)
	}
	n.children = nil
	b.t.insert(path, n)
	return nil
}

// Finish links every node to its parent, rebuilds the indexes and returns the
// tree.
func (b *Builder) Finish() (*Tree, error) {
	t := b.t
	if t.nodes["/"] == nil {
		return nil, fmt.Errorf("tree: snapshot has no root")
	}
	for p, n := range t.nodes {
		if p == "/" {
			continue
		}
		parent := t.nodes[Parent(p)]
		if parent == nil {
			return nil, fmt.Errorf("tree: snapshot node %q has no parent", p)
		}
		parent.addChild(Base(p))
		t.index(p, n)
	}
	return t, nil
}
