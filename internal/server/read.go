package server

import (
	"context"
	"strings"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
)

func (s *Server) lastZxid() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.Zxid()
}

// sessionFor returns the logged session with this id, or nil.
func (s *Server) sessionFor(id int64) *fsm.Session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.Session(id)
}

// read answers a read request from the in-memory state. The read, its ACL check
// and its watch registration happen under the state lock, so no write slips
// between them.
func (s *Server) read(c *conn, it *item) (int64, proto.Err, proto.Record) {
	if it.hdr.Type == proto.OpSync {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := s.repl.ReadIndex(ctx)
		cancel()
		if err != nil {
			return s.lastZxid(), proto.ErrConnectionLoss, nil
		}
		return s.lastZxid(), proto.ErrOK, &proto.PathResponse{Path: it.req.(*proto.PathRequest).Path}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	zxid := s.fsm.Zxid()
	if !c.local && s.fsm.Session(c.sessionID()) == nil {
		return zxid, proto.ErrSessionExpired, nil
	}
	e, resp := s.readLocked(c, it)
	return zxid, e, resp
}

func (s *Server) readLocked(c *conn, it *item) (proto.Err, proto.Record) {
	f := s.fsm
	switch it.hdr.Type {
	case proto.OpExists:
		r := it.req.(*proto.PathWatchRequest)
		resp, e := f.Exists(r.Path, it.auth, !s.opts.ExistsSkipsACL)
		if r.Watch && (e == proto.ErrOK || e == proto.ErrNoNode) {
			s.watch.AddData(r.Path, c.id)
		}
		return e, resp
	case proto.OpGetData:
		r := it.req.(*proto.PathWatchRequest)
		resp, e := f.GetData(r.Path, it.auth)
		if r.Watch && e == proto.ErrOK {
			s.watch.AddData(r.Path, c.id)
		}
		return e, resp
	case proto.OpGetChildren, proto.OpGetChildren2:
		r := it.req.(*proto.PathWatchRequest)
		resp, e := f.Children(r.Path, it.auth, it.hdr.Type == proto.OpGetChildren2)
		if r.Watch && e == proto.ErrOK {
			s.watch.AddChild(r.Path, c.id)
		}
		return e, resp
	case proto.OpGetACL:
		return errRec(f.GetACL(it.req.(*proto.PathRequest).Path, it.auth))
	case proto.OpGetAllChildrenNumber:
		return errRec(f.AllChildrenNumber(it.req.(*proto.PathRequest).Path, it.auth))
	case proto.OpGetEphemerals:
		return proto.ErrOK, f.Ephemerals(c.sessionID(), it.req.(*proto.PathRequest).Path)
	case proto.OpMultiRead:
		return proto.ErrOK, s.multiRead(c, it)
	case proto.OpAddWatch:
		r := it.req.(*proto.AddWatchRequest)
		if r.Mode != proto.AddWatchPersistent && r.Mode != proto.AddWatchPersistentRecursive {
			return proto.ErrBadArguments, nil
		}
		s.watch.AddPersistent(r.Path, c.id, r.Mode == proto.AddWatchPersistentRecursive)
		return proto.ErrOK, &proto.IntResponse{Value: 0}
	case proto.OpCheckWatches:
		r := it.req.(*proto.WatchesRequest)
		if !s.watch.Has(r.Path, c.id, r.Type) {
			return proto.ErrNoWatcher, nil
		}
		return proto.ErrOK, nil
	case proto.OpRemoveWatches:
		r := it.req.(*proto.WatchesRequest)
		if !s.watch.Remove(r.Path, c.id, r.Type) {
			return proto.ErrNoWatcher, nil
		}
		return proto.ErrOK, nil
	case proto.OpSetWatches, proto.OpSetWatches2:
		s.setWatches(c, it.req.(*proto.SetWatches))
		return proto.ErrOK, nil
	case proto.OpWhoAmI:
		return proto.ErrOK, whoAmI(it.auth)
	}
	return proto.ErrUnimplemented, nil
}

// errRec adapts a typed (response, error) pair.
func errRec[T proto.Record](r T, e proto.Err) (proto.Err, proto.Record) {
	if e != proto.ErrOK {
		return e, nil
	}
	return e, r
}

func (s *Server) multiRead(c *conn, it *item) *proto.MultiResponse {
	m := it.req.(*proto.MultiRequest)
	out := &proto.MultiResponse{Results: make([]proto.MultiResult, 0, len(m.Ops))}
	for _, op := range m.Ops {
		r := op.Req.(*proto.PathWatchRequest)
		res := proto.MultiResult{Type: op.Type}
		switch op.Type {
		case proto.OpGetData:
			d, e := s.fsm.GetData(r.Path, it.auth)
			if e != proto.ErrOK {
				res = proto.MultiResult{Type: proto.OpError, Err: e}
				break
			}
			res.Data, res.Stat = d.Data, d.Stat
			if r.Watch {
				s.watch.AddData(r.Path, c.id)
			}
		case proto.OpGetChildren:
			ch, e := s.fsm.Children(r.Path, it.auth, false)
			if e != proto.ErrOK {
				res = proto.MultiResult{Type: proto.OpError, Err: e}
				break
			}
			res.Children = ch.Children
			if r.Watch {
				s.watch.AddChild(r.Path, c.id)
			}
		}
		out.Results = append(out.Results, res)
	}
	return out
}

// setWatches re-registers a reconnecting client's watches, first firing those
// whose condition already changed since relativeZxid (ZooKeeper's
// DataTree.setWatches).
func (s *Server) setWatches(c *conn, r *proto.SetWatches) {
	t := s.fsm.Tree()
	fire := func(typ proto.EventType, path string) {
		c.sendEvent(-1, &proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path})
	}
	for _, p := range r.DataWatches {
		switch n := t.Get(p); {
		case n == nil:
			fire(proto.EventNodeDeleted, p)
		case n.Mzxid > r.RelativeZxid:
			fire(proto.EventNodeDataChanged, p)
		default:
			s.watch.AddData(p, c.id)
		}
	}
	for _, p := range r.ExistWatches {
		if t.Get(p) != nil {
			fire(proto.EventNodeCreated, p)
		} else {
			s.watch.AddData(p, c.id)
		}
	}
	for _, p := range r.ChildWatches {
		switch n := t.Get(p); {
		case n == nil:
			fire(proto.EventNodeDeleted, p)
		case n.Pzxid > r.RelativeZxid:
			fire(proto.EventNodeChildrenChanged, p)
		default:
			s.watch.AddChild(p, c.id)
		}
	}
	for _, p := range r.PersistentWatches {
		s.watch.AddPersistent(p, c.id, false)
	}
	for _, p := range r.RecursiveWatches {
		s.watch.AddPersistent(p, c.id, true)
	}
}

func whoAmI(ids []proto.ID) *proto.WhoAmIResponse {
	out := &proto.WhoAmIResponse{Infos: make([]proto.ClientInfo, 0, len(ids))}
	for _, id := range ids {
		user := id.ID
		if id.Scheme == "digest" {
			if i := strings.IndexByte(user, ':'); i >= 0 {
				user = user[:i]
			}
		}
		out.Infos = append(out.Infos, proto.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}
