package proto

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
)

// Each FuzzDecodeXxx target feeds arbitrary bytes to one decoder. Decoding must
// never panic, and whatever decodes without error must encode to bytes that
// decode, completely and without error, to the same value and encode to the
// same bytes again. The variant argument selects the form a decoder is handed by
// its opcode (HasTTL, V2, WithStat) where a record has one.
//
// Seeds are the golden client frames in testdata, the ZooKeeper server frames in
// testdata/server and every round-trip sample.

// canonical smooths over the places where a value does not survive
// encode/decode unchanged: WhoAmIResponse encodes a nil Infos as an empty
// vector, and MultiResponse encodes createContainer and createTTL results as
// create2.
func canonical(rec Record) Record {
	switch r := rec.(type) {
	case *WhoAmIResponse:
		if r.Infos == nil {
			return &WhoAmIResponse{Infos: []ClientInfo{}}
		}
	case *MultiResponse:
		out := &MultiResponse{Results: append([]MultiResult(nil), r.Results...)}
		if r.Results == nil {
			out.Results = nil
		}
		for i := range out.Results {
			if t := out.Results[i].Type; t == OpCreateContainer || t == OpCreateTTL {
				out.Results[i].Type = OpCreate2
			}
		}
		return out
	}
	return rec
}

func checkStable(t *testing.T, fresh func() Record, data []byte) {
	var r *jute.Reader
	var first Record
	// Lengths and counts are checked against the bytes left before anything
	// is allocated: no input may cost more than a small multiple of its size
	// (a multi response of 9-byte delete results is the worst, at about 32
	// bytes of MultiResult per input byte).
	fuzzcheck.Bounded(t, "Decode", len(data), 64, func() {
		r = jute.NewReader(data)
		first = fresh()
		first.Decode(r)
	})
	if r.Err() != nil {
		return
	}
	if r.Offset() > len(data) {
		t.Fatalf("consumed %d of %d bytes", r.Offset(), len(data))
	}
	b1 := encode(first)
	r2 := jute.NewReader(b1)
	second := fresh()
	second.Decode(r2)
	if r2.Err() != nil {
		t.Fatalf("re-encoded %#v does not decode: %v\n% x", first, r2.Err(), b1)
	}
	if r2.Len() != 0 {
		t.Fatalf("re-encoded %#v: %d of %d bytes left undecoded", first, r2.Len(), len(b1))
	}
	if !reflect.DeepEqual(canonical(first), canonical(second)) {
		t.Fatalf("decode(encode(v)) != v\n   v %#v\ngot %#v", first, second)
	}
	if b2 := encode(second); !bytes.Equal(b1, b2) {
		t.Fatalf("encoding is not stable\n% x\n% x", b1, b2)
	}
	checkPrefixes(t, fresh, first, b1)
}

// checkPrefixes checks that strict prefixes of the canonical encoding b of v
// do not decode: every record ends with a field that cannot be cut short,
// except the optional readOnly byte of ConnectRequest and ConnectResponse,
// without which the rest decodes. Three cuts are tried: the empty prefix, the
// last byte off, and one in between chosen by the contents.
func checkPrefixes(t *testing.T, fresh func() Record, v Record, b []byte) {
	optionalLast := false
	switch r := v.(type) {
	case *ConnectRequest:
		optionalLast = r.HasReadOnly
	case *ConnectResponse:
		optionalLast = r.HasReadOnly
	}
	if len(b) == 0 {
		t.Fatalf("%T encodes to nothing", v)
	}
	h := uint(0)
	for _, c := range b {
		h = h*31 + uint(c)
	}
	for _, k := range []int{0, len(b) - 1, int(h % uint(len(b)))} {
		r := jute.NewReader(b[:k])
		fresh().Decode(r)
		if ok := r.Err() == nil; ok != (optionalLast && k == len(b)-1) {
			t.Fatalf("%d-byte prefix of the %d-byte encoding of %T: decodes %v", k, len(b), v, ok)
		}
	}
}

// fuzzDecoder runs the stability check on a decoder. fresh(variant) returns the
// empty record; when the record has no variant, fresh ignores its argument.
func fuzzDecoder(f *testing.F, fresh func(variant bool) Record) {
	addSeeds(f, fresh)
	f.Fuzz(func(t *testing.T, data []byte, variant bool) {
		checkStable(t, func() Record { return fresh(variant) }, data)
	})
}

