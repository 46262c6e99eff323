package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
	"github.com/gozk/gozk/internal/tree"
)

// FuzzUnmarshal decodes arbitrary bytes as a log entry. It must never panic;
// a failure must be an ErrBadEntry with no entry; what decodes must encode to
// bytes that decode to the same entry and encode to the same bytes again; and
// no input may cost more than a small multiple of its size to decode.
func FuzzUnmarshal(f *testing.F) {
	for _, e := range sampleEntries() {
		b := e.Marshal()
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e *Entry
		var err error
		fuzzcheck.Bounded(t, "Unmarshal", len(data), 64, func() { e, err = Unmarshal(data) })
		if err != nil {
			if !errors.Is(err, ErrBadEntry) || e != nil {
				t.Fatalf("Unmarshal = %v, %v; want nil and an ErrBadEntry", e, err)
			}
			return
		}
		b1 := e.Marshal()
		e2, err := Unmarshal(b1)
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v\n% x", e, err, b1)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("decode(encode(e)) != e\n   e %+v\ngot %+v", e, e2)
		}
		if b2 := e2.Marshal(); !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable\n% x\n% x", b1, b2)
		}
	})
}

// FuzzEntryRoundTrip builds an entry from arbitrary field values (the request
// record is the one the opcode selects, decoded from req, partly or wholly) and
// checks decode(encode(e)) == e.
func FuzzEntryRoundTrip(f *testing.F) {
	for _, e := range sampleEntries() {
		var auth []byte
		for _, id := range e.Auth {
			auth = append(auth, id.Scheme+"\x00"+id.ID+"\x00"...)
		}
		var req []byte
		if e.Req != nil {
			w := jute.NewWriter(nil)
			e.Req.Encode(w)
			req = w.Bytes()
		}
		f.Add(int32(e.Op), e.Session, e.Time, e.Origin, e.ReqID, e.Conn, e.Seq, auth, e.Timeout, e.Passwd, e.Passwd == nil, req)
	}
	f.Fuzz(func(t *testing.T, op int32, session, tm int64, origin, reqID, conn, seq uint64, auth []byte, timeout int32, passwd []byte, nilPasswd bool, req []byte) {
		e := &Entry{Op: proto.OpCode(op), Session: session, Time: tm, Origin: origin, ReqID: reqID, Conn: conn, Seq: seq, Timeout: timeout}
		if parts := strings.Split(string(auth), "\x00"); len(auth) > 0 {
			for i := 0; i+1 < len(parts); i += 2 {
				e.Auth = append(e.Auth, proto.ID{Scheme: parts[i], ID: parts[i+1]})
			}
		}
		if !nilPasswd {
			e.Passwd = append([]byte{}, passwd...)
		}
		if r := proto.NewRequest(e.Op); r != nil && len(req) > 0 {
			r.Decode(jute.NewReader(req)) // a partly decoded record is a record too
			e.Req = r
		}
		got, err := Unmarshal(e.Marshal())
		if err != nil {
			t.Fatalf("entry %+v does not decode: %v", e, err)
		}
		if !reflect.DeepEqual(e, got) {
			t.Fatalf("decode(encode(e)) != e\n   e %+v\ngot %+v", e, got)
		}
	})
}

