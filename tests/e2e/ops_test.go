package e2e

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestCreateModes creates one node of every kind and checks the names and the
// ephemeralOwner the server reports: the session for ephemerals, 0 for
// persistent nodes and also for containers and TTL nodes: ZooKeeper stores
// those kinds in ephemeralOwner (Long.MIN_VALUE, 0xFF00000000000000|ttl) but
// DataNode.copyStat shows clients 0 for them.
func TestCreateModes(t *testing.T) {
	_, c := start(t, nil)
	sid := c.SessionID()

	cases := []struct {
		path, want string
		mk         func() (string, error)
		owner      int64
	}{
		{"/p", "/p", func() (string, error) { return c.Create("/p", []byte("d"), zk.FlagPersistent, worldAll) }, 0},
		{"/e", "/e", func() (string, error) { return c.Create("/e", []byte("d"), zk.FlagEphemeral, worldAll) }, sid},
		{"/s-", "/s-0000000002", func() (string, error) { return c.Create("/s-", []byte("d"), zk.FlagSequence, worldAll) }, 0},
		{"/es-", "/es-0000000003", func() (string, error) {
			return c.Create("/es-", []byte("d"), zk.FlagEphemeralSequential, worldAll)
		}, sid},
		{"/c", "/c", func() (string, error) { return c.CreateContainer("/c", []byte("d"), zk.FlagContainer, worldAll) }, 0},
		{"/ttl", "/ttl", func() (string, error) {
			return c.CreateTTL("/ttl", []byte("d"), zk.FlagTTL, worldAll, time.Hour)
		}, 0},
		{"/sttl-", "/sttl-0000000006", func() (string, error) {
			return c.CreateTTL("/sttl-", []byte("d"), zk.FlagPersistentSequentialWithTTL, worldAll, 90*time.Minute)
		}, 0},
	}
	for _, tc := range cases {
		got, err := tc.mk()
		if err != nil || got != tc.want {
			t.Fatalf("create %s = %q, %v; want %q", tc.path, got, err, tc.want)
		}
		st := stat(t, c, got)
		if st.EphemeralOwner != tc.owner {
			t.Errorf("%s: ephemeralOwner %#x, want %#x", got, uint64(st.EphemeralOwner), uint64(tc.owner))
		}
		data, _, err := c.Get(got)
		if err != nil || string(data) != "d" {
			t.Errorf("get %s = %q, %v", got, data, err)
		}
	}
}

// TestCreateErrors covers the create failures a client can provoke.
func TestCreateErrors(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/a", nil, 0)
	create(t, c, "/eph", nil, zk.FlagEphemeral)

	_, err := c.Create("/a", nil, 0, worldAll)
	wantCode(t, "existing node", err, codeNodeExists)
	_, err = c.Create("/missing/child", nil, 0, worldAll)
	wantCode(t, "missing parent", err, codeNoNode)
	_, err = c.Create("/eph/child", nil, 0, worldAll)
	wantCode(t, "child of an ephemeral", err, codeNoChildrenForEph)
	_, err = c.Create("/eph/child", nil, zk.FlagEphemeralSequential, worldAll)
	wantCode(t, "sequential child of an ephemeral", err, codeNoChildrenForEph)
	_, err = c.Create("/b", nil, 0, nil)
	wantCode(t, "empty ACL", err, codeInvalidACL)
	_, err = c.Create("/b", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "nobody"}})
	wantCode(t, "world ACL with an id other than anyone", err, codeInvalidACL)
	_, err = c.Create("/b", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "nosuch", ID: "x"}})
	wantCode(t, "unknown ACL scheme", err, codeInvalidACL)
	_, err = c.Create("/b", nil, 0, zk.AuthACL(zk.PermAll))
	wantCode(t, "auth ACL without credentials", err, codeInvalidACL)
	_, err = c.Create("/", nil, 0, worldAll)
	wantCode(t, "create /", err, codeNodeExists)
	if got := children(t, c, "/"); strings.Join(got, ",") != "a,eph,zookeeper" {
		t.Fatalf("children of / after failed creates: %v", got)
	}

	// Sequential creates may end in a slash: the name is just the number.
	p, err := c.Create("/a/", nil, zk.FlagSequence, worldAll)
	if err != nil || p != "/a/0000000000" {
		t.Fatalf("create /a/ sequential = %q, %v", p, err)
	}
}

