package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// The cases of TestBadInputMatrix, and the encoders they are written with.

// connectFields encodes a ConnectRequest field by field.
func connectFields(proto int32, zxid int64, timeout int32, sid int64, passwd func(e *zktest.Enc)) []byte {
	var e zktest.Enc
	e.Int(proto)
	e.Long(zxid)
	e.Int(timeout)
	e.Long(sid)
	passwd(&e)
	e.Bool(false)
	return e.Bytes()
}

func lenOnly(n int32, tail ...byte) func(e *zktest.Enc) {
	return func(e *zktest.Enc) {
		e.Int(n)
		e.Raw(tail)
	}
}

// Bodies with a bad length inside.
func str(s string) []byte {
	var e zktest.Enc
	e.String(s)
	return e.Bytes()
}

func i32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// worldACL encodes the vector [world:anyone ALL].
func worldACL() []byte {
	var e zktest.Enc
	e.Int(1)
	e.Int(31)
	e.String("world")
	e.String("anyone")
	return e.Bytes()
}

func createBody(path string, data []byte, flags int32) []byte {
	var e zktest.Enc
	e.String(path)
	e.Buffer(data)
	e.Raw(worldACL())
	e.Int(flags)
	return e.Bytes()
}

// multiOp encodes one MultiHeader and its body; multiEnd ends the list.
func multiOp(op int32, body []byte) []byte {
	var e zktest.Enc
	e.Int(op)
	e.Bool(false)
	e.Int(-1)
	e.Raw(body)
	return e.Bytes()
}

func multiEnd() []byte {
	var e zktest.Enc
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
	return e.Bytes()
}

// setWatchesBody encodes SetWatches{relativeZxid 0, data, exist, child}.
func setWatchesBody(data, exist, child []string) []byte {
	var e zktest.Enc
	e.Long(0)
	for _, v := range [][]string{data, exist, child} {
		e.Int(int32(len(v)))
		for _, p := range v {
			e.String(p)
		}
	}
	return e.Bytes()
}

// shortNames returns n distinct paths "/XYZ" under prefix.
func shortNames(prefix string, n int) []string {
	const abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		a, b, c := i/(62*62), (i/62)%62, i%62
		out = append(out, prefix+"/"+string([]byte{abc[a], abc[b], abc[c]}))
	}
	return out
}

// slowCase is a case that runs in the background during the matrix.
type slowCase struct {
	name, want string
	result     chan string
}

// dribble writes b one byte every gap.
func dribble(r *zktest.Raw, b []byte, gap time.Duration) error {
	for i := range b {
		_ = r.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := r.Write(b[i : i+1]); err != nil {
			return fmt.Errorf("closed by the server before byte %d of %d was written", i+1, len(b))
		}
		time.Sleep(gap)
	}
	return nil
}

// startSlowloris starts the slow clients: one sends its ConnectRequest a byte
// every 300 ms (15 s for the frame, longer than the 10 s a silent
// connection is allowed, but never silent for more than 300 ms), the other
// handshakes normally and then sends an exists a byte every 300 ms.
func startSlowloris(addr string) []slowCase {
	hs := slowCase{name: "slowloris: ConnectRequest a byte every 300 ms (15 s)", want: outSession, result: make(chan string, 1)}
	rq := slowCase{name: "slowloris: exists request a byte every 300 ms", want: "OK, open", result: make(chan string, 1)}
	go func() {
		r, err := zktest.RawDial(addr)
		if err != nil {
			hs.result <- err.Error()
			return
		}
		defer r.Close()
		if err := dribble(r, frame(connectRequest(0, 0, make([]byte, 16))), 300*time.Millisecond); err != nil {
			hs.result <- err.Error()
			return
		}
		hs.result <- handshakeOutcome(r)
	}()
	go func() {
		r, err := zktest.RawDial(addr)
		if err != nil {
			rq.result <- err.Error()
			return
		}
		defer r.Close()
		if _, err := r.Handshake(10000, 0, nil, true); err != nil {
			rq.result <- "handshake: " + err.Error()
			return
		}
		// 18 bytes: 5.4 s, and a ping every 3 s would be due; the
		// request itself is the only traffic.
		if err := dribble(r, frame(req(7, 3, existsBody("/m"))), 300*time.Millisecond); err != nil {
			rq.result <- err.Error()
			return
		}
		rq.result <- answer(r, 7)
	}()
	return []slowCase{hs, rq}
}