// sampleEntries is one entry of every kind the servers log.
func sampleEntries() []*Entry {
	auth := []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:x"}}
	acls := []proto.ACL{{Perms: proto.PermAll, ID: proto.WorldAnyone}, {Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:x"}}}
	base := func(op proto.OpCode, req proto.Record) *Entry {
		return &Entry{Op: op, Session: 0x100000001, Time: 1700000000000, Origin: 2, ReqID: 77, Conn: 0x20000000005, Seq: 3, Auth: auth, Req: req}
	}
	return []*Entry{
		{Op: proto.OpCreateSession, Session: 0x100000001, Time: 1700000000000, Origin: 1, ReqID: 1, Timeout: 30000, Passwd: []byte("0123456789abcdef")},
		{Op: proto.OpCloseSession, Session: 0x100000001, Time: 1700000000001},
		{Op: OpSetSessionTimeout, Session: 0x100000001, Timeout: 4000},
		{Op: proto.OpDeleteContainer, Time: 5, Req: &proto.PathRequest{Path: "/c"}},
		base(proto.OpCreate, &proto.CreateRequest{Path: "/a", Data: []byte("x"), ACL: acls, Flags: proto.ModePersistent}),
		base(proto.OpCreate2, &proto.CreateRequest{Path: "/a/b-", Data: nil, ACL: proto.OpenACLUnsafe, Flags: proto.ModeEphemeralSequential}),
		base(proto.OpCreateContainer, &proto.CreateRequest{Path: "/c", Data: []byte{}, ACL: proto.OpenACLUnsafe, Flags: proto.ModeContainer}),
		base(proto.OpCreateTTL, &proto.CreateRequest{Path: "/t", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 60000, HasTTL: true}),
		base(proto.OpDelete, &proto.PathVersionRequest{Path: "/a", Version: -1}),
		base(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("y"), Version: 2}),
		base(proto.OpSetACL, &proto.SetACLRequest{Path: "/a", ACL: acls, Version: -1}),
		base(proto.OpCheck, &proto.PathVersionRequest{Path: "/a", Version: 0}),
		base(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
			{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m", ACL: proto.OpenACLUnsafe}},
			{Type: proto.OpCreateTTL, Req: &proto.CreateRequest{Path: "/m/t", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 1, HasTTL: true}},
			{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m", Data: []byte("z"), Version: -1}},
			{Type: proto.OpCheck, Req: &proto.PathVersionRequest{Path: "/m", Version: 1}},
			{Type: proto.OpDelete, Req: &proto.PathVersionRequest{Path: "/m/t", Version: -1}},
		}}),
	}
}

// FuzzDecodeSnapshot decodes arbitrary snapshots. With raw false the input is
// the body between the magic and the checksum, which the target supplies, so
// that the fuzzer gets past the checksum to the structure; with raw true it is
// the whole file. Decoding must never panic; a failure must be ErrBadSnapshot
// with no state; what decodes must be a well-formed tree (every node reachable
// from the root, under its own path) and must survive a snapshot round trip
// unchanged; and no input may cost more than a bounded multiple of its size.
func FuzzDecodeSnapshot(f *testing.F) {
	for _, s := range sampleSnapshots(f) {
		body := s[len(snapMagic) : len(s)-4]
		f.Add(body, false)
		f.Add(body[:len(body)-1], false)
		f.Add(body[:len(body)/2], false)
		f.Add(s, true)
		f.Add(s[:len(s)-3], true)
	}
	f.Add([]byte{}, false)
	f.Add([]byte("GOZKSNAP"), true)
	f.Fuzz(func(t *testing.T, in []byte, raw bool) {
		b := in
		if !raw {
			b = sealSnapshot(in)
		}
		var g *FSM
		var err error
		// A node costs its Node, its map entries and its share of its parent's
		// children map: a few hundred bytes for the 72 bytes it takes at least.
		fuzzcheck.Bounded(t, "DecodeSnapshot", len(b), 128, func() { g, err = DecodeSnapshot(b) })
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) || g != nil {
				t.Fatalf("DecodeSnapshot = %v, %v; want nil and an ErrBadSnapshot", g, err)
			}
			return
		}
		checkTree(t, g.Tree())
		again, err := encodeSnapshot(g)
		if err != nil {
			t.Fatal(err)
		}
		h, err := DecodeSnapshot(again)
		if err != nil {
			t.Fatalf("a decoded snapshot, written again, does not decode: %v", err)
		}
		if err := sameState(g, h); err != nil {
			t.Fatalf("snapshot round trip: %v", err)
		}
	})
}

// checkTree checks that every node of t is reachable from the root under the
// path it is stored at.
func checkTree(t *testing.T, tr *tree.Tree) {
	t.Helper()
	seen := 0
	tr.Walk(func(path string, n *tree.Node) {
		if n == nil || tr.Get(path) != n {
			t.Fatalf("walk reached %q, which is not a node", path)
		}
		seen++
	})
	if seen != tr.Len() {
		t.Fatalf("%d nodes reachable from the root, %d in the tree", seen, tr.Len())
	}
}

// sameState compares two decoded state machines.
func sameState(a, b *FSM) error {
	switch {
	case a.Zxid() != b.Zxid() || a.epoch != b.epoch || a.counter != b.counter:
		return fmt.Errorf("zxid %x/%d/%d vs %x/%d/%d", a.zxid, a.epoch, a.counter, b.zxid, b.epoch, b.counter)
	case a.Tree().Extended() != b.Tree().Extended():
		return errors.New("extended differs")
	case a.Tree().Len() != b.Tree().Len() || a.Tree().Digest() != b.Tree().Digest() || a.Tree().DataSize() != b.Tree().DataSize():
		return errors.New("trees differ")
	case a.Tree().EphemeralCount() != b.Tree().EphemeralCount() ||
		!slices.Equal(a.Tree().Containers(), b.Tree().Containers()) || !slices.Equal(a.Tree().TTLs(), b.Tree().TTLs()):
		return errors.New("tree indexes differ")
	case !reflect.DeepEqual(a.sessions, b.sessions):
		return errors.New("sessions differ")
	case !reflect.DeepEqual(a.quotas, b.quotas):
		return errors.New("quota roots differ")
	}
	return nil
}

