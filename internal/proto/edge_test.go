package proto

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gozk/gozk/internal/jute"
)

// decodeErr decodes b into rec and returns the reader's error, turning a panic
// into a test failure.
func decodeErr(t *testing.T, rec Record, b []byte) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%T.Decode panicked on % x: %v", rec, b, p)
		}
	}()
	r := jute.NewReader(b)
	rec.Decode(r)
	return r.Err()
}

// Every record cut short at every byte fails with an error. The only prefixes
// that are complete records are those without the optional readOnly byte.
func TestTruncatedRecords(t *testing.T) {
	for _, c := range recordCases() {
		b := encode(c.rec)
		full := len(b)
		switch rec := c.rec.(type) {
		case *ConnectRequest:
			if rec.HasReadOnly {
				full--
			}
		case *ConnectResponse:
			if rec.HasReadOnly {
				full--
			}
		}
		for n := 0; n < full; n++ {
			if err := decodeErr(t, c.fresh(), b[:n]); err == nil {
				t.Errorf("%s: %d of %d bytes decoded without error", c.name, n, len(b))
			}
		}
		if full < len(b) {
			rec := c.fresh()
			if err := decodeErr(t, rec, b[:full]); err != nil {
				t.Errorf("%s without the readOnly byte: %v", c.name, err)
			}
		}
	}
}

func i32(v int32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestNegativeVectorCountsAreEmpty: as ZooKeeper's BinaryInputArchive, a
// vector count below -1 reads as an empty vector (-1 is null).
func TestNegativeVectorCountsAreEmpty(t *testing.T) {
	path := cat(i32(2), []byte("/a"))
	var c CreateRequest
	r := jute.NewReader(cat(path, i32(0), i32(-3), i32(0)))
	c.Decode(r)
	if r.Err() != nil || len(c.ACL) != 0 {
		t.Fatalf("ACL count -3: err %v, ACL %v", r.Err(), c.ACL)
	}
	var w SetWatches
	r = jute.NewReader(cat(make([]byte, 8), i32(-2), i32(-2), i32(-2), i32(-5), i32(-5)))
	w.V2 = true
	w.Decode(r)
	if r.Err() != nil || len(w.DataWatches)+len(w.ExistWatches)+len(w.ChildWatches)+len(w.PersistentWatches)+len(w.RecursiveWatches) != 0 {
		t.Fatalf("setWatches2 with negative counts: err %v, %+v", r.Err(), w)
	}
}

func TestBadLengthsInRecords(t *testing.T) {
	path := cat(i32(2), []byte("/a"))
	tests := []struct {
		name string
		rec  Record
		in   []byte
	}{
		{"path -2", &PathRequest{}, i32(-2)},
		{"path null", &PathRequest{}, i32(-1)},
		{"path min int", &PathRequest{}, i32(-1 << 31)},
		{"path past end", &PathRequest{}, cat(i32(3), []byte("/a"))},
		{"data -7", &SetDataRequest{}, cat(path, i32(-7), i32(0))},
		{"data past end", &SetDataRequest{}, cat(path, i32(100), []byte("abc"), i32(0))},
		{"ACL count past end", &CreateRequest{}, cat(path, i32(0), i32(2), i32(31), i32(0), i32(0), i32(0))},
		{"ACL scheme past end", &SetACLRequest{}, cat(path, i32(1), i32(31), i32(50), []byte("world"), i32(0))},
		{"child past end", &ChildrenResponse{}, cat(i32(1), i32(5), []byte("ab"))},
		{"watches count past end", &SetWatches{}, cat(make([]byte, 8), i32(3), i32(1), []byte("/"))},
		{"whoami count past end", &WhoAmIResponse{}, cat(i32(2), i32(0), i32(0))},
		{"passwd -2", &ConnectRequest{}, cat(i32(0), make([]byte, 8), i32(0), make([]byte, 8), i32(-2))},
		{"passwd past end", &ConnectResponse{}, cat(i32(0), i32(0), make([]byte, 8), i32(17), make([]byte, 16))},
		{"event path past end", &WatcherEvent{}, cat(i32(1), i32(3), i32(9), []byte("/x"))},
		{"getData data -100", &GetDataResponse{}, cat(i32(-100), make([]byte, StatSize))},
		{"auth -9", &AuthPacket{}, cat(i32(0), i32(6), []byte("digest"), i32(-9))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeErr(t, tt.rec, tt.in)
			if !errors.Is(err, jute.ErrBadLength) {
				t.Fatalf("err = %v, want ErrBadLength", err)
			}
		})
	}
}

