package fsm

import (
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/tree"
)

// createPlan is how one create request is carried out. In ZooKeeper 3.8 the
// opcode and the flags (the create mode) each decide part of the outcome, and
// which decides what depends on whether the create is inside a multi.
//
// Alone, the opcode decides the transaction and so the node type:
// createContainer makes a container and createTTL a TTL node whatever the
// flags, create and create2 an ephemeral node when the flags say ephemeral and
// a persistent one otherwise (CONTAINER, flag 4, makes a persistent node). The
// result follows the opcode: create answers the path, the others the path and
// the Stat. The flags decide the sequential suffix and the checks: an unknown
// mode is BADARGUMENTS; a TTL mode is UNIMPLEMENTED without
// extendedTypesEnabled; the ttl, -1 unless the opcode is createTTL, must be
// within 1..tree.MaxTTL for a TTL mode and negative for any other mode
// (BADARGUMENTS).
//
// Inside a multi, ZooKeeper rebuilds every create from its flags
// (MultiOperationRecord.deserialize calls Op.create, whose opcode comes from
// CreateMode.fromFlag(flags, PERSISTENT)): a TTL mode becomes createTTL,
// CONTAINER becomes createContainer, and anything else, invalid modes
// included, becomes create. Only the record still follows the wire opcode,
// and only a createTTL record carries a ttl: a non-TTL mode drops it (the ttl
// is -1), and a TTL mode in a record without one fails the whole multi with
// MARSHALLINGERROR (ZooKeeper's PrepRequestProcessor casts the record to a
// CreateTTLRequest and reports the ClassCastException so, unless an earlier
// operation of the multi has already failed). The result follows the rebuilt
// opcode: create answers the path alone, createContainer and createTTL the
// path and the Stat (a create2 result).
//
// One combination ZooKeeper does not survive: createTTL alone with a valid
// non-TTL mode and a negative ttl passes every check, and applying its
// CreateTTLTxn throws (EphemeralType.TTL.toEphemeralOwner), which stops the
// server. gozk answers BADARGUMENTS instead, after every other check, where
// ZooKeeper would fail (lateErr).
type createPlan struct {
	op      proto.OpCode     // effective opcode (ZooKeeper's transaction type)
	result  proto.OpCode     // OpCreate: the result is the path; OpCreate2: path and Stat
	mode    proto.CreateMode // the flags: sequential suffix and checks
	ttl     int64            // -1 unless op is OpCreateTTL
	kind    tree.Kind        // the node made
	err     proto.Err        // refused before any other check
	lateErr proto.Err        // refused after every other check
	whole   bool             // err fails the whole multi (MARSHALLINGERROR), not just this operation
}

// planCreate applies the rule above to a create with wire opcode op (create,
// create2, createContainer or createTTL), flags and, for createTTL, the ttl
// of the record. extended is extendedTypesEnabled.
func planCreate(op proto.OpCode, flags proto.CreateMode, ttl int64, inMulti, extended bool) createPlan {
	p := createPlan{op: op, mode: flags, ttl: -1, err: proto.ErrOK, lateErr: proto.ErrOK}
	if op == proto.OpCreateTTL {
		p.ttl = ttl
	}
	if inMulti {
		switch {
		case flags.TTL():
			if op != proto.OpCreateTTL {
				// A TTL mode in a record without a ttl.
				p.err, p.whole = proto.ErrMarshallingError, true
				return p
			}
			p.op = proto.OpCreateTTL
		case flags == proto.ModeContainer:
			p.op, p.ttl = proto.OpCreateContainer, -1
		default:
			p.op, p.ttl = proto.OpCreate, -1
		}
		p.result = proto.OpCreate
		if p.op != proto.OpCreate {
			p.result = proto.OpCreate2
		}
	} else {
		p.result = proto.OpCreate2
		if op == proto.OpCreate {
			p.result = proto.OpCreate
		}
	}
	validTTL := p.ttl > 0 && p.ttl <= tree.MaxTTL
	switch {
	case !flags.Valid():
		p.err = proto.ErrBadArguments
	case flags.TTL() && !extended:
		p.err = proto.ErrUnimplemented
	case flags.TTL() && !validTTL, !flags.TTL() && p.ttl >= 0:
		p.err = proto.ErrBadArguments
	}
	switch {
	case p.op == proto.OpCreateContainer:
		p.kind = tree.Container
	case p.op == proto.OpCreateTTL:
		p.kind = tree.TTL
		if !validTTL {
			p.lateErr = proto.ErrBadArguments
		}
	case flags.Ephemeral():
		p.kind = tree.Ephemeral
	default:
		p.kind = tree.Persistent
	}
	return p
}

// owner returns the raw ephemeralOwner of the node the plan makes for session.
func (p *createPlan) owner(session int64) int64 {
	switch p.kind {
	case tree.Container:
		return tree.ContainerOwner
	case tree.TTL:
		return tree.TTLOwner(p.ttl)
	case tree.Ephemeral:
		return session
	}
	return 0
}

// isCreate reports whether op is one of the four create opcodes.
func isCreate(op proto.OpCode) bool {
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return true
	}
	return false
}
