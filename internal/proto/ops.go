package proto

import "fmt"

// OpInfo is what gozk knows of one opcode, in one place: its name (as
// ZooKeeper's Request.op2String prints it), its abbreviation in the cons
// four-letter word, whether it changes state (and so goes through the
// replicated log), whether a client may send it, and the record its request
// carries.
type OpInfo struct {
	Name   string
	Abbrev string
	Write  bool
	Client bool
	// New returns an empty request record; nil for opcodes without a body.
	New func() Record
}

var ops = map[OpCode]OpInfo{
	OpNotification:         {Name: "notification"},
	OpCreate:               {Name: "create", Abbrev: "CREA", Write: true, Client: true, New: newCreate},
	OpDelete:               {Name: "delete", Abbrev: "DELE", Write: true, Client: true, New: newPathVersion},
	OpExists:               {Name: "exists", Abbrev: "EXIS", Client: true, New: newPathWatch},
	OpGetData:              {Name: "getData", Abbrev: "GETD", Client: true, New: newPathWatch},
	OpSetData:              {Name: "setData", Abbrev: "SETD", Write: true, Client: true, New: func() Record { return &SetDataRequest{} }},
	OpGetACL:               {Name: "getACL", Abbrev: "GETA", Client: true, New: newPath},
	OpSetACL:               {Name: "setACL", Abbrev: "SETA", Write: true, Client: true, New: func() Record { return &SetACLRequest{} }},
	OpGetChildren:          {Name: "getChildren", Abbrev: "GETC", Client: true, New: newPathWatch},
	OpSync:                 {Name: "sync", Abbrev: "SYNC", Client: true, New: newPath},
	OpPing:                 {Name: "ping", Abbrev: "PING", Client: true},
	OpGetChildren2:         {Name: "getChildren2", Abbrev: "GETC", Client: true, New: newPathWatch},
	OpCheck:                {Name: "check", Abbrev: "CHEC", Write: true, Client: true, New: newPathVersion},
	OpMulti:                {Name: "multi", Abbrev: "MULT", Write: true, Client: true, New: newMulti},
	OpCreate2:              {Name: "create2", Abbrev: "CREA", Write: true, Client: true, New: newCreate},
	OpReconfig:             {Name: "reconfig", Abbrev: "RECO"}, // answered RECONFIGDISABLED by the server
	OpCheckWatches:         {Name: "checkWatches", Abbrev: "CHKW", Client: true, New: newWatches},
	OpRemoveWatches:        {Name: "removeWatches", Abbrev: "REMW", Client: true, New: newWatches},
	OpCreateContainer:      {Name: "createContainer", Abbrev: "CREA", Write: true, Client: true, New: newCreate},
	OpDeleteContainer:      {Name: "deleteContainer", Write: true, New: newPath},
	OpCreateTTL:            {Name: "createTTL", Abbrev: "CREA", Write: true, Client: true, New: func() Record { return &CreateRequest{HasTTL: true} }},
	OpMultiRead:            {Name: "multiRead", Abbrev: "MLTR", Client: true, New: newMulti},
	OpAuth:                 {Name: "auth", Abbrev: "AUTH", Client: true, New: func() Record { return &AuthPacket{} }},
	OpSetWatches:           {Name: "setWatches", Abbrev: "SETW", Client: true, New: func() Record { return &SetWatches{} }},
	OpSASL:                 {Name: "sasl"},
	OpGetEphemerals:        {Name: "getEphemerals", Abbrev: "GETE", Client: true, New: newPath},
	OpGetAllChildrenNumber: {Name: "getAllChildrenNumber", Abbrev: "GETACN", Client: true, New: newPath},
	OpSetWatches2:          {Name: "setWatches2", Abbrev: "STW2", Client: true, New: func() Record { return &SetWatches{V2: true} }},
	OpAddWatch:             {Name: "addWatch", Abbrev: "ADDW", Client: true, New: func() Record { return &AddWatchRequest{} }},
	OpWhoAmI:               {Name: "whoAmI", Abbrev: "HOMI", Client: true},
	OpCreateSession:        {Name: "createSession", Abbrev: "SESS", Write: true},
	OpCloseSession:         {Name: "closeSession", Abbrev: "CLOS", Write: true, Client: true},
	OpError:                {Name: "error"},
}

func newCreate() Record      { return &CreateRequest{} }
func newPathVersion() Record { return &PathVersionRequest{} }
func newPathWatch() Record   { return &PathWatchRequest{} }
func newPath() Record        { return &PathRequest{} }
func newMulti() Record       { return &MultiRequest{} }
func newWatches() Record     { return &WatchesRequest{} }

// Info returns what is known of op, and whether it is an opcode at all.
func Info(op OpCode) (OpInfo, bool) {
	i, ok := ops[op]
	return i, ok
}

// NewRequest returns an empty request record for op, or nil for opcodes that
// carry no body (ping, closeSession, whoAmI) or are unknown (Known tells the
// two apart).
func NewRequest(op OpCode) Record {
	if i := ops[op]; i.New != nil {
		return i.New()
	}
	return nil
}

// Known reports whether op is a client opcode gozk serves.
func Known(op OpCode) bool { return ops[op].Client }

// IsWrite reports whether op changes state and therefore goes through the
// replicated log.
func IsWrite(op OpCode) bool { return ops[op].Write }

// Abbrev is op's abbreviation in the cons four-letter word ("NA" if none).
func (o OpCode) Abbrev() string {
	if a := ops[o].Abbrev; a != "" {
		return a
	}
	return "NA"
}

func (o OpCode) String() string {
	if i, ok := ops[o]; ok {
		return i.Name
	}
	return fmt.Sprintf("op(%d)", int32(o))
}
