package fsm

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/proto"
)

func bigFSM(b *testing.B, n int) *FSM {
	b.Helper()
	f := New(false)
	f.Apply(1, &Entry{Op: proto.OpCreateSession, Session: sess, Timeout: 10000})
	f.Apply(1, &Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe}})
	data := make([]byte, 20)
	for i := 0; i < n; i++ {
		f.Apply(1, &Entry{Op: proto.OpCreate, Session: sess, Time: int64(i), Req: &proto.CreateRequest{Path: fmt.Sprintf("/b/n%07d", i), Data: data, ACL: proto.OpenACLUnsafe}})
	}
	return f
}

// BenchmarkSnapshot1M measures, for a tree of a million nodes, the pause that
// taking a snapshot imposes on apply (BeginSnapshot, under the state lock), the
// time to write the snapshot in the background, and the time to decode it.
func BenchmarkSnapshot1M(b *testing.B) {
	f := bigFSM(b, 1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s := f.BeginSnapshot()
		pause := time.Since(t0)
		var buf countingDiscard
		t1 := time.Now()
		if _, err := s.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
		write := time.Since(t1)
		s.Close()
		b.ReportMetric(float64(pause.Microseconds()), "pause-µs")
		b.ReportMetric(float64(write.Milliseconds()), "write-ms")
		b.ReportMetric(float64(buf.n)/1e6, "MB")
	}
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingDiscard)(nil)

// BenchmarkApplyCreate is apply's cost for one create of a 100-byte node,
// through the entry's wire form as in the log (decode, then apply).
func BenchmarkApplyCreate(b *testing.B) {
	f := bigFSM(b, 0)
	data := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := (&Entry{Op: proto.OpCreate, Session: sess, Time: int64(i), Req: &proto.CreateRequest{
			Path: fmt.Sprintf("/b/c%09d", i), Data: data, ACL: proto.OpenACLUnsafe}}).Marshal()
		e, err := Unmarshal(raw)
		if err != nil {
			b.Fatal(err)
		}
		if r := f.Apply(1, e); r.Err != proto.ErrOK {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkApplySetData is apply's cost for one setData of 100 bytes on one
// of 1,000 nodes, decode included.
func BenchmarkApplySetData(b *testing.B) {
	f := bigFSM(b, 1000)
	data := make([]byte, 100)
	raws := make([][]byte, 1000)
	for k := range raws {
		raws[k] = (&Entry{Op: proto.OpSetData, Session: sess, Time: 1, Req: &proto.SetDataRequest{
			Path: fmt.Sprintf("/b/n%07d", k), Data: data, Version: -1}}).Marshal()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := Unmarshal(raws[i%len(raws)])
		if err != nil {
			b.Fatal(err)
		}
		if r := f.Apply(1, e); r.Err != proto.ErrOK {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkEntryMarshal is the cost of encoding a create's log entry.
func BenchmarkEntryMarshal(b *testing.B) {
	e := &Entry{Op: proto.OpCreate, Session: sess, Time: 1, Origin: 1, ReqID: 7, Conn: 9, Seq: 3,
		Req: &proto.CreateRequest{Path: "/b/some-node", Data: make([]byte, 100), ACL: proto.OpenACLUnsafe}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = e.Marshal()
	}
}
