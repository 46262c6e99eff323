package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

// randomOps applies n random writes to h (creates of every kind, sets, deletes,
// ACL changes, session churn).
func randomOps(h *harness, rng *rand.Rand, n int) {
	paths := []string{"/"}
	for i := 0; i < n; i++ {
		switch rng.Intn(6) {
		case 0, 1, 2:
			parent := paths[rng.Intn(len(paths))]
			p := parent + "/n"
			if parent == "/" {
				p = "/n"
			}
			mode := []proto.CreateMode{proto.ModePersistent, proto.ModePersistentSequential, proto.ModeEphemeral, proto.ModeEphemeralSequential}[rng.Intn(4)]
			op := proto.OpCreate2
			req := &proto.CreateRequest{Path: fmt.Sprintf("%s%d", p, rng.Intn(50)), Data: []byte(fmt.Sprint(rng.Int())), ACL: proto.OpenACLUnsafe, Flags: mode}
			if rng.Intn(8) == 0 {
				op, req.Flags = proto.OpCreateContainer, proto.ModeContainer
			}
			if r := h.apply(&Entry{Op: op, Session: sess, Req: req}); r.Err == proto.ErrOK {
				paths = append(paths, r.Resp.(*proto.Create2Response).Path)
			}
		case 3:
			p := paths[rng.Intn(len(paths))]
			h.apply(&Entry{Op: proto.OpSetData, Session: sess, Req: &proto.SetDataRequest{Path: p, Data: []byte{byte(i)}, Version: -1}})
		case 4:
			p := paths[rng.Intn(len(paths))]
			h.delete(p, -1)
		case 5:
			p := paths[rng.Intn(len(paths))]
			h.apply(&Entry{Op: proto.OpSetACL, Session: sess, Req: &proto.SetACLRequest{Path: p, ACL: []proto.ACL{{Perms: proto.PermAll, ID: proto.WorldAnyone}}, Version: -1}})
		}
	}
}

func snapshotBytes(t *testing.T, f *FSM) []byte {
	t.Helper()
	s := f.BeginSnapshot()
	defer s.Close()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		h := newHarness(t, true)
		randomOps(h, rand.New(rand.NewSource(seed)), 500)
		b := snapshotBytes(t, h.f)
		g, err := DecodeSnapshot(b)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if g.Tree().Digest() != h.f.Tree().Digest() || g.Zxid() != h.f.Zxid() || g.SessionCount() != h.f.SessionCount() {
			t.Fatalf("seed %d: restored state differs", seed)
		}
		if g.Tree().EphemeralCount() != h.f.Tree().EphemeralCount() || len(g.Tree().Containers()) != len(h.f.Tree().Containers()) {
			t.Fatalf("seed %d: indexes differ", seed)
		}
		// The restored machine goes on exactly like the original.
		h2 := &harness{t: t, f: g, now: h.now}
		randomOps(h, rand.New(rand.NewSource(seed+100)), 200)
		randomOps(h2, rand.New(rand.NewSource(seed+100)), 200)
		if g.Tree().Digest() != h.f.Tree().Digest() {
			t.Fatalf("seed %d: diverged after restore", seed)
		}
	}
}

func TestSnapshotIsPointInTimeWhileApplying(t *testing.T) {
	h := newHarness(t, false)
	rng := rand.New(rand.NewSource(7))
	randomOps(h, rng, 300)
	want := h.f.Tree().Digest()
	s := h.f.BeginSnapshot()
	randomOps(h, rng, 300) // changes after the snapshot began
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	s.Close()
	g, err := DecodeSnapshot(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if g.Tree().Digest() != want {
		t.Fatal("snapshot saw changes made after it began")
	}
	if h.f.Tree().Digest() == want {
		t.Fatal("test made no changes after the snapshot")
	}
}

func TestSnapshotCorruptionDetected(t *testing.T) {
	h := newHarness(t, false)
	randomOps(h, rand.New(rand.NewSource(3)), 100)
	b := snapshotBytes(t, h.f)
	for _, off := range []int{0, 10, len(b) / 2, len(b) - 1} {
		c := append([]byte(nil), b...)
		c[off] ^= 0x40
		if _, err := DecodeSnapshot(c); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("flip at %d: %v", off, err)
		}
	}
	if _, err := DecodeSnapshot(b[:len(b)-7]); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("truncated: %v", err)
	}
}