// badBody is a body whose first field, a string or buffer, claims 100 bytes
// in a 2-byte remainder.
var badBody = []byte{0, 0, 0, 100, '/', 'a'}

func matrixCases() []mxCase {
	valid := frame(connectRequest(0, 0, make([]byte, 16)))
	var cases []mxCase
	add := func(name, want string, run func(t *testing.T, m *matrix) string) {
		cases = append(cases, mxCase{name: name, want: want, run: run})
	}
	raw := func(b []byte, eof bool) func(t *testing.T, m *matrix) string {
		return func(t *testing.T, m *matrix) string { return m.rawBytes(t, b, eof) }
	}
	// clientEOF marks the last case added as ended by the client (it
	// half-closes), so gozk need not log why the connection ended.
	clientEOF := func() { cases[len(cases)-1].noLog = true }
	// differs records gozk's deliberate outcome for the last case added.
	differs := func(gozk string) { cases[len(cases)-1].gozk = gozk }
	conn := func(pw func(e *zktest.Enc)) func(t *testing.T, m *matrix) string {
		return raw(frame(connectFields(0, 0, 10000, 0, pw)), false)
	}
	send := func(op int32, body []byte) func(t *testing.T, m *matrix) string {
		return func(t *testing.T, m *matrix) string { return m.send(t, op, body) }
	}

	// --- The handshake: before the length, inside the ConnectRequest, after it.
	add("handshake: 2 bytes of a length, then EOF", outClosed, raw([]byte{0, 0}, true))
	clientEOF()
	add("handshake: zero length", outClosed, raw(frame(nil), false))
	add("handshake: length -2", outClosed, raw([]byte{0xff, 0xff, 0xff, 0xfe, 1, 2, 3}, false))
	add("handshake: length 2^31-1", outClosed, raw([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}, false))
	add("handshake: length jute.maxbuffer+1", outClosed, raw([]byte{0, 0x10, 0, 0, 1, 2, 3}, false))
	add("handshake: frame cut after 20 of 45 bytes, then EOF", outClosed, raw(valid[:24], true))
	clientEOF()
	add("handshake: ConnectRequest of 12 bytes", outClosed, raw(frame(make([]byte, 12)), false))
	add("handshake: password length -2", outClosed, conn(lenOnly(-2)))
	add("handshake: password length 2^31-1", outClosed, conn(lenOnly(0x7fffffff, make([]byte, 16)...)))
	add("handshake: password length 100 in a 45-byte frame", outClosed, conn(lenOnly(100, make([]byte, 16)...)))
	add("handshake: null password (length -1)", outSession, conn(lenOnly(-1)))
	add("handshake: negative session timeout", outSession, raw(frame(connectFields(0, 0, -1, 0, lenOnly(16, make([]byte, 16)...))), false))
	add("handshake: unknown session id", "expired, closed", raw(frame(connectFields(0, 0, 10000, 0x7eadbeef12345678, lenOnly(16, make([]byte, 16)...))), false))
	add("handshake: 45 bytes of garbage", outClosed, raw(frame(bytes.Repeat([]byte{0xa5}, 45)), false))
	add("after the handshake: a 10-byte garbage frame in the same write", "session; Unimplemented, closed", func(t *testing.T, m *matrix) string {
		return m.afterHandshake(t, frame([]byte("0123456789")), true, false, 0x30313233)
	})
	add("after the handshake: 2 bytes of a length, then EOF", "session; closed", func(t *testing.T, m *matrix) string {
		return m.afterHandshake(t, []byte{0, 0}, false, true, 7)
	})
	clientEOF()
	add("after the handshake: length 2^31-1", "session; closed", func(t *testing.T, m *matrix) string {
		return m.afterHandshake(t, []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 7}, false, false, 7)
	})
	add("after the handshake: length -2", "session; closed", func(t *testing.T, m *matrix) string {
		return m.afterHandshake(t, []byte{0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 7}, false, false, 7)
	})
	add("after the handshake: 3-byte frame", "session; closed", func(t *testing.T, m *matrix) string {
		return m.afterHandshake(t, frame([]byte{0, 0, 7}), false, false, 7)
	})
	add("after the handshake: request cut inside its header, then EOF", "session; closed", func(t *testing.T, m *matrix) string {
		return m.afterHandshake(t, frame(req(7, 3, existsBody("/m")))[:9], false, true, 7)
	})
	clientEOF()

	// --- Lengths inside records.
	add("getData: path length -2", "MarshallingError, open", send(4, cat(i32(-2), []byte{0})))
	add("getData: null path (length -1)", "MarshallingError, open", send(4, cat(i32(-1), []byte{0})))
	add("getData: path length 2^31-1", "MarshallingError, open", send(4, cat(i32(0x7fffffff), []byte("/m"), []byte{0})))
	add("getData: path longer than the frame", "MarshallingError, open", send(4, cat(i32(100), []byte("/m"), []byte{0})))
	add("create: path length -2", "MarshallingError, open", send(1, cat(i32(-2), i32(-1), worldACL(), i32(0))))
	add("setData: data length -2", "MarshallingError, open", send(5, cat(str("/m/node"), i32(-2), i32(-1))))
	add("setData: data length 2^31-1", "MarshallingError, open", send(5, cat(str("/m/node"), i32(0x7fffffff), []byte("xx"), i32(-1))))
	add("setData: data longer than the frame", "MarshallingError, open", send(5, cat(str("/m/node"), i32(1000), []byte("xx"), i32(-1))))
	add("setData: null data (length -1)", "OK, open", send(5, cat(str("/m/node"), i32(-1), i32(-1))))
	add("create: ACL vector length -2", "InvalidACL, open", send(1, cat(str("/m/acl-2"), i32(0), i32(-2), i32(0))))
	add("create: ACL vector length -1", "InvalidACL, open", send(1, cat(str("/m/acl-1"), i32(0), i32(-1), i32(0))))
	add("create: ACL vector length 2^31-1", "MarshallingError, open", send(1, cat(str("/m/aclmax"), i32(0), i32(0x7fffffff), i32(31), str("world"), str("anyone"), i32(0))))
	add("setACL: ACL vector length -2", "InvalidACL, open", send(7, cat(str("/m/node"), i32(-2), i32(-1))))
	add("setWatches: vector length -2", "OK, open", send(101, cat(make([]byte, 8), i32(-2), i32(0), i32(0))))
	add("setWatches: vector length 2^31-1", "MarshallingError, open", send(101, cat(make([]byte, 8), i32(0x7fffffff), str("/m"), i32(0), i32(0))))
	add("multi: create with path length -2", "MarshallingError, open", send(14, cat(multiOp(1, cat(i32(-2), i32(0), worldACL(), i32(0))), multiEnd())))
	add("multi: op type 999", "MarshallingError, open", send(14, cat(multiOp(999, str("/m")), multiEnd())))
	add("multi: no end marker", "MarshallingError, open", send(14, multiOp(13, cat(str("/m"), i32(-1)))))
	add("multi: getData inside a multi", "MarshallingError, open", send(14, cat(multiOp(4, cat(str("/m"), []byte{0})), multiEnd())))
	add("multiRead: create inside a multiRead", "MarshallingError, open", send(22, cat(multiOp(1, createBody("/m/mr", nil, 0)), multiEnd())))

	// --- Every opcode with a malformed body.
	for _, op := range []struct {
		code int32
		name string
		want string
	}{
		{1, "create", "MarshallingError, open"},
		{2, "delete", "MarshallingError, open"},
		{3, "exists", "MarshallingError, open"},
		{4, "getData", "MarshallingError, open"},
		{5, "setData", "MarshallingError, open"},
		{6, "getACL", "MarshallingError, open"},
		{7, "setACL", "MarshallingError, open"},
		{8, "getChildren", "MarshallingError, open"},
		{9, "sync", "MarshallingError, open"},
		{11, "ping", "OK, open"},
		{12, "getChildren2", "MarshallingError, open"},
		{13, "check", "MarshallingError, open"},
		{14, "multi", "MarshallingError, open"},
		{15, "create2", "MarshallingError, open"},
		{16, "reconfig", "MarshallingError, open"},
		{17, "checkWatches", "MarshallingError, open"},
		{18, "removeWatches", "MarshallingError, open"},
		{19, "createContainer", "MarshallingError, open"},
		{20, "deleteContainer", "BadArguments, open"},
		{21, "createTTL", "MarshallingError, open"},
		{22, "multiRead", "MarshallingError, open"},
		{100, "auth", "closed"},
		{101, "setWatches", "MarshallingError, open"},
		{102, "sasl", "closed"},
		{103, "getEphemerals", "MarshallingError, open"},
		{104, "getAllChildrenNumber", "MarshallingError, open"},
		{105, "setWatches2", "MarshallingError, open"},
		{106, "addWatch", "MarshallingError, open"},
		{107, "whoAmI", "OK, open"},
		{-10, "createSession", "closed"},
		{-11, "closeSession", "OK, closed"},
		{0, "notification", "Unimplemented, closed"},
		{-1, "error", "Unimplemented, closed"},
		{23, "op 23", "Unimplemented, closed"},
		{999, "op 999", "Unimplemented, closed"},
	} {
		xid := int32(7)
		if op.code == 11 {
			xid = -2 // ZooKeeper answers every ping with xid -2
		}
		cases = append(cases, mxCase{name: fmt.Sprintf("malformed body: %s (%d)", op.name, op.code), want: op.want, noLog: op.code == -11,
			run: func(t *testing.T, m *matrix) string { return m.sendXid(t, xid, op.code, badBody) }})
	}

	// --- Paths.
	for _, p := range []struct{ path, name, create, exists string }{
		{"/m/a\x00b", "NUL", "BadArguments, open", "BadArguments, open"},
		{"/m//x", "//", "NoNode, open", "NoNode, open"},
		{"/m/.", "/.", "BadArguments, open", "NoNode, open"},
		{"/m/..", "/..", "BadArguments, open", "NoNode, open"},
		{"/m/x/", "trailing /", "NoNode, open", "NoNode, open"},
		{"/m/é", "é (2-byte UTF-8)", "OK, open", "OK, open"},
		{"/m/\U0001F600", "emoji (4-byte UTF-8)", "BadArguments, open", "NoNode, open"},
		{"/m/\xff\xfe", "invalid UTF-8", "BadArguments, open", "NoNode, open"},
		{"/m/\u0001", "control character", "BadArguments, open", "NoNode, open"},
		{"", "empty", "BadArguments, open", "OK, open"},
		{"m", "relative", "BadArguments, open", "NoNode, open"},
	} {
		add(fmt.Sprintf("path %s: create", p.name), p.create, send(1, createBody(p.path, nil, 0)))
		add(fmt.Sprintf("path %s: exists", p.name), p.exists, send(3, existsBody(p.path)))
	}

	// --- Sizes.
	add("setData: data of jute.maxbuffer+1 (1 MiB + 1)", outClosed, send(5, cat(str("/m/node"), i32(1<<20+1), make([]byte, 1<<20+1), i32(-1))))
	add("create: data of jute.maxbuffer+1 (1 MiB + 1)", outClosed, send(1, createBody("/m/huge", make([]byte, 1<<20+1), 0)))
	add("multi: 10,000 creates", "OK, open", func(t *testing.T, m *matrix) string {
		var ops [][]byte
		for i := range 10000 {
			ops = append(ops, multiOp(1, createBody(fmt.Sprintf("/m/x%05d", i), nil, 0)))
		}
		out := m.send(t, 14, cat(append(ops, multiEnd())...))
		if n, _, err := m.c.Children("/m"); err != nil || len(n) < 10000 {
			t.Errorf("after the multi: %d children of /m, %v", len(n), err)
		}
		return out
	})
	add("multi: 10,000 checks, the last failing", "OK, open", func(t *testing.T, m *matrix) string {
		var ops [][]byte
		for range 9999 {
			ops = append(ops, multiOp(13, cat(str("/m/node"), i32(-1))))
		}
		ops = append(ops, multiOp(13, cat(str("/m/node"), i32(12345))))
		return m.send(t, 14, cat(append(ops, multiEnd())...))
	})
	add("deep path: a 500-level chain in one multi, then exists on its end", "OK, open", func(t *testing.T, m *matrix) string {
		var ops [][]byte
		p := "/m/deep"
		ops = append(ops, multiOp(1, createBody(p, nil, 0)))
		for range 499 {
			p += "/d"
			ops = append(ops, multiOp(1, createBody(p, nil, 0)))
		}
		if out := m.send(t, 14, cat(append(ops, multiEnd())...)); out != "OK, open" {
			return "multi: " + out
		}
		return m.send(t, 3, existsBody(p))
	})
	add("deep path: exists on 100,000 levels", "NoNode, open", send(3, existsBody(strings.Repeat("/d", 100000))))
	add("deep path: create at 100,000 levels", "NoNode, open", send(1, createBody(strings.Repeat("/d", 100000), nil, 0)))

	// --- Floods.
	add("ping flood: 100,000 pipelined pings", "100000 pings answered, open", func(t *testing.T, m *matrix) string {
		r := m.session(t)
		const n = 100000
		werr := make(chan error, 1)
		go func() {
			var b []byte
			for range n {
				b = append(b, frame(req(-2, 11, nil))...)
			}
			_ = r.SetWriteDeadline(time.Now().Add(20 * time.Second))
			_, err := r.Write(b)
			werr <- err
		}()
		got := 0
		for got < n {
			p, err := r.ReadFrame(mxWait)
			if err != nil {
				return fmt.Sprintf("%d pings answered, then %v", got, err)
			}
			if len(p) >= 4 && int32(binary.BigEndian.Uint32(p)) == -2 {
				got++
			}
		}
		if err := <-werr; err != nil {
			return "write: " + err.Error()
		}
		return fmt.Sprintf("%d pings answered, %s", got, state(r))
	})
	add("setWatches: 100,000 exist watches", "OK, open", func(t *testing.T, m *matrix) string {
		r := m.session(t)
		paths := shortNames("/m", 100000)
		must(t, "write", r.WriteFrame(req(7, 101, setWatchesBody(nil, paths, nil))))
		out := answer(r, 7)
		// One of them fires.
		target := paths[99999]
		if _, err := m.c.Create(target, nil, 0, worldAll); err != nil {
			t.Errorf("create %s: %v", target, err)
		} else if p, err := r.ReadFrame(mxWait); err != nil {
			t.Errorf("no notification for %s: %v", target, err)
		} else if d := (zktest.Dec{B: p}); d.Int() != -1 {
			t.Errorf("frame %x, want a notification", p)
		} else {
			d.Long()
			d.Int()
			typ, _, path := d.Int(), d.Int(), d.String()
			if typ != 1 || path != target {
				t.Errorf("notification type %d path %q, want NodeCreated %s", typ, path, target)
			}
		}
		return out
	})
	add("setWatches: 100,000 data watches on missing nodes", "100000 notifications, OK, open", func(t *testing.T, m *matrix) string {
		r := m.session(t)
		must(t, "write", r.WriteFrame(req(7, 101, setWatchesBody(shortNames("", 100000), nil, nil))))
		h, _, notes, err := readReply(r, 7, 20*time.Second)
		if err != nil {
			return fmt.Sprintf("%d notifications, then %v", notes, err)
		}
		return fmt.Sprintf("%d notifications, %s, %s", notes, codeName(h.Err), state(r))
	})

	// --- Auth.
	auth := func(typ int32, scheme string, data []byte) []byte {
		var e zktest.Enc
		e.Int(typ)
		e.String(scheme)
		e.Buffer(data)
		return e.Bytes()
	}
	add("auth: unknown scheme with garbage", "AuthFailed, closed", send(100, auth(0, "garbage\x00\xff", []byte{0xde, 0xad})))
	add("auth: digest without a colon", "OK, open", send(100, auth(0, "digest", []byte("nocolon"))))
	add("auth: digest with binary garbage", "OK, open", send(100, auth(0, "digest", []byte{0, 0xff, ':', 0xfe})))
	add("auth: truncated packet", "closed", send(100, []byte{0, 0, 0, 0, 0, 0, 0, 6, 'd', 'i'}))
	add("auth: ip scheme", "OK, open", send(100, auth(0, "ip", []byte("127.0.0.1"))))

	// --- Well-formed requests a client should not send.
	add("ping with xid 7: the reply's xid", "xid -2, OK, open", func(t *testing.T, m *matrix) string {
		r := m.session(t)
		must(t, "write", r.WriteFrame(req(7, 11, nil)))
		p, err := r.ReadFrame(mxWait)
		if err != nil {
			return "no reply: " + err.Error()
		}
		d := zktest.Dec{B: p}
		xid, _, code := d.Int(), d.Long(), d.Int()
		return fmt.Sprintf("xid %d, %s, %s", xid, codeName(code), state(r))
	})
	add("reconfig with a well-formed body", "ReconfigDisabled, open", send(16, cat(str("server.9=127.0.0.1:1:2"), i32(-1), i32(-1), i64(-1))))
	add("deleteContainer (a server-internal opcode) of an empty container", "BadArguments, open; container kept", func(t *testing.T, m *matrix) string {
		out := m.send(t, 20, str("/m/cont"))
		ok, _, err := m.c.Exists("/m/cont")
		if err != nil {
			return out + "; exists: " + err.Error()
		}
		if ok {
			return out + "; container kept"
		}
		return out + "; container deleted"
	})
	// ZooKeeper logs a createSession for the connection and answers it
	// with a second ConnectResponse.
	add("deleteContainer (a server-internal opcode) of an emptied container, no DELETE permission on its parent", "BadArguments, open; container kept", func(t *testing.T, m *matrix) string {
		if _, err := m.c.Create("/m/locked", nil, 0, zk.WorldACL(zk.PermRead|zk.PermCreate)); err != nil {
			t.Fatalf("create /m/locked: %v", err)
		}
		if _, err := m.c.CreateContainer("/m/locked/cont", nil, zk.FlagContainer, worldAll); err != nil {
			t.Fatalf("create /m/locked/cont: %v", err)
		}
		if _, err := m.c.Create("/m/locked/cont/child", nil, 0, worldAll); err != nil {
			t.Fatalf("create /m/locked/cont/child: %v", err)
		}
		must(t, "delete the child", m.c.Delete("/m/locked/cont/child", -1))
		// A plain delete is refused: no DELETE permission on /m/locked.
		r := m.session(t)
		must(t, "write", r.WriteFrame(req(6, 2, cat(str("/m/locked/cont"), i32(-1)))))
		if h, _, _, err := readReply(r, 6, mxWait); err != nil || h.Err != codeNoAuth {
			t.Errorf("plain delete of /m/locked/cont: %+v %v, want NoAuth", h, err)
		}
		must(t, "write", r.WriteFrame(req(7, 20, str("/m/locked/cont"))))
		out := answer(r, 7)
		ok, _, err := m.c.Exists("/m/locked/cont")
		switch {
		case err != nil:
			return out + "; exists: " + err.Error()
		case ok:
			return out + "; container kept"
		}
		return out + "; container deleted"
	})
	add("createSession (a server-internal opcode) with a timeout body", "a second ConnectResponse, open", func(t *testing.T, m *matrix) string {
		r := m.session(t)
		must(t, "write", r.WriteFrame(req(7, -10, i32(10000))))
		p, err := r.ReadFrame(mxWait)
		if err != nil {
			if isTimeout(err) {
				return "no reply, " + state(r)
			}
			return outClosed
		}
		d := zktest.Dec{B: p}
		if first := d.Int(); first != 7 {
			d = zktest.Dec{B: p}
			if _, to, sid, pw := d.Int(), d.Int(), d.Long(), d.Buffer(); d.Err == nil && to > 0 && sid != 0 && len(pw) == 16 {
				return "a second ConnectResponse, " + state(r)
			}
			return fmt.Sprintf("frame %x", p)
		}
		d.Long()
		return codeName(d.Int()) + ", " + state(r)
	})
	// gozk closes a connection that sends a second ConnectRequest instead
	// of starting a second session on it.
	differs(outClosed)

	// --- A client that never reads its replies: last, as it may leave the
	// server with the most memory.
	add("never reads: 1,000 getData of a 1 MB node unread", "all 1000 replies, open", neverReads)
	return cases
}

