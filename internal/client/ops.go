package client

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gozk/gozk/internal/proto"
)

// MaxTTL is the largest TTL a node may have (EphemeralType.TTL.maxValue()).
const MaxTTL = 0xffffffffff * time.Millisecond

// codeErr turns a reply's error code into an error (nil for ErrOK).
func codeErr(code proto.Err) error {
	if code == proto.ErrOK {
		return nil
	}
	return code
}

func validateACL(acl []proto.ACL) error {
	if len(acl) == 0 {
		return ErrEmptyACL
	}
	return nil
}

// validateTTL checks a create's mode and TTL as EphemeralType.validateTTL
// does; ttl < 0 means none.
func validateTTL(mode proto.CreateMode, ttl time.Duration) error {
	if mode.TTL() {
		if ms := ttl.Milliseconds(); ms <= 0 || ms > int64(MaxTTL/time.Millisecond) {
			return &ArgError{Msg: "ttl must be positive and cannot be larger than: " + strconv.FormatInt(int64(MaxTTL/time.Millisecond), 10)}
		}
		return nil
	}
	if ttl >= 0 {
		return &ArgError{Msg: fmt.Sprintf("ttl not valid for mode: %s", ModeName(mode))}
	}
	return nil
}

// ModeName returns the Java name of a create mode (CreateMode).
func ModeName(m proto.CreateMode) string {
	switch m {
	case proto.ModePersistent:
		return "PERSISTENT"
	case proto.ModeEphemeral:
		return "EPHEMERAL"
	case proto.ModePersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case proto.ModeEphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	case proto.ModeContainer:
		return "CONTAINER"
	case proto.ModePersistentWithTTL:
		return "PERSISTENT_WITH_TTL"
	case proto.ModePersistentSequentialWithTTL:
		return "PERSISTENT_SEQUENTIAL_WITH_TTL"
	}
	return fmt.Sprintf("CreateMode(%d)", int32(m))
}

func checkCreate(path string, acl []proto.ACL, mode proto.CreateMode, ttl time.Duration) error {
	if !mode.Valid() {
		return &ArgError{Msg: fmt.Sprintf("invalid create mode %d", int32(mode))}
	}
	if err := validateCreatePath(path, mode.Sequential()); err != nil {
		return err
	}
	if err := validateTTL(mode, ttl); err != nil {
		return err
	}
	return validateACL(acl)
}

// Create creates a node and returns its path (with the sequence number of a
// sequential node). It uses create, or createContainer for ModeContainer;
// the TTL modes need CreateTTL.
func (c *Conn) Create(ctx context.Context, path string, data []byte, acl []proto.ACL, mode proto.CreateMode) (string, error) {
	if err := checkCreate(path, acl, mode, -1); err != nil {
		return "", err
	}
	req := &proto.CreateRequest{Path: c.srv(path), Data: data, ACL: acl, Flags: mode}
	if mode == proto.ModeContainer {
		var resp proto.Create2Response
		_, err := c.call(ctx, proto.OpCreateContainer, req, &resp, codeErr)
		return c.cli(resp.Path), err
	}
	var resp proto.PathResponse
	_, err := c.call(ctx, proto.OpCreate, req, &resp, codeErr)
	return c.cli(resp.Path), err
}

// Create2 creates a node and returns its path and Stat (create2, or
// createContainer for ModeContainer); the TTL modes need CreateTTL.
func (c *Conn) Create2(ctx context.Context, path string, data []byte, acl []proto.ACL, mode proto.CreateMode) (string, proto.Stat, error) {
	if err := checkCreate(path, acl, mode, -1); err != nil {
		return "", proto.Stat{}, err
	}
	op := proto.OpCreate2
	if mode == proto.ModeContainer {
		op = proto.OpCreateContainer
	}
	req := &proto.CreateRequest{Path: c.srv(path), Data: data, ACL: acl, Flags: mode}
	var resp proto.Create2Response
	_, err := c.call(ctx, op, req, &resp, codeErr)
	return c.cli(resp.Path), resp.Stat, err
}

