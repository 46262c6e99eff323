package e2e

import (
	"bytes"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestMaxClientCnxns: with maxClientCnxns=5 the sixth connection from the
// same address is closed before its handshake is answered, while the first
// five keep working; once one of them goes, a new one is accepted.
func TestMaxClientCnxns(t *testing.T) {
	s := startServer(t, map[string]string{"maxClientCnxns": "5"})
	var conns []*zktest.Raw
	exists := func(r *zktest.Raw, xid int32) error {
		var e zktest.Enc
		e.String("/")
		e.Bool(false)
		h, _, err := r.Request(xid, 3, e.Bytes())
		if err == nil && h.Err != 0 {
			t.Errorf("exists: code %d", h.Err)
		}
		return err
	}
	for i := 0; i < 5; i++ {
		r := zktest.DialRaw(t, s.Addr)
		if _, err := r.Handshake(10000, 0, nil, true); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		conns = append(conns, r)
	}
	// The server may refuse the sixth connection at any point: the dial, the
	// write or the read may fail; it must not answer.
	if sixth, err := zktest.RawDial(s.Addr); err == nil {
		_ = sixth.WriteFrame(connectRequest(0, 0, make([]byte, 16)))
		p, err := sixth.ReadFrame(waitFor)
		sixth.Close()
		if err == nil {
			t.Fatalf("sixth connection answered: %x", p)
		}
	}
	for i, r := range conns {
		if err := exists(r, 1); err != nil {
			t.Fatalf("connection %d after the sixth was refused: %v", i+1, err)
		}
	}
	conns[0].Close()
	pollUntil(t, "a new connection accepted", func() bool {
		r, err := zktest.RawDial(s.Addr)
		if err != nil {
			return false
		}
		defer r.Close()
		if _, err := r.Handshake(10000, 0, nil, true); err != nil {
			return false
		}
		return exists(r, 2) == nil
	})
	for i, r := range conns[1:] {
		if err := exists(r, 3); err != nil {
			t.Fatalf("connection %d at the end: %v", i+2, err)
		}
	}
}

// TestJuteMaxBuffer: a request frame longer than jute.maxbuffer (default
// 0xfffff) makes the server close that connection; the data is not written,
// other clients are unaffected, and a frame of exactly the limit passes.
func TestJuteMaxBuffer(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/d", []byte("old"), 0)
	big, ev := zktest.Connect(t, s.Addr, zk.WithMaxConnBufferSize(4<<20))
	sid := big.SessionID()
	_, err := big.Set("/d", make([]byte, 2<<20), -1)
	if err == nil {
		t.Fatal("2 MB setData succeeded")
	}
	if data, _, err := c.Get("/d"); err != nil || string(data) != "old" {
		t.Fatalf("after the oversized write: %q, %v", data, err)
	}
	// go-zookeeper reconnects and resumes its session.
	must(t, "reconnect", zktest.WaitSession(ev, waitFor))
	if big.SessionID() != sid {
		t.Fatalf("session changed: %#x -> %#x", sid, big.SessionID())
	}

	// setData frame = 8 (header) + 4+2 ("/d") + 4+n (data) + 4 (version).
	for _, tc := range []struct {
		frame int
		ok    bool
	}{{0xfffff, true}, {0xfffff + 1, false}} {
		n := tc.frame - 22
		r := zktest.DialRaw(t, s.Addr)
		_, err := r.Handshake(10000, 0, nil, true)
		must(t, "handshake", err)
		var e zktest.Enc
		e.String("/d")
		e.Buffer(bytes.Repeat([]byte{'x'}, n))
		e.Int(-1)
		h, _, err := r.Request(1, 5, e.Bytes())
		if tc.ok && (err != nil || h.Err != 0) {
			t.Errorf("frame of %d bytes: %+v, %v", tc.frame, h, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("frame of %d bytes answered: %+v", tc.frame, h)
		}
		st := stat(t, c, "/d")
		if tc.ok && st.DataLength != int32(n) {
			t.Errorf("frame of %d bytes: dataLength %d", tc.frame, st.DataLength)
		}
	}
	syncOK(t, c)
}

// TestJuteMaxBufferConfigured: the limit follows jute.maxbuffer.
func TestJuteMaxBufferConfigured(t *testing.T) {
	s, c := start(t, map[string]string{"jute.maxbuffer": "4096"})
	create(t, c, "/d", nil, 0)
	for _, tc := range []struct {
		frame int
		ok    bool
	}{{4096, true}, {4097, false}} {
		r := zktest.DialRaw(t, s.Addr)
		_, err := r.Handshake(10000, 0, nil, true)
		must(t, "handshake", err)
		var e zktest.Enc
		e.String("/d")
		e.Buffer(make([]byte, tc.frame-22))
		e.Int(-1)
		h, _, err := r.Request(1, 5, e.Bytes())
		if tc.ok && (err != nil || h.Err != 0) {
			t.Errorf("frame of %d bytes: %+v, %v", tc.frame, h, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("frame of %d bytes answered: %+v", tc.frame, h)
		}
	}
	syncOK(t, c)
}

func syncOK(t *testing.T, c *zk.Conn) {
	t.Helper()
	if _, err := c.Sync("/"); err != nil {
		t.Fatalf("other client: %v", err)
	}
}