// TestDeleteErrors covers delete failures, including the nodes ZooKeeper
// refuses to delete: /, /zookeeper and /zookeeper/quota (BadArguments).
func TestDeleteErrors(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/a", nil, 0)
	create(t, c, "/a/b", nil, 0)

	wantCode(t, "delete missing", c.Delete("/nope", -1), codeNoNode)
	wantCode(t, "delete with children", c.Delete("/a", -1), codeNotEmpty)
	wantCode(t, "delete wrong version", c.Delete("/a/b", 3), codeBadVersion)
	wantCode(t, "delete missing, wrong version", c.Delete("/nope", 3), codeNoNode)
	must(t, "delete right version", c.Delete("/a/b", 0))
	_, err := c.Set("/a", []byte("x"), -1)
	must(t, "set", err)
	wantCode(t, "delete stale version", c.Delete("/a", 0), codeBadVersion)
	must(t, "delete version 1", c.Delete("/a", 1))
	wantCode(t, "delete /", c.Delete("/", -1), codeBadArguments)
	wantCode(t, "delete /zookeeper", c.Delete("/zookeeper", -1), codeBadArguments)
	wantCode(t, "delete /zookeeper/quota", c.Delete("/zookeeper/quota", -1), codeBadArguments)
}

// TestGetSetExists covers data reads and writes, null versus empty data, and
// version checks.
func TestGetSetExists(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/null", nil, 0)
	create(t, c, "/empty", []byte{}, 0)
	create(t, c, "/bin", []byte{0, 1, 2, 0xff}, 0)

	data, st, err := c.Get("/null")
	if err != nil || data != nil || st.DataLength != 0 {
		t.Fatalf("get /null = %v (nil %v), %+v, %v; want null data", data, data == nil, st, err)
	}
	data, _, err = c.Get("/empty")
	if err != nil || data == nil || len(data) != 0 {
		t.Fatalf("get /empty = %v (nil %v), %v; want empty non-null data", data, data == nil, err)
	}
	data, _, err = c.Get("/bin")
	if err != nil || !bytes.Equal(data, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("get /bin = %v, %v", data, err)
	}
	_, _, err = c.Get("/nope")
	wantCode(t, "get missing", err, codeNoNode)

	st, err = c.Set("/null", []byte("v1"), 0)
	if err != nil || st.Version != 1 || st.DataLength != 2 {
		t.Fatalf("set = %+v, %v", st, err)
	}
	_, err = c.Set("/null", []byte("v2"), 0)
	wantCode(t, "set stale version", err, codeBadVersion)
	_, err = c.Set("/nope", []byte("v2"), -1)
	wantCode(t, "set missing", err, codeNoNode)
	_, err = c.Set("/nope", []byte("v2"), 7)
	wantCode(t, "set missing, wrong version", err, codeNoNode)
	st, err = c.Set("/null", nil, -1)
	if err != nil || st.Version != 2 || st.DataLength != 0 {
		t.Fatalf("set null = %+v, %v", st, err)
	}
	data, _, err = c.Get("/null")
	if err != nil || data != nil {
		t.Fatalf("get after set null = %v (nil %v), %v", data, data == nil, err)
	}

	ok, st, err := c.Exists("/bin")
	if err != nil || !ok || st.DataLength != 4 {
		t.Fatalf("exists /bin = %v, %+v, %v", ok, st, err)
	}
	ok, _, err = c.Exists("/nope")
	if err != nil || ok {
		t.Fatalf("exists /nope = %v, %v", ok, err)
	}
	// The root and the /zookeeper subtree exist on a fresh server.
	for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
		if !exists(t, c, p) {
			t.Errorf("%s missing", p)
		}
	}
	if got := children(t, c, "/zookeeper"); strings.Join(got, ",") != "config,quota" {
		t.Errorf("children of /zookeeper = %v", got)
	}
}

