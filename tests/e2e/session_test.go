package e2e

import (
	"bytes"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestNegotiatedTimeout: the server clamps the requested session timeout into
// [minSessionTimeout, maxSessionTimeout], by default [2, 20] ticks.
func TestNegotiatedTimeout(t *testing.T) {
	cases := []struct {
		name string
		cfg  map[string]string
		req  []int32
		want []int32
	}{
		{"defaults", nil,
			[]int32{1, 1000, 3999, 4000, 4001, 10000, 39999, 40000, 40001, 100000},
			[]int32{4000, 4000, 4000, 4000, 4001, 10000, 39999, 40000, 40000, 40000}},
		{"tick100", map[string]string{"tickTime": "100"},
			[]int32{1, 200, 1500, 2000, 60000},
			[]int32{200, 200, 1500, 2000, 2000}},
		{"explicit", map[string]string{"minSessionTimeout": "3000", "maxSessionTimeout": "5000"},
			[]int32{1000, 3000, 4500, 5000, 9000},
			[]int32{3000, 3000, 4500, 5000, 5000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.cfg)
			for i, req := range tc.req {
				r := zktest.DialRaw(t, s.Addr)
				resp, err := r.Handshake(req, 0, nil, true)
				must(t, "handshake", err)
				if resp.TimeOut != tc.want[i] {
					t.Errorf("requested %d ms: negotiated %d, want %d", req, resp.TimeOut, tc.want[i])
				}
				r.Close()
			}
		})
	}
}

// TestHandshake checks the ConnectResponse: protocol version 0, a 16-byte
// password, a session id whose top byte is the server id (1 for a standalone
// ZooKeeper, ZooKeeperServer.createSessionTrackerServerId), consecutive ids for
// consecutive sessions, and the readOnly byte only for clients that sent one.
func TestHandshake(t *testing.T) {
	s := startServer(t, nil)

	r1 := zktest.DialRaw(t, s.Addr)
	a, err := r1.Handshake(10000, 0, nil, true)
	must(t, "handshake", err)
	if a.ProtocolVersion != 0 || len(a.Passwd) != 16 || a.SessionID == 0 || a.TimeOut != 10000 {
		t.Fatalf("ConnectResponse = %+v", a)
	}
	if a.ReadOnly == nil || *a.ReadOnly {
		t.Fatalf("readOnly = %v, want false present (client sent the byte)", a.ReadOnly)
	}
	if a.Size != 37 {
		t.Fatalf("ConnectResponse size %d, want 37", a.Size)
	}
	if a.SessionID>>56 != 1 {
		t.Errorf("session id %#x: top byte %d, want 1 (standalone server id)", a.SessionID, a.SessionID>>56)
	}

	r2 := zktest.DialRaw(t, s.Addr)
	b, err := r2.Handshake(10000, 0, nil, false)
	must(t, "handshake without readOnly", err)
	if b.ReadOnly != nil || b.Size != 36 {
		t.Fatalf("old client: readOnly %v, size %d; want absent, 36", b.ReadOnly, b.Size)
	}
	if b.SessionID != a.SessionID+1 {
		t.Errorf("second session id %#x, want %#x (first + 1)", b.SessionID, a.SessionID+1)
	}
	if bytes.Equal(a.Passwd, b.Passwd) {
		t.Errorf("two sessions got the same password")
	}
}

// TestReattachSession: a new connection presenting the session id and password
// gets the same session; a wrong password or an unknown session id gets
// sessionId 0, timeout 0 and a zero password, then the connection is closed.
func TestReattachSession(t *testing.T) {
	s := startServer(t, nil)
	r1 := zktest.DialRaw(t, s.Addr)
	a, err := r1.Handshake(10000, 0, nil, true)
	must(t, "handshake", err)

	r2 := zktest.DialRaw(t, s.Addr)
	b, err := r2.Handshake(6000, a.SessionID, a.Passwd, true)
	must(t, "reattach", err)
	if b.SessionID != a.SessionID || !bytes.Equal(b.Passwd, a.Passwd) || b.TimeOut != 6000 {
		t.Fatalf("reattach: %+v, want session %#x with the same password, timeout 6000", b, a.SessionID)
	}
	// The session works on the new connection.
	var e zktest.Enc
	e.String("/")
	e.Bool(false)
	h, _, err := r2.Request(1, 3, e.Bytes()) // exists
	if err != nil || h.Err != 0 {
		t.Fatalf("exists on the reattached connection: %+v, %v", h, err)
	}

	bad := append([]byte(nil), a.Passwd...)
	bad[0] ^= 0xff
	for _, tc := range []struct {
		name string
		sid  int64
		pw   []byte
	}{
		{"wrong password", a.SessionID, bad},
		{"unknown session", a.SessionID + 1000, a.Passwd},
	} {
		r := zktest.DialRaw(t, s.Addr)
		resp, err := r.Handshake(10000, tc.sid, tc.pw, true)
		must(t, tc.name, err)
		if resp.SessionID != 0 || resp.TimeOut != 0 || !bytes.Equal(resp.Passwd, make([]byte, 16)) {
			t.Errorf("%s: %+v, want session 0, timeout 0, zero password", tc.name, resp)
		}
		if !r.WaitClosed(waitFor) {
			t.Errorf("%s: connection not closed", tc.name)
		}
	}
}