// CreateTTL creates a node with a time to live (createTTL); mode must be
// ModePersistentWithTTL or ModePersistentSequentialWithTTL, and ttl a whole
// number of milliseconds up to MaxTTL.
func (c *Conn) CreateTTL(ctx context.Context, path string, data []byte, acl []proto.ACL, mode proto.CreateMode, ttl time.Duration) (string, proto.Stat, error) {
	if err := checkCreate(path, acl, mode, ttl); err != nil {
		return "", proto.Stat{}, err
	}
	if !mode.TTL() {
		return "", proto.Stat{}, &ArgError{Msg: fmt.Sprintf("ttl not valid for mode: %s", ModeName(mode))}
	}
	req := &proto.CreateRequest{Path: c.srv(path), Data: data, ACL: acl, Flags: mode, TTL: ttl.Milliseconds(), HasTTL: true}
	var resp proto.Create2Response
	_, err := c.call(ctx, proto.OpCreateTTL, req, &resp, codeErr)
	return c.cli(resp.Path), resp.Stat, err
}

// Delete deletes a node if its version matches (-1 matches any).
func (c *Conn) Delete(ctx context.Context, path string, version int32) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	_, err := c.call(ctx, proto.OpDelete, &proto.PathVersionRequest{Path: c.srv(path), Version: version}, nil, codeErr)
	return err
}

func (c *Conn) exists(ctx context.Context, path string, watch bool, w Watcher) (proto.Stat, bool, error) {
	if err := ValidatePath(path); err != nil {
		return proto.Stat{}, false, err
	}
	var resp proto.StatResponse
	found := false
	_, err := c.call(ctx, proto.OpExists, &proto.PathWatchRequest{Path: c.srv(path), Watch: watch}, &resp, func(code proto.Err) error {
		found = code == proto.ErrOK
		if watch {
			switch code {
			case proto.ErrOK:
				c.watches.add(kindData, path, w)
			case proto.ErrNoNode:
				c.watches.add(kindExist, path, w)
			}
		}
		if code == proto.ErrNoNode {
			return nil
		}
		return codeErr(code)
	})
	if err != nil {
		return proto.Stat{}, false, err
	}
	return resp.Stat, found, nil
}

// Exists returns the node's Stat and whether it exists; with watch, it sets a
// watch for the default watcher (a data watch if the node exists, an exist
// watch if not).
func (c *Conn) Exists(ctx context.Context, path string, watch bool) (proto.Stat, bool, error) {
	return c.exists(ctx, path, watch, nil)
}

// ExistsW is Exists with a watch reported to w.
func (c *Conn) ExistsW(ctx context.Context, path string, w Watcher) (proto.Stat, bool, error) {
	return c.exists(ctx, path, true, w)
}

func (c *Conn) getData(ctx context.Context, path string, watch bool, w Watcher) ([]byte, proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return nil, proto.Stat{}, err
	}
	var resp proto.GetDataResponse
	_, err := c.call(ctx, proto.OpGetData, &proto.PathWatchRequest{Path: c.srv(path), Watch: watch}, &resp, func(code proto.Err) error {
		if watch && code == proto.ErrOK {
			c.watches.add(kindData, path, w)
		}
		return codeErr(code)
	})
	return resp.Data, resp.Stat, err
}

// GetData returns the node's data and Stat; with watch, it sets a data watch
// for the default watcher.
func (c *Conn) GetData(ctx context.Context, path string, watch bool) ([]byte, proto.Stat, error) {
	return c.getData(ctx, path, watch, nil)
}

// GetDataW is GetData with a watch reported to w.
func (c *Conn) GetDataW(ctx context.Context, path string, w Watcher) ([]byte, proto.Stat, error) {
	return c.getData(ctx, path, true, w)
}

// SetData replaces the node's data if its version matches (-1 matches any).
func (c *Conn) SetData(ctx context.Context, path string, data []byte, version int32) (proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return proto.Stat{}, err
	}
	var resp proto.StatResponse
	_, err := c.call(ctx, proto.OpSetData, &proto.SetDataRequest{Path: c.srv(path), Data: data, Version: version}, &resp, codeErr)
	return resp.Stat, err
}