// TestChildren lists children (no order guaranteed) with their parent's Stat.
func TestChildren(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/p", nil, 0)
	names := []string{"b", "a", "c", "a-b", "0"}
	for _, n := range names {
		create(t, c, "/p/"+n, nil, 0)
	}
	got, st, err := c.Children("/p")
	must(t, "children", err)
	if len(got) != len(names) || st.NumChildren != int32(len(names)) || st.Cversion != int32(len(names)) {
		t.Fatalf("children = %v, stat %+v", got, st)
	}
	if strings.Join(children(t, c, "/p"), ",") != "0,a,a-b,b,c" {
		t.Fatalf("children sorted = %v", children(t, c, "/p"))
	}
	leaf, _, err := c.Children("/p/a")
	if err != nil || len(leaf) != 0 {
		t.Fatalf("children of a leaf = %v, %v", leaf, err)
	}
	_, _, err = c.Children("/nope")
	wantCode(t, "children of missing", err, codeNoNode)
}

// TestSync: sync answers with the path it was given, existing or not.
func TestSync(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/a", nil, 0)
	for _, p := range []string{"/", "/a", "/nope"} {
		got, err := c.Sync(p)
		if err != nil || got != p {
			t.Errorf("sync %s = %q, %v", p, got, err)
		}
	}
}

// TestMulti covers a transaction that succeeds and ones that fail: a failed
// multi changes nothing, reports the failing op's error, Ok for the ops
// before it and RuntimeInconsistency for the ops after it.
func TestMulti(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/x", []byte("x"), 0)

	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m", Data: []byte("1"), Acl: worldAll},
		&zk.CreateRequest{Path: "/m/s-", Acl: worldAll, Flags: zk.FlagSequence},
		&zk.SetDataRequest{Path: "/m", Data: []byte("2"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
		&zk.DeleteRequest{Path: "/x", Version: 0},
	)
	must(t, "multi", err)
	if len(res) != 5 || res[0].String != "/m" || res[1].String != "/m/s-0000000000" ||
		res[2].Stat == nil || res[2].Stat.Version != 1 {
		t.Fatalf("multi results %+v", res)
	}
	for i, r := range res {
		if r.Error != nil {
			t.Errorf("result %d error %v", i, r.Error)
		}
	}
	// All ops of one multi share one zxid.
	stM := stat(t, c, "/m")
	stS := stat(t, c, "/m/s-0000000000")
	if stM.Czxid != stM.Mzxid || stM.Czxid != stS.Czxid || stM.Pzxid != stM.Czxid {
		t.Errorf("multi zxids differ: /m %+v, child %+v", stM, stS)
	}
	if exists(t, c, "/x") {
		t.Fatal("/x not deleted by multi")
	}

	before := stat(t, c, "/m")
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/n", Acl: worldAll},
		&zk.SetDataRequest{Path: "/m", Data: []byte("3"), Version: 1},
		&zk.CheckVersionRequest{Path: "/m", Version: 7},
		&zk.DeleteRequest{Path: "/m", Version: -1},
	)
	wantCode(t, "failed multi", err, codeBadVersion)
	wantCodes := []int32{codeOK, codeOK, codeBadVersion, codeRuntimeInconsistency}
	if len(res) != len(wantCodes) {
		t.Fatalf("failed multi: %d results, want %d", len(res), len(wantCodes))
	}
	for i, r := range res {
		if code(r.Error) != wantCodes[i] {
			t.Errorf("failed multi result %d: %v, want code %d", i, r.Error, wantCodes[i])
		}
	}
	if exists(t, c, "/n") {
		t.Error("failed multi created /n")
	}
	if after := stat(t, c, "/m"); after.Version != before.Version || after.Mzxid != before.Mzxid {
		t.Errorf("failed multi changed /m: %+v -> %+v", before, after)
	}

	// Other failures, each in first position.
	for _, tc := range []struct {
		name string
		op   any
		want int32
	}{
		{"create existing", &zk.CreateRequest{Path: "/m", Acl: worldAll}, codeNodeExists},
		{"create no parent", &zk.CreateRequest{Path: "/q/r", Acl: worldAll}, codeNoNode},
		{"delete not empty", &zk.DeleteRequest{Path: "/m", Version: -1}, codeNotEmpty},
		{"delete missing", &zk.DeleteRequest{Path: "/q", Version: -1}, codeNoNode},
		{"check missing", &zk.CheckVersionRequest{Path: "/q", Version: 0}, codeNoNode},
		{"set missing", &zk.SetDataRequest{Path: "/q", Version: -1}, codeNoNode},
		{"create bad acl", &zk.CreateRequest{Path: "/q"}, codeInvalidACL},
	} {
		res, err := c.Multi(tc.op, &zk.CreateRequest{Path: "/after", Acl: worldAll})
		if code(err) != tc.want || len(res) != 2 || code(res[0].Error) != tc.want ||
			code(res[1].Error) != codeRuntimeInconsistency {
			t.Errorf("%s: err %v, results %+v; want code %d then %d", tc.name, err, res, tc.want, codeRuntimeInconsistency)
		}
	}
	if exists(t, c, "/after") {
		t.Error("a failed multi created /after")
	}

	// Ops see the effects of earlier ops in the same multi.
	_, err = c.Multi(
		&zk.CreateRequest{Path: "/t", Acl: worldAll},
		&zk.CreateRequest{Path: "/t/u", Acl: worldAll},
		&zk.DeleteRequest{Path: "/t/u", Version: 0},
		&zk.DeleteRequest{Path: "/t", Version: 0},
	)
	must(t, "create and delete in one multi", err)
	if exists(t, c, "/t") {
		t.Error("/t exists")
	}

	// An empty multi succeeds with no results.
	res, err = c.Multi()
	if err != nil || len(res) != 0 {
		t.Errorf("empty multi = %+v, %v", res, err)
	}
}

