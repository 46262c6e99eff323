package server

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replica"
	"github.com/gozk/gozk/internal/replication"
)

// startServer runs an in-process server on a free loopback port.
func startServer(t *testing.T, mod func(*Options)) *Server {
	t.Helper()
	opts := Options{
		Addr:     "127.0.0.1:0",
		TickTime: 200 * time.Millisecond,
		// Sessions outlive a loaded machine's stalls (the tick is short).
		MaxSessionTimeout:      20 * time.Second,
		FourLetterWords:        map[string]bool{"ruok": true, "srvr": true, "mntr": true, "stat": true, "wchs": true, "cons": true},
		ContainerCheckInterval: 100 * time.Millisecond,
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&opts)
	}
	// The state lives in memory only: a Local log in front of a Replica.
	rep := replica.New(replica.Options{ExtendedTypes: true, TickTime: opts.TickTime, Logger: opts.Logger})
	log := replication.NewLocal(rep)
	s := New(opts, rep, log)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

func connect(t *testing.T, s *Server) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{s.Addr().String()}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(5 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			t.Fatal("no session")
		}
	}
	return c, ev
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func TestBasicOperations(t *testing.T) {
	s := startServer(t, nil)
	c, _ := connect(t, s)
	p, err := c.Create("/a", []byte("hi"), 0, zk.WorldACL(zk.PermAll))
	if err != nil || p != "/a" {
		t.Fatalf("create: %q %v", p, err)
	}
	data, st, err := c.Get("/a")
	if err != nil || string(data) != "hi" || st.Version != 0 {
		t.Fatalf("get: %q %+v %v", data, st, err)
	}
	if _, err := c.Set("/a", []byte("x"), 3); err != zk.ErrBadVersion {
		t.Fatalf("set wrong version: %v", err)
	}
	if _, err := c.Create("/a", nil, 0, zk.WorldACL(zk.PermAll)); err != zk.ErrNodeExists {
		t.Fatalf("create twice: %v", err)
	}
	seq, err := c.Create("/a/s-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil || seq != "/a/s-0000000000" {
		t.Fatalf("sequential: %q %v", seq, err)
	}
	kids, _, err := c.Children("/a")
	if err != nil || len(kids) != 1 {
		t.Fatalf("children: %v %v", kids, err)
	}
	if err := c.Delete("/a", -1); err != zk.ErrNotEmpty {
		t.Fatalf("delete non-empty: %v", err)
	}
	if _, _, err := c.Get("/missing"); err != zk.ErrNoNode {
		t.Fatalf("get missing: %v", err)
	}
}

func TestWatchEventPrecedesReply(t *testing.T) {
	s := startServer(t, nil)
	c, _ := connect(t, s)
	c.Create("/w", nil, 0, zk.WorldACL(zk.PermAll))
	_, _, ch, err := c.GetW("/w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set("/w", []byte("1"), -1); err != nil {
		t.Fatal(err)
	}
	// go-zookeeper delivers the event on the channel when it reads it; the reply
	// came after it on the wire, so it must already be there.
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDataChanged || ev.Path != "/w" {
			t.Fatalf("event %+v", ev)
		}
	default:
		t.Fatal("reply arrived before the watch event")
	}
}

func TestEphemeralsGoWithSession(t *testing.T) {
	s := startServer(t, nil)
	c1, _ := connect(t, s)
	c2, _ := connect(t, s)
	c1.Create("/e", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	_, _, ch, err := c2.ExistsW("/e")
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ephemeral not deleted on close")
	}
}

