package e2e

import (
	"fmt"
	"testing"

	"github.com/go-zookeeper/zk"
)

// TestSequentialNumbering: the suffix, formatted %010d, is ZooKeeper's stored
// cversion of the parent, which counts child creates only (of any kind).
// Clients see a different cversion: DataNode.copyStat reports
// stored*2 - numChildren, that is creates + deletes. So the suffix equals
// (cversion + numChildren) / 2 of the Stat a client reads, deletes do not
// advance it, and it restarts when the parent is recreated.
func TestSequentialNumbering(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/p", nil, 0)
	create(t, c, "/q", nil, 0)

	steps := []struct {
		op   string // "seq", "eseq", "plain", "eph", "del", "set"
		path string
		want string
	}{
		{"seq", "/p/s-", "/p/s-0000000000"},
		{"seq", "/p/s-", "/p/s-0000000001"},
		{"eseq", "/p/e-", "/p/e-0000000002"},
		{"plain", "/p/x", ""},
		{"seq", "/p/", "/p/0000000004"},
		{"del", "/p/x", ""}, // visible cversion 6, suffix stays 5
		{"seq", "/p/s-", "/p/s-0000000005"},
		{"eph", "/p/y", ""},
		{"set", "/p", ""}, // data changes do not touch cversion
		{"seq", "/p/s-", "/p/s-0000000007"},
		{"seq", "/q/s-", "/q/s-0000000000"}, // per parent
		{"del", "/p/s-0000000000", ""},
		{"del", "/p/s-0000000001", ""},
		{"eseq", "/p/s-", "/p/s-0000000008"},
	}
	for i, st := range steps {
		var got string
		var err error
		switch st.op {
		case "seq":
			got, err = c.Create(st.path, nil, zk.FlagSequence, worldAll)
		case "eseq":
			got, err = c.Create(st.path, nil, zk.FlagEphemeralSequential, worldAll)
		case "plain":
			got, err = c.Create(st.path, nil, 0, worldAll)
		case "eph":
			got, err = c.Create(st.path, nil, zk.FlagEphemeral, worldAll)
		case "del":
			err = c.Delete(st.path, -1)
		case "set":
			_, err = c.Set(st.path, []byte("d"), -1)
		}
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, st.op, st.path, err)
		}
		if st.want != "" && got != st.want {
			t.Fatalf("step %d %s %s = %q, want %q", i, st.op, st.path, got, st.want)
		}
	}
	// 9 creates, 3 deletes.
	if st := stat(t, c, "/p"); st.Cversion != 12 || st.NumChildren != 6 {
		t.Fatalf("/p: cversion %d, numChildren %d; want 12, 6", st.Cversion, st.NumChildren)
	}

	// Recreating the parent restarts the counter.
	for _, ch := range children(t, c, "/q") {
		must(t, "delete", c.Delete("/q/"+ch, -1))
	}
	must(t, "delete /q", c.Delete("/q", -1))
	create(t, c, "/q", nil, 0)
	if got := create(t, c, "/q/s-", nil, zk.FlagSequence); got != "/q/s-0000000000" {
		t.Fatalf("after recreating the parent: %q", got)
	}

	// Sequential children of the root follow the same rule.
	root := stat(t, c, "/")
	want := fmt.Sprintf("/r%010d", (root.Cversion+root.NumChildren)/2)
	if got := create(t, c, "/r", nil, zk.FlagSequence); got != want {
		t.Fatalf("sequential child of /: %q, want %q", got, want)
	}
}

// TestSequentialInMulti: each sequential create in a multi counts the creates
// before it in the same transaction; deletes do not count.
func TestSequentialInMulti(t *testing.T) {
	_, c := start(t, nil)
	create(t, c, "/p", nil, 0)
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/p/s-", Acl: worldAll, Flags: zk.FlagSequence},
		&zk.CreateRequest{Path: "/p/x", Acl: worldAll},
		&zk.CreateRequest{Path: "/p/s-", Acl: worldAll, Flags: zk.FlagEphemeralSequential},
		&zk.DeleteRequest{Path: "/p/x", Version: -1},
		&zk.CreateRequest{Path: "/p/s-", Acl: worldAll, Flags: zk.FlagSequence},
	)
	must(t, "multi", err)
	want := []string{"/p/s-0000000000", "/p/x", "/p/s-0000000002", "", "/p/s-0000000003"}
	for i, w := range want {
		if res[i].String != w {
			t.Errorf("result %d = %q, want %q", i, res[i].String, w)
		}
	}
	// A failed multi does not consume sequence numbers.
	_, err = c.Multi(
		&zk.CreateRequest{Path: "/p/s-", Acl: worldAll, Flags: zk.FlagSequence},
		&zk.CheckVersionRequest{Path: "/p", Version: 9},
	)
	wantCode(t, "failed multi", err, codeBadVersion)
	if got := create(t, c, "/p/s-", nil, zk.FlagSequence); got != "/p/s-0000000004" {
		t.Fatalf("after a failed multi: %q", got)
	}
}
