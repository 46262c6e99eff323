package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// fakeServer is the server end of a net.Pipe that speaks just enough of the
// protocol for the tests: it answers the handshake, then hands every request
// to the test through reqs.
type fakeServer struct {
	t       *testing.T
	nc      net.Conn
	connect proto.ConnectRequest
	reqs    chan fakeReq
	wmu     sync.Mutex
}

type fakeReq struct {
	hdr  proto.RequestHeader
	body []byte
}

// newFake returns a fake server and a Dial option that connects to it. resp
// is the ConnectResponse to send (nil: a 3 s session 0x1234, readOnly byte
// included).
func newFake(t *testing.T, resp *proto.ConnectResponse) (*fakeServer, Option) {
	t.Helper()
	cli, srv := net.Pipe()
	f := &fakeServer{t: t, nc: srv, reqs: make(chan fakeReq, 100)}
	if resp == nil {
		resp = &proto.ConnectResponse{TimeOut: 3000, SessionID: 0x1234, Passwd: make([]byte, 16), HasReadOnly: true}
	}
	go f.serve(resp)
	t.Cleanup(func() { srv.Close(); cli.Close() })
	return f, WithDialer(func(ctx context.Context, addr string) (net.Conn, error) { return cli, nil })
}

func (f *fakeServer) serve(resp *proto.ConnectResponse) {
	defer close(f.reqs)
	frame, err := jute.ReadFrame(f.nc, nil, 1<<20)
	if err != nil {
		return
	}
	r := jute.NewReader(frame)
	f.connect.Decode(r)
	f.send(resp)
	for {
		frame, err := jute.ReadFrame(f.nc, nil, 1<<20)
		if err != nil {
			return
		}
		r := jute.NewReader(frame)
		var h proto.RequestHeader
		h.Decode(r)
		f.reqs <- fakeReq{hdr: h, body: append([]byte(nil), frame[8:]...)}
	}
}

// send writes one frame holding the records.
func (f *fakeServer) send(recs ...proto.Record) {
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	for _, r := range recs {
		r.Encode(w)
	}
	w.EndFrame(off)
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.nc.Write(w.Bytes())
}

func (f *fakeServer) reply(xid int32, code proto.Err, resp proto.Record) {
	h := &proto.ReplyHeader{Xid: xid, Zxid: 7, Err: code}
	if resp == nil || code != proto.ErrOK {
		f.send(h)
		return
	}
	f.send(h, resp)
}

func (f *fakeServer) notify(t proto.EventType, path string) {
	f.send(&proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1}, &proto.WatcherEvent{Type: t, State: proto.StateSyncConnected, Path: path})
}

// next returns the next request that is not a ping.
func (f *fakeServer) next() fakeReq {
	f.t.Helper()
	for {
		select {
		case r, ok := <-f.reqs:
			if !ok {
				f.t.Fatal("connection closed while waiting for a request")
			}
			if r.hdr.Type == proto.OpPing {
				f.reply(proto.XidPing, 0, nil)
				continue
			}
			return r
		case <-time.After(5 * time.Second):
			f.t.Fatal("no request")
		}
	}
}

func decode[T any, P interface {
	*T
	proto.Record
}](t *testing.T, b []byte) P {
	t.Helper()
	var v T
	p := P(&v)
	r := jute.NewReader(b)
	p.Decode(r)
	if r.Err() != nil || r.Len() != 0 {
		t.Fatalf("decoding %T: err %v, %d bytes left", p, r.Err(), r.Len())
	}
	return p
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func dialFake(t *testing.T, f *fakeServer, opt Option, extra ...Option) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, []string{"fake:2181"}, 3*time.Second, append([]Option{opt, WithLogger(quietLogger())}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.terminate(ErrClosed, StateClosed, proto.StateClosed)
		c.wg.Wait()
	})
	return c
}

func nextEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func TestHandshake(t *testing.T) {
	f, opt := newFake(t, &proto.ConnectResponse{TimeOut: 4000, SessionID: 0x77, Passwd: []byte("0123456789abcdef"), ReadOnly: true, HasReadOnly: true})
	c := dialFake(t, f, opt, WithReadOnly(true), WithLastZxid(42))
	got := f.connect
	if got.ProtocolVersion != 0 || got.TimeOut != 3000 || got.SessionID != 0 || len(got.Passwd) != 16 || !got.HasReadOnly || !got.ReadOnly || got.LastZxidSeen != 42 {
		t.Fatalf("ConnectRequest = %+v", got)
	}
	if c.SessionID() != 0x77 || c.SessionTimeout() != 4*time.Second || string(c.Password()) != "0123456789abcdef" || !c.ReadOnly() {
		t.Fatalf("session %x timeout %v passwd %q ro %v", c.SessionID(), c.SessionTimeout(), c.Password(), c.ReadOnly())
	}
	if c.State() != StateConnectedReadOnly || c.State().String() != "CONNECTEDREADONLY" {
		t.Fatalf("state %v", c.State())
	}
	ev := nextEvent(t, c.Events())
	if ev.String() != "WatchedEvent state:ConnectedReadOnly type:None path:null" {
		t.Fatalf("first event %q", ev)
	}
}

func TestHandshakeWithoutReadOnlyByte(t *testing.T) {
	f, opt := newFake(t, &proto.ConnectResponse{TimeOut: 3000, SessionID: 5, Passwd: make([]byte, 16)})
	c := dialFake(t, f, opt)
	if c.ReadOnly() || c.State() != StateConnected {
		t.Fatalf("ro %v state %v", c.ReadOnly(), c.State())
	}
}

func TestHandshakeExpired(t *testing.T) {
	_, opt := newFake(t, &proto.ConnectResponse{TimeOut: 0, Passwd: make([]byte, 16), HasReadOnly: true})
	_, err := Dial(context.Background(), []string{"x"}, time.Second, opt, WithSession(9, make([]byte, 16)), WithLogger(quietLogger()))
	if !errors.Is(err, proto.ErrSessionExpired) {
		t.Fatalf("err = %v, want SESSIONEXPIRED", err)
	}
}

func TestDialTriesNextServer(t *testing.T) {
	_, opt := newFake(t, nil)
	var fo options
	opt(&fo)
	var tried []string
	dial := WithDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		tried = append(tried, addr)
		if addr == "bad:1" {
			return nil, errors.New("refused")
		}
		return fo.dial(ctx, addr)
	})
	c, err := Dial(context.Background(), []string{"bad:1,good"}, 3*time.Second, dial, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.terminate(ErrClosed, StateClosed, proto.StateClosed)
	if len(tried) != 2 || tried[1] != "good:2181" || c.Server() != "good:2181" {
		t.Fatalf("tried %v server %s", tried, c.Server())
	}
}

func TestPipelinedRepliesMatchedByXid(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	const n = 5
	type result struct {
		path string
		data string
		err  error
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		p := "/n" + string(rune('a'+i))
		go func() {
			d, _, err := c.GetData(context.Background(), p, false)
			results <- result{p, string(d), err}
		}()
	}
	var reqs []fakeReq
	for i := 0; i < n; i++ {
		reqs = append(reqs, f.next())
	}
	seen := map[int32]bool{}
	for _, r := range reqs {
		if r.hdr.Type != proto.OpGetData || r.hdr.Xid <= 0 || seen[r.hdr.Xid] {
			t.Fatalf("request header %+v", r.hdr)
		}
		seen[r.hdr.Xid] = true
	}
	// Reply in reverse order; each caller must get the data of its own path.
	for i := n - 1; i >= 0; i-- {
		req := decode[proto.PathWatchRequest](t, reqs[i].body)
		f.reply(reqs[i].hdr.Xid, 0, &proto.GetDataResponse{Data: []byte("data of " + req.Path)})
	}
	for i := 0; i < n; i++ {
		r := <-results
		if r.err != nil || r.data != "data of "+r.path {
			t.Fatalf("%s: data %q err %v", r.path, r.data, r.err)
		}
	}
	if c.LastZxid() != 7 {
		t.Fatalf("last zxid %d", c.LastZxid())
	}
}

