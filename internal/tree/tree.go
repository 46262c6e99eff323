// Package tree holds the znode tree in memory: nodes with their data, ACL and
// persisted Stat, the child sets, the ephemeral, container and TTL indexes, and the
// data-size and digest accounting. It does no I/O, takes no locks and validates
// nothing beyond structure: the rules of ZooKeeper's data model live in package fsm.
//
// Two details follow ZooKeeper exactly. A node's persisted Cversion counts the
// creates of its children (it is what sequential names are numbered from); the
// cversion clients see is 2*Cversion - numChildren, i.e. creates plus deletes.
// And the raw ephemeralOwner encodes container (math.MinInt64) and TTL
// (0xff00000000000000 | ttl) nodes, which clients see as 0.
package tree

import (
	"hash/crc64"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gozk/gozk/internal/proto"
)

// Owner markers for the extended node types (ZooKeeper's EphemeralType).
const (
	ContainerOwner int64 = math.MinInt64
	extendedMask   int64 = -0x0100000000000000 // 0xff00000000000000
	reservedMask   int64 = 0x00ffff0000000000
	// MaxTTL is the largest TTL in milliseconds.
	MaxTTL int64 = ^(extendedMask | reservedMask)
)

// TTLOwner returns the raw ephemeralOwner of a TTL node.
func TTLOwner(ttl int64) int64 { return extendedMask | ttl }

// Kind classifies a node by its raw ephemeralOwner.
type Kind uint8

// Node kinds.
const (
	Persistent Kind = iota
	Ephemeral
	Container
	TTL
)

// KindOf classifies a raw ephemeralOwner. extended says whether TTL encoding is
// recognised (extendedTypesEnabled).
func KindOf(owner int64, extended bool) Kind {
	switch {
	case owner == 0:
		return Persistent
	case owner == ContainerOwner:
		return Container
	case extended && owner&extendedMask == extendedMask && owner&reservedMask == 0:
		return TTL
	}
	return Ephemeral
}

// Node is one znode. Fields other than children are set by the tree's users,
// who call Tree.Modify before changing a node in place; the ACL and Data slices
// are never mutated in place, so they may be shared.
type Node struct {
	Data           []byte
	ACL            []proto.ACL
	Czxid          int64
	Mzxid          int64
	Pzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32 // creates of children, as ZooKeeper persists it
	Aversion       int32
	EphemeralOwner int64 // raw: session id, ContainerOwner or TTLOwner(ttl)
	children       map[string]struct{}
}

// NumChildren returns the number of children.
func (n *Node) NumChildren() int { return len(n.children) }

// Stat returns the Stat clients see.
func (n *Node) Stat() proto.Stat {
	var s proto.Stat
	n.FillStat(&s)
	return s
}

// FillStat writes the Stat clients see into s.
func (n *Node) FillStat(s *proto.Stat) {
	owner := n.EphemeralOwner
	if owner == ContainerOwner || owner&extendedMask == extendedMask {
		owner = 0
	}
	nc := int32(len(n.children))
	*s = proto.Stat{
		Czxid: n.Czxid, Mzxid: n.Mzxid, Ctime: n.Ctime, Mtime: n.Mtime,
		Version: n.Version, Cversion: n.Cversion*2 - nc, Aversion: n.Aversion,
		EphemeralOwner: owner, DataLength: int32(len(n.Data)), NumChildren: nc, Pzxid: n.Pzxid,
	}
}

