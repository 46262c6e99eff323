// Package fsm is gozk's deterministic state machine: the znode tree and the
// session table, changed only by Apply(entry). Every rule of ZooKeeper's data
// model that decides a write's outcome (paths, versions, ACLs, node types,
// sequential names, ephemeral ownership, multi atomicity) is enforced here, at
// apply time, so every server that applies the same entries in the same order
// reaches the same state and the same results. The read operations are here too,
// so the rules for what a client may see live in one place.
//
// FSM takes no locks: its owner serialises Apply against reads.
package fsm

import (
	"fmt"

	"github.com/gozk/gozk/internal/acl"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/tree"
	"github.com/gozk/gozk/internal/watch"
)

// Session is a client session known to every server.
type Session struct {
	ID      int64
	Timeout int32 // negotiated, milliseconds
	Passwd  []byte
	// LastConn and LastSeq are the connection and sequence number of the
	// session's last applied write (see Entry.Conn).
	LastConn uint64
	LastSeq  uint64
}

// Result is the outcome of applying one entry.
type Result struct {
	Zxid int64
	Err  proto.Err    // ErrOK or the ZooKeeper error of the request
	Resp proto.Record // response body when Err is ErrOK (may be nil)
	// Changes are the tree changes, in order, that may fire watches.
	Changes []watch.Change
	// Closed lists sessions removed by this entry.
	Closed []int64
	// Duplicate: the entry was a retry of a write applied before, and did
	// nothing. Ahead: an earlier write of its connection is missing, and the
	// entry did nothing; its connection must propose them again.
	Duplicate, Ahead bool
	// Stale: the entry was fenced to a term (Entry.Term) other than the one
	// the log ordered it in, and did nothing.
	Stale bool
}

// FSM is the replicated state.
type FSM struct {
	tree     *tree.Tree
	sessions map[int64]*Session
	epoch    int64
	counter  int64
	zxid     int64
	quotas   map[string]struct{} // quota roots; see quota.go
}

// New returns an empty state machine. extended enables TTL nodes
// (extendedTypesEnabled).
func New(extended bool) *FSM {
	return &FSM{tree: tree.New(extended), sessions: make(map[int64]*Session), quotas: make(map[string]struct{})}
}

// Tree returns the tree, for reads under the owner's lock.
func (f *FSM) Tree() *tree.Tree { return f.tree }

// Zxid returns the zxid of the last applied entry.
func (f *FSM) Zxid() int64 { return f.zxid }

// Session returns a live session, or nil.
func (f *FSM) Session(id int64) *Session { return f.sessions[id] }

// SessionCount returns the number of live sessions.
func (f *FSM) SessionCount() int { return len(f.sessions) }

// EachSession calls fn for every live session (in no particular order).
func (f *FSM) EachSession(fn func(*Session)) {
	for _, s := range f.sessions {
		fn(s)
	}
}

// maxCounter is the largest zxid counter: the low 32 bits of a zxid.
const maxCounter = 1<<32 - 1

// nextZxid advances the zxid for an entry of the given epoch (the raft term):
// zxid = epoch<<32 | counter, the counter restarting in each new epoch. When
// the counter runs out, ZooKeeper forces a leader election; here the next
// zxid simply moves to the next epoch, the same on every server since it
// depends only on the entries applied, and a later raft term that is not
// above that epoch goes on counting in it. Zxids only ever increase.
func (f *FSM) nextZxid(epoch int64) int64 {
	if epoch > f.epoch {
		f.epoch, f.counter = epoch, 0
	}
	if f.counter == maxCounter {
		f.epoch, f.counter = f.epoch+1, 0
	}
	f.counter++
	f.zxid = f.epoch<<32 | f.counter
	return f.zxid
}