// GetACL returns the node's ACL and Stat.
func (c *Conn) GetACL(ctx context.Context, path string) ([]proto.ACL, proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return nil, proto.Stat{}, err
	}
	var resp proto.GetACLResponse
	_, err := c.call(ctx, proto.OpGetACL, &proto.PathRequest{Path: c.srv(path)}, &resp, codeErr)
	return resp.ACL, resp.Stat, err
}

// SetACL replaces the node's ACL if its ACL version matches (-1 matches any).
func (c *Conn) SetACL(ctx context.Context, path string, acl []proto.ACL, version int32) (proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return proto.Stat{}, err
	}
	if err := validateACL(acl); err != nil {
		return proto.Stat{}, err
	}
	var resp proto.StatResponse
	_, err := c.call(ctx, proto.OpSetACL, &proto.SetACLRequest{Path: c.srv(path), ACL: acl, Version: version}, &resp, codeErr)
	return resp.Stat, err
}

func (c *Conn) children(ctx context.Context, path string, withStat, watch bool, w Watcher) ([]string, proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return nil, proto.Stat{}, err
	}
	op := proto.OpGetChildren
	if withStat {
		op = proto.OpGetChildren2
	}
	resp := proto.ChildrenResponse{WithStat: withStat}
	_, err := c.call(ctx, op, &proto.PathWatchRequest{Path: c.srv(path), Watch: watch}, &resp, func(code proto.Err) error {
		if watch && code == proto.ErrOK {
			c.watches.add(kindChild, path, w)
		}
		return codeErr(code)
	})
	return resp.Children, resp.Stat, err
}

// Children returns the names of the node's children (getChildren, in the
// server's order); with watch, it sets a child watch for the default watcher.
func (c *Conn) Children(ctx context.Context, path string, watch bool) ([]string, error) {
	ch, _, err := c.children(ctx, path, false, watch, nil)
	return ch, err
}

// ChildrenW is Children with a watch reported to w.
func (c *Conn) ChildrenW(ctx context.Context, path string, w Watcher) ([]string, error) {
	ch, _, err := c.children(ctx, path, false, true, w)
	return ch, err
}

// Children2 is Children that also returns the node's Stat (getChildren2).
func (c *Conn) Children2(ctx context.Context, path string, watch bool) ([]string, proto.Stat, error) {
	return c.children(ctx, path, true, watch, nil)
}

// Children2W is Children2 with a watch reported to w.
func (c *Conn) Children2W(ctx context.Context, path string, w Watcher) ([]string, proto.Stat, error) {
	return c.children(ctx, path, true, true, w)
}

// Sync waits until the server is as up to date as the leader; it returns
// the path the server echoes.
func (c *Conn) Sync(ctx context.Context, path string) (string, error) {
	if err := ValidatePath(path); err != nil {
		return "", err
	}
	var resp proto.PathResponse
	_, err := c.call(ctx, proto.OpSync, &proto.PathRequest{Path: c.srv(path)}, &resp, codeErr)
	return c.cli(resp.Path), err
}

// CreateOp is a create in a Multi (create, or createContainer for
// ModeContainer).
func CreateOp(path string, data []byte, acl []proto.ACL, mode proto.CreateMode) proto.MultiOp {
	op := proto.OpCreate
	if mode == proto.ModeContainer {
		op = proto.OpCreateContainer
	}
	return proto.MultiOp{Type: op, Req: &proto.CreateRequest{Path: path, Data: data, ACL: acl, Flags: mode}}
}

// Create2Op is a create in a Multi whose result carries the Stat.
func Create2Op(path string, data []byte, acl []proto.ACL, mode proto.CreateMode) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreate2, Req: &proto.CreateRequest{Path: path, Data: data, ACL: acl, Flags: mode}}
}

// CreateTTLOp is a createTTL in a Multi.
func CreateTTLOp(path string, data []byte, acl []proto.ACL, mode proto.CreateMode, ttl time.Duration) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCreateTTL, Req: &proto.CreateRequest{Path: path, Data: data, ACL: acl, Flags: mode, TTL: ttl.Milliseconds(), HasTTL: true}}
}