// TestReconfigDisabled: reconfig on a standalone server without
// reconfigEnabled fails with ReconfigDisabled.
func TestReconfigDisabled(t *testing.T) {
	_, c := start(t, nil)
	_, err := c.IncrementalReconfig([]string{"server.2=127.0.0.1:2888:3888;2182"}, nil, -1)
	wantCode(t, "incremental reconfig", err, codeReconfigDisabled)
	_, err = c.Reconfig([]string{"server.1=127.0.0.1:2888:3888;2181"}, -1)
	wantCode(t, "reconfig", err, codeReconfigDisabled)
}

// TestAddAuth: digest credentials are accepted; an unknown scheme gets
// AuthFailed and the server drops the connection (go-zookeeper reconnects and
// keeps its session).
func TestAddAuth(t *testing.T) {
	s, c := start(t, nil)
	must(t, "digest", c.AddAuth("digest", []byte("user:pw")))
	must(t, "digest again", c.AddAuth("digest", []byte("user2:pw")))

	c2, ev := zktest.Connect(t, s.Addr)
	sid := c2.SessionID()
	err := c2.AddAuth("nosuch", []byte("x"))
	wantCode(t, "unknown scheme", err, codeAuthFailed)
	must(t, "reconnected", zktest.WaitSession(ev, waitFor))
	if c2.SessionID() != sid {
		t.Fatalf("session changed after AuthFailed: %#x -> %#x", sid, c2.SessionID())
	}

	// Raw: the AuthFailed reply has xid -4, then the connection is closed.
	r := zktest.DialRaw(t, s.Addr)
	_, err = r.Handshake(10000, 0, nil, true)
	must(t, "handshake", err)
	var e zktest.Enc
	e.Int(0)
	e.String("nosuch")
	e.Buffer([]byte("x"))
	h, _, err := r.Request(-4, 100, e.Bytes())
	if err != nil || h.Err != codeAuthFailed {
		t.Fatalf("auth reply %+v, %v", h, err)
	}
	var ex zktest.Enc
	ex.String("/")
	ex.Bool(false)
	if h, _, err := r.Request(1, 3, ex.Bytes()); err == nil {
		t.Fatalf("the connection still answers requests after AuthFailed: %+v", h)
	}
	if !r.WaitClosed(waitFor) {
		t.Fatal("connection still open after AuthFailed")
	}
}

