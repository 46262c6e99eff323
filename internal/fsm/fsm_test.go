package fsm

import (
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

const sess = int64(0x100)

type harness struct {
	t    *testing.T
	f    *FSM
	now  int64
	auth []proto.ID
}

func newHarness(t *testing.T, extended bool) *harness {
	h := &harness{t: t, f: New(extended), now: 1000}
	h.apply(&Entry{Op: proto.OpCreateSession, Session: sess, Timeout: 10000, Passwd: []byte("pw")})
	return h
}

func (h *harness) apply(e *Entry) Result {
	h.t.Helper()
	if e.Time == 0 {
		h.now++
		e.Time = h.now
	}
	if e.Auth == nil {
		e.Auth = h.auth
	}
	// Every entry goes through its wire form, as it does in the log.
	d, err := Unmarshal(e.Marshal())
	if err != nil {
		h.t.Fatalf("entry round trip: %v", err)
	}
	return h.f.Apply(1, d)
}

func (h *harness) create(path string, mode proto.CreateMode) Result {
	h.t.Helper()
	return h.apply(&Entry{Op: proto.OpCreate2, Session: sess, Req: &proto.CreateRequest{Path: path, Data: []byte("d"), ACL: proto.OpenACLUnsafe, Flags: mode}})
}

func (h *harness) mustCreate(path string, mode proto.CreateMode) string {
	h.t.Helper()
	r := h.create(path, mode)
	if r.Err != proto.ErrOK {
		h.t.Fatalf("create %s: %v", path, r.Err)
	}
	return r.Resp.(*proto.Create2Response).Path
}

func (h *harness) delete(path string, version int32) Result {
	return h.apply(&Entry{Op: proto.OpDelete, Session: sess, Req: &proto.PathVersionRequest{Path: path, Version: version}})
}

func (h *harness) stat(path string) proto.Stat {
	h.t.Helper()
	n := h.f.Tree().Get(path)
	if n == nil {
		h.t.Fatalf("no node %s", path)
	}
	return n.Stat()
}

func TestInitialTree(t *testing.T) {
	f := New(false)
	root := f.Tree().Get("/").Stat()
	// ZooKeeper shows cversion -1 on a fresh root: /zookeeper is linked without a counted create.
	if root.NumChildren != 1 || root.Cversion != -1 || root.Czxid != 0 {
		t.Fatalf("root stat = %+v", root)
	}
	zk := f.Tree().Get("/zookeeper").Stat()
	if zk.NumChildren != 2 || zk.Cversion != -2 {
		t.Fatalf("/zookeeper stat = %+v", zk)
	}
}

func TestZxidLayout(t *testing.T) {
	h := newHarness(t, false)
	r := h.create("/a", proto.ModePersistent)
	if r.Zxid != 1<<32|2 {
		t.Fatalf("zxid = %#x, want epoch 1 counter 2", r.Zxid)
	}
	r = h.create("/a", proto.ModePersistent) // a failed write still takes a zxid
	if r.Err != proto.ErrNodeExists || r.Zxid != 1<<32|3 {
		t.Fatalf("got %v %#x", r.Err, r.Zxid)
	}
	d, _ := Unmarshal((&Entry{Op: proto.OpCreate, Session: sess, Time: 5, Req: &proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe}}).Marshal())
	r = h.f.Apply(3, d)
	if r.Zxid != 3<<32|1 {
		t.Fatalf("new epoch zxid = %#x", r.Zxid)
	}
}