// DeleteOp is a delete in a Multi.
func DeleteOp(path string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpDelete, Req: &proto.PathVersionRequest{Path: path, Version: version}}
}

// SetDataOp is a setData in a Multi.
func SetDataOp(path string, data []byte, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: path, Data: data, Version: version}}
}

// CheckOp is a version check in a Multi.
func CheckOp(path string, version int32) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpCheck, Req: &proto.PathVersionRequest{Path: path, Version: version}}
}

// GetDataOp is a getData in a MultiRead.
func GetDataOp(path string) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpGetData, Req: &proto.PathWatchRequest{Path: path}}
}

// ChildrenOp is a getChildren in a MultiRead.
func ChildrenOp(path string) proto.MultiOp {
	return proto.MultiOp{Type: proto.OpGetChildren, Req: &proto.PathWatchRequest{Path: path}}
}

// opPath returns the path of a multi operation's request.
func opPath(op proto.MultiOp) (string, bool) {
	switch r := op.Req.(type) {
	case *proto.CreateRequest:
		return r.Path, r.Flags.Sequential()
	case *proto.PathVersionRequest:
		return r.Path, false
	case *proto.SetDataRequest:
		return r.Path, false
	case *proto.PathWatchRequest:
		return r.Path, false
	}
	return "", false
}

func (c *Conn) multi(ctx context.Context, op proto.OpCode, ops []proto.MultiOp) ([]proto.MultiResult, error) {
	for _, o := range ops {
		if o.Req == nil {
			return nil, &ArgError{Msg: fmt.Sprintf("multi operation %v without a request", o.Type)}
		}
		p, seq := opPath(o)
		if err := validateCreatePath(p, seq); err != nil {
			return nil, err
		}
	}
	if c.chroot != "" {
		ops = c.chrootOps(ops)
	}
	var resp proto.MultiResponse
	_, err := c.call(ctx, op, &proto.MultiRequest{Ops: ops}, &resp, codeErr)
	for i := range resp.Results {
		if resp.Results[i].Path != "" {
			resp.Results[i].Path = c.cli(resp.Results[i].Path)
		}
	}
	return resp.Results, err
}

// chrootOps returns copies of ops whose paths are under the chroot.
func (c *Conn) chrootOps(ops []proto.MultiOp) []proto.MultiOp {
	out := make([]proto.MultiOp, len(ops))
	for i, o := range ops {
		switch r := o.Req.(type) {
		case *proto.CreateRequest:
			cp := *r
			cp.Path = c.srv(r.Path)
			o.Req = &cp
		case *proto.PathVersionRequest:
			cp := *r
			cp.Path = c.srv(r.Path)
			o.Req = &cp
		case *proto.SetDataRequest:
			cp := *r
			cp.Path = c.srv(r.Path)
			o.Req = &cp
		case *proto.PathWatchRequest:
			cp := *r
			cp.Path = c.srv(r.Path)
			o.Req = &cp
		}
		out[i] = o
	}
	return out
}

// Multi runs write operations atomically (multi) and returns one result per
// operation. If the transaction failed, the error is the first operation
// error (the results then hold ErrOK for the operations before the failing
// one and ErrRuntimeInconsistency after it, with Type proto.OpError).
func (c *Conn) Multi(ctx context.Context, ops ...proto.MultiOp) ([]proto.MultiResult, error) {
	res, err := c.multi(ctx, proto.OpMulti, ops)
	if err != nil {
		return res, err
	}
	for _, r := range res {
		if r.Type == proto.OpError && r.Err != proto.ErrOK {
			return res, r.Err
		}
	}
	return res, nil
}

// MultiRead runs read operations (GetDataOp, ChildrenOp) in one request;
// each result carries its own error (Type proto.OpError).
func (c *Conn) MultiRead(ctx context.Context, ops ...proto.MultiOp) ([]proto.MultiResult, error) {
	return c.multi(ctx, proto.OpMultiRead, ops)
}