// TestReconnectKeepsSession: go-zookeeper reconnects by itself after a
// dropped connection and resumes the session; ephemerals survive.
func TestReconnectKeepsSession(t *testing.T) {
	s := startServer(t, nil)
	var d zktest.Dialer
	c, ev := zktest.Connect(t, s.Addr, zk.WithDialer(d.Dial))
	other, _ := zktest.Connect(t, s.Addr)
	sid := c.SessionID()
	create(t, c, "/eph", nil, zk.FlagEphemeral)

	d.Refuse(true)
	d.CloseAll()
	must(t, "disconnected", zktest.WaitState(ev, zk.StateDisconnected, waitFor))
	if !exists(t, other, "/eph") {
		t.Fatal("ephemeral gone while its session is only disconnected")
	}
	d.Refuse(false)
	must(t, "reconnected", zktest.WaitSession(ev, waitFor))
	if c.SessionID() != sid {
		t.Fatalf("session after reconnect %#x, want %#x", c.SessionID(), sid)
	}
	if st := stat(t, c, "/eph"); st.EphemeralOwner != sid {
		t.Fatalf("ephemeralOwner %#x, want %#x", st.EphemeralOwner, sid)
	}
	if d.Dials() != 2 {
		t.Fatalf("dials = %d, want 2", d.Dials())
	}
}

// TestWatchesSurviveReconnect: go-zookeeper re-registers its watches with
// setWatches and the last zxid it saw; a change made while it was away fires
// right after the reconnect.
func TestWatchesSurviveReconnect(t *testing.T) {
	s := startServer(t, nil)
	var d zktest.Dialer
	c, ev := zktest.Connect(t, s.Addr, zk.WithDialer(d.Dial))
	other, _ := zktest.Connect(t, s.Addr)
	create(t, c, "/data", []byte("1"), 0)
	create(t, c, "/parent", nil, 0)
	_, _, dataW, err := c.GetW("/data")
	must(t, "getw", err)
	_, _, existW, err := c.ExistsW("/missing")
	must(t, "existsw", err)
	_, _, childW, err := c.ChildrenW("/parent")
	must(t, "childrenw", err)
	_, _, quietW, err := c.GetW("/parent")
	must(t, "getw parent", err)

	d.Refuse(true)
	d.CloseAll()
	must(t, "disconnected", zktest.WaitState(ev, zk.StateDisconnected, waitFor))
	_, err = other.Set("/data", []byte("2"), -1)
	must(t, "set", err)
	create(t, other, "/missing", nil, 0)
	create(t, other, "/parent/child", nil, 0)
	d.Refuse(false)

	if e := waitEvent(t, "data watch", dataW); e.Type != zk.EventNodeDataChanged || e.Path != "/data" {
		t.Errorf("data watch: %+v", e)
	}
	if e := waitEvent(t, "exist watch", existW); e.Type != zk.EventNodeCreated || e.Path != "/missing" {
		t.Errorf("exist watch: %+v", e)
	}
	if e := waitEvent(t, "child watch", childW); e.Type != zk.EventNodeChildrenChanged || e.Path != "/parent" {
		t.Errorf("child watch: %+v", e)
	}
	// /parent's data did not change: its data watch stays armed.
	_, err = c.Sync("/")
	must(t, "sync", err)
	noEvent(t, "unchanged node", quietW)
	_, err = other.Set("/parent", []byte("x"), -1)
	must(t, "set parent", err)
	if e := waitEvent(t, "re-armed data watch", quietW); e.Type != zk.EventNodeDataChanged {
		t.Errorf("re-armed data watch: %+v", e)
	}
}

