package e2e

import (
	"encoding/binary"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

func frame(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

func connectRequest(proto int32, lastZxid int64, passwd []byte, tail ...byte) []byte {
	var e zktest.Enc
	e.Int(proto)
	e.Long(lastZxid)
	e.Int(10000)
	e.Long(0)
	e.Buffer(passwd)
	e.Bool(false)
	e.Raw(tail)
	return e.Bytes()
}

// checkAlive fails unless the bystander client still works.
func checkAlive(t *testing.T, c *zk.Conn, what string) {
	t.Helper()
	if _, err := c.Set("/alive", []byte(what), -1); err != nil {
		t.Fatalf("after %s: the other client fails: %v", what, err)
	}
	data, _, err := c.Get("/alive")
	if err != nil || string(data) != what {
		t.Fatalf("after %s: get = %q, %v", what, data, err)
	}
}

// TestBadHandshake: malformed input before the handshake completes closes
// that connection without an answer, and only that one.
func TestBadHandshake(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/alive", nil, 0)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"garbage frame", frame([]byte("0123456789"))},
		{"truncated ConnectRequest", frame(make([]byte, 8))},
		{"2 GB length prefix", []byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}},
		{"negative length prefix", []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}},
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"zero length frame", frame(nil)},
		// A client that has seen a zxid the server has not is refused.
		{"lastZxidSeen ahead of the server", frame(connectRequest(0, 1<<40, make([]byte, 16)))},
	} {
		r := zktest.DialRaw(t, s.Addr)
		if _, err := r.Write(tc.bytes); err != nil {
			t.Fatalf("%s: write: %v", tc.name, err)
		}
		if p, err := r.ReadFrame(waitFor); err == nil {
			t.Errorf("%s: server answered %x", tc.name, p)
		}
		if !r.WaitClosed(waitFor) {
			t.Errorf("%s: connection still open", tc.name)
		}
		checkAlive(t, c, tc.name)
	}
}

// TestLenientHandshake: ZooKeeper does not check the protocol version, the
// password length, or bytes after the readOnly flag; it answers with
// protocolVersion 0 and a new session.
func TestLenientHandshake(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/alive", nil, 0)
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"protocol version 5", connectRequest(5, 0, make([]byte, 16))},
		{"5-byte password", connectRequest(0, 0, make([]byte, 5))},
		{"trailing bytes", connectRequest(0, 0, make([]byte, 16), 0, 0, 0, 7)},
	} {
		r := zktest.DialRaw(t, s.Addr)
		must(t, tc.name, r.WriteFrame(tc.req))
		p, err := r.ReadFrame(waitFor)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		d := zktest.Dec{B: p}
		proto, to, sid, pw := d.Int(), d.Int(), d.Long(), d.Buffer()
		if d.Err != nil || proto != 0 || to != 10000 || sid == 0 || len(pw) != 16 {
			t.Errorf("%s: response %x", tc.name, p)
		}
		var e zktest.Enc
		e.String("/alive")
		e.Bool(false)
		if h, _, err := r.Request(1, 3, e.Bytes()); err != nil || h.Err != 0 {
			t.Errorf("%s: exists on the new session: %+v, %v", tc.name, h, err)
		}
		checkAlive(t, c, tc.name)
	}
}

// TestSilentConnection: a connection that never says anything does not
// disturb others and is eventually closed by the server (ZooKeeper: after
// the sessionless connection timeout, 10 s).
func TestSilentConnection(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/alive", nil, 0)
	r := zktest.DialRaw(t, s.Addr)
	checkAlive(t, c, "silent connection")
	partial := zktest.DialRaw(t, s.Addr)
	_, err := partial.Write([]byte{0, 0, 0, 44, 0, 0}) // a frame that never completes
	must(t, "write", err)
	checkAlive(t, c, "partial frame")
	if !r.WaitClosed(waitFor) {
		t.Error("silent connection still open")
	}
	if !partial.WaitClosed(waitFor) {
		t.Error("connection with a partial frame still open")
	}
	checkAlive(t, c, "after the close")
}

// TestBadRequests: after the handshake, a request whose body does not decode
// gets MarshallingError and the connection stays usable; an unknown opcode
// gets Unimplemented (reply zxid -1) and the connection is closed; a frame
// too short for a header or too long for jute.maxbuffer closes the
// connection without an answer.
func TestBadRequests(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/alive", nil, 0)
	handshake := func() *zktest.Raw {
		r := zktest.DialRaw(t, s.Addr)
		_, err := r.Handshake(10000, 0, nil, true)
		must(t, "handshake", err)
		return r
	}
	hdr := func(xid, op int32, body ...byte) []byte {
		var e zktest.Enc
		e.Int(xid)
		e.Int(op)
		e.Raw(body)
		return e.Bytes()
	}
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"getData without a body", hdr(7, 4)},
		{"getData with a string longer than the frame", hdr(7, 4, 0, 0, 0, 100, '/', 'a')},
		{"create without a body", hdr(7, 1)},
		{"setData with a truncated body", hdr(7, 5, 0, 0, 0, 2, '/', 'a', 0, 0)},
		{"multi with a truncated op", hdr(7, 14, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff)},
	} {
		r := handshake()
		must(t, tc.name, r.WriteFrame(tc.req))
		p, err := r.ReadFrame(waitFor)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		d := zktest.Dec{B: p}
		xid, _, code := d.Int(), d.Long(), d.Int()
		if xid != 7 || code != codeMarshallingError {
			t.Errorf("%s: reply %x, want xid 7 and MarshallingError", tc.name, p)
		}
		if h, _, err := r.Request(8, 3, existsBody("/alive")); err != nil || h.Err != 0 {
			t.Errorf("%s: connection unusable afterwards: %+v, %v", tc.name, h, err)
		}
		checkAlive(t, c, tc.name)
	}

	for _, op := range []int32{999, 0, -100} {
		r := handshake()
		must(t, "write", r.WriteFrame(hdr(7, op)))
		p, err := r.ReadFrame(waitFor)
		if err != nil {
			t.Fatalf("opcode %d: %v", op, err)
		}
		d := zktest.Dec{B: p}
		if xid, zxid, code := d.Int(), d.Long(), d.Int(); xid != 7 || zxid != -1 || code != codeUnimplemented {
			t.Errorf("opcode %d: reply %x, want xid 7, zxid -1, Unimplemented", op, p)
		}
		// Nothing more is answered on this connection.
		if h, _, err := r.Request(8, 3, existsBody("/alive")); err == nil {
			t.Errorf("opcode %d: the connection still answers requests: %+v", op, h)
		}
		if !r.WaitClosed(waitFor) {
			t.Errorf("opcode %d: connection still open", op)
		}
		checkAlive(t, c, "unknown opcode")
	}

	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"3-byte frame", frame([]byte{0, 0, 0})},
		{"2 GB length prefix", []byte{0x7f, 0xff, 0xff, 0xff, 0}},
		{"negative length prefix", []byte{0x80, 0, 0, 0, 0}},
	} {
		r := handshake()
		_, err := r.Write(tc.bytes)
		must(t, "write", err)
		if p, err := r.ReadFrame(waitFor); err == nil {
			t.Errorf("%s: server answered %x", tc.name, p)
		}
		if !r.WaitClosed(waitFor) {
			t.Errorf("%s: connection still open", tc.name)
		}
		checkAlive(t, c, tc.name)
	}
}

// existsBody encodes an exists request for p without a watch.
func existsBody(p string) []byte {
	var e zktest.Enc
	e.String(p)
	e.Bool(false)
	return e.Bytes()
}
