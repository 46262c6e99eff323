package e2e

import (
	"testing"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestNotificationFrame reads a watch notification off the wire: reply
// header xid -1 and err 0, then WatcherEvent{type, state, path}. The header's
// zxid is -1 in ZooKeeper 3.8; since 3.9 (ZOOKEEPER-4655) it is the zxid of
// the change that fired the watch. Both are accepted.
func TestNotificationFrame(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/d", nil, 0)
	r := zktest.DialRaw(t, s.Addr)
	_, err := r.Handshake(10000, 0, nil, true)
	must(t, "handshake", err)
	var e zktest.Enc
	e.String("/d")
	e.Bool(true)
	h, _, err := r.Request(1, 4, e.Bytes()) // getData with watch
	if err != nil || h.Err != 0 {
		t.Fatalf("getData: %+v, %v", h, err)
	}
	st, err := c.Set("/d", []byte("x"), -1)
	must(t, "set", err)
	p, err := r.ReadFrame(waitFor)
	must(t, "notification", err)
	d := zktest.Dec{B: p}
	xid, zxid, code := d.Int(), d.Long(), d.Int()
	typ, state, path := d.Int(), d.Int(), d.String()
	if d.Err != nil || d.Len() != 0 || xid != -1 || code != 0 || typ != 3 || state != 3 || path != "/d" {
		t.Fatalf("notification frame %x", p)
	}
	if zxid != -1 && zxid != st.Mzxid {
		t.Errorf("notification zxid %#x, want -1 (3.8) or %#x (3.9)", zxid, st.Mzxid)
	}
	t.Logf("notification zxid %#x (setData zxid %#x)", zxid, st.Mzxid)
}