// Check fails with proto.ErrBadVersion unless the node's version matches
// (a multi holding one check).
func (c *Conn) Check(ctx context.Context, path string, version int32) error {
	_, err := c.Multi(ctx, CheckOp(path, version))
	return err
}

// AddAuth adds an identity to the session (for example scheme "digest",
// auth "user:password"). The server refuses bad credentials with
// proto.ErrAuthFailed and closes the connection.
func (c *Conn) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	_, err := c.call(ctx, proto.OpAuth, &proto.AuthPacket{Type: 0, Scheme: scheme, Auth: auth}, nil, codeErr)
	return err
}

// AddWatch adds a persistent (proto.AddWatchPersistent) or persistent
// recursive (proto.AddWatchPersistentRecursive) watch on path, reported to w,
// or to the default watcher if w is nil.
func (c *Conn) AddWatch(ctx context.Context, path string, mode int32, w Watcher) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	kind := kindPersistent
	switch mode {
	case proto.AddWatchPersistent:
	case proto.AddWatchPersistentRecursive:
		kind = kindRecursive
	default:
		return &ArgError{Msg: fmt.Sprintf("invalid addWatch mode %d", mode)}
	}
	_, err := c.call(ctx, proto.OpAddWatch, &proto.AddWatchRequest{Path: c.srv(path), Mode: mode}, nil, func(code proto.Err) error {
		if code == proto.ErrOK {
			c.watches.add(kind, path, w)
		}
		return codeErr(code)
	})
	return err
}

// RemoveWatches removes every watch of type t on path, on the server and
// here; the watchers removed get a DataWatchRemoved, ChildWatchRemoved or
// PersistentWatchRemoved event. With local, the watches are removed here
// even if the server could not be asked (but not if it answered NoWatcher).
// It fails with proto.ErrNoWatcher if there was nothing to remove.
func (c *Conn) RemoveWatches(ctx context.Context, path string, t proto.WatcherType, local bool) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	removeHere := func(code proto.Err) error {
		if code != proto.ErrOK && (!local || code == proto.ErrNoWatcher) {
			return code
		}
		ds := c.watches.remove(path, t)
		if len(ds) == 0 {
			return proto.ErrNoWatcher
		}
		for _, d := range ds {
			c.dispatch.put(d)
		}
		return nil
	}
	_, err := c.call(ctx, proto.OpRemoveWatches, &proto.WatchesRequest{Path: c.srv(path), Type: t}, nil, removeHere)
	if err != nil && local {
		select {
		case <-c.done:
			return removeHere(proto.ErrConnectionLoss)
		default:
		}
	}
	return err
}

// CheckWatches asks the server whether it holds a watch of type t on path
// (proto.ErrNoWatcher if not); nothing changes.
func (c *Conn) CheckWatches(ctx context.Context, path string, t proto.WatcherType) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	_, err := c.call(ctx, proto.OpCheckWatches, &proto.WatchesRequest{Path: c.srv(path), Type: t}, nil, codeErr)
	return err
}

// GetEphemerals returns the paths of the session's ephemeral nodes that start
// with prefix (a plain string prefix; "/" for all). As in the Java client,
// prefix and results are server paths: the chroot does not apply.
func (c *Conn) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	if err := ValidatePath(prefix); err != nil {
		return nil, err
	}
	var resp proto.StringsResponse
	_, err := c.call(ctx, proto.OpGetEphemerals, &proto.PathRequest{Path: prefix}, &resp, codeErr)
	return resp.Values, err
}

// GetAllChildrenNumber returns the number of descendants of path.
func (c *Conn) GetAllChildrenNumber(ctx context.Context, path string) (int32, error) {
	if err := ValidatePath(path); err != nil {
		return 0, err
	}
	var resp proto.IntResponse
	_, err := c.call(ctx, proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: c.srv(path)}, &resp, codeErr)
	return resp.Value, err
}

// WhoAmI returns the session's identities.
func (c *Conn) WhoAmI(ctx context.Context) ([]proto.ClientInfo, error) {
	var resp proto.WhoAmIResponse
	_, err := c.call(ctx, proto.OpWhoAmI, nil, &resp, codeErr)
	return resp.Infos, err
}
