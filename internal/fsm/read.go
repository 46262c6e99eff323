package fsm

import (
	"strings"

	"github.com/gozk/gozk/internal/acl"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/tree"
)

// The read operations below follow ZooKeeper's FinalRequestProcessor: the node is
// looked up first (NONODE), then its ACL is checked. They must run under the same
// lock as Apply; the caller registers watches while still holding it.

// lookup finds the node a read names. ZooKeeper's DataTree keeps the root
// under "" as well as "/", so a read of "" reads the root.
func (f *FSM) lookup(path string) *tree.Node {
	if path == "" {
		path = "/"
	}
	return f.tree.Get(path)
}

func (f *FSM) readable(path string, auth []proto.ID, perm int32) (*tree.Node, proto.Err) {
	n := f.lookup(path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if !acl.Check(n.ACL, perm, auth) {
		return nil, proto.ErrNoAuth
	}
	return n, proto.ErrOK
}

// GetData returns a node's data and Stat.
func (f *FSM) GetData(path string, auth []proto.ID) (*proto.GetDataResponse, proto.Err) {
	n, e := f.readable(path, auth, proto.PermRead)
	if e != proto.ErrOK {
		return nil, e
	}
	return &proto.GetDataResponse{Data: n.Data, Stat: n.Stat()}, proto.ErrOK
}

// Exists returns a node's Stat. A path with a NUL is BADARGUMENTS; when
// checkACL is set (ZooKeeper 3.8.4, 3.9.2 and later) the READ permission is
// checked, only if the node exists.
func (f *FSM) Exists(path string, auth []proto.ID, checkACL bool) (*proto.StatResponse, proto.Err) {
	if hasNUL(path) {
		return nil, proto.ErrBadArguments
	}
	n := f.lookup(path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if checkACL && !acl.Check(n.ACL, proto.PermRead, auth) {
		return nil, proto.ErrNoAuth
	}
	return &proto.StatResponse{Stat: n.Stat()}, proto.ErrOK
}

// Children returns a node's children, with its Stat when withStat is set.
func (f *FSM) Children(path string, auth []proto.ID, withStat bool) (*proto.ChildrenResponse, proto.Err) {
	n, e := f.readable(path, auth, proto.PermRead)
	if e != proto.ErrOK {
		return nil, e
	}
	r := &proto.ChildrenResponse{Children: n.Children(), WithStat: withStat}
	if withStat {
		r.Stat = n.Stat()
	}
	return r, proto.ErrOK
}

// GetACL returns a node's ACL; it needs READ or ADMIN, and without ADMIN the
// digest ids are shown as "user:x".
func (f *FSM) GetACL(path string, auth []proto.ID) (*proto.GetACLResponse, proto.Err) {
	n, e := f.readable(path, auth, proto.PermRead|proto.PermAdmin)
	if e != proto.ErrOK {
		return nil, e
	}
	acls := n.ACL
	if !acl.Check(n.ACL, proto.PermAdmin, auth) {
		acls = make([]proto.ACL, len(n.ACL))
		for i, a := range n.ACL {
			if a.ID.Scheme == "digest" {
				if j := strings.IndexByte(a.ID.ID, ':'); j >= 0 {
					a.ID.ID = a.ID.ID[:j] + ":x"
				}
			}
			acls[i] = a
		}
	}
	return &proto.GetACLResponse{ACL: acls, Stat: n.Stat()}, proto.ErrOK
}

// AllChildrenNumber returns the number of descendants of a node.
func (f *FSM) AllChildrenNumber(path string, auth []proto.ID) (*proto.IntResponse, proto.Err) {
	if _, e := f.readable(path, auth, proto.PermRead); e != proto.ErrOK {
		return nil, e
	}
	return &proto.IntResponse{Value: int32(f.tree.CountDescendants(path))}, proto.ErrOK
}

// Ephemerals returns the session's ephemeral paths that start with prefix (all of
// them for "", "/" or blanks), as getEphemerals does.
func (f *FSM) Ephemerals(session int64, prefix string) *proto.StringsResponse {
	all := f.tree.Ephemerals(session)
	p := strings.TrimSpace(prefix)
	out := make([]string, 0, len(all))
	for _, e := range all {
		if p == "" || p == "/" || strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return &proto.StringsResponse{Values: out}
}

// ContainerCandidates returns the containers that are empty after having had
// children, and the empty TTL nodes unchanged for longer than their TTL at
// nowMs, as ZooKeeper's ContainerManager selects them.
func (f *FSM) ContainerCandidates(nowMs int64) []string {
	var out []string
	for _, p := range f.tree.Containers() {
		if n := f.tree.Get(p); n != nil && n.NumChildren() == 0 && n.Cversion > 0 {
			out = append(out, p)
		}
	}
	for _, p := range f.tree.TTLs() {
		n := f.tree.Get(p)
		if n != nil && n.NumChildren() == 0 && nowMs-n.Mtime > tree.TTLOf(n.EphemeralOwner) {
			out = append(out, p)
		}
	}
	return out
}
