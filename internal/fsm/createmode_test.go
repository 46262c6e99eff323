package fsm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/tree"
)

// createMatrix is what Apache ZooKeeper 3.8 does with a create, as observed by
// tests/diff TestCreateFlags with extendedTypesEnabled=true: for each opcode,
// flags and (createTTL only) ttl, the outcome alone and inside a multi.
//
// An outcome is "<kind> <result>": kind P (persistent), E (ephemeral), C
// (container) or T (TTL), with s when the name gets a sequence suffix; result
// "path" (a create result: the path alone) or "stat" (a create2 result: path
// and Stat). Or "err X": the request (alone) or the operation (in a multi)
// fails with X. Or "whole X": the whole multi fails with X in the reply
// header.
//
// With extendedTypesEnabled=false the only change is that the TTL modes (5,
// 6) give UNIMPLEMENTED, except where the whole multi fails first (see
// wantFor).
//
// The createTTL rows with flags 0-4 and ttl -1, alone, are not ZooKeeper's:
// it accepts them and then dies applying them; gozk refuses them.
var createMatrix = []struct {
	op           proto.OpCode
	flags        proto.CreateMode
	ttl          int64 // -1 for the opcodes without a ttl
	alone, multi string
}{
	{proto.OpCreate, 0, -1, "P path", "P path"},
	{proto.OpCreate, 1, -1, "E path", "E path"},
	{proto.OpCreate, 2, -1, "Ps path", "Ps path"},
	{proto.OpCreate, 3, -1, "Es path", "Es path"},
	{proto.OpCreate, 4, -1, "P path", "C stat"},
	{proto.OpCreate, 5, -1, "err BADARGUMENTS", "whole MARSHALLINGERROR"},
	{proto.OpCreate, 6, -1, "err BADARGUMENTS", "whole MARSHALLINGERROR"},
	{proto.OpCreate, 7, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreate, -1, -1, "err BADARGUMENTS", "err BADARGUMENTS"},

	{proto.OpCreate2, 0, -1, "P stat", "P path"},
	{proto.OpCreate2, 1, -1, "E stat", "E path"},
	{proto.OpCreate2, 2, -1, "Ps stat", "Ps path"},
	{proto.OpCreate2, 3, -1, "Es stat", "Es path"},
	{proto.OpCreate2, 4, -1, "P stat", "C stat"},
	{proto.OpCreate2, 5, -1, "err BADARGUMENTS", "whole MARSHALLINGERROR"},
	{proto.OpCreate2, 6, -1, "err BADARGUMENTS", "whole MARSHALLINGERROR"},
	{proto.OpCreate2, 7, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreate2, -1, -1, "err BADARGUMENTS", "err BADARGUMENTS"},

	{proto.OpCreateContainer, 0, -1, "C stat", "P path"},
	{proto.OpCreateContainer, 1, -1, "C stat", "E path"},
	{proto.OpCreateContainer, 2, -1, "Cs stat", "Ps path"},
	{proto.OpCreateContainer, 3, -1, "Cs stat", "Es path"},
	{proto.OpCreateContainer, 4, -1, "C stat", "C stat"},
	{proto.OpCreateContainer, 5, -1, "err BADARGUMENTS", "whole MARSHALLINGERROR"},
	{proto.OpCreateContainer, 6, -1, "err BADARGUMENTS", "whole MARSHALLINGERROR"},
	{proto.OpCreateContainer, 7, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateContainer, -1, -1, "err BADARGUMENTS", "err BADARGUMENTS"},

	{proto.OpCreateTTL, 0, -1, "err BADARGUMENTS", "P path"}, // alone: ZooKeeper dies
	{proto.OpCreateTTL, 0, 0, "err BADARGUMENTS", "P path"},
	{proto.OpCreateTTL, 0, 1000, "err BADARGUMENTS", "P path"},
	{proto.OpCreateTTL, 1, -1, "err BADARGUMENTS", "E path"}, // alone: ZooKeeper dies
	{proto.OpCreateTTL, 1, 0, "err BADARGUMENTS", "E path"},
	{proto.OpCreateTTL, 1, 1000, "err BADARGUMENTS", "E path"},
	{proto.OpCreateTTL, 2, -1, "err BADARGUMENTS", "Ps path"}, // alone: ZooKeeper dies
	{proto.OpCreateTTL, 2, 0, "err BADARGUMENTS", "Ps path"},
	{proto.OpCreateTTL, 2, 1000, "err BADARGUMENTS", "Ps path"},
	{proto.OpCreateTTL, 3, -1, "err BADARGUMENTS", "Es path"}, // alone: ZooKeeper dies
	{proto.OpCreateTTL, 3, 0, "err BADARGUMENTS", "Es path"},
	{proto.OpCreateTTL, 3, 1000, "err BADARGUMENTS", "Es path"},
	{proto.OpCreateTTL, 4, -1, "err BADARGUMENTS", "C stat"}, // alone: ZooKeeper dies
	{proto.OpCreateTTL, 4, 0, "err BADARGUMENTS", "C stat"},
	{proto.OpCreateTTL, 4, 1000, "err BADARGUMENTS", "C stat"},
	{proto.OpCreateTTL, 5, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, 5, 0, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, 5, 1000, "T stat", "T stat"},
	{proto.OpCreateTTL, 6, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, 6, 0, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, 6, 1000, "Ts stat", "Ts stat"},
	{proto.OpCreateTTL, 7, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, 7, 0, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, 7, 1000, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, -1, -1, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, -1, 0, "err BADARGUMENTS", "err BADARGUMENTS"},
	{proto.OpCreateTTL, -1, 1000, "err BADARGUMENTS", "err BADARGUMENTS"},
}