// A vector count of 2^31-1 in a short record must fail before anything is
// allocated for it.
func TestHugeVectorCountsDoNotAllocate(t *testing.T) {
	huge := i32(0x7fffffff)
	path := cat(i32(2), []byte("/a"))
	tests := []struct {
		name  string
		fresh func() Record
		in    []byte
	}{
		{"CreateRequest ACL", func() Record { return &CreateRequest{} }, cat(path, i32(-1), huge, i32(0))},
		{"SetACLRequest ACL", func() Record { return &SetACLRequest{} }, cat(path, huge, i32(0))},
		{"GetACLResponse ACL", func() Record { return &GetACLResponse{} }, cat(huge, make([]byte, StatSize))},
		{"ChildrenResponse", func() Record { return &ChildrenResponse{WithStat: true} }, cat(huge, make([]byte, StatSize))},
		{"StringsResponse", func() Record { return &StringsResponse{} }, cat(huge, i32(0))},
		{"SetWatches", func() Record { return &SetWatches{V2: true} }, cat(make([]byte, 8), huge, huge, huge)},
		{"WhoAmIResponse", func() Record { return &WhoAmIResponse{} }, cat(huge, i32(0), i32(0))},
		{"GetDataResponse data", func() Record { return &GetDataResponse{} }, cat(huge, make([]byte, StatSize))},
		{"MultiResponse children", func() Record { return &MultiResponse{} }, cat(i32(int32(OpGetChildren)), []byte{0}, i32(0), huge)},
		{"MultiRequest ACL", func() Record { return &MultiRequest{} }, cat(i32(int32(OpCreate)), []byte{0}, i32(-1), path, i32(-1), huge, i32(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			allocs := testing.AllocsPerRun(20, func() {
				r := jute.NewReader(tt.in)
				rec := tt.fresh()
				rec.Decode(r)
				err = r.Err()
			})
			if !errors.Is(err, jute.ErrBadLength) {
				t.Fatalf("err = %v, want ErrBadLength", err)
			}
			// The record, the reader, the path and the wrapped error; a
			// count-sized allocation would be gigabytes.
			if allocs > 16 {
				t.Errorf("%v allocations", allocs)
			}
		})
	}
}

func TestMultiRequestErrors(t *testing.T) {
	done := cat(i32(-1), []byte{1}, i32(-1))
	del := cat(i32(int32(OpDelete)), []byte{0}, i32(-1), i32(2), []byte("/a"), i32(-1))
	for _, op := range []OpCode{OpExists, OpGetChildren2, OpMulti, OpSync, OpSetACL, OpDeleteContainer, OpPing, OpNotification, 999, -1} {
		in := cat(del, i32(int32(op)), []byte{0}, i32(-1), i32(2), []byte("/a"), i32(0), done)
		m := &MultiRequest{}
		if err := decodeErr(t, m, in); err == nil {
			t.Errorf("sub-operation %v accepted", op)
		}
	}
	// No terminating header.
	if err := decodeErr(t, &MultiRequest{}, del); !errors.Is(err, jute.ErrShort) {
		t.Errorf("missing terminator: err = %v, want ErrShort", err)
	}
	// The terminator is recognised by its done flag, as ZooKeeper does.
	m := &MultiRequest{}
	if err := decodeErr(t, m, cat(del, i32(0), []byte{1}, i32(0))); err != nil || len(m.Ops) != 1 {
		t.Errorf("done header with type 0: %v, %d ops", err, len(m.Ops))
	}
	// Bytes after the terminator are left for the caller to notice.
	r := jute.NewReader(cat(done, []byte{9}))
	(&MultiRequest{}).Decode(r)
	if r.Err() != nil || r.Len() != 1 {
		t.Errorf("after terminator: %v, %d left", r.Err(), r.Len())
	}
}

func TestMultiResponseErrors(t *testing.T) {
	done := cat(i32(-1), []byte{1}, i32(-1))
	for _, op := range []OpCode{OpExists, OpGetChildren2, OpMulti, OpSync, OpNotification, OpDeleteContainer, 12345} {
		in := cat(i32(int32(op)), []byte{0}, i32(0), done)
		if err := decodeErr(t, &MultiResponse{}, in); err == nil {
			t.Errorf("result type %v accepted", op)
		}
	}
	if err := decodeErr(t, &MultiResponse{}, cat(i32(int32(OpDelete)), []byte{0}, i32(0))); !errors.Is(err, jute.ErrShort) {
		t.Errorf("missing terminator: err = %v, want ErrShort", err)
	}
	// An error result takes its code from the ErrorResponse body.
	m := &MultiResponse{}
	if err := decodeErr(t, m, cat(i32(-1), []byte{0}, i32(-101), i32(-101), done)); err != nil {
		t.Fatal(err)
	}
	if len(m.Results) != 1 || m.Results[0].Type != OpError || m.Results[0].Err != ErrNoNode {
		t.Errorf("results %+v", m.Results)
	}
}

// The request table gives each opcode the record ZooKeeper reads for it.
func TestNewRequestTable(t *testing.T) {
	tests := []struct {
		op   OpCode
		want Record
	}{
		{OpCreate, &CreateRequest{}},
		{OpCreate2, &CreateRequest{}},
		{OpCreateContainer, &CreateRequest{}},
		{OpCreateTTL, &CreateRequest{HasTTL: true}},
		{OpDelete, &PathVersionRequest{}},
		{OpCheck, &PathVersionRequest{}},
		{OpExists, &PathWatchRequest{}},
		{OpGetData, &PathWatchRequest{}},
		{OpGetChildren, &PathWatchRequest{}},
		{OpGetChildren2, &PathWatchRequest{}},
		{OpSetData, &SetDataRequest{}},
		{OpGetACL, &PathRequest{}},
		{OpSync, &PathRequest{}},
		{OpGetAllChildrenNumber, &PathRequest{}},
		{OpGetEphemerals, &PathRequest{}},
		{OpSetACL, &SetACLRequest{}},
		{OpMulti, &MultiRequest{}},
		{OpMultiRead, &MultiRequest{}},
		{OpCheckWatches, &WatchesRequest{}},
		{OpRemoveWatches, &WatchesRequest{}},
		{OpAddWatch, &AddWatchRequest{}},
		{OpSetWatches, &SetWatches{}},
		{OpSetWatches2, &SetWatches{V2: true}},
		{OpAuth, &AuthPacket{}},
		{OpPing, nil},
		{OpCloseSession, nil},
		{OpWhoAmI, nil},
		{OpNotification, nil},
		{OpSASL, nil},
		{OpReconfig, nil},
		{OpCreateSession, nil},
		{OpError, nil},
		{10, nil},
		{9999, nil},
	}
	for _, tt := range tests {
		if got := NewRequest(tt.op); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NewRequest(%v) = %#v, want %#v", tt.op, got, tt.want)
		}
	}
	for _, op := range []OpCode{OpPing, OpCloseSession, OpWhoAmI, OpCreate, OpSetWatches2} {
		if !Known(op) {
			t.Errorf("Known(%v) = false", op)
		}
	}
	for _, op := range []OpCode{OpNotification, OpSASL, OpReconfig, OpCreateSession, OpError, 10, 9999} {
		if Known(op) {
			t.Errorf("Known(%v) = true", op)
		}
	}
}

func TestMultiOpRecordTable(t *testing.T) {
	// MultiOperationRecord.deserialize in ZooKeeper accepts exactly these.
	allowed := map[OpCode]bool{
		OpCreate: true, OpCreate2: true, OpCreateContainer: true, OpCreateTTL: true,
		OpDelete: true, OpSetData: true, OpCheck: true, OpGetChildren: true, OpGetData: true,
	}
	for op := OpCode(-20); op <= 200; op++ {
		rec := NewMultiOpRecord(op)
		if (rec != nil) != allowed[op] {
			t.Errorf("NewMultiOpRecord(%v) = %#v", op, rec)
		}
		if c, ok := rec.(*CreateRequest); ok && c.HasTTL != (op == OpCreateTTL) {
			t.Errorf("NewMultiOpRecord(%v).HasTTL = %v", op, c.HasTTL)
		}
	}
}
