package replica

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication"
)

// recorder is a Sink that records what apply produced, in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) Notify(w uint64, _ int64, ev *proto.WatcherEvent, _ []proto.ACL) {
	r.add(fmt.Sprint(int32(ev.Type), " ", ev.Path))
}
func (r *recorder) SessionsClosed(_ *fsm.Entry, ids []int64) { r.add("closed") }
func (r *recorder) Replaced()                                { r.add("replaced") }
func (r *recorder) LeaderChanged(uint64, bool)               {}
func (r *recorder) WriteAhead(*fsm.Entry)                    { r.add("ahead") }

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func start(t *testing.T) (*Replica, *recorder, replication.Log) {
	t.Helper()
	rep := New(Options{TickTime: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	l := replication.NewLocal(rep)
	t.Cleanup(l.Stop)
	rec := &recorder{}
	rep.Attach(rec, l)
	return rep, rec, l
}

// apply proposes e as this server and waits for its result.
func apply(t *testing.T, rep *Replica, l replication.Log, e *fsm.Entry, reqID uint64) fsm.Result {
	t.Helper()
	e.ReqID, e.Time = reqID, time.Now().UnixMilli()
	ch := rep.Expect(reqID)
	if err := l.Propose(context.Background(), e.Marshal()); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-ch:
		return res
	case <-time.After(5 * time.Second):
		t.Fatalf("%v not applied", e.Op)
	}
	return fsm.Result{}
}

// TestEventsBeforeResult: a write's watch events reach the sink before its
// result reaches the waiting request, and a read sets a watch atomically with
// what it reads.
func TestEventsBeforeResult(t *testing.T) {
	rep, rec, l := start(t)
	const sess = 7
	if res := apply(t, rep, l, &fsm.Entry{Op: proto.OpCreateSession, Session: sess, Timeout: 1000, Passwd: make([]byte, 16)}, 1); res.Err != proto.ErrOK {
		t.Fatalf("createSession: %v", res.Err)
	}
	rep.Read(func(v View) {
		if _, e := v.FSM.Exists("/a", nil, false); e != proto.ErrNoNode {
			t.Errorf("exists /a: %v", e)
		}
		v.WatchData("/a", 42)
	})
	res := apply(t, rep, l, &fsm.Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/a", ACL: proto.OpenACLUnsafe}}, 2)
	if res.Err != proto.ErrOK {
		t.Fatalf("create: %v", res.Err)
	}
	if got := rec.snapshot(); len(got) != 1 || got[0] != fmt.Sprint(int32(proto.EventNodeCreated), " /a") {
		t.Fatalf("sink saw %q by the time the result arrived", got)
	}
	// The closing entry ends the session's connections through the sink.
	apply(t, rep, l, &fsm.Entry{Op: proto.OpCloseSession, Session: sess}, 3)
	if got := rec.snapshot(); got[len(got)-1] != "closed" {
		t.Fatalf("sink saw %q after closeSession", got)
	}
	if rep.HasSession(sess) {
		t.Fatal("session still live after closeSession")
	}
}

// TestKeeperFollowsApply: a single server's replica leads itself, tracks the
// sessions the log creates, revalidates them with the new timeout, and
// refuses sessions it does not know.
func TestKeeperFollowsApply(t *testing.T) {
	rep, _, l := start(t)
	apply(t, rep, l, &fsm.Entry{Op: proto.OpCreateSession, Session: 9, Timeout: 10000, Passwd: make([]byte, 16)}, 1)
	if !rep.Sessions().IsLeader() {
		t.Fatal("a single server's replica does not lead")
	}
	if ok, err := rep.RevalidateSession(9, 2*time.Second); !ok || err != nil {
		t.Fatalf("revalidate a live session: %v %v", ok, err)
	}
	if ok, err := rep.RevalidateSession(10, 2*time.Second); ok || err != nil {
		t.Fatalf("revalidate an unknown session: %v %v", ok, err)
	}
}
