package tree

import (
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

func TestValidatePathFollowsPathUtils(t *testing.T) {
	valid := []string{"/", "/a", "/a/b", "/a.b", "/..a", "/a..", "/a/.b", "/é", "/a b", "/zookeeper"}
	invalid := []string{"", "a", "/a/", "//", "/a//b", "/.", "/..", "/a/.", "/a/..", "/a/./b", "/a/../b",
		"/a\x00b", "/a\x01", "/a\x7f", "/a\u0085", "/a\ud7ff\ue000", "/a\uf8ff", "/a\ufff0", "/😀", "/a\xff"}
	for _, p := range valid {
		if err := ValidatePath(p); err != nil {
			t.Errorf("ValidatePath(%q) = %v, want valid", p, err)
		}
	}
	for _, p := range invalid {
		if err := ValidatePath(p); err == nil {
			t.Errorf("ValidatePath(%q) accepted an invalid path", p)
		}
	}
}

func TestParentBaseJoin(t *testing.T) {
	for _, c := range []struct{ path, parent, base string }{
		{"/a", "/", "a"}, {"/a/b", "/a", "b"}, {"/", "/", ""},
	} {
		if Parent(c.path) != c.parent || Base(c.path) != c.base {
			t.Errorf("%s: parent %q base %q", c.path, Parent(c.path), Base(c.path))
		}
		if c.path != "/" && Join(c.parent, c.base) != c.path {
			t.Errorf("Join(%q, %q) = %q", c.parent, c.base, Join(c.parent, c.base))
		}
	}
}

func TestKindsAndClientVisibleOwner(t *testing.T) {
	tr := New(true)
	for path, owner := range map[string]int64{"/p": 0, "/e": 0x42, "/c": ContainerOwner, "/t": TTLOwner(5000)} {
		tr.Add(path, &Node{EphemeralOwner: owner, ACL: proto.OpenACLUnsafe, Czxid: 9})
	}
	want := map[string]Kind{"/p": Persistent, "/e": Ephemeral, "/c": Container, "/t": TTL}
	for p, k := range want {
		n := tr.Get(p)
		if tr.Kind(n) != k {
			t.Errorf("%s: kind %v, want %v", p, tr.Kind(n), k)
		}
		if st := n.Stat(); (k == Ephemeral) != (st.EphemeralOwner != 0) {
			t.Errorf("%s: clients see ephemeralOwner %#x", p, st.EphemeralOwner)
		}
	}
	if TTLOf(tr.Get("/t").EphemeralOwner) != 5000 {
		t.Fatal("TTL not recovered from the owner")
	}
	if len(tr.Ephemerals(0x42)) != 1 || len(tr.Containers()) != 1 || len(tr.TTLs()) != 1 {
		t.Fatal("indexes")
	}
	// Without extended types a TTL-shaped owner is an ordinary session id.
	if KindOf(TTLOwner(5000), false) != Ephemeral {
		t.Fatal("TTL recognised without extendedTypesEnabled")
	}
	// Root: 4 creates counted, none deleted, plus /zookeeper linked uncounted.
	if st := tr.Get("/").Stat(); st.NumChildren != 5 || st.Cversion != 2*4-5 {
		t.Fatalf("root stat %+v", st)
	}
	tr.Remove("/p", 20)
	if st := tr.Get("/").Stat(); st.NumChildren != 4 || st.Cversion != 2*4-4 || st.Pzxid != 20 {
		t.Fatalf("root after delete %+v", st)
	}
	if tr.DataSize() <= 0 || tr.CountDescendants("/") != 6 {
		t.Fatalf("size %d, descendants %d", tr.DataSize(), tr.CountDescendants("/"))
	}
}