func TestCreateErrorsInZooKeeperOrder(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/p", proto.ModePersistent)
	h.mustCreate("/e", proto.ModeEphemeral)
	cases := []struct {
		name string
		op   proto.OpCode
		req  *proto.CreateRequest
		want proto.Err
	}{
		{"no parent", proto.OpCreate, &proto.CreateRequest{Path: "/x/y", ACL: proto.OpenACLUnsafe}, proto.ErrNoNode},
		{"exists", proto.OpCreate, &proto.CreateRequest{Path: "/p", ACL: proto.OpenACLUnsafe}, proto.ErrNodeExists},
		{"relative", proto.OpCreate, &proto.CreateRequest{Path: "p", ACL: proto.OpenACLUnsafe}, proto.ErrBadArguments},
		{"trailing slash", proto.OpCreate, &proto.CreateRequest{Path: "/p/", ACL: proto.OpenACLUnsafe}, proto.ErrBadArguments},
		{"dot segment", proto.OpCreate, &proto.CreateRequest{Path: "/p/.", ACL: proto.OpenACLUnsafe}, proto.ErrBadArguments},
		{"empty acl", proto.OpCreate, &proto.CreateRequest{Path: "/q"}, proto.ErrInvalidACL},
		{"bad flags", proto.OpCreate, &proto.CreateRequest{Path: "/q", ACL: proto.OpenACLUnsafe, Flags: 9}, proto.ErrBadArguments},
		{"ephemeral parent", proto.OpCreate, &proto.CreateRequest{Path: "/e/c", ACL: proto.OpenACLUnsafe}, proto.ErrNoChildrenForEphemerals},
		{"ttl disabled", proto.OpCreateTTL, &proto.CreateRequest{Path: "/t", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 100, HasTTL: true}, proto.ErrUnimplemented},
		// The invalid ACL is found before the missing parent, as in PrepRequestProcessor.
		{"acl before parent", proto.OpCreate, &proto.CreateRequest{Path: "/x/y"}, proto.ErrInvalidACL},
	}
	for _, c := range cases {
		r := h.apply(&Entry{Op: c.op, Session: sess, Req: c.req})
		if r.Err != c.want {
			t.Errorf("%s: got %v, want %v", c.name, r.Err, c.want)
		}
		if r.Err != proto.ErrOK && (r.Resp != nil || len(r.Changes) != 0) {
			t.Errorf("%s: a failed create produced a response or changes", c.name)
		}
	}
	// A sequential create may end in a slash: the suffix makes the path valid.
	if p := h.mustCreate("/p/", proto.ModePersistentSequential); p != "/p/0000000000" {
		t.Fatalf("sequential under trailing slash = %s", p)
	}
}

func TestSequentialNumberingCountsCreatesNotVisibleCversion(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/q", proto.ModePersistent)
	a := h.mustCreate("/q/n-", proto.ModePersistentSequential)
	b := h.mustCreate("/q/n-", proto.ModeEphemeralSequential)
	if a != "/q/n-0000000000" || b != "/q/n-0000000001" {
		t.Fatalf("names %s %s", a, b)
	}
	h.mustCreate("/q/plain", proto.ModePersistent)
	if r := h.delete(a, -1); r.Err != proto.ErrOK {
		t.Fatal(r.Err)
	}
	if r := h.delete("/q/plain", -1); r.Err != proto.ErrOK {
		t.Fatal(r.Err)
	}
	st := h.stat("/q")
	// 3 creates and 2 deletes: clients see cversion 5; the next sequence number is 3.
	if st.Cversion != 5 || st.NumChildren != 1 {
		t.Fatalf("stat after deletes = %+v", st)
	}
	if c := h.mustCreate("/q/n-", proto.ModePersistentSequential); c != "/q/n-0000000003" {
		t.Fatalf("next sequential = %s", c)
	}
}

func TestStatFields(t *testing.T) {
	h := newHarness(t, false)
	r := h.create("/s", proto.ModePersistent)
	cz := r.Zxid
	st := r.Resp.(*proto.Create2Response).Stat
	if st.Czxid != cz || st.Mzxid != cz || st.Pzxid != cz || st.Version != 0 || st.DataLength != 1 || st.Ctime != st.Mtime {
		t.Fatalf("new node stat %+v", st)
	}
	r = h.apply(&Entry{Op: proto.OpSetData, Session: sess, Req: &proto.SetDataRequest{Path: "/s", Data: []byte("hello"), Version: 0}})
	st = r.Resp.(*proto.StatResponse).Stat
	if st.Version != 1 || st.Mzxid != r.Zxid || st.Czxid != cz || st.DataLength != 5 || st.Pzxid != cz || st.Mtime <= st.Ctime {
		t.Fatalf("after setData %+v", st)
	}
	cr := h.create("/s/c", proto.ModeEphemeral)
	st = h.stat("/s")
	if st.Pzxid != cr.Zxid || st.Cversion != 1 || st.NumChildren != 1 || st.Mzxid == cr.Zxid {
		t.Fatalf("parent after child create %+v", st)
	}
	if e := h.stat("/s/c"); e.EphemeralOwner != sess {
		t.Fatalf("ephemeralOwner %#x", e.EphemeralOwner)
	}
	r = h.apply(&Entry{Op: proto.OpSetACL, Session: sess, Req: &proto.SetACLRequest{Path: "/s", ACL: proto.ReadACLUnsafe, Version: 0}})
	if st = r.Resp.(*proto.StatResponse).Stat; st.Aversion != 1 || st.Version != 1 {
		t.Fatalf("after setACL %+v", st)
	}
}