func TestXidsIncreaseOnTheWire(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	var last int32
	for i := 0; i < 3; i++ {
		go c.Sync(context.Background(), "/")
		r := f.next()
		if r.hdr.Xid <= last {
			t.Fatalf("xid %d after %d", r.hdr.Xid, last)
		}
		last = r.hdr.Xid
		f.reply(r.hdr.Xid, 0, &proto.PathResponse{Path: "/"})
	}
}

func TestErrorCodes(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	for _, code := range []proto.Err{proto.ErrNoNode, proto.ErrNodeExists, proto.ErrBadVersion, proto.ErrNoAuth} {
		done := make(chan error, 1)
		go func() {
			_, err := c.SetData(context.Background(), "/x", []byte("v"), 3)
			done <- err
		}()
		r := f.next()
		req := decode[proto.SetDataRequest](t, r.body)
		if r.hdr.Type != proto.OpSetData || req.Path != "/x" || string(req.Data) != "v" || req.Version != 3 {
			t.Fatalf("request %+v %+v", r.hdr, req)
		}
		f.reply(r.hdr.Xid, code, nil)
		if err := <-done; !errors.Is(err, code) {
			t.Fatalf("err = %v, want %v", err, code)
		}
	}
}

func TestExistsNoNodeSetsExistWatch(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	events := c.Events()
	nextEvent(t, events) // SyncConnected
	done := make(chan bool, 1)
	go func() {
		_, ok, err := c.Exists(context.Background(), "/x", true)
		if err != nil {
			t.Error(err)
		}
		done <- ok
	}()
	r := f.next()
	if req := decode[proto.PathWatchRequest](t, r.body); r.hdr.Type != proto.OpExists || !req.Watch {
		t.Fatalf("request %+v %+v", r.hdr, req)
	}
	f.reply(r.hdr.Xid, proto.ErrNoNode, nil)
	if <-done {
		t.Fatal("exists reported true for NoNode")
	}
	if p := c.watches.paths(kindExist); len(p) != 1 || p[0] != "/x" {
		t.Fatalf("exist watches %v", p)
	}
	f.notify(proto.EventNodeCreated, "/x")
	if ev := nextEvent(t, events); ev.String() != "WatchedEvent state:SyncConnected type:NodeCreated path:/x" {
		t.Fatalf("event %v", ev)
	}
	if p := c.watches.paths(kindExist); len(p) != 0 {
		t.Fatalf("exist watch not consumed: %v", p)
	}
}