// Apply applies e, which the log ordered with the given epoch, and returns its
// result. Every entry takes a zxid, failed ones too, as in ZooKeeper, but
// OpSetSessionTimeout and the entries apply discards (duplicates, writes ahead
// of a lost one, and entries fenced to another term).
// in ZooKeeper.
func (f *FSM) Apply(epoch int64, e *Entry) Result {
	if e.Term != 0 && int64(e.Term) != epoch {
		// Decided by a leader that was deposed before the log ordered it:
		// takes no zxid, changes nothing.
		return Result{Zxid: f.zxid, Stale: true}
	}
	if e.Op == OpSetSessionTimeout {
		// Takes no zxid (see OpSetSessionTimeout).
		res := Result{Zxid: f.zxid, Err: proto.ErrSessionExpired}
		if s := f.sessions[e.Session]; s != nil {
			s.Timeout, res.Err = e.Timeout, proto.ErrOK
		}
		return res
	}
	switch seq := f.inSequence(e); seq {
	case duplicate, ahead:
		// Takes no zxid, changes nothing, answers no one: a duplicate's
		// first application answered already, a write ahead is answered
		// when it comes again in order.
		return Result{Zxid: f.zxid, Duplicate: seq == duplicate, Ahead: seq == ahead}
	case outOfOrder:
		// The session moved to another connection: refuse, as ZooKeeper
		// refuses a moved session (it still takes a zxid).
		return Result{Zxid: f.nextZxid(epoch), Err: proto.ErrSessionMoved}
	}
	res := Result{Zxid: f.nextZxid(epoch)}
	a := applier{f: f, e: e, zxid: res.Zxid, res: &res}
	if apply := entryAppliers[e.Op]; apply != nil {
		res.Resp, res.Err = apply(&a)
	} else if e.Session != 0 && f.sessions[e.Session] == nil {
		res.Err = proto.ErrSessionExpired
	} else {
		var r MultiOpResult
		r, res.Err = a.op(e.Op, e.Req)
		if res.Err == proto.ErrOK {
			res.Resp = r.response()
		}
	}
	if res.Err != proto.ErrOK {
		res.Changes = nil
	}
	return res
}

// MultiOpResult is the outcome of one write operation.
type MultiOpResult struct {
	Op   proto.OpCode
	Path string
	Stat proto.Stat
}

func (r MultiOpResult) response() proto.Record {
	switch r.Op {
	case proto.OpCreate:
		return &proto.PathResponse{Path: r.Path}
	case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return &proto.Create2Response{Path: r.Path, Stat: r.Stat}
	case proto.OpSetData, proto.OpSetACL, proto.OpCheck:
		return &proto.StatResponse{Stat: r.Stat}
	}
	return nil
}

// applier applies one entry, keeping an undo log so a failed multi leaves no trace.
type applier struct {
	f    *FSM
	e    *Entry
	zxid int64
	res  *Result
	undo []func()
}

func (a *applier) change(t proto.EventType, path string, n, parent *tree.Node) {
	c := watch.Change{Type: t, Path: path, ACL: n.ACL}
	if parent != nil {
		c.ParentACL = parent.ACL
	}
	a.res.Changes = append(a.res.Changes, c)
}

func (a *applier) rollback() {
	for i := len(a.undo) - 1; i >= 0; i-- {
		a.undo[i]()
	}
	a.undo = nil
	a.res.Changes = nil
}

func (a *applier) checkACL(n *tree.Node, perm int32) proto.Err {
	if acl.Check(n.ACL, perm, a.e.Auth) {
		return proto.ErrOK
	}
	return proto.ErrNoAuth
}

// op applies one write operation (alone or inside a multi).
func (a *applier) op(op proto.OpCode, req proto.Record) (MultiOpResult, proto.Err) {
	if apply := opAppliers[op]; apply != nil {
		return apply(a, op, req)
	}
	return MultiOpResult{}, proto.ErrUnimplemented
}

// entryAppliers apply the entries that are not one client write: sessions,
// the container sweeper's removals, multi.
var entryAppliers = map[proto.OpCode]func(a *applier) (proto.Record, proto.Err){
	proto.OpCreateSession: func(a *applier) (proto.Record, proto.Err) {
		e := a.e
		a.f.sessions[e.Session] = &Session{ID: e.Session, Timeout: e.Timeout, Passwd: e.Passwd}
		return nil, proto.ErrOK
	},
	proto.OpCloseSession: func(a *applier) (proto.Record, proto.Err) {
		a.closeSession(a.e.Session)
		return nil, proto.ErrOK
	},
	proto.OpDeleteContainer: func(a *applier) (proto.Record, proto.Err) {
		return nil, a.deleteContainer(a.e.Req.(*proto.PathRequest).Path)
	},
	proto.OpMulti: func(a *applier) (proto.Record, proto.Err) {
		return a.multi(a.e.Req.(*proto.MultiRequest))
	},
}

