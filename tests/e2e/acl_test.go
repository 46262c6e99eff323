package e2e

import (
	"crypto/sha1"
	"encoding/base64"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

func digestID(user, pw string) string {
	h := sha1.Sum([]byte(user + ":" + pw))
	return user + ":" + base64.StdEncoding.EncodeToString(h[:])
}

// TestACLPermissions: each operation needs one permission, checked on the
// node itself or (create, delete) on its parent, as ZooKeeper checks them:
// getData READ, getChildren READ, setData WRITE, create CREATE on the parent,
// delete DELETE on the parent, setACL ADMIN, getACL READ or ADMIN; exists and
// sync are not checked.
func TestACLPermissions(t *testing.T) {
	s, admin := start(t, nil)
	must(t, "auth", admin.AddAuth("digest", []byte("admin:secret")))
	adminACL := zk.DigestACL(zk.PermAll, "admin", "secret")
	c, _ := zktest.Connect(t, s.Addr)

	perms := []struct {
		name string
		perm int32
	}{
		{"none", 0}, {"read", zk.PermRead}, {"write", zk.PermWrite}, {"create", zk.PermCreate},
		{"delete", zk.PermDelete}, {"admin", zk.PermAdmin},
	}
	for _, p := range perms {
		node := "/" + p.name
		acl := append(zk.WorldACL(p.perm), adminACL...)
		_, err := admin.Create(node, []byte("d"), 0, acl)
		must(t, "create "+node, err)
		_, err = admin.Create(node+"/child", nil, 0, worldAll)
		must(t, "create child of "+node, err)

		allowed := func(need int32) int32 {
			if p.perm&need != 0 {
				return codeOK
			}
			return codeNoAuth
		}
		_, _, err = c.Get(node)
		wantCode(t, node+" getData", err, allowed(zk.PermRead))
		_, _, err = c.Children(node)
		wantCode(t, node+" getChildren", err, allowed(zk.PermRead))
		_, _, err = c.Exists(node)
		// exists checks READ since ZooKeeper 3.8.4 and 3.9.2 (ZOOKEEPER-2590);
		// the reference here is 3.8.0, gozk follows 3.9.
		existsWant := allowed(zk.PermRead)
		if zktest.Kind() == zktest.KindZooKeeper {
			existsWant = codeOK
		}
		wantCode(t, node+" exists", err, existsWant)
		_, err = c.Sync(node)
		wantCode(t, node+" sync", err, codeOK)
		_, _, err = c.GetACL(node)
		wantCode(t, node+" getACL", err, allowed(zk.PermRead|zk.PermAdmin))
		_, err = c.Set(node, []byte("w"), -1)
		wantCode(t, node+" setData", err, allowed(zk.PermWrite))
		_, err = c.Create(node+"/new", nil, 0, worldAll)
		wantCode(t, node+" create child", err, allowed(zk.PermCreate))
		err = c.Delete(node+"/child", -1)
		wantCode(t, node+" delete child", err, allowed(zk.PermDelete))
		_, err = c.SetACL(node, acl, -1)
		wantCode(t, node+" setACL", err, allowed(zk.PermAdmin))
		// Deleting a node needs DELETE on its parent, not on the node.
		must(t, node+" delete by admin", func() error {
			for _, ch := range children(t, admin, node) {
				if err := admin.Delete(node+"/"+ch, -1); err != nil {
					return err
				}
			}
			return admin.Delete(node, -1)
		}())
	}

	// A node nobody but admin may touch can still be deleted by anyone with
	// DELETE on the parent.
	_, err := admin.Create("/locked", nil, 0, adminACL)
	must(t, "create locked", err)
	must(t, "delete locked", c.Delete("/locked", -1))

	// Errors are checked in ZooKeeper's order: a missing node is NoNode even
	// where the caller would lack permission; a version mismatch on a node the
	// caller may not write is NoAuth.
	_, err = admin.Create("/ro", nil, 0, append(zk.WorldACL(zk.PermRead), adminACL...))
	must(t, "create ro", err)
	_, err = c.Set("/ro", nil, 99)
	wantCode(t, "setData wrong version without WRITE", err, codeNoAuth)
	_, err = c.Create("/ro/x/y", nil, 0, worldAll)
	wantCode(t, "create under missing parent", err, codeNoNode)
	_, err = c.Create("/ro/x", nil, 0, worldAll)
	wantCode(t, "create without CREATE", err, codeNoAuth)
	_, err = c.Multi(&zk.SetDataRequest{Path: "/ro", Version: -1})
	wantCode(t, "multi setData without WRITE", err, codeNoAuth)
}

// TestDigestAuth: digest ids are user:base64(sha1(user:password)); only a
// session that added the right credentials matches; credentials accumulate.
func TestDigestAuth(t *testing.T) {
	s, c := start(t, nil)
	_, err := c.Create("/d", []byte("secret"), 0, zk.DigestACL(zk.PermAll, "user", "pw"))
	must(t, "create", err)
	// The creator has no credentials: it cannot read its own node or its ACL.
	_, _, err = c.Get("/d")
	wantCode(t, "creator without auth", err, codeNoAuth)
	_, _, err = c.GetACL("/d")
	wantCode(t, "getACL without auth", err, codeNoAuth)

	wrong, _ := zktest.Connect(t, s.Addr)
	must(t, "auth", wrong.AddAuth("digest", []byte("user:nope")))
	_, _, err = wrong.Get("/d")
	wantCode(t, "wrong password", err, codeNoAuth)
	must(t, "auth", wrong.AddAuth("digest", []byte("user:pw")))
	data, _, err := wrong.Get("/d")
	if err != nil || string(data) != "secret" {
		t.Fatalf("after adding the right credentials: %q, %v", data, err)
	}
	acl, st, err := wrong.GetACL("/d")
	must(t, "getACL", err)
	if len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != digestID("user", "pw") || acl[0].Perms != zk.PermAll {
		t.Fatalf("acl %+v", acl)
	}
	if st.Aversion != 0 || st.DataLength != 6 {
		t.Fatalf("stat %+v", st)
	}

	// The "auth" scheme stands for every digest identity of the session. (The
	// order of the entries follows ZooKeeper's hash set of the session's
	// identities; this test does not depend on it.)
	a, _ := zktest.Connect(t, s.Addr)
	must(t, "auth", a.AddAuth("digest", []byte("u1:p1")))
	must(t, "auth", a.AddAuth("digest", []byte("u2:p2")))
	_, err = a.Create("/auth", nil, 0, zk.AuthACL(zk.PermRead|zk.PermAdmin))
	must(t, "create with auth ACL", err)
	acl, _, err = a.GetACL("/auth")
	must(t, "getACL", err)
	want := map[string]bool{digestID("u1", "p1"): true, digestID("u2", "p2"): true}
	if len(acl) != 2 {
		t.Fatalf("auth ACL became %+v, want both digest ids", acl)
	}
	for _, e := range acl {
		if e.Scheme != "digest" || !want[e.ID] || e.Perms != zk.PermRead|zk.PermAdmin {
			t.Fatalf("auth ACL became %+v", acl)
		}
	}

	// Invalid digest ids.
	for _, id := range []string{"nocolon", "a:b:c"} {
		_, err = a.Create("/bad", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: id}})
		wantCode(t, "digest id "+id, err, codeInvalidACL)
	}
}

