package e2e

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestStatFields follows one node and its parent through every kind of change
// and checks each Stat field against ZooKeeper's rules:
//   - create: czxid = mzxid = pzxid = the create's zxid, ctime = mtime,
//     versions 0; the parent gets cversion+1, pzxid = zxid, numChildren+1 and
//     keeps its mzxid and version;
//   - setData: mzxid = zxid, mtime advances, version+1, dataLength;
//   - setACL: aversion+1 only;
//   - child delete: parent cversion+1, pzxid = the delete's zxid, numChildren-1;
//   - a child's setData does not touch the parent.
func TestStatFields(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/p", []byte("abc"), 0)
	p0 := stat(t, c, "/p")
	if p0.Czxid != p0.Mzxid || p0.Czxid != p0.Pzxid || p0.Ctime != p0.Mtime ||
		p0.Version != 0 || p0.Cversion != 0 || p0.Aversion != 0 || p0.EphemeralOwner != 0 ||
		p0.DataLength != 3 || p0.NumChildren != 0 {
		t.Fatalf("fresh node: %+v", p0)
	}
	now := time.Now().UnixMilli()
	if p0.Ctime < now-60_000 || p0.Ctime > now+60_000 {
		t.Errorf("ctime %d is not the current time in ms (%d)", p0.Ctime, now)
	}

	create(t, c, "/p/a", []byte("x"), zk.FlagEphemeral)
	a := stat(t, c, "/p/a")
	p1 := stat(t, c, "/p")
	if a.Czxid <= p0.Czxid || a.EphemeralOwner != c.SessionID() {
		t.Fatalf("child: %+v", a)
	}
	if p1.Cversion != 1 || p1.NumChildren != 1 || p1.Pzxid != a.Czxid ||
		p1.Mzxid != p0.Mzxid || p1.Version != 0 || p1.Mtime != p0.Mtime || p1.Czxid != p0.Czxid {
		t.Fatalf("parent after child create: %+v (before %+v)", p1, p0)
	}

	time.Sleep(5 * time.Millisecond) // so that mtime can advance
	st, err := c.Set("/p", []byte("hello"), 0)
	must(t, "set", err)
	if st.Version != 1 || st.Mzxid <= a.Czxid || st.DataLength != 5 || st.Mtime <= p1.Mtime ||
		st.Ctime != p0.Ctime || st.Czxid != p0.Czxid || st.Pzxid != p1.Pzxid || st.Cversion != 1 {
		t.Fatalf("after set: %+v (before %+v)", st, p1)
	}
	if got := stat(t, c, "/p"); *got != *st {
		t.Fatalf("setData's returned stat %+v differs from exists' %+v", st, got)
	}

	_, err = c.Set("/p/a", []byte("yy"), -1)
	must(t, "set child", err)
	if got := stat(t, c, "/p"); *got != *st {
		t.Fatalf("child setData changed the parent: %+v -> %+v", st, got)
	}

	st2, err := c.SetACL("/p", zk.WorldACL(zk.PermAll), 0)
	must(t, "setACL", err)
	if st2.Aversion != 1 || st2.Mzxid != st.Mzxid || st2.Version != 1 || st2.Pzxid != st.Pzxid || st2.Mtime != st.Mtime {
		t.Fatalf("after setACL: %+v (before %+v)", st2, st)
	}
	_, err = c.SetACL("/p", zk.WorldACL(zk.PermAll), 0)
	wantCode(t, "setACL stale aversion", err, codeBadVersion)
	_, err = c.SetACL("/nope", zk.WorldACL(zk.PermAll), -1)
	wantCode(t, "setACL missing", err, codeNoNode)
	_, err = c.SetACL("/p", nil, -1)
	wantCode(t, "setACL empty", err, codeInvalidACL)

	create(t, c, "/p/b", nil, 0)
	b := stat(t, c, "/p/b")
	must(t, "delete", c.Delete("/p/a", -1))
	p3 := stat(t, c, "/p")
	if p3.Cversion != 3 || p3.NumChildren != 1 || p3.Pzxid <= b.Czxid || p3.Mzxid != st.Mzxid {
		t.Fatalf("parent after child delete: %+v", p3)
	}
	// The delete's zxid is pzxid: the next write gets the next zxid.
	create(t, c, "/z", nil, 0)
	if z := stat(t, c, "/z"); z.Czxid != p3.Pzxid+1 {
		t.Fatalf("zxid after the delete %#x, want %#x", z.Czxid, p3.Pzxid+1)
	}
}

// TestZxidPerTransaction: every successful write takes the next zxid; reads
// do not; failed writes do consume one (ZooKeeper logs them as error
// transactions); so do session creation and close.
func TestZxidPerTransaction(t *testing.T) {
	s, c := start(t, nil)
	next := func() int64 {
		t.Helper()
		p := create(t, c, "/n-", nil, zk.FlagSequence)
		return stat(t, c, p).Czxid
	}
	z0 := next()
	if z1 := next(); z1 != z0+1 {
		t.Fatalf("consecutive creates: %#x then %#x", z0, z1)
	}
	z := next()
	for i := 0; i < 3; i++ {
		_, _, _ = c.Get("/")
		_, _, _ = c.Children("/")
		_, _, _ = c.Exists("/nope")
		_, _ = c.Sync("/")
	}
	if z1 := next(); z1 != z+1 {
		t.Fatalf("reads consumed zxids: %#x then %#x", z, z1)
	}

	z = next()
	_, err := c.Set("/", nil, 42)
	wantCode(t, "bad version", err, codeBadVersion)
	_, err = c.Create("/n-0000000000", nil, 0, worldAll)
	wantCode(t, "exists", err, codeNodeExists)
	if z1 := next(); z1 != z+3 {
		t.Fatalf("after two failed writes: %#x then %#x, want +3", z, z1)
	}

	z = next()
	c2, _, err := func() (*zk.Conn, <-chan zk.Event, error) { return connectQuiet(t, s.Addr) }()
	must(t, "connect", err)
	c2.Close()
	if z1 := next(); z1 != z+3 {
		t.Fatalf("after a session create and close: %#x then %#x, want +3", z, z1)
	}
}
