package server

import (
	"fmt"

	"github.com/gozk/gozk/internal/acl"
	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// decode turns a request frame into a pipeline item; false closes the connection.
func (c *conn) decode(r *jute.Reader, it *item) bool {
	op := it.hdr.Type
	switch op {
	case proto.OpPing:
		it.kind = kindPing
		return true
	case proto.OpAuth:
		return c.authenticate(r, it)
	case proto.OpCloseSession:
		if c.local {
			it.kind, it.err, it.close = kindReply, proto.ErrOK, true
			return true
		}
		return c.submit(it, &fsm.Entry{Op: op, Session: c.sessionID()}, true)
	case proto.OpWhoAmI:
		it.kind, it.auth = kindRead, c.authIDs()
		return true
	case proto.OpReconfig:
		// Dynamic reconfiguration is off, as with ZooKeeper's default
		// reconfigEnabled=false; a request it cannot read is still
		// MARSHALLINGERROR first.
		it.kind, it.err = kindReply, proto.ErrReconfigDisabled
		_, _, _ = r.String(), r.String(), r.String() // joining, leaving, new members
		_ = r.Long()                                 // curConfigId
		if r.Err() != nil {
			it.err = proto.ErrMarshallingError
		}
		return true
	case proto.OpDeleteContainer:
		// The container sweeper's own opcode: a client may not send it
		// (it would remove containers without any ACL check). ZooKeeper
		// reads its body as a bare path, which no client sends, and answers
		// BADARGUMENTS.
		c.log.Warn("a client sent deleteContainer; refused", "xid", it.hdr.Xid)
		it.kind, it.err = kindReply, proto.ErrBadArguments
		return true
	case proto.OpCreateSession:
		// A second ConnectRequest on a connection with a session.
		c.log.Warn("createSession on a connection that has a session; closing", "xid", it.hdr.Xid)
		return false
	case proto.OpSASL:
		c.log.Warn("SASL authentication is not configured; closing", "xid", it.hdr.Xid)
		return false
	}
	rec := proto.NewRequest(op)
	if rec == nil {
		// ZooKeeper answers UNIMPLEMENTED (with zxid -1) and closes.
		c.log.Warn("unknown opcode; closing", "op", int32(op), "xid", it.hdr.Xid)
		it.kind, it.err, it.close = kindReply, proto.ErrUnimplemented, true
		return true
	}
	rec.Decode(r)
	if err := r.Err(); err == nil {
		err = checkMulti(op, rec)
		if err != nil {
			r.Fail(err)
		}
	}
	if err := r.Err(); err != nil {
		c.log.Warn("malformed request", "op", op.String(), "xid", it.hdr.Xid, "err", err)
		it.kind, it.err = kindReply, proto.ErrMarshallingError
		return true
	}
	it.req = rec
	if proto.IsWrite(op) {
		return c.submit(it, &fsm.Entry{Op: op, Session: c.sessionID(), Auth: c.authIDs(), Req: rec}, false)
	}
	it.kind, it.auth = kindRead, c.authIDs()
	return true
}

// checkMulti rejects sub-operations of the wrong kind: multi takes writes,
// multiRead takes getData and getChildren.
func checkMulti(op proto.OpCode, rec proto.Record) error {
	m, ok := rec.(*proto.MultiRequest)
	if !ok {
		return nil
	}
	for _, sub := range m.Ops {
		read := sub.Type == proto.OpGetData || sub.Type == proto.OpGetChildren
		if read != (op == proto.OpMultiRead) {
			return fmt.Errorf("operation %v not allowed in %v", sub.Type, op)
		}
	}
	return nil
}

func (c *conn) authenticate(r *jute.Reader, it *item) bool {
	var ap proto.AuthPacket
	ap.Decode(r)
	it.kind = kindReply
	if r.Err() != nil {
		// ZooKeeper closes such a connection without an answer.
		c.log.Warn("malformed auth packet; closing", "err", r.Err())
		return false
	}
	ids, err := acl.Authenticate(ap.Scheme, ap.Auth, c.s.opts.SuperDigest)
	if err != nil {
		c.log.Warn("authentication failed; closing", "scheme", ap.Scheme, "err", err)
		it.err, it.close = proto.ErrAuthFailed, true
		return true
	}
	c.addAuth(ids)
	it.err = proto.ErrOK
	return true
}
