package proto

import (
	"fmt"

	"github.com/gozk/gozk/internal/jute"
)

// MultiOp is one operation of a multi or multiRead request. Req is a
// *CreateRequest (create, create2, createContainer, createTTL), *PathVersionRequest
// (delete, check), *SetDataRequest (setData) or *PathWatchRequest (getData,
// getChildren in multiRead).
type MultiOp struct {
	Type OpCode
	Req  Record
}

// MultiRequest is a multi (or multiRead) request.
type MultiRequest struct {
	Ops []MultiOp
}

// maxMultiOps bounds the operations decoded from one request; every op takes at
// least a 9-byte header, so a frame under jute.maxbuffer holds far fewer.
const maxMultiOps = 1 << 20

// NewMultiOpRecord returns an empty request record for a multi sub-operation type,
// or nil if the type may not appear in a multi.
func NewMultiOpRecord(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateRequest{HasTTL: true}
	case OpDelete, OpCheck:
		return &PathVersionRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpGetData, OpGetChildren:
		return &PathWatchRequest{}
	}
	return nil
}

func (m *MultiRequest) Encode(w *jute.Writer) {
	for _, op := range m.Ops {
		h := MultiHeader{Type: op.Type, Done: false, Err: -1}
		h.Encode(w)
		op.Req.Encode(w)
	}
	h := MultiHeader{Type: -1, Done: true, Err: -1}
	h.Encode(w)
}

// Decode reads operations until the terminating header. An unknown sub-operation
// type fails the reader with an error.
func (m *MultiRequest) Decode(r *jute.Reader) {
	m.Ops = m.Ops[:0]
	for r.Err() == nil {
		var h MultiHeader
		h.Decode(r)
		if r.Err() != nil || h.Done {
			return
		}
		rec := NewMultiOpRecord(h.Type)
		if rec == nil || len(m.Ops) >= maxMultiOps {
			r.Fail(fmt.Errorf("proto: invalid multi operation %v", h.Type))
			return
		}
		rec.Decode(r)
		m.Ops = append(m.Ops, MultiOp{Type: h.Type, Req: rec})
	}
}

// MultiResult is the result of one operation of a multi or multiRead. Type is the
// operation's opcode, or OpError with Err set.
type MultiResult struct {
	Type     OpCode
	Err      Err
	Path     string   // create, create2, createContainer, createTTL
	Stat     Stat     // create2..., setData, getData
	Data     []byte   // getData
	Children []string // getChildren
}

// MultiResponse is the response to multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

func (m *MultiResponse) Encode(w *jute.Writer) {
	for i := range m.Results {
		res := &m.Results[i]
		errCode := ErrOK
		if res.Type == OpError {
			errCode = res.Err
		}
		h := MultiHeader{Type: res.Type, Done: false, Err: errCode}
		if res.Type == OpCreateContainer || res.Type == OpCreateTTL {
			// ZooKeeper reports these as create2 results (a CreateResult with a
			// Stat); clients reject any other type in this position.
			h.Type = OpCreate2
		}
		h.Encode(w)
		switch res.Type {
		case OpCreate:
			w.String(res.Path)
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			w.String(res.Path)
			res.Stat.Encode(w)
		case OpSetData:
			res.Stat.Encode(w)
		case OpGetData:
			w.Buffer(res.Data)
			res.Stat.Encode(w)
		case OpGetChildren:
			w.Strings(res.Children)
		case OpError:
			w.Int(int32(res.Err))
		}
	}
	h := MultiHeader{Type: -1, Done: true, Err: -1}
	h.Encode(w)
}

func (m *MultiResponse) Decode(r *jute.Reader) {
	m.Results = m.Results[:0]
	for r.Err() == nil {
		var h MultiHeader
		h.Decode(r)
		if r.Err() != nil || h.Done {
			return
		}
		res := MultiResult{Type: h.Type}
		switch h.Type {
		case OpCreate:
			res.Path = r.String()
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			res.Path = r.String()
			res.Stat.Decode(r)
		case OpSetData:
			res.Stat.Decode(r)
		case OpGetData:
			res.Data = r.Buffer()
			res.Stat.Decode(r)
		case OpGetChildren:
			res.Children = r.Strings()
		case OpError:
			res.Err = Err(r.Int())
		case OpDelete, OpCheck:
		default:
			r.Fail(fmt.Errorf("proto: invalid multi result %v", h.Type))
			return
		}
		m.Results = append(m.Results, res)
	}
}
