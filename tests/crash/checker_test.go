package crash

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

// TestChecker feeds the history checker made-up histories and states, so the
// crash test is known to catch each kind of inconsistency it looks for.
func TestChecker(t *testing.T) {
	lost := zk.ErrConnectionClosed
	// mk builds a history: c1 acked, c2 unknown, c3 failed; multi m1 acked,
	// m2 unknown; shared s0 (init "i") with acked sets at versions 1 and 3
	// and two unknown sets.
	mk := func() *history {
		h := newHistory("/p")
		h.finishCreate(h.beginCreate("c1", "d1"), nil)
		h.finishCreate(h.beginCreate("c2", "d2"), lost)
		h.finishCreate(h.beginCreate("c3", "d3"), zk.ErrNodeExists)
		h.finishMulti(h.beginMulti([3]string{"m1a", "m1b", "m1c"}, [3]string{"x1", "y1", "z1"}), make([]zk.MultiResponse, 3), nil)
		h.finishMulti(h.beginMulti([3]string{"m2a", "m2b", "m2c"}, [3]string{"x2", "y2", "z2"}), nil, lost)
		h.addShared("s0", "i")
		h.finishSet(h.beginSet("s0", "v1"), &zk.Stat{Version: 1}, nil)
		h.finishSet(h.beginSet("s0", "u1"), nil, lost)
		h.finishSet(h.beginSet("s0", "v3"), &zk.Stat{Version: 3}, nil)
		h.finishSet(h.beginSet("s0", "u2"), nil, errors.New("zk: could not connect to a server"))
		return h
	}
	// good is a consistent state: c2 and m2 not applied, s0 at version 3.
	good := func() map[string]nodeState {
		return map[string]nodeState{
			"c1": {"d1", 0}, "m1a": {"x1", 0}, "m1b": {"y1", 0}, "m1c": {"z1", 0}, "s0": {"v3", 3},
		}
	}
	cases := []struct {
		name   string
		change func(map[string]nodeState)
		want   string // "" for consistent
	}{
		{"consistent", func(map[string]nodeState) {}, ""},
		{"unknown create applied", func(m map[string]nodeState) { m["c2"] = nodeState{"d2", 0} }, ""},
		{"unknown multi applied", func(m map[string]nodeState) {
			m["m2a"], m["m2b"], m["m2c"] = nodeState{"x2", 0}, nodeState{"y2", 0}, nodeState{"z2", 0}
		}, ""},
		{"unknown set applied last", func(m map[string]nodeState) { m["s0"] = nodeState{"u2", 4} }, ""},
		{"both unknown sets applied", func(m map[string]nodeState) { m["s0"] = nodeState{"u1", 4} }, ""},
		{"acked create lost", func(m map[string]nodeState) { delete(m, "c1") }, "/p/c1: acknowledged create is missing"},
		{"create with other data", func(m map[string]nodeState) { m["c1"] = nodeState{"dx", 0} }, `/p/c1: data "dx"`},
		{"failed create exists", func(m map[string]nodeState) { m["c3"] = nodeState{"d3", 0} }, "/p/c3: exists although its create failed"},
		{"never written", func(m map[string]nodeState) { m["zz"] = nodeState{"?", 0} }, "/p/zz exists (data \"?\") but was never written"},
		{"partial multi", func(m map[string]nodeState) { m["m2a"] = nodeState{"x2", 0} }, "partially applied"},
		{"acked multi lost", func(m map[string]nodeState) { delete(m, "m1a"); delete(m, "m1b"); delete(m, "m1c") }, "acknowledged but none of its nodes exist"},
		{"acked set lost", func(m map[string]nodeState) { m["s0"] = nodeState{"u1", 2} }, "version 2 is below the acknowledged version 3"},
		{"wrong data for acked version", func(m map[string]nodeState) { m["s0"] = nodeState{"u2", 3} }, "but the setData acknowledged with version 3 wrote"},
		{"acked data at another version", func(m map[string]nodeState) { m["s0"] = nodeState{"v1", 4} }, "which an acknowledged setData wrote as version 1"},
		{"data nobody wrote", func(m map[string]nodeState) { m["s0"] = nodeState{"zz", 4} }, "which no setData wrote"},
		{"too many versions", func(m map[string]nodeState) { m["s0"] = nodeState{"u2", 5} }, "only 4 setData calls may have been applied"},
		{"shared node lost", func(m map[string]nodeState) { delete(m, "s0") }, "/p/s0: acknowledged create of the shared node is missing"},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "-"), func(t *testing.T) {
			st := good()
			tc.change(st)
			bad := mk().check(st)
			switch {
			case tc.want == "" && len(bad) > 0:
				t.Fatalf("consistent state reported: %q", bad)
			case tc.want != "" && len(bad) == 0:
				t.Fatalf("inconsistency not found; want %q", tc.want)
			case tc.want != "" && !strings.Contains(strings.Join(bad, "\n"), tc.want):
				t.Fatalf("got %q, want one containing %q", bad, tc.want)
			}
		})
	}

	t.Run("duplicate-acked-version", func(t *testing.T) {
		h := newHistory("/p")
		h.addShared("s0", "i")
		h.finishSet(h.beginSet("s0", "a"), &zk.Stat{Version: 1}, nil)
		h.finishSet(h.beginSet("s0", "b"), &zk.Stat{Version: 1}, nil)
		bad := h.check(map[string]nodeState{"s0": {"b", 2}})
		if !strings.Contains(strings.Join(bad, "\n"), "two acknowledged setData returned version 1") {
			t.Fatalf("got %q", bad)
		}
	})
	t.Run("classify", func(t *testing.T) {
		for _, c := range []struct {
			err  error
			want outcome
		}{
			{nil, acked}, {zk.ErrNodeExists, failed}, {zk.ErrBadVersion, failed},
			{zk.ErrConnectionClosed, unknown}, {zk.ErrNoServer, unknown}, {zk.ErrSessionExpired, unknown}, {zk.ErrClosing, unknown},
		} {
			if got := classify(c.err); got != c.want {
				t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
			}
		}
	})
}