// TestGetACLRedaction: a caller that may read a node but lacks ADMIN gets its
// digest ACL entries with the hash replaced by "x".
func TestGetACLRedaction(t *testing.T) {
	s, c := start(t, nil)
	acl := append(zk.DigestACL(zk.PermAll, "user", "pw"), zk.WorldACL(zk.PermRead)...)
	_, err := c.Create("/d", nil, 0, acl)
	must(t, "create", err)
	got, _, err := c.GetACL("/d")
	must(t, "getACL", err)
	if len(got) != 2 || got[0].ID != "user:x" || got[0].Scheme != "digest" || got[1].ID != "anyone" {
		t.Fatalf("without ADMIN: %+v", got)
	}
	a, _ := zktest.Connect(t, s.Addr)
	must(t, "auth", a.AddAuth("digest", []byte("user:pw")))
	got, _, err = a.GetACL("/d")
	must(t, "getACL", err)
	if len(got) != 2 || got[0].ID != digestID("user", "pw") {
		t.Fatalf("with ADMIN: %+v", got)
	}
}

// TestIPACL: ip ACLs match the client address, exactly or by CIDR.
func TestIPACL(t *testing.T) {
	_, c := start(t, nil)
	for i, tc := range []struct {
		id   string
		want int32
	}{
		{"127.0.0.1", codeOK},
		{"127.0.0.0/8", codeOK},
		{"127.0.0.1/32", codeOK},
		{"10.0.0.1", codeNoAuth},
		{"10.0.0.0/8", codeNoAuth},
	} {
		path := "/ip" + string(rune('a'+i))
		_, err := c.Create(path, []byte("x"), 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: tc.id}})
		must(t, "create "+tc.id, err)
		_, _, err = c.Get(path)
		wantCode(t, "get with ip "+tc.id, err, tc.want)
	}
	for _, id := range []string{"not-an-ip", "127.0.0.1/40", ""} {
		_, err := c.Create("/bad", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: id}})
		wantCode(t, "ip id "+id, err, codeInvalidACL)
	}
}