func TestSessionExpiry(t *testing.T) {
	s := startServer(t, nil)
	// A raw client that handshakes with the minimum timeout and then goes silent.
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	resp := handshake(t, nc, proto.ConnectRequest{TimeOut: 1})
	if resp.TimeOut != int32((400 * time.Millisecond).Milliseconds()) {
		t.Fatalf("negotiated %d, want min 2 ticks", resp.TimeOut)
	}
	sendRequest(t, nc, 1, proto.OpCreate, &proto.CreateRequest{Path: "/eph", ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeral})
	c, _ := connect(t, s)
	if ok, _, _ := c.Exists("/eph"); !ok {
		t.Fatal("ephemeral missing")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, _, _ := c.Exists("/eph")
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Reconnecting with the expired session is refused with timeout 0.
	nc2, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	if r := handshake(t, nc2, proto.ConnectRequest{TimeOut: 4000, SessionID: resp.SessionID, Passwd: resp.Passwd}); r.TimeOut != 0 {
		t.Fatalf("expired session reopened: %+v", r)
	}
}

func handshake(t *testing.T, nc net.Conn, req proto.ConnectRequest) proto.ConnectResponse {
	t.Helper()
	if req.Passwd == nil {
		req.Passwd = make([]byte, 16)
	}
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	req.Encode(w)
	w.EndFrame(off)
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(w.Bytes()); err != nil {
		t.Fatal(err)
	}
	frame, err := jute.ReadFrame(nc, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var resp proto.ConnectResponse
	resp.Decode(jute.NewReader(frame))
	return resp
}

func sendRequest(t *testing.T, nc net.Conn, xid int32, op proto.OpCode, rec proto.Record) proto.ReplyHeader {
	t.Helper()
	w := jute.NewWriter(nil)
	off := w.BeginFrame()
	(&proto.RequestHeader{Xid: xid, Type: op}).Encode(w)
	if rec != nil {
		rec.Encode(w)
	}
	w.EndFrame(off)
	if _, err := nc.Write(w.Bytes()); err != nil {
		t.Fatal(err)
	}
	frame, err := jute.ReadFrame(nc, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var h proto.ReplyHeader
	h.Decode(jute.NewReader(frame))
	return h
}

func TestBadInputAffectsOnlyItsConnection(t *testing.T) {
	s := startServer(t, func(o *Options) { o.MaxBuffer = 1 << 16; o.HandshakeTimeout = time.Second })
	c, _ := connect(t, s)
	for name, payload := range map[string][]byte{
		"garbage":   []byte("\x00\x00\x00\x05hello"),
		"huge":      {0x7f, 0xff, 0xff, 0xff},
		"negative":  {0xff, 0xff, 0xff, 0xfe},
		"truncated": {0x00, 0x00, 0x00, 0x30, 0x00, 0x00},
	} {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(payload)
		if tc, ok := nc.(*net.TCPConn); ok && name != "truncated" {
			tc.CloseWrite()
		}
		nc.SetReadDeadline(time.Now().Add(12 * time.Second))
		b, _ := io.ReadAll(nc)
		if name != "truncated" && len(b) != 0 {
			t.Errorf("%s: got a reply %q", name, b)
		}
		nc.Close()
		if _, err := c.Create("/ok-"+name, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("after %s: %v", name, err)
		}
	}
	// An unknown opcode gets UNIMPLEMENTED, then the connection is closed.
	nc, _ := net.Dial("tcp", s.Addr().String())
	defer nc.Close()
	handshake(t, nc, proto.ConnectRequest{TimeOut: 4000})
	if h := sendRequest(t, nc, 1, 999, nil); h.Err != proto.ErrUnimplemented || h.Xid != 1 || h.Zxid != -1 {
		t.Fatalf("unknown opcode: %+v", h)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(nc); len(b) != 0 || err != nil {
		t.Fatalf("after unknown opcode: %q %v", b, err)
	}
	if _, err := c.Create("/after-unknown", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
}

func TestMaxClientCnxns(t *testing.T) {
	s := startServer(t, func(o *Options) { o.MaxClientCnxns = 3 })
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		handshake(t, nc, proto.ConnectRequest{TimeOut: 4000})
		conns = append(conns, nc)
	}
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(nc); len(b) != 0 {
		t.Fatalf("over-limit connection got %q", b)
	}
	if h := sendRequest(t, conns[0], 1, proto.OpExists, &proto.PathWatchRequest{Path: "/"}); h.Err != proto.ErrOK {
		t.Fatalf("existing connection broken: %+v", h)
	}
}

func fourLetter(t *testing.T, s *Server, word string) string {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte(word))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(nc)
	return string(b)
}

func TestFourLetterWords(t *testing.T) {
	s := startServer(t, nil)
	c, _ := connect(t, s)
	c.Create("/x", []byte("abc"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	c.GetW("/x")
	// The four-letter connection counts itself, as in ZooKeeper.
	if got := fourLetter(t, s, "ruok"); got != "imok" {
		t.Fatalf("ruok = %q", got)
	}
	if got := fourLetter(t, s, "srvr"); !strings.Contains(got, "Mode: standalone") || !strings.Contains(got, "Node count: 6") {
		t.Fatalf("srvr = %q", got)
	}
	mntr := fourLetter(t, s, "mntr")
	for _, want := range []string{"zk_server_state\tstandalone", "zk_znode_count\t6", "zk_ephemerals_count\t1", "zk_watch_count\t1", "zk_num_alive_connections\t2"} {
		if !strings.Contains(mntr, want) {
			t.Errorf("mntr lacks %q:\n%s", want, mntr)
		}
	}
	if got := fourLetter(t, s, "envi"); !strings.Contains(got, "is not executed because it is not in the whitelist") {
		t.Fatalf("envi = %q", got)
	}
	if got := fourLetter(t, s, "wchs"); !bytes.Contains([]byte(got), []byte("Total watches:1")) {
		t.Fatalf("wchs = %q", got)
	}
}