// opAppliers apply one client write, alone or inside a multi; a write opcode
// not here is UNIMPLEMENTED.
var opAppliers = map[proto.OpCode]func(a *applier, op proto.OpCode, req proto.Record) (MultiOpResult, proto.Err){
	proto.OpCreate:          applyCreate,
	proto.OpCreate2:         applyCreate,
	proto.OpCreateContainer: applyCreate,
	proto.OpCreateTTL:       applyCreate,
	proto.OpDelete: func(a *applier, op proto.OpCode, req proto.Record) (MultiOpResult, proto.Err) {
		r := req.(*proto.PathVersionRequest)
		return MultiOpResult{Op: op}, a.delete(r.Path, r.Version)
	},
	proto.OpSetData: func(a *applier, _ proto.OpCode, req proto.Record) (MultiOpResult, proto.Err) {
		return a.setData(req.(*proto.SetDataRequest))
	},
	proto.OpSetACL: func(a *applier, _ proto.OpCode, req proto.Record) (MultiOpResult, proto.Err) {
		return a.setACL(req.(*proto.SetACLRequest))
	},
	proto.OpCheck: func(a *applier, _ proto.OpCode, req proto.Record) (MultiOpResult, proto.Err) {
		return a.check(req.(*proto.PathVersionRequest))
	},
}

func applyCreate(a *applier, op proto.OpCode, req proto.Record) (MultiOpResult, proto.Err) {
	return a.create(op, req.(*proto.CreateRequest))
}

// nextVersion is ZooKeeper's checkAndIncVersion.
func nextVersion(cur, expected int32) (int32, proto.Err) {
	if expected != -1 && expected != cur {
		return 0, proto.ErrBadVersion
	}
	if cur+1 == -1 {
		return 0, proto.ErrOK
	}
	return cur + 1, proto.ErrOK
}

func lastSlash(path string) int {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return i
		}
	}
	return -1
}

func hasNUL(path string) bool {
	for i := 0; i < len(path); i++ {
		if path[i] == 0 {
			return true
		}
	}
	return false
}

// create applies a create outside a multi; see createPlan for how the opcode
// and the flags decide the outcome.
func (a *applier) create(op proto.OpCode, r *proto.CreateRequest) (MultiOpResult, proto.Err) {
	return a.createPlanned(planCreate(op, r.Flags, r.TTL, false, a.f.tree.Extended()), r)
}

// createPlanned applies a create as planned, with ZooKeeper's checks in
// ZooKeeper's order.
func (a *applier) createPlanned(p createPlan, r *proto.CreateRequest) (MultiOpResult, proto.Err) {
	t := a.f.tree
	if p.err != proto.ErrOK {
		return MultiOpResult{}, p.err
	}
	mode := p.mode
	path := r.Path
	slash := lastSlash(path)
	if slash < 0 || hasNUL(path) {
		return MultiOpResult{}, proto.ErrBadArguments
	}
	acls, err := acl.Fixup(r.ACL, a.e.Auth)
	if err != nil {
		return MultiOpResult{}, proto.ErrInvalidACL
	}
	parentPath := path[:slash]
	if parentPath == "" {
		parentPath = "/"
	}
	parent := t.Get(parentPath)
	if parent == nil {
		return MultiOpResult{}, proto.ErrNoNode
	}
	if e := a.checkACL(parent, proto.PermCreate); e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	if mode.Sequential() {
		path += fmt.Sprintf("%010d", parent.Cversion)
	}
	if tree.ValidatePath(path) != nil {
		return MultiOpResult{}, proto.ErrBadArguments
	}
	if t.Get(path) != nil {
		return MultiOpResult{}, proto.ErrNodeExists
	}
	if t.Kind(parent) == tree.Ephemeral {
		return MultiOpResult{}, proto.ErrNoChildrenForEphemerals
	}
	owner := p.owner(a.e.Session)
	if p.kind == tree.Ephemeral && owner != 0 && a.f.sessions[owner] == nil {
		return MultiOpResult{}, proto.ErrSessionExpired
	}
	if p.lateErr != proto.ErrOK {
		return MultiOpResult{}, p.lateErr
	}
	n := &tree.Node{
		Data: r.Data, ACL: acls,
		Czxid: a.zxid, Mzxid: a.zxid, Pzxid: a.zxid,
		Ctime: a.e.Time, Mtime: a.e.Time,
		EphemeralOwner: owner,
	}
	savedCv, savedPz := parent.Cversion, parent.Pzxid
	t.Add(path, n)
	a.undo = append(a.undo, func() {
		t.Remove(path, 0)
		parent.Cversion, parent.Pzxid = savedCv, savedPz
	})
	a.change(proto.EventNodeCreated, path, n, parent)
	st := n.Stat()
	a.quotaAfterCreate(path, n.Data)
	return MultiOpResult{Op: p.result, Path: path, Stat: st}, proto.ErrOK
}