// TestClientSideValidation documents what go-zookeeper rejects before sending
// anything, so that server tests of bad paths must use raw requests.
func TestClientSideValidation(t *testing.T) {
	_, c := start(t, nil)
	for _, p := range []string{"", "a", "/a/", "/a//b", "/a/./b", "/a/../b", "/a\x00b"} {
		if _, err := c.Create(p, nil, 0, worldAll); !errors.Is(err, zk.ErrInvalidPath) {
			t.Errorf("create %q: %v, want zk.ErrInvalidPath", p, err)
		}
	}
	if _, err := c.Create("/a", nil, 7, worldAll); err == nil {
		t.Error("create with flags 7 accepted")
	}
	if _, err := c.Create("/a", nil, zk.FlagTTL, worldAll); !errors.Is(err, zk.ErrInvalidFlags) {
		t.Errorf("Create with the TTL flag: %v", err)
	}
}

// rawCreate sends create (opcode 1) with the given path and mode and returns
// the error code.
func rawCreate(t *testing.T, r *zktest.Raw, xid int32, path string, mode int32) (int32, string) {
	t.Helper()
	var b zktest.Enc
	b.String(path)
	b.Buffer(nil)
	b.Int(1)  // one ACL
	b.Int(31) // perms
	b.String("world")
	b.String("anyone")
	b.Int(mode)
	h, body, err := r.Request(xid, 1, b.Bytes())
	if err != nil {
		t.Fatalf("raw create %q: %v", path, err)
	}
	d := zktest.Dec{B: body}
	name := ""
	if h.Err == 0 {
		name = d.String()
	}
	return h.Err, name
}

// TestServerPathValidation sends malformed paths that go-zookeeper would
// refuse. ZooKeeper's create first splits the path at its last slash and looks
// up the parent (NoNode when it is missing), and only then validates the whole
// path (BadArguments); a path without a slash or with a NUL byte fails first.
// Reads do not validate paths: they just find no such node.
func TestServerPathValidation(t *testing.T) {
	s, c := start(t, nil)
	create(t, c, "/a", nil, 0)
	r := zktest.DialRaw(t, s.Addr)
	_, err := r.Handshake(10000, 0, nil, true)
	must(t, "handshake", err)

	for i, tc := range []struct {
		path string
		want int32
	}{
		{"", codeBadArguments},
		{"a", codeBadArguments},
		{"/a\x00b", codeBadArguments},
		{"/a/", codeBadArguments},   // parent /a exists, empty last name
		{"/a/.", codeBadArguments},  // parent /a exists
		{"/a/..", codeBadArguments}, // parent /a exists
		{"/\x01", codeBadArguments},
		{"/a\x7f", codeBadArguments},
		{"//", codeBadArguments},
		{"/a//b", codeNoNode},   // parent "/a/" does not exist
		{"/a/./b", codeNoNode},  // parent "/a/." does not exist
		{"/a/../b", codeNoNode}, // parent "/a/.." does not exist
		{"/nope/", codeNoNode},
	} {
		got, _ := rawCreate(t, r, int32(10+i), tc.path, 0)
		if got != tc.want {
			t.Errorf("create %q: code %d, want %d", tc.path, got, tc.want)
		}
	}
	// A sequential create validates the path with the suffix appended.
	if got, name := rawCreate(t, r, 50, "/a/", 2); got != 0 || name != "/a/0000000000" {
		t.Errorf("sequential create /a/: %d %q", got, name)
	}
	if got, _ := rawCreate(t, r, 51, "/a//", 2); got != codeNoNode {
		t.Errorf("sequential create /a//: %d", got)
	}
	// Names with dots that are not . or .. are fine.
	for i, p := range []string{"/.a", "/a..", "/...", "/a/.b."} {
		if got, _ := rawCreate(t, r, int32(60+i), p, 0); got != 0 {
			t.Errorf("create %q: code %d, want 0", p, got)
		}
	}
	for i, p := range []string{"a", "/a/", "/a//b"} {
		var e zktest.Enc
		e.String(p)
		e.Bool(false)
		h, _, err := r.Request(int32(100+i), 4, e.Bytes())
		if err != nil || h.Err != codeNoNode {
			t.Errorf("getData %q: %+v, %v; want code %d", p, h, err, codeNoNode)
		}
	}
}