// outcome is a parsed createMatrix entry.
type outcome struct {
	kind   tree.Kind
	seq    bool
	result proto.OpCode // OpCreate (path) or OpCreate2 (path and Stat)
	err    proto.Err
	whole  bool
}

var errByName = map[string]proto.Err{
	"BADARGUMENTS": proto.ErrBadArguments, "UNIMPLEMENTED": proto.ErrUnimplemented,
	"MARSHALLINGERROR": proto.ErrMarshallingError,
}

func parseOutcome(t *testing.T, s string) outcome {
	t.Helper()
	f := strings.Fields(s)
	if len(f) != 2 {
		t.Fatalf("bad outcome %q", s)
	}
	switch f[0] {
	case "err", "whole":
		e, ok := errByName[f[1]]
		if !ok {
			t.Fatalf("bad outcome %q", s)
		}
		return outcome{err: e, whole: f[0] == "whole"}
	}
	o := outcome{kind: map[byte]tree.Kind{'P': tree.Persistent, 'E': tree.Ephemeral, 'C': tree.Container, 'T': tree.TTL}[f[0][0]]}
	o.seq = strings.HasSuffix(f[0], "s")
	o.result = map[string]proto.OpCode{"path": proto.OpCreate, "stat": proto.OpCreate2}[f[1]]
	if o.result == 0 {
		t.Fatalf("bad outcome %q", s)
	}
	return o
}

// wantFor returns the outcome for a matrix row, alone or in a multi, with or
// without extended types.
func wantFor(t *testing.T, flags proto.CreateMode, s string, extended bool) outcome {
	o := parseOutcome(t, s)
	if !extended && flags.TTL() && !o.whole {
		return outcome{err: proto.ErrUnimplemented}
	}
	return o
}

func (o outcome) String() string {
	if o.err != proto.ErrOK {
		if o.whole {
			return "whole multi " + o.err.Error()
		}
		return o.err.Error()
	}
	return fmt.Sprintf("kind %d seq %v result %v", o.kind, o.seq, o.result)
}

// wantOwner is the raw ephemeralOwner of the node made.
func (o outcome) wantOwner() int64 {
	switch o.kind {
	case tree.Ephemeral:
		return sess
	case tree.Container:
		return tree.ContainerOwner
	case tree.TTL:
		return tree.TTLOwner(1000)
	}
	return 0
}