// TestSessionExpiry: a client the server stops hearing from loses its session
// after the negotiated timeout; its ephemerals are deleted, other sessions'
// watches fire, and when the client comes back it is told the session expired.
func TestSessionExpiry(t *testing.T) {
	s := startServer(t, nil)
	var d zktest.Dialer
	c, ev := zktest.ConnectSession(t, s.Addr, 4*time.Second, zk.WithDialer(d.Dial))
	other, _ := zktest.Connect(t, s.Addr)
	sid := c.SessionID()
	create(t, c, "/eph", nil, zk.FlagEphemeral)
	create(t, c, "/parent", nil, 0)
	create(t, c, "/parent/eph", nil, zk.FlagEphemeral)
	_, _, ownW, err := c.GetW("/parent")
	must(t, "getw", err)
	_, _, delW, err := other.ExistsW("/eph")
	must(t, "existsw", err)
	_, _, childW, err := other.ChildrenW("/parent")
	must(t, "childrenw", err)

	d.Blackhole()
	if e := waitEvent(t, "ephemeral deleted", delW); e.Type != zk.EventNodeDeleted || e.Path != "/eph" {
		t.Fatalf("exist watch: %+v", e)
	}
	if e := waitEvent(t, "child deleted", childW); e.Type != zk.EventNodeChildrenChanged || e.Path != "/parent" {
		t.Fatalf("child watch: %+v", e)
	}
	if exists(t, other, "/eph") || exists(t, other, "/parent/eph") {
		t.Fatal("ephemerals survive their expired session")
	}
	if st := stat(t, other, "/parent"); st.NumChildren != 0 {
		t.Fatalf("numChildren %d after expiry", st.NumChildren)
	}

	d.Refuse(false)
	must(t, "expired", zktest.WaitState(ev, zk.StateExpired, waitFor))
	if e := waitEvent(t, "own watch", ownW); e.Type != zk.EventNotWatching || e.Err != zk.ErrSessionExpired {
		t.Fatalf("own watch after expiry: %+v", e)
	}
	// go-zookeeper then starts a new session.
	must(t, "new session", zktest.WaitSession(ev, waitFor))
	if c.SessionID() == sid || c.SessionID() == 0 {
		t.Fatalf("session after expiry %#x (old %#x)", c.SessionID(), sid)
	}
	create(t, c, "/eph", nil, zk.FlagEphemeral)
}

// TestCloseSession: closing a session deletes its ephemerals at once and fires
// the watches on them; the session cannot be resumed afterwards.
func TestCloseSession(t *testing.T) {
	s := startServer(t, nil)
	c, _ := zktest.Connect(t, s.Addr)
	other, _ := zktest.Connect(t, s.Addr)
	create(t, c, "/eph", nil, zk.FlagEphemeral)
	create(t, c, "/seq-", nil, zk.FlagEphemeralSequential)
	_, _, w, err := other.ExistsW("/eph")
	must(t, "existsw", err)
	c.Close()
	if e := waitEvent(t, "close", w); e.Type != zk.EventNodeDeleted || e.Path != "/eph" {
		t.Fatalf("event %+v", e)
	}
	if got := children(t, other, "/"); len(got) != 1 || got[0] != "zookeeper" {
		t.Fatalf("children of / after close: %v", got)
	}

	// Raw: closeSession (-11) is answered, then the server closes the
	// connection, and the session id is dead.
	r := zktest.DialRaw(t, s.Addr)
	a, err := r.Handshake(10000, 0, nil, true)
	must(t, "handshake", err)
	h, _, err := r.Request(1, -11, nil)
	if err != nil || h.Err != 0 {
		t.Fatalf("closeSession reply %+v, %v", h, err)
	}
	if !r.WaitClosed(waitFor) {
		t.Fatal("connection open after closeSession")
	}
	r2 := zktest.DialRaw(t, s.Addr)
	b, err := r2.Handshake(10000, a.SessionID, a.Passwd, true)
	must(t, "handshake", err)
	if b.SessionID != 0 {
		t.Fatalf("closed session resumed: %+v", b)
	}
}