func TestVersions(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/v", proto.ModePersistent)
	set := func(v int32) proto.Err {
		return h.apply(&Entry{Op: proto.OpSetData, Session: sess, Req: &proto.SetDataRequest{Path: "/v", Version: v}}).Err
	}
	if e := set(5); e != proto.ErrBadVersion {
		t.Fatalf("wrong version: %v", e)
	}
	if e := set(0); e != proto.ErrOK {
		t.Fatal(e)
	}
	if e := set(-1); e != proto.ErrOK {
		t.Fatal(e)
	}
	if h.stat("/v").Version != 2 {
		t.Fatal("version not 2")
	}
	if e := h.delete("/v", 1).Err; e != proto.ErrBadVersion {
		t.Fatalf("delete wrong version: %v", e)
	}
	check := h.apply(&Entry{Op: proto.OpCheck, Session: sess, Req: &proto.PathVersionRequest{Path: "/v", Version: 3}})
	if check.Err != proto.ErrBadVersion {
		t.Fatalf("check: %v", check.Err)
	}
	if e := h.delete("/v", 2).Err; e != proto.ErrOK {
		t.Fatal(e)
	}
	if v, _ := nextVersion(-2, -1); v != 0 {
		t.Fatalf("version after -2 wraps to %d, want 0", v)
	}
}

func TestDeleteRules(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/d", proto.ModePersistent)
	h.mustCreate("/d/c", proto.ModePersistent)
	for _, c := range []struct {
		path string
		want proto.Err
	}{
		{"/d", proto.ErrNotEmpty}, {"/nope", proto.ErrNoNode}, {"/", proto.ErrBadArguments},
		{"/zookeeper", proto.ErrBadArguments}, {"/zookeeper/quota", proto.ErrBadArguments}, {"/x/y", proto.ErrNoNode},
	} {
		if e := h.delete(c.path, -1).Err; e != c.want {
			t.Errorf("delete %s: %v, want %v", c.path, e, c.want)
		}
	}
	r := h.delete("/d/c", -1)
	if st := h.stat("/d"); st.Pzxid != r.Zxid || st.NumChildren != 0 || st.Cversion != 2 {
		t.Fatalf("parent after delete %+v", st)
	}
	if len(r.Changes) != 1 || r.Changes[0].Type != proto.EventNodeDeleted || r.Changes[0].Path != "/d/c" {
		t.Fatalf("changes %+v", r.Changes)
	}
}

func TestMultiIsAtomic(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/m", proto.ModePersistent)
	before := h.f.Tree().Digest()
	beforeStat := h.stat("/m")
	r := h.apply(&Entry{Op: proto.OpMulti, Session: sess, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m/a", ACL: proto.OpenACLUnsafe}},
		{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m", Data: []byte("x"), Version: -1}},
		{Type: proto.OpCheck, Req: &proto.PathVersionRequest{Path: "/m", Version: 7}},
		{Type: proto.OpDelete, Req: &proto.PathVersionRequest{Path: "/m/a", Version: -1}},
	}}})
	if r.Err != proto.ErrOK {
		t.Fatalf("multi header err %v", r.Err)
	}
	res := r.Resp.(*proto.MultiResponse).Results
	want := []proto.Err{proto.ErrOK, proto.ErrOK, proto.ErrBadVersion, proto.ErrRuntimeInconsistency}
	for i, w := range want {
		if res[i].Type != proto.OpError || res[i].Err != w {
			t.Errorf("result %d = %+v, want error %v", i, res[i], w)
		}
	}
	if h.f.Tree().Digest() != before || h.stat("/m") != beforeStat {
		t.Fatal("failed multi changed the tree")
	}
	if len(r.Changes) != 0 {
		t.Fatalf("failed multi fired changes %+v", r.Changes)
	}
	r = h.apply(&Entry{Op: proto.OpMulti, Session: sess, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m/s-", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentSequential}},
		{Type: proto.OpCreate2, Req: &proto.CreateRequest{Path: "/m/s-", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentSequential}},
		{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m", Data: []byte("x"), Version: 0}},
		{Type: proto.OpCheck, Req: &proto.PathVersionRequest{Path: "/m", Version: 1}},
	}}})
	res = r.Resp.(*proto.MultiResponse).Results
	if res[0].Path != "/m/s-0000000000" || res[1].Path != "/m/s-0000000001" || res[1].Stat.Czxid != r.Zxid || res[2].Stat.Version != 1 || res[3].Type != proto.OpCheck {
		t.Fatalf("multi results %+v", res)
	}
	if len(r.Changes) != 3 {
		t.Fatalf("changes %+v", r.Changes)
	}
}