// TestPlanCreate checks the rule itself for every combination.
func TestPlanCreate(t *testing.T) {
	for _, row := range createMatrix {
		for _, extended := range []bool{true, false} {
			for _, inMulti := range []bool{false, true} {
				s := row.alone
				if inMulti {
					s = row.multi
				}
				want := wantFor(t, row.flags, s, extended)
				name := fmt.Sprintf("%v,flags=%d,ttl=%d,multi=%v,extended=%v", row.op, row.flags, row.ttl, inMulti, extended)
				p := planCreate(row.op, row.flags, row.ttl, inMulti, extended)
				err := p.err
				if err == proto.ErrOK {
					err = p.lateErr
				}
				if err != want.err || p.whole != want.whole {
					t.Errorf("%s: error %v (whole multi %v, late %v), want %v", name, err, p.whole, p.lateErr, want)
					continue
				}
				if err != proto.ErrOK {
					continue
				}
				if p.kind != want.kind || p.result != want.result || p.mode.Sequential() != want.seq {
					t.Errorf("%s: kind %d result %v sequential %v, want %v", name, p.kind, p.result, p.mode.Sequential(), want)
				}
				if got := p.owner(sess); got != want.wantOwner() {
					t.Errorf("%s: owner %#x, want %#x", name, got, want.wantOwner())
				}
			}
		}
	}
}

// createFraming is how TestCreateFlagsApply frames the create.
type createFraming int

const (
	framedAlone      createFraming = iota
	framedMulti                    // [create]
	framedMultiThen                // [create, setData /p]
	framedMultiAfter               // [setData /p, create]
	framedMultiFail                // [check /missing (fails), create]
)

func (f createFraming) String() string {
	return [...]string{"alone", "multi", "multi+setData", "setData+multi", "failing+multi"}[f]
}

// TestCreateFlagsApply applies every combination through the state machine
// (and the entry's wire form) and checks the reply, the multi results and the
// node made.
func TestCreateFlagsApply(t *testing.T) {
	for _, row := range createMatrix {
		for _, extended := range []bool{true, false} {
			for fr := framedAlone; fr <= framedMultiFail; fr++ {
				name := fmt.Sprintf("%v,flags=%d,ttl=%d,%v,extended=%v", row.op, row.flags, row.ttl, fr, extended)
				s := row.multi
				if fr == framedAlone {
					s = row.alone
				}
				checkCreateApply(t, name, row.op, row.flags, row.ttl, fr, wantFor(t, row.flags, s, extended), extended)
			}
		}
	}
}