func isSpecial(path string) bool {
	return path == "/" || path == tree.ZooKeeperPath || path == tree.QuotaPath || path == tree.ConfigPath
}

func (a *applier) delete(path string, version int32) proto.Err {
	t := a.f.tree
	slash := lastSlash(path)
	if slash < 0 || hasNUL(path) || isSpecial(path) {
		return proto.ErrBadArguments
	}
	parentPath := path[:slash]
	if parentPath == "" {
		parentPath = "/"
	}
	parent := t.Get(parentPath)
	if parent == nil {
		return proto.ErrNoNode
	}
	if e := a.checkACL(parent, proto.PermDelete); e != proto.ErrOK {
		return e
	}
	n := t.Get(path)
	if n == nil {
		return proto.ErrNoNode
	}
	if _, e := nextVersion(n.Version, version); e != proto.ErrOK {
		return e
	}
	if n.NumChildren() > 0 {
		return proto.ErrNotEmpty
	}
	a.remove(path, n, parent)
	return proto.ErrOK
}

// remove deletes a childless node, with undo and change records.
func (a *applier) remove(path string, n, parent *tree.Node) {
	t := a.f.tree
	savedCv, savedPz := parent.Cversion, parent.Pzxid
	t.Remove(path, a.zxid)
	a.undo = append(a.undo, func() {
		t.Add(path, n)
		parent.Cversion, parent.Pzxid = savedCv, savedPz
	})
	a.change(proto.EventNodeDeleted, path, n, parent)
	a.quotaAfterDelete(path, n.Data)
}

func (a *applier) setData(r *proto.SetDataRequest) (MultiOpResult, proto.Err) {
	t := a.f.tree
	if tree.ValidatePath(r.Path) != nil {
		return MultiOpResult{}, proto.ErrBadArguments
	}
	n := t.Get(r.Path)
	if n == nil {
		return MultiOpResult{}, proto.ErrNoNode
	}
	if e := a.checkACL(n, proto.PermWrite); e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	v, e := nextVersion(n.Version, r.Version)
	if e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	old := *n
	t.SetData(r.Path, n, r.Data)
	n.Version, n.Mzxid, n.Mtime = v, a.zxid, a.e.Time
	a.undo = append(a.undo, func() {
		t.SetData(r.Path, n, old.Data)
		n.Version, n.Mzxid, n.Mtime = old.Version, old.Mzxid, old.Mtime
	})
	a.change(proto.EventNodeDataChanged, r.Path, n, nil)
	a.quotaAdjust(r.Path, 0, int64(len(r.Data)-len(old.Data)))
	return MultiOpResult{Op: proto.OpSetData, Path: r.Path, Stat: n.Stat()}, proto.ErrOK
}

func (a *applier) setACL(r *proto.SetACLRequest) (MultiOpResult, proto.Err) {
	t := a.f.tree
	if tree.ValidatePath(r.Path) != nil {
		return MultiOpResult{}, proto.ErrBadArguments
	}
	acls, err := acl.Fixup(r.ACL, a.e.Auth)
	if err != nil {
		return MultiOpResult{}, proto.ErrInvalidACL
	}
	n := t.Get(r.Path)
	if n == nil {
		return MultiOpResult{}, proto.ErrNoNode
	}
	if e := a.checkACL(n, proto.PermAdmin); e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	v, e := nextVersion(n.Aversion, r.Version)
	if e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	oldACL, oldV := n.ACL, n.Aversion
	t.Modify(n)
	n.ACL, n.Aversion = acls, v
	a.undo = append(a.undo, func() { n.ACL, n.Aversion = oldACL, oldV })
	return MultiOpResult{Op: proto.OpSetACL, Path: r.Path, Stat: n.Stat()}, proto.ErrOK
}