// addSeeds adds every golden frame body and round-trip sample that decodes into
// the record fresh makes.
func addSeeds(f *testing.F, fresh func(variant bool) Record) {
	variantOf := func(rec Record) (bool, bool) {
		switch {
		case reflect.DeepEqual(rec, fresh(false)):
			return false, true
		case reflect.DeepEqual(rec, fresh(true)):
			return true, true
		}
		return false, false
	}
	n := 0
	for _, c := range recordCases() {
		if v, ok := variantOf(c.fresh()); ok {
			f.Add(encode(c.rec), v)
			n++
		}
	}
	for _, body := range append(goldenBodies(f), serverBodies(f)...) {
		if v, ok := variantOf(body.fresh); ok {
			f.Add(body.data, v)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seeds for %T", fresh(false))
	}
}

type goldenBody struct {
	fresh Record // the empty record this body decodes into
	data  []byte
}

// goldenBodies returns the record bytes of every golden frame (without frame
// prefix and request header), and of each operation inside its multis.
func goldenBodies(tb testing.TB) []goldenBody {
	var out []goldenBody
	files, err := filepath.Glob("testdata/*.bin")
	if err != nil {
		tb.Fatal(err)
	}
	for _, file := range files {
		want, ok := goldens[filepath.Base(file)]
		if !ok || want.rec == nil {
			continue
		}
		p := readGolden(tb, filepath.Base(file))
		r := jute.NewReader(p)
		var fresh Record
		if want.hdr == nil {
			fresh = &ConnectRequest{}
		} else {
			var h RequestHeader
			h.Decode(r)
			fresh = NewRequest(h.Type)
		}
		body := p[r.Offset():]
		out = append(out, goldenBody{fresh, body})
		if _, ok := fresh.(*MultiRequest); ok {
			r := jute.NewReader(body)
			for {
				var h MultiHeader
				h.Decode(r)
				if r.Err() != nil || h.Done {
					break
				}
				op := NewMultiOpRecord(h.Type)
				start := r.Offset()
				op.Decode(r)
				out = append(out, goldenBody{NewMultiOpRecord(h.Type), body[start:r.Offset()]})
			}
		}
	}
	return out
}

// serverBodies returns the record bytes of every ZooKeeper server frame in
// testdata/server that has a body.
func serverBodies(tb testing.TB) []goldenBody {
	var out []goldenBody
	for name, want := range serverGoldens {
		if want.rec == nil {
			continue
		}
		p := readGolden(tb, filepath.Join("server", name))
		if want.hdr != nil {
			p = p[16:] // after the ReplyHeader: xid (4), zxid (8), err (4)
		}
		out = append(out, goldenBody{freshLike(want.rec), p})
	}
	return out
}

func FuzzDecodeStat(f *testing.F) { fuzzDecoder(f, func(bool) Record { return &Stat{} }) }
func FuzzDecodeID(f *testing.F)   { fuzzDecoder(f, func(bool) Record { return &ID{} }) }
func FuzzDecodeACL(f *testing.F)  { fuzzDecoder(f, func(bool) Record { return &ACL{} }) }
func FuzzDecodeConnectRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &ConnectRequest{} })
}
func FuzzDecodeConnectResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &ConnectResponse{} })
}
func FuzzDecodeRequestHeader(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &RequestHeader{} })
}
func FuzzDecodeReplyHeader(f *testing.F) { fuzzDecoder(f, func(bool) Record { return &ReplyHeader{} }) }
func FuzzDecodeMultiHeader(f *testing.F) { fuzzDecoder(f, func(bool) Record { return &MultiHeader{} }) }
func FuzzDecodeAuthPacket(f *testing.F)  { fuzzDecoder(f, func(bool) Record { return &AuthPacket{} }) }
func FuzzDecodePathRequest(f *testing.F) { fuzzDecoder(f, func(bool) Record { return &PathRequest{} }) }
func FuzzDecodePathWatchRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &PathWatchRequest{} })
}
func FuzzDecodePathVersionRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &PathVersionRequest{} })
}
func FuzzDecodeCreateRequest(f *testing.F) {
	fuzzDecoder(f, func(ttl bool) Record { return &CreateRequest{HasTTL: ttl} })
}
func FuzzDecodeSetDataRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &SetDataRequest{} })
}
func FuzzDecodeSetACLRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &SetACLRequest{} })
}
func FuzzDecodeWatchesRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &WatchesRequest{} })
}
func FuzzDecodeAddWatchRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &AddWatchRequest{} })
}
func FuzzDecodeSetWatches(f *testing.F) {
	fuzzDecoder(f, func(v2 bool) Record { return &SetWatches{V2: v2} })
}
func FuzzDecodeWatcherEvent(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &WatcherEvent{} })
}
func FuzzDecodePathResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &PathResponse{} })
}
func FuzzDecodeCreate2Response(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &Create2Response{} })
}
func FuzzDecodeStatResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &StatResponse{} })
}
func FuzzDecodeGetDataResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &GetDataResponse{} })
}
func FuzzDecodeChildrenResponse(f *testing.F) {
	fuzzDecoder(f, func(withStat bool) Record { return &ChildrenResponse{WithStat: withStat} })
}
func FuzzDecodeGetACLResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &GetACLResponse{} })
}
func FuzzDecodeIntResponse(f *testing.F) { fuzzDecoder(f, func(bool) Record { return &IntResponse{} }) }
func FuzzDecodeStringsResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &StringsResponse{} })
}
func FuzzDecodeWhoAmIResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &WhoAmIResponse{} })
}
func FuzzDecodeMultiRequest(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &MultiRequest{} })
}
func FuzzDecodeMultiResponse(f *testing.F) {
	fuzzDecoder(f, func(bool) Record { return &MultiResponse{} })
}

