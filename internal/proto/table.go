package proto

// NewRequest returns an empty request record for a client opcode, or nil for
// opcodes that carry no body (ping, closeSession, whoAmI) or are unknown
// (Known tells the two apart).
func NewRequest(op OpCode) Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateRequest{HasTTL: true}
	case OpDelete, OpCheck:
		return &PathVersionRequest{}
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		return &PathWatchRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpGetACL, OpSync, OpGetAllChildrenNumber, OpGetEphemerals:
		return &PathRequest{}
	case OpSetACL:
		return &SetACLRequest{}
	case OpMulti, OpMultiRead:
		return &MultiRequest{}
	case OpCheckWatches, OpRemoveWatches:
		return &WatchesRequest{}
	case OpAddWatch:
		return &AddWatchRequest{}
	case OpSetWatches:
		return &SetWatches{}
	case OpSetWatches2:
		return &SetWatches{V2: true}
	case OpAuth:
		return &AuthPacket{}
	}
	return nil
}

// Known reports whether op is a client opcode gozk serves.
func Known(op OpCode) bool {
	switch op {
	case OpPing, OpCloseSession, OpWhoAmI:
		return true
	}
	return NewRequest(op) != nil
}

// IsWrite reports whether op changes state and therefore goes through the
// replicated log.
func IsWrite(op OpCode) bool {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpSetData,
		OpSetACL, OpCheck, OpMulti, OpCloseSession, OpCreateSession, OpDeleteContainer:
		return true
	}
	return false
}
