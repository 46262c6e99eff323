package replica

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication"
)

// BenchmarkWritePath is the in-process write path of a standalone server
// without the network and the disk: encode the entry, propose it to a
// one-server log, apply it, and hand the result to the waiting request.
func BenchmarkWritePath(b *testing.B) {
	rep := New(Options{TickTime: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	l := replication.NewLocal(rep)
	defer l.Stop()
	rep.Attach(nopSink{}, l)
	ctx := context.Background()
	run := func(reqID uint64, e *fsm.Entry) fsm.Result {
		e.ReqID, e.Origin = reqID, 0
		ch := rep.Expect(reqID)
		if err := l.Propose(ctx, e.Marshal()); err != nil {
			b.Fatal(err)
		}
		return <-ch
	}
	const session = 0x1000
	run(1, &fsm.Entry{Op: proto.OpCreateSession, Session: session, Timeout: 30000, Passwd: make([]byte, 16)})
	data := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := run(uint64(i+2), &fsm.Entry{Op: proto.OpCreate, Session: session, Time: int64(i),
			Req: &proto.CreateRequest{Path: fmt.Sprintf("/n%09d", i), Data: data, ACL: proto.OpenACLUnsafe}})
		if r.Err != proto.ErrOK {
			b.Fatal(r.Err)
		}
	}
}