func TestCloseSessionDeletesEphemerals(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/p", proto.ModePersistent)
	h.mustCreate("/p/e1", proto.ModeEphemeral)
	h.mustCreate("/p/e2", proto.ModeEphemeralSequential)
	r := h.apply(&Entry{Op: proto.OpCloseSession, Session: sess})
	if h.f.Tree().Get("/p/e1") != nil || h.stat("/p").NumChildren != 0 || h.f.Session(sess) != nil {
		t.Fatal("ephemerals or session survived close")
	}
	if len(r.Changes) != 2 || len(r.Closed) != 1 {
		t.Fatalf("changes %+v closed %v", r.Changes, r.Closed)
	}
	if e := h.create("/p/late", proto.ModeEphemeral).Err; e != proto.ErrSessionExpired {
		t.Fatalf("write on closed session: %v", e)
	}
}

func TestContainersAndTTL(t *testing.T) {
	h := newHarness(t, true)
	c := h.apply(&Entry{Op: proto.OpCreateContainer, Session: sess, Req: &proto.CreateRequest{Path: "/c", ACL: proto.OpenACLUnsafe, Flags: proto.ModeContainer}})
	if c.Err != proto.ErrOK || h.stat("/c").EphemeralOwner != 0 {
		t.Fatalf("container: %v %+v", c.Err, h.stat("/c"))
	}
	if got := h.f.ContainerCandidates(h.now); len(got) != 0 {
		t.Fatalf("never-used container is a candidate: %v", got)
	}
	h.mustCreate("/c/x", proto.ModePersistent)
	h.delete("/c/x", -1)
	if got := h.f.ContainerCandidates(h.now); len(got) != 1 || got[0] != "/c" {
		t.Fatalf("candidates %v", got)
	}
	if e := h.apply(&Entry{Op: proto.OpDeleteContainer, Req: &proto.PathRequest{Path: "/c"}}).Err; e != proto.ErrOK || h.f.Tree().Get("/c") != nil {
		t.Fatalf("container removal: %v", e)
	}
	ttl := h.apply(&Entry{Op: proto.OpCreateTTL, Session: sess, Req: &proto.CreateRequest{Path: "/t", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 50, HasTTL: true}})
	if ttl.Err != proto.ErrOK || h.stat("/t").EphemeralOwner != 0 {
		t.Fatalf("ttl create: %v", ttl.Err)
	}
	if e := h.apply(&Entry{Op: proto.OpDeleteContainer, Time: h.now + 10, Req: &proto.PathRequest{Path: "/t"}}).Err; e == proto.ErrOK {
		t.Fatal("TTL node removed before its TTL")
	}
	if got := h.f.ContainerCandidates(h.now + 100); len(got) != 1 {
		t.Fatalf("ttl candidates %v", got)
	}
	if e := h.apply(&Entry{Op: proto.OpDeleteContainer, Time: h.now + 100, Req: &proto.PathRequest{Path: "/t"}}).Err; e != proto.ErrOK {
		t.Fatalf("ttl removal: %v", e)
	}
	for _, bad := range []int64{0, -5} {
		r := h.apply(&Entry{Op: proto.OpCreateTTL, Session: sess, Req: &proto.CreateRequest{Path: "/t2", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: bad, HasTTL: true}})
		if r.Err != proto.ErrBadArguments {
			t.Errorf("ttl %d: %v", bad, r.Err)
		}
	}
	if r := h.create("/t3", proto.ModePersistentWithTTL); r.Err != proto.ErrBadArguments {
		t.Errorf("TTL mode through plain create: %v", r.Err)
	}
	// An ordinary persistent node is never a deleteContainer target.
	h.mustCreate("/plain", proto.ModePersistent)
	if e := h.apply(&Entry{Op: proto.OpDeleteContainer, Req: &proto.PathRequest{Path: "/plain"}}).Err; e == proto.ErrOK {
		t.Fatal("deleteContainer removed a persistent node")
	}
}