// sealSnapshot makes a snapshot file of a body: the magic in front, the
// checksum behind.
func sealSnapshot(body []byte) []byte {
	b := append(append([]byte{}, snapMagic...), body...)
	v := crc32.Checksum(b, castagnoli)
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func encodeSnapshot(f *FSM) ([]byte, error) {
	s := f.BeginSnapshot()
	defer s.Close()
	var buf bytes.Buffer
	_, err := s.WriteTo(&buf)
	return buf.Bytes(), err
}

// sampleSnapshots are snapshots of an empty state machine and of ones that
// went through random writes (every kind of node, sessions, quotas).
func sampleSnapshots(tb testing.TB) [][]byte {
	var out [][]byte
	for seed := int64(0); seed < 3; seed++ {
		f := New(seed != 1)
		now := int64(1000)
		apply := func(e *Entry) Result {
			now++
			e.Time = now
			return f.Apply(1+seed, e)
		}
		if seed > 0 {
			apply(&Entry{Op: proto.OpCreateSession, Session: sess, Timeout: 10000, Passwd: []byte("pw")})
			apply(&Entry{Op: proto.OpCreateSession, Session: sess + 1, Timeout: 4000, Passwd: []byte("other")})
			apply(&Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/zookeeper/quota/q", ACL: proto.OpenACLUnsafe}})
			apply(&Entry{Op: proto.OpCreate, Session: sess, Req: &proto.CreateRequest{Path: "/zookeeper/quota/q/zookeeper_limits", Data: []byte("count=5,bytes=100"), ACL: proto.OpenACLUnsafe}})
			if seed == 2 {
				apply(&Entry{Op: proto.OpCreateTTL, Session: sess, Req: &proto.CreateRequest{Path: "/ttl", ACL: proto.OpenACLUnsafe, Flags: proto.ModePersistentWithTTL, TTL: 5000, HasTTL: true}})
			}
			rng := rand.New(rand.NewSource(seed))
			paths := []string{"/"}
			for i := 0; i < 30; i++ {
				parent := paths[rng.Intn(len(paths))]
				p := strings.TrimSuffix(parent, "/") + fmt.Sprintf("/n%d", rng.Intn(20))
				mode := []proto.CreateMode{proto.ModePersistent, proto.ModePersistentSequential, proto.ModeEphemeral, proto.ModeContainer}[rng.Intn(4)]
				op := proto.OpCreate2
				if mode == proto.ModeContainer {
					op = proto.OpCreateContainer
				}
				acl := proto.OpenACLUnsafe
				if i%5 == 0 {
					acl = []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:h"}}, {Perms: proto.PermAll, ID: proto.WorldAnyone}}
				}
				r := apply(&Entry{Op: op, Session: sess, Req: &proto.CreateRequest{Path: p, Data: []byte(p), ACL: acl, Flags: mode}})
				if r.Err == proto.ErrOK {
					paths = append(paths, r.Resp.(*proto.Create2Response).Path)
				}
			}
		}
		b, err := encodeSnapshot(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// snapshotOf returns a sealed snapshot holding nodes at paths (with open ACLs
// and zero stats), no sessions, zxid 1.
func snapshotOf(paths ...string) []byte {
	w := jute.NewWriter(nil)
	w.Int(snapVersion)
	w.Bool(false)
	w.Long(0)
	w.Long(1)
	w.Long(1)
	w.Int(0)
	w.Long(int64(len(paths)))
	for _, p := range paths {
		w.String(p)
		w.Buffer(nil)
		w.Int(1)
		proto.OpenACLUnsafe[0].Encode(w)
		for range 5 {
			w.Long(0)
		}
		for range 3 {
			w.Int(0)
		}
		w.Long(0)
	}
	return sealSnapshot(w.Bytes())
}

// A snapshot whose paths the tree cannot link is refused, not decoded into a
// tree that a walk cannot get through.
func TestDecodeSnapshotRefusesMalformedPaths(t *testing.T) {
	if _, err := DecodeSnapshot(snapshotOf("/", "/a", "/a/b")); err != nil {
		t.Fatalf("well-formed snapshot: %v", err)
	}
	for _, bad := range []string{"", "a", "/a/", "//", "//a", "/a//b", "a/b"} {
		_, err := DecodeSnapshot(snapshotOf("/", "/a", bad))
		if !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("node %q: err = %v, want ErrBadSnapshot", bad, err)
		}
	}
}
