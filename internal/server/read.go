package server

import (
	"context"
	"strings"

	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replica"
)

// read answers a read request from the in-memory state. The read, its ACL check
// and its watch registration happen under the state lock, so no write slips
// between them.
func (s *Server) read(c *conn, it *item) (int64, proto.Err, proto.Record) {
	if it.hdr.Type == proto.OpSync {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		err := s.repl.ReadIndex(ctx)
		cancel()
		if err != nil {
			return s.rep.Zxid(), proto.ErrConnectionLoss, nil
		}
		return s.rep.Zxid(), proto.ErrOK, &proto.PathResponse{Path: it.req.(*proto.PathRequest).Path}
	}
	var zxid int64
	var e proto.Err
	var resp proto.Record
	s.rep.Read(func(v replica.View) {
		zxid = v.FSM.Zxid()
		if !c.local && v.FSM.Session(c.sessionID()) == nil {
			e = proto.ErrSessionExpired
			return
		}
		e, resp = s.readView(v, c, it)
	})
	return zxid, e, resp
}

// reader answers one read opcode from a View.
type reader func(s *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record)

// readers holds the reader of every read opcode; one not here is
// UNIMPLEMENTED.
var readers = map[proto.OpCode]reader{
	proto.OpExists:               readExists,
	proto.OpGetData:              readGetData,
	proto.OpGetChildren:          readChildren,
	proto.OpGetChildren2:         readChildren,
	proto.OpGetACL:               readACL,
	proto.OpGetAllChildrenNumber: readAllChildrenNumber,
	proto.OpGetEphemerals:        readEphemerals,
	proto.OpMultiRead:            readMulti,
	proto.OpAddWatch:             readAddWatch,
	proto.OpCheckWatches:         readCheckWatches,
	proto.OpRemoveWatches:        readRemoveWatches,
	proto.OpSetWatches:           readSetWatches,
	proto.OpSetWatches2:          readSetWatches,
	proto.OpWhoAmI:               readWhoAmI,
}

func (s *Server) readView(v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	if rd := readers[it.hdr.Type]; rd != nil {
		return rd(s, v, c, it)
	}
	return proto.ErrUnimplemented, nil
}

func readExists(s *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	r := it.req.(*proto.PathWatchRequest)
	resp, e := v.FSM.Exists(r.Path, it.auth, !s.opts.ExistsSkipsACL)
	if r.Watch && (e == proto.ErrOK || e == proto.ErrNoNode) {
		v.WatchData(r.Path, c.id)
	}
	return e, resp
}

func readGetData(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	r := it.req.(*proto.PathWatchRequest)
	resp, e := v.FSM.GetData(r.Path, it.auth)
	if r.Watch && e == proto.ErrOK {
		v.WatchData(r.Path, c.id)
	}
	return e, resp
}

func readChildren(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	r := it.req.(*proto.PathWatchRequest)
	resp, e := v.FSM.Children(r.Path, it.auth, it.hdr.Type == proto.OpGetChildren2)
	if r.Watch && e == proto.ErrOK {
		v.WatchChildren(r.Path, c.id)
	}
	return e, resp
}

func readACL(_ *Server, v replica.View, _ *conn, it *item) (proto.Err, proto.Record) {
	return errRec(v.FSM.GetACL(it.req.(*proto.PathRequest).Path, it.auth))
}

func readAllChildrenNumber(_ *Server, v replica.View, _ *conn, it *item) (proto.Err, proto.Record) {
	return errRec(v.FSM.AllChildrenNumber(it.req.(*proto.PathRequest).Path, it.auth))
}

func readEphemerals(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	return proto.ErrOK, v.FSM.Ephemerals(c.sessionID(), it.req.(*proto.PathRequest).Path)
}

func readMulti(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	return proto.ErrOK, multiRead(v, c, it)
}

func readAddWatch(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	r := it.req.(*proto.AddWatchRequest)
	if r.Mode != proto.AddWatchPersistent && r.Mode != proto.AddWatchPersistentRecursive {
		return proto.ErrBadArguments, nil
	}
	v.WatchPersistent(r.Path, c.id, r.Mode == proto.AddWatchPersistentRecursive)
	return proto.ErrOK, &proto.IntResponse{Value: 0}
}

func readCheckWatches(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	r := it.req.(*proto.WatchesRequest)
	if !v.HasWatch(r.Path, c.id, r.Type) {
		return proto.ErrNoWatcher, nil
	}
	return proto.ErrOK, nil
}

func readRemoveWatches(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	r := it.req.(*proto.WatchesRequest)
	if !v.RemoveWatch(r.Path, c.id, r.Type) {
		return proto.ErrNoWatcher, nil
	}
	return proto.ErrOK, nil
}

func readSetWatches(_ *Server, v replica.View, c *conn, it *item) (proto.Err, proto.Record) {
	v.SetWatches(it.req.(*proto.SetWatches), c.id, func(typ proto.EventType, path string) {
		c.sendEvent(-1, &proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path})
	})
	return proto.ErrOK, nil
}

func readWhoAmI(_ *Server, _ replica.View, _ *conn, it *item) (proto.Err, proto.Record) {
	return proto.ErrOK, whoAmI(it.auth)
}

// errRec adapts a typed (response, error) pair.
func errRec[T proto.Record](r T, e proto.Err) (proto.Err, proto.Record) {
	if e != proto.ErrOK {
		return e, nil
	}
	return e, r
}

func multiRead(v replica.View, c *conn, it *item) *proto.MultiResponse {
	m := it.req.(*proto.MultiRequest)
	out := &proto.MultiResponse{Results: make([]proto.MultiResult, 0, len(m.Ops))}
	for _, op := range m.Ops {
		r := op.Req.(*proto.PathWatchRequest)
		res := proto.MultiResult{Type: op.Type}
		switch op.Type {
		case proto.OpGetData:
			d, e := v.FSM.GetData(r.Path, it.auth)
			if e != proto.ErrOK {
				res = proto.MultiResult{Type: proto.OpError, Err: e}
				break
			}
			res.Data, res.Stat = d.Data, d.Stat
			if r.Watch {
				v.WatchData(r.Path, c.id)
			}
		case proto.OpGetChildren:
			ch, e := v.FSM.Children(r.Path, it.auth, false)
			if e != proto.ErrOK {
				res = proto.MultiResult{Type: proto.OpError, Err: e}
				break
			}
			res.Children = ch.Children
			if r.Watch {
				v.WatchChildren(r.Path, c.id)
			}
		}
		out.Results = append(out.Results, res)
	}
	return out
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