func TestACLChecks(t *testing.T) {
	h := newHarness(t, false)
	user := proto.ID{Scheme: "digest", ID: "bob:XXXX"}
	h.auth = []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}, user}
	// auth scheme expands to the session's authenticated ids.
	r := h.apply(&Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/sec", ACL: proto.CreatorAllACL}})
	if r.Err != proto.ErrOK {
		t.Fatal(r.Err)
	}
	if got := h.f.Tree().Get("/sec").ACL; len(got) != 1 || got[0].ID != user {
		t.Fatalf("auth ACL expanded to %+v", got)
	}
	h.auth = []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}
	if e := h.create("/sec/c", proto.ModePersistent).Err; e != proto.ErrNoAuth {
		t.Fatalf("create without CREATE: %v", e)
	}
	if e := h.apply(&Entry{Op: proto.OpSetData, Session: sess, Req: &proto.SetDataRequest{Path: "/sec", Version: -1}}).Err; e != proto.ErrNoAuth {
		t.Fatalf("setData without WRITE: %v", e)
	}
	if _, e := h.f.GetData("/sec", h.auth); e != proto.ErrNoAuth {
		t.Fatalf("getData without READ: %v", e)
	}
	if _, e := h.f.Exists("/sec", h.auth, true); e != proto.ErrNoAuth {
		t.Fatalf("exists without READ: %v", e)
	}
	if _, e := h.f.Exists("/sec", h.auth, false); e != proto.ErrOK {
		t.Fatalf("exists without READ, unchecked: %v", e)
	}
	// Without an authenticated id the auth scheme is invalid.
	if e := h.apply(&Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/x", ACL: proto.CreatorAllACL}}).Err; e != proto.ErrInvalidACL {
		t.Fatalf("auth ACL without auth: %v", e)
	}
	// Delete needs DELETE on the parent, not on the node.
	h.auth = []proto.ID{user}
	h.apply(&Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/sec/child", ACL: proto.ReadACLUnsafe}})
	h.apply(&Entry{Op: proto.OpSetACL, Session: sess, Req: &proto.SetACLRequest{Path: "/sec", ACL: []proto.ACL{{Perms: proto.PermRead, ID: user}}, Version: -1}})
	if e := h.delete("/sec/child", -1).Err; e != proto.ErrNoAuth {
		t.Fatalf("delete without DELETE on parent: %v", e)
	}
	// getACL without ADMIN hides digest hashes.
	resp, e := h.f.GetACL("/sec", h.auth)
	if e != proto.ErrOK || resp.ACL[0].ID.ID != "bob:x" {
		t.Fatalf("getACL: %v %+v", e, resp)
	}
	// Super sees everything.
	super := []proto.ID{{Scheme: "super", ID: ""}}
	if _, e := h.f.GetData("/sec", super); e != proto.ErrOK {
		t.Fatalf("super getData: %v", e)
	}
}

