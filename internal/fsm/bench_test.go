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