func (a *applier) check(r *proto.PathVersionRequest) (MultiOpResult, proto.Err) {
	if tree.ValidatePath(r.Path) != nil {
		return MultiOpResult{}, proto.ErrBadArguments
	}
	n := a.f.tree.Get(r.Path)
	if n == nil {
		return MultiOpResult{}, proto.ErrNoNode
	}
	if e := a.checkACL(n, proto.PermRead); e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	if _, e := nextVersion(n.Version, r.Version); e != proto.ErrOK {
		return MultiOpResult{}, e
	}
	return MultiOpResult{Op: proto.OpCheck, Path: r.Path, Stat: n.Stat()}, proto.ErrOK
}

// multi applies every operation or none. On failure the results are OK (0) for
// the operations before the failing one, its error, and RUNTIMEINCONSISTENCY for
// those after it, each as an error result, exactly as ZooKeeper reports them; the
// reply header itself carries no error. The one exception is a create whose
// flags ask for a TTL in a record without one (see createPlan): reached before
// any operation failed, it fails the whole request with MARSHALLINGERROR in
// the reply header and no results.
func (a *applier) multi(m *proto.MultiRequest) (proto.Record, proto.Err) {
	resp := &proto.MultiResponse{Results: make([]proto.MultiResult, len(m.Ops))}
	failed := -1
	var failErr proto.Err
	if a.e.Session != 0 && a.f.sessions[a.e.Session] == nil {
		failed, failErr = 0, proto.ErrSessionExpired
	}
	for i := 0; failed < 0 && i < len(m.Ops); i++ {
		op := m.Ops[i]
		r, e, whole := a.multiOp(op)
		if whole {
			a.rollback()
			return nil, e
		}
		if e != proto.ErrOK {
			failed, failErr = i, e
			break
		}
		resp.Results[i] = proto.MultiResult{Type: r.Op, Path: r.Path, Stat: r.Stat}
	}
	if failed < 0 {
		return resp, proto.ErrOK
	}
	a.rollback()
	for i := range resp.Results {
		e := proto.ErrOK
		switch {
		case i == failed:
			e = failErr
		case i > failed:
			e = proto.ErrRuntimeInconsistency
		}
		resp.Results[i] = proto.MultiResult{Type: proto.OpError, Err: e}
	}
	// The multi as a whole succeeds at the protocol level: the reply carries
	// the per-operation errors.
	return resp, proto.ErrOK
}

// multiOp applies one operation of a multi. A create is planned as inside a
// multi (its type and result follow its flags); whole reports an error that
// fails the whole multi. The result's Op is the type its result takes.
func (a *applier) multiOp(op proto.MultiOp) (r MultiOpResult, e proto.Err, whole bool) {
	if isCreate(op.Type) {
		req := op.Req.(*proto.CreateRequest)
		p := planCreate(op.Type, req.Flags, req.TTL, true, a.f.tree.Extended())
		if p.whole {
			return MultiOpResult{}, p.err, true
		}
		r, e = a.createPlanned(p, req)
		return r, e, false
	}
	r, e = a.op(op.Type, op.Req)
	r.Op = op.Type
	return r, e, false
}

// closeSession deletes the session's ephemerals (in path order) and forgets it.
func (a *applier) closeSession(id int64) {
	t := a.f.tree
	for _, p := range t.Ephemerals(id) {
		n := t.Get(p)
		a.remove(p, n, t.Get(tree.Parent(p)))
	}
	a.undo = nil
	if _, ok := a.f.sessions[id]; ok {
		delete(a.f.sessions, id)
		a.res.Closed = append(a.res.Closed, id)
	}
}

// deleteContainer removes an empty container that had children, or an empty TTL
// node whose TTL has passed since its last change, judged at apply time with the
// entry's time.
func (a *applier) deleteContainer(path string) proto.Err {
	t := a.f.tree
	n := t.Get(path)
	if n == nil {
		return proto.ErrNoNode
	}
	if n.NumChildren() > 0 {
		return proto.ErrNotEmpty
	}
	switch t.Kind(n) {
	case tree.Container:
		if n.Cversion == 0 {
			return proto.ErrBadVersion // never had a child: kept, as in ZooKeeper
		}
	case tree.TTL:
		if a.e.Time-n.Mtime <= tree.TTLOf(n.EphemeralOwner) {
			return proto.ErrBadVersion
		}
	default:
		return proto.ErrBadVersion
	}
	a.remove(path, n, t.Get(tree.Parent(path)))
	return proto.ErrOK
}
