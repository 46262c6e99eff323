package e2e

import (
	"testing"

	"github.com/go-zookeeper/zk"
)

// TestSystemNodes: the nodes a fresh server has. Their data is empty, not
// null; their zxids and times are 0; the visible cversion follows
// DataNode.copyStat (stored cversion 0, so 0*2 - numChildren);
// /zookeeper/config is world-readable only and has aversion -1, so writes to
// it fail with NoAuth (ACLs are checked before versions); the other system
// nodes are ordinary open nodes, except that /, /zookeeper, /zookeeper/quota
// and /zookeeper/config cannot be deleted.
func TestSystemNodes(t *testing.T) {
	_, c := start(t, nil)
	for _, tc := range []struct {
		path           string
		cversion, nc   int32
		aversion, perm int32
	}{
		{"/", -1, 1, 0, zk.PermAll},
		{"/zookeeper", -2, 2, 0, zk.PermAll},
		{"/zookeeper/quota", 0, 0, 0, zk.PermAll},
		{"/zookeeper/config", 0, 0, -1, zk.PermRead},
	} {
		data, st, err := c.Get(tc.path)
		must(t, "get "+tc.path, err)
		if data == nil || len(data) != 0 {
			t.Errorf("%s: data %q (nil %v), want empty and not null", tc.path, data, data == nil)
		}
		want := zk.Stat{Cversion: tc.cversion, NumChildren: tc.nc, Aversion: tc.aversion}
		if *st != want {
			t.Errorf("%s: stat %+v, want %+v", tc.path, *st, want)
		}
		acl, _, err := c.GetACL(tc.path)
		must(t, "getACL "+tc.path, err)
		if len(acl) != 1 || acl[0] != (zk.ACL{Perms: tc.perm, Scheme: "world", ID: "anyone"}) {
			t.Errorf("%s: acl %+v", tc.path, acl)
		}
	}

	_, err := c.Set("/zookeeper/config", []byte("x"), -1)
	wantCode(t, "setData /zookeeper/config", err, codeNoAuth)
	_, err = c.Set("/zookeeper/config", []byte("x"), 5)
	wantCode(t, "setData /zookeeper/config, wrong version", err, codeNoAuth)
	_, err = c.SetACL("/zookeeper/config", worldAll, -1)
	wantCode(t, "setACL /zookeeper/config", err, codeNoAuth)
	_, err = c.Create("/zookeeper/config/x", nil, 0, worldAll)
	wantCode(t, "create under /zookeeper/config", err, codeNoAuth)
	wantCode(t, "delete /zookeeper/config", c.Delete("/zookeeper/config", -1), codeBadArguments)

	for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota"} {
		_, err := c.Set(p, []byte("x"), -1)
		must(t, "setData "+p, err)
		_, err = c.SetACL(p, worldAll, -1)
		must(t, "setACL "+p, err)
	}
	create(t, c, "/zookeeper/x", nil, 0)
	create(t, c, "/zookeeper/quota/x", nil, 0)
	must(t, "delete /zookeeper/x", c.Delete("/zookeeper/x", -1))
	must(t, "delete /zookeeper/quota/x", c.Delete("/zookeeper/quota/x", -1))
}