// neverReads asks for 1,000 replies of 1 MB without reading them, while the
// server's RSS is sampled and the healthy client keeps being served.
func neverReads(t *testing.T, m *matrix) string {
	pid := serverPID(m.s)
	if pid == 0 {
		t.Fatalf("server process not found")
	}
	before, _ := rssKB(pid)
	r := m.session(t)
	const n = 1000
	var b []byte
	for i := range n {
		b = append(b, frame(req(int32(i+1), 4, cat(str("/m/big"), []byte{0})))...)
	}
	_ = r.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.Write(b); err != nil {
		t.Logf("writing the requests: %v", err)
	}
	peak := before
	deadline := time.Now().Add(4 * time.Second)
	rounds := 0
	for time.Now().Before(deadline) {
		rss, _ := rssKB(pid)
		peak = max(peak, rss)
		if rounds%10 == 0 {
			if err := roundTrip(m.c, "/alive/meanwhile-", strconv.Itoa(rounds)); err != nil {
				t.Errorf("healthy client while the replies pile up: %v", err)
			}
		}
		rounds++
		time.Sleep(20 * time.Millisecond)
	}
	_, hwm := rssKB(pid)
	growth := peak - before
	t.Logf("server RSS %d MiB before, peak sampled %d MiB (+%d MiB), VmHWM %d MiB; the client asked for %d MB",
		before>>10, peak>>10, growth>>10, hwm>>10, n)
	if growth > 150<<10 {
		t.Errorf("server RSS grew by %d MiB for a client that reads nothing (limit 150 MiB)", growth>>10)
	}
	// Now read what the server kept for us, pinging now and then: reading a
	// gigabyte on a loaded machine can take longer than the session timeout,
	// and replies the server sends do not keep a session alive.
	got := 0
	lastPing := time.Now()
	for {
		if time.Since(lastPing) > 2*time.Second {
			lastPing = time.Now()
			if err := r.WriteFrame(req(-2, 11, nil)); err != nil {
				return fmt.Sprintf("%d replies read, closed (ping: %v)", got, err)
			}
		}
		p, err := r.ReadFrame(mxWait)
		if err != nil {
			if isTimeout(err) {
				return fmt.Sprintf("%d replies, then silent", got)
			}
			return fmt.Sprintf("%d replies read, closed", got)
		}
		if len(p) > 16 {
			got++
		}
		if got == n {
			return fmt.Sprintf("all %d replies, %s", n, state(r))
		}
	}
}

func i64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