// Children returns the names of the children, sorted.
func (n *Node) Children() []string {
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// HasChild reports whether name is a child.
func (n *Node) HasChild(name string) bool { _, ok := n.children[name]; return ok }

// Tree is the znode tree, indexed by full path.
type Tree struct {
	nodes      map[string]*Node
	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	extended   bool
	dataSize   int64
	cow        cow
}

// Well-known paths that exist in every tree.
const (
	ZooKeeperPath = "/zookeeper"
	QuotaPath     = "/zookeeper/quota"
	ConfigPath    = "/zookeeper/config"
)

// New returns a tree holding "/", "/zookeeper", "/zookeeper/quota" and
// "/zookeeper/config" as ZooKeeper creates them (zxid 0, no create counted in the
// parents' cversion). extended enables TTL node recognition.
func New(extended bool) *Tree {
	t := &Tree{
		nodes:      make(map[string]*Node),
		ephemerals: make(map[int64]map[string]struct{}),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		extended:   extended,
	}
	open := proto.OpenACLUnsafe
	t.insert("/", &Node{ACL: open, Data: []byte{}})
	for _, p := range []string{ZooKeeperPath, QuotaPath, ConfigPath} {
		t.insert(p, &Node{ACL: open, Data: []byte{}})
		t.nodes[Parent(p)].addChild(Base(p))
	}
	// ZooKeeper's config node is read-only for everyone, with aclVersion -1.
	t.nodes[ConfigPath].ACL = proto.ReadACLUnsafe
	t.nodes[ConfigPath].Aversion = -1
	return t
}

func (n *Node) addChild(name string) {
	if n.children == nil {
		n.children = make(map[string]struct{})
	}
	n.children[name] = struct{}{}
}

func nodeSize(path string, data []byte) int64 { return int64(len(path) + len(data)) }

func (t *Tree) insert(path string, n *Node) {
	t.nodes[path] = n
	t.dataSize += nodeSize(path, n.Data)
}

// Get returns the node at path, or nil.
func (t *Tree) Get(path string) *Node { return t.nodes[path] }

// Len returns the number of nodes, including the built-in ones.
func (t *Tree) Len() int { return len(t.nodes) }

// DataSize returns ZooKeeper's approximate data size: the sum of path and data
// lengths over all nodes.
func (t *Tree) DataSize() int64 { return t.dataSize }

// Extended reports whether TTL nodes are recognised.
func (t *Tree) Extended() bool { return t.extended }

// Kind classifies n.
func (t *Tree) Kind(n *Node) Kind { return KindOf(n.EphemeralOwner, t.extended) }

// Add links n under its parent at path, counting the create in the parent's
// Cversion and setting the parent's Pzxid to n.Czxid. The parent must exist and
// the path must be free.
func (t *Tree) Add(path string, n *Node) {
	parent := t.nodes[Parent(path)]
	t.Modify(parent)
	parent.addChild(Base(path))
	parent.Cversion++
	parent.Pzxid = n.Czxid
	t.insert(path, n)
	t.index(path, n)
}

// index records n in the index of its kind (ephemerals by owner, containers,
// TTL nodes).
func (t *Tree) index(path string, n *Node) {
	switch t.Kind(n) {
	case Ephemeral:
		set := t.ephemerals[n.EphemeralOwner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[n.EphemeralOwner] = set
		}
		set[path] = struct{}{}
	case Container:
		t.containers[path] = struct{}{}
	case TTL:
		t.ttls[path] = struct{}{}
	}
}

// Remove unlinks the childless node at path and sets the parent's Pzxid to zxid.
func (t *Tree) Remove(path string, zxid int64) {
	n := t.nodes[path]
	if n == nil {
		return
	}
	parent := t.nodes[Parent(path)]
	t.Modify(parent)
	delete(parent.children, Base(path))
	if zxid > parent.Pzxid {
		parent.Pzxid = zxid
	}
	delete(t.nodes, path)
	t.dataSize -= nodeSize(path, n.Data)
	switch t.Kind(n) {
	case Ephemeral:
		if set := t.ephemerals[n.EphemeralOwner]; set != nil {
			delete(set, path)
			if len(set) == 0 {
				delete(t.ephemerals, n.EphemeralOwner)
			}
		}
	case Container:
		delete(t.containers, path)
	case TTL:
		delete(t.ttls, path)
	}
}

// SetData replaces n's data, keeping the size accounting right.
func (t *Tree) SetData(path string, n *Node, data []byte) {
	t.Modify(n)
	t.dataSize += int64(len(data) - len(n.Data))
	n.Data = data
}

// Ephemerals returns the sorted paths of the ephemeral nodes owned by session.
func (t *Tree) Ephemerals(session int64) []string {
	return sortedKeys(t.ephemerals[session])
}

// EphemeralCount returns the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int {
	n := 0
	for _, s := range t.ephemerals {
		n += len(s)
	}
	return n
}

// EachEphemeralOwner calls fn for every session owning ephemerals, in session
// id order, with its sorted paths.
func (t *Tree) EachEphemeralOwner(fn func(session int64, paths []string)) {
	ids := make([]int64, 0, len(t.ephemerals))
	for id := range t.ephemerals {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fn(id, sortedKeys(t.ephemerals[id]))
	}
}

// Containers returns the sorted paths of container nodes.
func (t *Tree) Containers() []string { return sortedKeys(t.containers) }

// TTLs returns the sorted paths of TTL nodes.
func (t *Tree) TTLs() []string { return sortedKeys(t.ttls) }

// TTLOf returns the TTL in milliseconds of a TTL node's raw owner.
func TTLOf(owner int64) int64 { return owner &^ (extendedMask | reservedMask) }

// CountDescendants returns the number of nodes below path (ZooKeeper's
// getAllChildrenNumber).
func (t *Tree) CountDescendants(path string) int {
	n := t.nodes[path]
	if n == nil {
		return 0
	}
	total := 0
	for c := range n.children {
		total += 1 + t.CountDescendants(Join(path, c))
	}
	return total
}

// Walk calls fn for every node in depth-first order of sorted paths, parents
// before children.
func (t *Tree) Walk(fn func(path string, n *Node)) { t.WalkFrom("/", fn) }

// WalkFrom is Walk over the subtree at path, which must exist.
func (t *Tree) WalkFrom(path string, fn func(path string, n *Node)) {
	n := t.nodes[path]
	fn(path, n)
	for _, c := range n.Children() {
		t.WalkFrom(Join(path, c), fn)
	}
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// Digest returns a checksum of the whole tree (paths, data, ACLs and persisted
// stats), identical on every server that applied the same entries.
func (t *Tree) Digest() uint64 {
	h := crc64.New(crcTable)
	var b []byte
	t.Walk(func(path string, n *Node) {
		b = b[:0]
		b = append(b, path...)
		b = append(b, 0)
		b = append(b, n.Data...)
		for _, a := range n.ACL {
			b = append(b, byte(a.Perms))
			b = append(b, a.ID.Scheme...)
			b = append(b, a.ID.ID...)
		}
		for _, v := range []int64{n.Czxid, n.Mzxid, n.Pzxid, n.Ctime, n.Mtime, int64(n.Version), int64(n.Cversion), int64(n.Aversion), n.EphemeralOwner} {
			for i := 0; i < 8; i++ {
				b = append(b, byte(v>>(8*i)))
			}
		}
		h.Write(b)
	})
	return h.Sum64()
}

// HasPrefixPath reports whether path is prefix itself or below it.
func HasPrefixPath(path, prefix string) bool {
	if prefix == "/" {
		return true
	}
	return path == prefix || strings.HasPrefix(path, prefix) && path[len(prefix)] == '/'
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
