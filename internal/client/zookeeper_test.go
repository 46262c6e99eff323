package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/testutil/zkproc"
)

// zk is the Apache ZooKeeper shared by the tests of this package, or nil.
var zk *zkproc.Server

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if zkproc.Available() && !testing.Short() {
		zk, err = zkproc.New(zkproc.Config{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if zk != nil {
		zk.Stop()
		os.RemoveAll(zk.Dir)
	}
	os.Exit(code)
}

// dialZK connects to the shared ZooKeeper and returns the connection and a
// fresh test root (removed afterwards).
func dialZK(t *testing.T, opts ...Option) (*Conn, string) {
	t.Helper()
	if zk == nil {
		t.Skip("Apache ZooKeeper is not available (java or the jar missing, or -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, []string{zk.Addr}, 10*time.Second, append([]Option{WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	root := "/" + strings.ReplaceAll(t.Name(), "/", "_")
	if _, err := c.Create(ctx, root, nil, proto.OpenACLUnsafe, proto.ModePersistent); err != nil && !errors.Is(err, proto.ErrNodeExists) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cleanup(root)
	})
	return c, root
}

// cleanup deletes a subtree with a fresh session.
func cleanup(root string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, []string{zk.Addr}, 10*time.Second, WithLogger(quietLogger()))
	if err != nil {
		return
	}
	defer c.Close()
	var del func(p string)
	del = func(p string) {
		ch, _ := c.Children(ctx, p, false)
		for _, k := range ch {
			del(p + "/" + k)
		}
		c.Delete(ctx, p, -1)
	}
	del(root)
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestZKCreateModes(t *testing.T) {
	c, root := dialZK(t)
	ctx := ctx5(t)
	p, err := c.Create(ctx, root+"/p", []byte("data"), proto.OpenACLUnsafe, proto.ModePersistent)
	if err != nil || p != root+"/p" {
		t.Fatalf("create: %q %v", p, err)
	}
	if _, err := c.Create(ctx, root+"/p", nil, proto.OpenACLUnsafe, proto.ModePersistent); !errors.Is(err, proto.ErrNodeExists) {
		t.Fatalf("create again: %v", err)
	}
	if _, err := c.Create(ctx, root+"/none/x", nil, proto.OpenACLUnsafe, proto.ModePersistent); !errors.Is(err, proto.ErrNoNode) {
		t.Fatalf("create without parent: %v", err)
	}
	s1, err := c.Create(ctx, root+"/s-", nil, proto.OpenACLUnsafe, proto.ModePersistentSequential)
	if err != nil || s1 != root+"/s-0000000001" {
		t.Fatalf("sequential: %q %v", s1, err)
	}
	e, st, err := c.Create2(ctx, root+"/e", []byte("x"), proto.OpenACLUnsafe, proto.ModeEphemeral)
	if err != nil || e != root+"/e" || st.EphemeralOwner != c.SessionID() || st.DataLength != 1 || st.Czxid == 0 {
		t.Fatalf("create2 ephemeral: %q %+v %v", e, st, err)
	}
	if _, err := c.Create(ctx, root+"/e/child", nil, proto.OpenACLUnsafe, proto.ModePersistent); !errors.Is(err, proto.ErrNoChildrenForEphemerals) {
		t.Fatalf("child of ephemeral: %v", err)
	}
	es, _, err := c.Create2(ctx, root+"/es-", nil, proto.OpenACLUnsafe, proto.ModeEphemeralSequential)
	if err != nil || es != root+"/es-0000000003" {
		t.Fatalf("ephemeral sequential: %q %v", es, err)
	}
	ct, st, err := c.Create2(ctx, root+"/ctr", nil, proto.OpenACLUnsafe, proto.ModeContainer)
	if err != nil || ct != root+"/ctr" {
		t.Fatalf("container: %q %v", ct, err)
	}
	// ZooKeeper shows containers and TTL nodes with ephemeralOwner 0.
	if st.EphemeralOwner != 0 {
		t.Fatalf("container ephemeralOwner %x", st.EphemeralOwner)
	}
	tp, st, err := c.CreateTTL(ctx, root+"/ttl", nil, proto.OpenACLUnsafe, proto.ModePersistentWithTTL, time.Hour)
	if err != nil || tp != root+"/ttl" || st.EphemeralOwner != 0 {
		t.Fatalf("ttl: %q %+v %v", tp, st, err)
	}
	ts, _, err := c.CreateTTL(ctx, root+"/ttls-", nil, proto.OpenACLUnsafe, proto.ModePersistentSequentialWithTTL, time.Hour)
	if err != nil || ts != root+"/ttls-0000000006" {
		t.Fatalf("ttl sequential: %q %v", ts, err)
	}
	eph, err := c.GetEphemerals(ctx, root)
	slices.Sort(eph)
	if err != nil || !slices.Equal(eph, []string{root + "/e", root + "/es-0000000003"}) {
		t.Fatalf("ephemerals: %v %v", eph, err)
	}
	n, err := c.GetAllChildrenNumber(ctx, root)
	if err != nil || n != 7 {
		t.Fatalf("all children number: %d %v", n, err)
	}
	// Closing the session removes its ephemerals.
	c2, _ := dialZK(t)
	c.Close()
	if _, ok, err := c2.Exists(ctx, root+"/e", false); ok || err != nil {
		t.Fatalf("ephemeral after close: %v %v", ok, err)
	}
}

func TestZKContainerAndTTLExpire(t *testing.T) {
	c, root := dialZK(t)
	ctx := ctx5(t)
	if _, err := c.Create(ctx, root+"/ctr", nil, proto.OpenACLUnsafe, proto.ModeContainer); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, root+"/ctr/x", nil, proto.OpenACLUnsafe, proto.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, root+"/ctr/x", -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateTTL(ctx, root+"/ttl", nil, proto.OpenACLUnsafe, proto.ModePersistentWithTTL, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, ctr, _ := c.Exists(context.Background(), root+"/ctr", false)
		_, ttl, _ := c.Exists(context.Background(), root+"/ttl", false)
		if !ctr && !ttl {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container exists %v, ttl node exists %v", ctr, ttl)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestZKDataVersionsAndACL(t *testing.T) {
	c, root := dialZK(t)
	ctx := ctx5(t)
	p := root + "/d"
	if _, err := c.Create(ctx, p, []byte("v0"), proto.OpenACLUnsafe, proto.ModePersistent); err != nil {
		t.Fatal(err)
	}
	st, err := c.SetData(ctx, p, []byte("v1"), 0)
	if err != nil || st.Version != 1 {
		t.Fatalf("setData: %+v %v", st, err)
	}
	if _, err := c.SetData(ctx, p, []byte("v2"), 0); !errors.Is(err, proto.ErrBadVersion) {
		t.Fatalf("stale setData: %v", err)
	}
	d, st, err := c.GetData(ctx, p, false)
	if err != nil || string(d) != "v1" || st.Version != 1 || st.DataLength != 2 {
		t.Fatalf("getData: %q %+v %v", d, st, err)
	}
	if err := c.Check(ctx, p, 1); err != nil {
		t.Fatalf("check: %v", err)
	}
	if err := c.Check(ctx, p, 0); !errors.Is(err, proto.ErrBadVersion) {
		t.Fatalf("stale check: %v", err)
	}
	acl, st, err := c.GetACL(ctx, p)
	if err != nil || len(acl) != 1 || acl[0] != proto.OpenACLUnsafe[0] || st.Aversion != 0 {
		t.Fatalf("getACL: %+v %+v %v", acl, st, err)
	}
	if err := c.AddAuth(ctx, "digest", []byte("user:secret")); err != nil {
		t.Fatalf("addAuth: %v", err)
	}
	who, err := c.WhoAmI(ctx)
	if err != nil || !slices.Contains(who, proto.ClientInfo{AuthScheme: "digest", User: "user"}) {
		t.Fatalf("whoAmI: %+v %v", who, err)
	}
	st, err = c.SetACL(ctx, p, proto.CreatorAllACL, 0)
	if err != nil || st.Aversion != 1 {
		t.Fatalf("setACL: %+v %v", st, err)
	}
	acl, _, err = c.GetACL(ctx, p)
	if err != nil || len(acl) != 1 || acl[0].ID.Scheme != "digest" || !strings.HasPrefix(acl[0].ID.ID, "user:") {
		t.Fatalf("getACL after setACL: %+v %v", acl, err)
	}
	// Another session without the identity may not read.
	c2, _ := dialZK(t)
	if _, _, err := c2.GetData(ctx, p, false); !errors.Is(err, proto.ErrNoAuth) {
		t.Fatalf("getData without auth: %v", err)
	}
	if err := c.Delete(ctx, p, 5); !errors.Is(err, proto.ErrBadVersion) {
		t.Fatalf("delete with wrong version: %v", err)
	}
	if err := c.Delete(ctx, root, -1); !errors.Is(err, proto.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if err := c.Delete(ctx, p, 1); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

func TestZKChildrenSyncMulti(t *testing.T) {
	c, root := dialZK(t)
	ctx := ctx5(t)
	// ZooKeeper turns a create2 inside a multi into a create: its result has
	// type create and no Stat.
	res, err := c.Multi(ctx,
		CreateOp(root+"/a", []byte("A"), proto.OpenACLUnsafe, proto.ModePersistent),
		Create2Op(root+"/b", nil, proto.OpenACLUnsafe, proto.ModePersistent),
		SetDataOp(root+"/a", []byte("AA"), 0),
		CheckOp(root+"/a", 1),
	)
	if err != nil || len(res) != 4 || res[0].Type != proto.OpCreate || res[0].Path != root+"/a" ||
		res[1].Type != proto.OpCreate || res[1].Path != root+"/b" || res[2].Type != proto.OpSetData || res[2].Stat.Version != 1 || res[3].Type != proto.OpCheck {
		t.Fatalf("multi: %+v %v", res, err)
	}
	res, err = c.Multi(ctx,
		CreateOp(root+"/c", nil, proto.OpenACLUnsafe, proto.ModePersistent),
		DeleteOp(root+"/missing", -1),
		SetDataOp(root+"/a", nil, -1),
	)
	if !errors.Is(err, proto.ErrNoNode) || len(res) != 3 ||
		res[0].Err != proto.ErrOK || res[1].Err != proto.ErrNoNode || res[2].Err != proto.ErrRuntimeInconsistency {
		t.Fatalf("failed multi: %+v %v", res, err)
	}
	if _, ok, _ := c.Exists(ctx, root+"/c", false); ok {
		t.Fatal("failed multi was applied")
	}
	ch, err := c.Children(ctx, root, false)
	slices.Sort(ch)
	if err != nil || !slices.Equal(ch, []string{"a", "b"}) {
		t.Fatalf("children: %v %v", ch, err)
	}
	ch, st, err := c.Children2(ctx, root, false)
	if err != nil || len(ch) != 2 || st.NumChildren != 2 || st.Cversion != 2 {
		t.Fatalf("children2: %v %+v %v", ch, st, err)
	}
	res, err = c.MultiRead(ctx, GetDataOp(root+"/a"), ChildrenOp(root), GetDataOp(root+"/missing"))
	if err != nil || len(res) != 3 || string(res[0].Data) != "AA" || len(res[1].Children) != 2 || res[2].Type != proto.OpError || res[2].Err != proto.ErrNoNode {
		t.Fatalf("multiRead: %+v %v", res, err)
	}
	// createContainer and createTTL inside a multi come back as create2
	// results, with a Stat.
	res, err = c.Multi(ctx,
		CreateOp(root+"/ctr", nil, proto.OpenACLUnsafe, proto.ModeContainer),
		CreateTTLOp(root+"/ttl", nil, proto.OpenACLUnsafe, proto.ModePersistentWithTTL, time.Hour))
	if err != nil || len(res) != 2 || res[0].Type != proto.OpCreate2 || res[0].Path != root+"/ctr" || res[0].Stat.Czxid == 0 ||
		res[1].Type != proto.OpCreate2 || res[1].Path != root+"/ttl" || res[1].Stat.Czxid != res[0].Stat.Czxid {
		t.Fatalf("multi with container and TTL: %+v %v", res, err)
	}
	if res, err := c.Multi(ctx); err != nil || len(res) != 0 {
		t.Fatalf("empty multi: %+v %v", res, err)
	}
	if p, err := c.Sync(ctx, root); err != nil || p != root {
		t.Fatalf("sync: %q %v", p, err)
	}
}

func TestZKWatches(t *testing.T) {
	var mu sync.Mutex
	var defaults []string
	c, root := dialZK(t, WithWatcher(func(ev Event) {
		mu.Lock()
		defaults = append(defaults, ev.String())
		mu.Unlock()
	}))
	ctx := ctx5(t)
	// With WithWatcher, the channel gets the events from the call of Events
	// on: the SyncConnected may or may not be among them.
	events := c.Events()
	if err := c.WaitEvents(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.State != proto.StateSyncConnected || ev.Type != proto.EventNone {
			t.Fatalf("first event %v", ev)
		}
	default:
	}
	p := root + "/w"
	if _, ok, err := c.Exists(ctx, p, true); ok || err != nil {
		t.Fatalf("exists: %v %v", ok, err)
	}
	if _, err := c.Create(ctx, p, nil, proto.OpenACLUnsafe, proto.ModePersistent); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Type != proto.EventNodeCreated || ev.Path != p {
		t.Fatalf("event %v", ev)
	}
	got := make(chan Event, 10)
	fn := func(ev Event) { got <- ev }
	if _, _, err := c.GetDataW(ctx, p, fn); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChildrenW(ctx, p, fn); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckWatches(ctx, p, proto.WatcherData); err != nil {
		t.Fatalf("checkWatches: %v", err)
	}
	if err := c.CheckWatches(ctx, root, proto.WatcherData); !errors.Is(err, proto.ErrNoWatcher) {
		t.Fatalf("checkWatches without a watch: %v", err)
	}
	if _, err := c.SetData(ctx, p, []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, got); ev.Type != proto.EventNodeDataChanged || ev.Path != p {
		t.Fatalf("data event %v", ev)
	}
	if _, err := c.Create(ctx, p+"/kid", nil, proto.OpenACLUnsafe, proto.ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, got); ev.Type != proto.EventNodeChildrenChanged || ev.Path != p {
		t.Fatalf("child event %v", ev)
	}
	// Persistent recursive watch for the default watcher, then removed.
	if err := c.AddWatch(ctx, root, proto.AddWatchPersistentRecursive, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, p+"/kid", -1); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Type != proto.EventNodeDeleted || ev.Path != p+"/kid" {
		t.Fatalf("recursive event %v", ev)
	}
	if _, err := c.SetData(ctx, p, []byte("y"), -1); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Type != proto.EventNodeDataChanged || ev.Path != p {
		t.Fatalf("recursive event %v", ev)
	}
	if err := c.RemoveWatches(ctx, root, proto.WatcherAny, false); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Type != proto.EventPersistentWatchRemoved || ev.Path != root {
		t.Fatalf("removal event %v", ev)
	}
	if err := c.RemoveWatches(ctx, root, proto.WatcherAny, false); !errors.Is(err, proto.ErrNoWatcher) {
		t.Fatalf("second removal: %v", err)
	}
	// Persistent watch on one node: fires repeatedly, not for children's data.
	if err := c.AddWatch(ctx, p, proto.AddWatchPersistent, fn); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.SetData(ctx, p, []byte("z"), -1); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, got); ev.Type != proto.EventNodeDataChanged || ev.Path != p {
			t.Fatalf("persistent event %d: %v", i, ev)
		}
	}
	c.Close()
	var last Event
	for ev := range events {
		last = ev
	}
	if last.State != proto.StateClosed {
		t.Fatalf("last event %v", last)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(defaults) < 5 || defaults[0] != "WatchedEvent state:SyncConnected type:None path:null" {
		t.Fatalf("WithWatcher saw %q", defaults)
	}
}

func TestZKResumeSession(t *testing.T) {
	c, root := dialZK(t)
	ctx := ctx5(t)
	if _, err := c.Create(ctx, root+"/e", nil, proto.OpenACLUnsafe, proto.ModeEphemeral); err != nil {
		t.Fatal(err)
	}
	c2, err := Dial(ctx, []string{zk.Addr}, 10*time.Second, WithSession(c.SessionID(), c.Password()), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.SessionID() != c.SessionID() {
		t.Fatalf("resumed session %x, want %x", c2.SessionID(), c.SessionID())
	}
	eph, err := c2.GetEphemerals(ctx, "/")
	if err != nil || !slices.Contains(eph, root+"/e") {
		t.Fatalf("ephemerals of the resumed session: %v %v", eph, err)
	}
	// A wrong password is refused with an expired session.
	if _, err := Dial(ctx, []string{zk.Addr}, 10*time.Second, WithSession(c.SessionID(), make([]byte, 16)), WithLogger(quietLogger())); !errors.Is(err, proto.ErrSessionExpired) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestZKAuthFailed(t *testing.T) {
	c, _ := dialZK(t)
	ctx := ctx5(t)
	err := c.AddAuth(ctx, "nosuchscheme", []byte("x"))
	if !errors.Is(err, proto.ErrAuthFailed) {
		t.Fatalf("addAuth with an unknown scheme: %v", err)
	}
	<-c.Done()
	if c.State() != StateAuthFailed {
		t.Fatalf("state %v", c.State())
	}
}

func TestZKPingsKeepSessionAlive(t *testing.T) {
	if zk == nil {
		t.Skip("Apache ZooKeeper is not available")
	}
	t.Parallel()
	// Stay idle for longer than the session timeout: only pings keep the
	// session. The timeout leaves room for a loaded machine (reads may be
	// silent for 2/3 of it).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, []string{zk.Addr}, 8*time.Second, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.SessionTimeout() != 8*time.Second {
		t.Fatalf("negotiated %v", c.SessionTimeout())
	}
	time.Sleep(10 * time.Second)
	if _, err := c.Sync(ctx5(t), "/"); err != nil {
		t.Fatalf("after idling: %v", err)
	}
}

func TestZKChroot(t *testing.T) {
	c, root := dialZK(t)
	ctx := ctx5(t)
	cr, err := Dial(ctx, []string{zk.Addr + root}, 10*time.Second, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Close()
	if cr.Chroot() != root {
		t.Fatalf("chroot %q", cr.Chroot())
	}
	if p, err := cr.Create(ctx, "/a", []byte("x"), proto.OpenACLUnsafe, proto.ModePersistentSequential); err != nil || p != "/a0000000000" {
		t.Fatalf("create under chroot: %q %v", p, err)
	}
	if _, ok, err := c.Exists(ctx, root+"/a0000000000", false); !ok || err != nil {
		t.Fatalf("node not under the chroot: %v %v", ok, err)
	}
	got := make(chan Event, 1)
	if _, err := cr.ChildrenW(ctx, "/", func(ev Event) { got <- ev }); err != nil {
		t.Fatal(err)
	}
	res, err := cr.Multi(ctx, CreateOp("/b", nil, proto.OpenACLUnsafe, proto.ModePersistent))
	if err != nil || res[0].Path != "/b" {
		t.Fatalf("multi under chroot: %+v %v", res, err)
	}
	if ev := nextEvent(t, got); ev.Type != proto.EventNodeChildrenChanged || ev.Path != "/" {
		t.Fatalf("event under chroot: %v", ev)
	}
	if p, err := cr.Sync(ctx, "/b"); err != nil || p != "/b" {
		t.Fatalf("sync under chroot: %q %v", p, err)
	}
	ch, err := cr.Children(ctx, "/", false)
	slices.Sort(ch)
	if err != nil || !slices.Equal(ch, []string{"a0000000000", "b"}) {
		t.Fatalf("children of the chroot: %v %v", ch, err)
	}
}