func checkCreateApply(t *testing.T, name string, op proto.OpCode, flags proto.CreateMode, ttl int64, fr createFraming, want outcome, extended bool) {
	t.Helper()
	h := newHarness(t, extended)
	h.mustCreate("/p", proto.ModePersistent)
	before := h.stat("/p")
	create := &proto.CreateRequest{Path: "/p/n", Data: []byte("d"), ACL: proto.OpenACLUnsafe, Flags: flags}
	if op == proto.OpCreateTTL {
		create.TTL, create.HasTTL = ttl, true
	}
	setParent := proto.MultiOp{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/p", Data: []byte("x"), Version: -1}}
	createOp := proto.MultiOp{Type: op, Req: create}
	var ops []proto.MultiOp
	switch fr {
	case framedMulti:
		ops = []proto.MultiOp{createOp}
	case framedMultiThen:
		ops = []proto.MultiOp{createOp, setParent}
	case framedMultiAfter:
		ops = []proto.MultiOp{setParent, createOp}
	case framedMultiFail:
		ops = []proto.MultiOp{{Type: proto.OpCheck, Req: &proto.PathVersionRequest{Path: "/missing", Version: -1}}, createOp}
		// ZooKeeper prepares no operation after a failed one, so a create
		// that would fail the whole multi only reports RUNTIMEINCONSISTENCY.
		want = outcome{err: proto.ErrRuntimeInconsistency}
	}
	wantPath := "/p/n"
	if want.seq {
		wantPath += "0000000000"
	}

	var res Result
	if fr == framedAlone {
		res = h.apply(&Entry{Op: op, Session: sess, Req: create})
	} else {
		res = h.apply(&Entry{Op: proto.OpMulti, Session: sess, Req: &proto.MultiRequest{Ops: ops}})
	}

	// The reply.
	createdOK := want.err == proto.ErrOK
	switch {
	case fr == framedAlone || want.whole:
		if res.Err != want.err {
			t.Errorf("%s: reply error %v, want %v", name, res.Err, want.err)
			return
		}
		if !createdOK {
			if res.Resp != nil {
				t.Errorf("%s: failed reply has a body %T", name, res.Resp)
			}
			break
		}
		switch r := res.Resp.(type) {
		case *proto.PathResponse:
			if want.result != proto.OpCreate || r.Path != wantPath {
				t.Errorf("%s: reply create{%s}, want %v %s", name, r.Path, want, wantPath)
			}
		case *proto.Create2Response:
			if want.result != proto.OpCreate2 || r.Path != wantPath {
				t.Errorf("%s: reply create2{%s}, want %v %s", name, r.Path, want, wantPath)
			}
		default:
			t.Errorf("%s: reply %T, want %v", name, res.Resp, want)
		}
	default:
		if res.Err != proto.ErrOK {
			t.Errorf("%s: multi reply error %v, want OK with results", name, res.Err)
			return
		}
		got := multiResultTypes(t, res.Resp.(*proto.MultiResponse))
		ci := 0 // index of the create
		if fr == framedMultiAfter || fr == framedMultiFail {
			ci = 1
		}
		wantRes := make([]string, len(ops))
		for i := range ops {
			switch {
			case !createdOK && i < ci:
				wantRes[i] = "error(OK)"
				if fr == framedMultiFail {
					wantRes[i] = "error(NONODE)"
				}
			case !createdOK && i == ci:
				wantRes[i] = fmt.Sprintf("error(%v)", want.err)
			case !createdOK:
				wantRes[i] = "error(RUNTIMEINCONSISTENCY)"
			case i == ci:
				wantRes[i] = fmt.Sprintf("%v(%s)", want.result, wantPath)
			default:
				wantRes[i] = "setData"
			}
		}
		if strings.Join(got, " ") != strings.Join(wantRes, " ") {
			t.Errorf("%s: results %v, want %v", name, got, wantRes)
		}
	}

	// The node, and the rest of a multi applied or not.
	n := h.f.Tree().Get(wantPath)
	if !createdOK {
		if n != nil || h.f.Tree().Get("/p").NumChildren() != 0 {
			t.Errorf("%s: a node was made", name)
		}
		if st := h.stat("/p"); st != before {
			t.Errorf("%s: parent changed by a failed request: %+v, was %+v", name, st, before)
		}
		return
	}
	if n == nil {
		t.Errorf("%s: no node %s", name, wantPath)
		return
	}
	if n.EphemeralOwner != want.wantOwner() || h.f.Tree().Kind(n) != want.kind {
		t.Errorf("%s: node owner %#x kind %d, want %#x kind %d", name, n.EphemeralOwner, h.f.Tree().Kind(n), want.wantOwner(), want.kind)
	}
	if fr == framedMultiThen || fr == framedMultiAfter {
		if st := h.stat("/p"); st.Version != before.Version+1 {
			t.Errorf("%s: setData of the parent not applied: %+v", name, st)
		}
	}
}

// multiResultTypes renders each result of a multi as it goes on the wire:
// type(path) for creates, error(code) for errors.
func multiResultTypes(t *testing.T, m *proto.MultiResponse) []string {
	t.Helper()
	w := jute.NewWriter(nil)
	m.Encode(w)
	var back proto.MultiResponse
	r := jute.NewReader(w.Bytes())
	back.Decode(r)
	if err := r.Err(); err != nil {
		t.Fatalf("multi response round trip: %v", err)
	}
	var out []string
	for _, res := range back.Results {
		switch res.Type {
		case proto.OpCreate, proto.OpCreate2:
			out = append(out, fmt.Sprintf("%v(%s)", res.Type, res.Path))
		case proto.OpError:
			out = append(out, fmt.Sprintf("error(%v)", res.Err))
		default:
			out = append(out, res.Type.String())
		}
	}
	return out
}