func TestPerPathWatcherAndOrdering(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	got := make(chan Event, 10)
	done := make(chan error, 1)
	go func() {
		_, _, err := c.GetDataW(context.Background(), "/w", func(ev Event) { got <- ev })
		done <- err
	}()
	r := f.next()
	// The reply registers the watch before the notification that follows it
	// is read, so the watcher sees the event.
	f.reply(r.hdr.Xid, 0, &proto.GetDataResponse{Data: []byte("x")})
	f.notify(proto.EventNodeDataChanged, "/w")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, got); ev.Type != proto.EventNodeDataChanged || ev.Path != "/w" {
		t.Fatalf("event %+v", ev)
	}
	// One-shot: a second notification reaches nobody but the Events channel
	// does not get per-path events either.
	f.notify(proto.EventNodeDataChanged, "/w")
	events := c.Events()
	if ev := nextEvent(t, events); ev.Type != proto.EventNone {
		t.Fatalf("default watcher got %v", ev)
	}
	select {
	case ev := <-got:
		t.Fatalf("one-shot watcher fired twice: %v", ev)
	case ev := <-events:
		t.Fatalf("default watcher got %v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestPersistentRecursiveWatchMatchesDescendants(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	got := make(chan Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.AddWatch(context.Background(), "/a", proto.AddWatchPersistentRecursive, func(ev Event) { got <- ev })
	}()
	r := f.next()
	if req := decode[proto.AddWatchRequest](t, r.body); r.hdr.Type != proto.OpAddWatch || req.Path != "/a" || req.Mode != 1 {
		t.Fatalf("request %+v %+v", r.hdr, req)
	}
	f.reply(r.hdr.Xid, 0, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.notify(proto.EventNodeCreated, "/a/b/c")
	f.notify(proto.EventNodeDataChanged, "/ab")
	f.notify(proto.EventNodeDeleted, "/a")
	for _, want := range []string{"/a/b/c", "/a"} {
		if ev := nextEvent(t, got); ev.Path != want {
			t.Fatalf("event %v, want path %s", ev, want)
		}
	}
}

func TestRemoveWatchesDeliversRemovalEvents(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	events := c.Events()
	nextEvent(t, events)
	call := func(fn func() error) fakeReq {
		done := make(chan error, 1)
		go func() { done <- fn() }()
		r := f.next()
		f.reply(r.hdr.Xid, 0, &proto.ChildrenResponse{})
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return r
	}
	call(func() error { _, err := c.Children(context.Background(), "/r", true); return err })
	r := call(func() error { return c.RemoveWatches(context.Background(), "/r", proto.WatcherAny, false) })
	if req := decode[proto.WatchesRequest](t, r.body); r.hdr.Type != proto.OpRemoveWatches || req.Type != proto.WatcherAny {
		t.Fatalf("request %+v %+v", r.hdr, req)
	}
	if ev := nextEvent(t, events); ev.String() != "WatchedEvent state:SyncConnected type:ChildWatchRemoved path:/r" {
		t.Fatalf("event %v", ev)
	}
	// Nothing left here: the server's OK becomes NoWatcher, as in Java.
	done := make(chan error, 1)
	go func() { done <- c.RemoveWatches(context.Background(), "/r", proto.WatcherAny, false) }()
	r = f.next()
	f.reply(r.hdr.Xid, 0, nil)
	if err := <-done; !errors.Is(err, proto.ErrNoWatcher) {
		t.Fatalf("err %v", err)
	}
}

func TestMultiResults(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	type out struct {
		res []proto.MultiResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := c.Multi(context.Background(), CreateOp("/m", nil, proto.OpenACLUnsafe, proto.ModePersistent), CheckOp("/m", 4), DeleteOp("/m", -1))
		done <- out{res, err}
	}()
	r := f.next()
	req := decode[proto.MultiRequest](t, r.body)
	if r.hdr.Type != proto.OpMulti || len(req.Ops) != 3 || req.Ops[1].Type != proto.OpCheck {
		t.Fatalf("request %+v %+v", r.hdr, req)
	}
	f.reply(r.hdr.Xid, 0, &proto.MultiResponse{Results: []proto.MultiResult{
		{Type: proto.OpError, Err: proto.ErrOK},
		{Type: proto.OpError, Err: proto.ErrBadVersion},
		{Type: proto.OpError, Err: proto.ErrRuntimeInconsistency},
	}})
	o := <-done
	if !errors.Is(o.err, proto.ErrBadVersion) || len(o.res) != 3 || o.res[2].Err != proto.ErrRuntimeInconsistency {
		t.Fatalf("results %+v err %v", o.res, o.err)
	}
}

func TestPingsWhenIdle(t *testing.T) {
	// Generous timeout (pings every second, silence tolerated for 2 s) so
	// that a loaded machine does not lose the connection.
	f, opt := newFake(t, &proto.ConnectResponse{TimeOut: 3000, SessionID: 1, Passwd: make([]byte, 16), HasReadOnly: true})
	c := dialFake(t, f, opt)
	for i := 0; i < 3; i++ {
		select {
		case r, ok := <-f.reqs:
			if !ok {
				t.Fatalf("connection closed: %v", c.Err())
			}
			if r.hdr.Type != proto.OpPing || r.hdr.Xid != proto.XidPing {
				t.Fatalf("request %+v", r.hdr)
			}
			f.reply(proto.XidPing, 0, nil)
		case <-time.After(5 * time.Second):
			t.Fatal("no ping")
		}
	}
	if c.State() != StateConnected {
		t.Fatalf("state %v", c.State())
	}
}

func TestSilentServerLosesConnection(t *testing.T) {
	f, opt := newFake(t, &proto.ConnectResponse{TimeOut: 150, SessionID: 1, Passwd: make([]byte, 16), HasReadOnly: true})
	c := dialFake(t, f, opt)
	events := c.Events()
	done := make(chan error, 1)
	go func() { _, _, err := c.GetData(context.Background(), "/x", false); done <- err }()
	// Never answer: the read deadline (2/3 of the timeout) ends the connection.
	go func() {
		for range f.reqs {
		}
	}()
	if err := <-done; !errors.Is(err, proto.ErrConnectionLoss) {
		t.Fatalf("err %v", err)
	}
	<-c.Done()
	if c.State() != StateDisconnected {
		t.Fatalf("state %v", c.State())
	}
	var last Event
	for ev := range events {
		last = ev
	}
	if last.State != proto.StateDisconnected {
		t.Fatalf("last event %v", last)
	}
	if _, err := c.Children(context.Background(), "/", false); !errors.Is(err, proto.ErrConnectionLoss) {
		t.Fatalf("after loss: %v", err)
	}
}

func TestCloseSendsCloseSession(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	events := c.Events()
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	r := f.next()
	if r.hdr.Type != proto.OpCloseSession || len(r.body) != 0 {
		t.Fatalf("request %+v body %d", r.hdr, len(r.body))
	}
	f.reply(r.hdr.Xid, 0, nil)
	<-closed
	var evs []string
	for ev := range events {
		evs = append(evs, ev.String())
	}
	if len(evs) != 2 || evs[1] != "WatchedEvent state:Closed type:None path:null" {
		t.Fatalf("events %q", evs)
	}
	if _, err := c.Sync(context.Background(), "/"); !errors.Is(err, ErrClosed) || !errors.Is(err, proto.ErrConnectionLoss) {
		t.Fatalf("after close: %v", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
}

func TestFrameLimit(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt, WithMaxFrame(1024))
	done := make(chan error, 1)
	go func() { _, _, err := c.GetData(context.Background(), "/big", false); done <- err }()
	r := f.next()
	go f.reply(r.hdr.Xid, 0, &proto.GetDataResponse{Data: make([]byte, 4096)})
	if err := <-done; !errors.Is(err, proto.ErrConnectionLoss) {
		t.Fatalf("err %v", err)
	}
	if !errors.Is(c.Err(), jute.ErrFrameTooLarge) {
		t.Fatalf("cause %v", c.Err())
	}
}

func TestAuth(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	done := make(chan error, 1)
	go func() { done <- c.AddAuth(context.Background(), "digest", []byte("u:p")) }()
	r := f.next()
	req := decode[proto.AuthPacket](t, r.body)
	if r.hdr.Xid != proto.XidAuth || r.hdr.Type != proto.OpAuth || req.Scheme != "digest" || string(req.Auth) != "u:p" {
		t.Fatalf("request %+v %+v", r.hdr, req)
	}
	f.reply(proto.XidAuth, 0, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() { done <- c.AddAuth(context.Background(), "digest", []byte("bad")) }()
	f.next()
	f.reply(proto.XidAuth, proto.ErrAuthFailed, nil)
	if err := <-done; !errors.Is(err, proto.ErrAuthFailed) {
		t.Fatalf("err %v", err)
	}
	<-c.Done()
	if c.State() != StateAuthFailed {
		t.Fatalf("state %v", c.State())
	}
}

func TestContextCancel(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Children(ctx, "/", false); done <- err }()
	r := f.next()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	// The late reply is matched and dropped; the connection goes on.
	f.reply(r.hdr.Xid, 0, &proto.ChildrenResponse{Children: []string{"a"}})
	go func() { _, err := c.Children(context.Background(), "/", false); done <- err }()
	r = f.next()
	f.reply(r.hdr.Xid, 0, &proto.ChildrenResponse{Children: []string{"b"}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestClientSideValidation(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	ctx := context.Background()
	if _, err := c.Create(ctx, "/x", nil, nil, proto.ModePersistent); !errors.Is(err, ErrEmptyACL) || !errors.Is(err, proto.ErrInvalidACL) {
		t.Fatalf("empty acl: %v", err)
	}
	if _, err := c.Create(ctx, "x", nil, proto.OpenACLUnsafe, proto.ModePersistent); !errors.Is(err, ErrBadPath) || err.Error() != "Path must start with / character" {
		t.Fatalf("bad path: %v", err)
	}
	if _, err := c.Create(ctx, "/x", nil, proto.OpenACLUnsafe, proto.ModePersistentWithTTL); !errors.Is(err, ErrBadArgument) {
		t.Fatalf("ttl mode without ttl: %v", err)
	}
	if _, _, err := c.CreateTTL(ctx, "/x", nil, proto.OpenACLUnsafe, proto.ModePersistentWithTTL, 0); err == nil || err.Error() != "ttl must be positive and cannot be larger than: 1099511627775" {
		t.Fatalf("ttl 0: %v", err)
	}
	if _, _, err := c.CreateTTL(ctx, "/x", nil, proto.OpenACLUnsafe, proto.ModePersistent, time.Second); err == nil || err.Error() != "ttl not valid for mode: PERSISTENT" {
		t.Fatalf("ttl with persistent: %v", err)
	}
	select {
	case r := <-f.reqs:
		t.Fatalf("invalid request was sent: %+v", r.hdr)
	default:
	}
}

func TestCreateOpcodes(t *testing.T) {
	f, opt := newFake(t, nil)
	c := dialFake(t, f, opt)
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() error
		op   proto.OpCode
		ttl  bool
		resp proto.Record
	}{
		{"persistent", func() error {
			_, err := c.Create(ctx, "/p", []byte("d"), proto.OpenACLUnsafe, proto.ModePersistent)
			return err
		}, proto.OpCreate, false, &proto.PathResponse{Path: "/p"}},
		{"container", func() error {
			_, err := c.Create(ctx, "/p", nil, proto.OpenACLUnsafe, proto.ModeContainer)
			return err
		}, proto.OpCreateContainer, false, &proto.Create2Response{Path: "/p"}},
		{"create2", func() error {
			_, _, err := c.Create2(ctx, "/p", nil, proto.OpenACLUnsafe, proto.ModeEphemeralSequential)
			return err
		}, proto.OpCreate2, false, &proto.Create2Response{Path: "/p"}},
		{"ttl", func() error {
			_, _, err := c.CreateTTL(ctx, "/p", nil, proto.OpenACLUnsafe, proto.ModePersistentWithTTL, 1500*time.Millisecond)
			return err
		}, proto.OpCreateTTL, true, &proto.Create2Response{Path: "/p"}},
	}
	for _, tc := range cases {
		done := make(chan error, 1)
		go func() { done <- tc.run() }()
		r := f.next()
		if r.hdr.Type != tc.op {
			t.Fatalf("%s: op %v, want %v", tc.name, r.hdr.Type, tc.op)
		}
		req := &proto.CreateRequest{HasTTL: tc.ttl}
		rd := jute.NewReader(r.body)
		req.Decode(rd)
		if rd.Err() != nil || rd.Len() != 0 || req.Path != "/p" || (tc.ttl && req.TTL != 1500) {
			t.Fatalf("%s: request %+v (%v, %d left)", tc.name, req, rd.Err(), rd.Len())
		}
		f.reply(r.hdr.Xid, 0, tc.resp)
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}

func TestValidatePath(t *testing.T) {
	cases := []struct{ path, msg string }{
		{"/", ""},
		{"/a/b", ""},
		{"/a.b/..c", ""},
		{"", "Path length must be > 0"},
		{"a", "Path must start with / character"},
		{"/a/", "Path must not end with / character"},
		{"/a//b", `Invalid path string "/a//b" caused by empty node name specified @3`},
		{"/a/../b", `Invalid path string "/a/../b" caused by relative paths not allowed @4`},
		{"/a/./b", `Invalid path string "/a/./b" caused by relative paths not allowed @3`},
		{"/.", `Invalid path string "/." caused by relative paths not allowed @1`},
		{"/a\x00", `Invalid path string "/a` + "\x00" + `" caused by null character not allowed @2`},
		{"/a\tb", `Invalid path string "/a` + "\t" + `b" caused by invalid character @2`},
		{"/\U0001F600", `Invalid path string "/` + "\U0001F600" + `" caused by invalid character @1`},
		{"/é", ""},
	}
	for _, tc := range cases {
		err := ValidatePath(tc.path)
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrBadPath) {
				t.Errorf("%q: error does not match ErrBadPath", tc.path)
			}
		}
		if got != tc.msg {
			t.Errorf("ValidatePath(%q) = %q, want %q", tc.path, got, tc.msg)
		}
	}
	if err := validateCreatePath("/a/", true); err != nil {
		t.Errorf("sequential /a/: %v", err)
	}
}

func TestEventString(t *testing.T) {
	cases := []struct {
		ev   Event
		want string
	}{
		{Event{Type: proto.EventNone, State: proto.StateSyncConnected}, "WatchedEvent state:SyncConnected type:None path:null"},
		{Event{Type: proto.EventNodeChildrenChanged, State: proto.StateSyncConnected, Path: "/a"}, "WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/a"},
		{Event{Type: proto.EventPersistentWatchRemoved, State: proto.StateSyncConnected, Path: "/a"}, "WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/a"},
		{Event{Type: proto.EventNone, State: proto.StateExpired}, "WatchedEvent state:Expired type:None path:null"},
		{Event{Type: proto.EventNone, State: proto.StateDisconnected}, "WatchedEvent state:Disconnected type:None path:null"},
	}
	for _, tc := range cases {
		if got := tc.ev.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestConnectString(t *testing.T) {
	cases := []struct {
		in      []string
		servers []string
		chroot  string
		err     bool
	}{
		{[]string{"a:1"}, []string{"a:1"}, "", false},
		{[]string{"a,b:2", "c"}, []string{"a:2181", "b:2", "c:2181"}, "", false},
		{[]string{"a:1,b:2/app/x"}, []string{"a:1", "b:2"}, "/app/x", false},
		{[]string{"a:1/"}, []string{"a:1"}, "", false},
		{[]string{"[::1]:3,[::1]"}, []string{"[::1]:3", "[::1]:2181"}, "", false},
		{[]string{"a:1/app/"}, nil, "", true},
	}
	for _, tc := range cases {
		chroot, err := chrootOf(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if got := SplitServers(tc.in); err != nil || chroot != tc.chroot || !slices.Equal(got, tc.servers) {
			t.Errorf("%q: servers %q chroot %q err %v; want %q %q", tc.in, got, chroot, err, tc.servers, tc.chroot)
		}
	}
}