// FuzzDecodeRequest decodes a frame payload the way the server does after the
// handshake: a RequestHeader, then the record NewRequest gives for its opcode.
func FuzzDecodeRequest(f *testing.F) {
	files, err := filepath.Glob("testdata/*.bin")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		if want, ok := goldens[filepath.Base(file)]; ok && want.hdr != nil {
			f.Add(readGolden(f, filepath.Base(file)))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := jute.NewReader(data)
		var h RequestHeader
		h.Decode(r)
		rec := NewRequest(h.Type)
		if rec == nil {
			if r.Err() == nil && Known(h.Type) != (h.Type == OpPing || h.Type == OpCloseSession || h.Type == OpWhoAmI) {
				t.Fatalf("opcode %v: no record but Known = %v", h.Type, Known(h.Type))
			}
			return
		}
		body := data[r.Offset():]
		checkStable(t, func() Record { return NewRequest(h.Type) }, body)
	})
}

// FuzzReadFrame reads frames from arbitrary bytes: never a panic, never a
// payload above the limit, and the payload is the bytes after the prefix.
func FuzzReadFrame(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.bin")
	server, _ := filepath.Glob("testdata/server/*.bin")
	for _, file := range append(files, server...) {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, 1024)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 16)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 {
			max = -max
		}
		max %= 1 << 20
		rd := bytes.NewReader(data)
		for {
			before := len(data) - rd.Len()
			p, err := jute.ReadFrame(rd, nil, max)
			if err != nil {
				return
			}
			if len(p) > max {
				t.Fatalf("payload of %d bytes above limit %d", len(p), max)
			}
			if !bytes.Equal(p, data[before+4:before+4+len(p)]) {
				t.Fatal("payload differs from the input")
			}
		}
	})
}

// TestEveryRecordIsFuzzed fails when a record type has no FuzzDecode target of
// its own: every record of the round-trip samples, every request record an
// opcode selects and every multi operation record.
func TestEveryRecordIsFuzzed(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "fuzz_test.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, d := range file.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
			targets[fn.Name.Name] = true
		}
	}
	var recs []Record
	for _, c := range recordCases() {
		recs = append(recs, c.rec)
	}
	for op := range ops {
		if r := NewRequest(op); r != nil {
			recs = append(recs, r)
		}
		if r := NewMultiOpRecord(op); r != nil {
			recs = append(recs, r)
		}
	}
	for _, r := range recs {
		if name := "FuzzDecode" + reflect.TypeOf(r).Elem().Name(); !targets[name] {
			t.Errorf("%T has no fuzz target %s", r, name)
		}
	}
}