func TestQuotaStatsTracked(t *testing.T) {
	h := newHarness(t, false)
	h.mustCreate("/q", proto.ModePersistent) // data "d"
	h.mustCreate("/q/a", proto.ModePersistent)
	h.mustCreate("/zookeeper/quota/q", proto.ModePersistent)
	h.mustCreate("/zookeeper/quota/q/zookeeper_limits", proto.ModePersistent)
	h.mustCreate("/zookeeper/quota/q/zookeeper_stats", proto.ModePersistent)
	stats := func() string { return string(h.f.Tree().Get("/zookeeper/quota/q/zookeeper_stats").Data) }
	if got := stats(); got != "count=2,bytes=2" {
		t.Fatalf("initial stats %q", got)
	}
	v := h.stat("/zookeeper/quota/q/zookeeper_stats").Version
	h.mustCreate("/q/a/b", proto.ModePersistent)
	h.apply(&Entry{Op: proto.OpSetData, Session: sess, Req: &proto.SetDataRequest{Path: "/q", Data: []byte("four"), Version: -1}})
	h.delete("/q/a/b", -1)
	if got := stats(); got != "count=2,bytes=5" {
		t.Fatalf("stats after changes %q", got)
	}
	if h.stat("/zookeeper/quota/q/zookeeper_stats").Version != v {
		t.Fatal("stats updates changed the node's version")
	}
	// A failed multi leaves the stats alone.
	h.apply(&Entry{Op: proto.OpMulti, Session: sess, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/q/x", Data: []byte("123"), ACL: proto.OpenACLUnsafe}},
		{Type: proto.OpDelete, Req: &proto.PathVersionRequest{Path: "/nope", Version: -1}},
	}}})
	if got := stats(); got != "count=2,bytes=5" {
		t.Fatalf("stats after failed multi %q", got)
	}
	// Snapshots restore the quota roots.
	g, err := DecodeSnapshot(snapshotBytes(t, h.f))
	if err != nil {
		t.Fatal(err)
	}
	h2 := &harness{t: t, f: g, now: h.now}
	h2.mustCreate("/q/y", proto.ModePersistent)
	if got := string(g.Tree().Get("/zookeeper/quota/q/zookeeper_stats").Data); got != "count=3,bytes=6" {
		t.Fatalf("stats after restore %q", got)
	}
}

func TestWritesOfAConnectionApplyInSequence(t *testing.T) {
	h := newHarness(t, false)
	w := func(conn, seq uint64, path string) proto.Err {
		return h.apply(&Entry{Op: proto.OpCreate, Session: sess, Conn: conn, Seq: seq, Req: &proto.CreateRequest{Path: path, ACL: proto.OpenACLUnsafe}}).Err
	}
	if e := w(7, 1, "/a"); e != proto.ErrOK {
		t.Fatal(e)
	}
	if e := w(7, 2, "/a"); e != proto.ErrNodeExists { // a failed write still counts
		t.Fatal(e)
	}
	// Write 3 was lost: write 4 must not apply; it is discarded (its
	// connection proposes 3 and 4 again).
	zxid := h.f.Zxid()
	if r := h.apply(&Entry{Op: proto.OpCreate, Session: sess, Conn: 7, Seq: 4, Req: &proto.CreateRequest{Path: "/b", ACL: proto.OpenACLUnsafe}}); !r.Ahead || h.f.Tree().Get("/b") != nil || h.f.Zxid() != zxid {
		t.Fatalf("gap: %+v", r)
	}
	if e := w(7, 3, "/b3"); e != proto.ErrOK {
		t.Fatalf("the missing write, again: %v", e)
	}
	if e := w(7, 4, "/b"); e != proto.ErrOK {
		t.Fatalf("the write after it, again: %v", e)
	}
	// A new connection of the same session starts at 1; the old one is then stale.
	if e := w(9, 1, "/c"); e != proto.ErrOK {
		t.Fatal(e)
	}
	if e := w(7, 5, "/d"); e != proto.ErrSessionMoved {
		t.Fatalf("stale connection: %v", e)
	}
	// A new connection whose first write was lost is refused too.
	if e := w(11, 2, "/e"); e != proto.ErrSessionMoved {
		t.Fatalf("lost first write: %v", e)
	}
	// The sequence survives a snapshot.
	g, err := DecodeSnapshot(snapshotBytes(t, h.f))
	if err != nil {
		t.Fatal(err)
	}
	h2 := &harness{t: t, f: g, now: h.now}
	if e := h2.apply(&Entry{Op: proto.OpCreate, Session: sess, Conn: 9, Seq: 2, Req: &proto.CreateRequest{Path: "/f", ACL: proto.OpenACLUnsafe}}).Err; e != proto.ErrOK {
		t.Fatalf("after restore: %v", e)
	}
}
