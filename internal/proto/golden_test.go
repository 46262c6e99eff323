package proto

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gozk/gozk/internal/jute"
)

// golden describes one frame captured from a real client (see testdata/README.md):
// the request header (nil for a ConnectRequest) and the record that follows it
// (nil for opcodes without a body).
type golden struct {
	hdr *RequestHeader
	rec Record
}

var (
	zeroPasswd     = make([]byte, 16)
	recorderPasswd = []byte("0123456789abcdef")
)

const recorderSession = 0x0123456789abcdef

func hdr(xid int32, op OpCode) *RequestHeader { return &RequestHeader{Xid: xid, Type: op} }

func openCreate(path, data string, flags CreateMode) *CreateRequest {
	return &CreateRequest{Path: path, Data: []byte(data), ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: flags}
}

var goldens = map[string]golden{
	// go-zookeeper/zk v1.0.4: no readOnly byte; nil data is sent as a null buffer.
	"gozk-c1-00-connect.bin": {nil, &ConnectRequest{TimeOut: 10000, Passwd: zeroPasswd}},
	"gozk-c1-01-create.bin":  {hdr(1, OpCreate), openCreate("/gozk", "hello", ModePersistent)},
	"gozk-c1-02-create.bin": {hdr(2, OpCreate), &CreateRequest{Path: "/gozk/e-", Data: nil,
		ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: ModeEphemeralSequential}},
	"gozk-c1-03-getData.bin":      {hdr(3, OpGetData), &PathWatchRequest{Path: "/gozk", Watch: true}},
	"gozk-c1-04-exists.bin":       {hdr(4, OpExists), &PathWatchRequest{Path: "/gozk/missing", Watch: true}},
	"gozk-c1-05-getChildren2.bin": {hdr(5, OpGetChildren2), &PathWatchRequest{Path: "/gozk", Watch: true}},
	"gozk-c1-06-setData.bin":      {hdr(6, OpSetData), &SetDataRequest{Path: "/gozk", Data: []byte("world"), Version: 1}},
	"gozk-c1-07-multi.bin": {hdr(7, OpMulti), &MultiRequest{Ops: []MultiOp{
		{Type: OpCreate, Req: openCreate("/gozk/m", "m", ModePersistent)},
		{Type: OpSetData, Req: &SetDataRequest{Path: "/gozk/m", Data: []byte("n"), Version: 0}},
		{Type: OpCheck, Req: &PathVersionRequest{Path: "/gozk", Version: 2}},
		{Type: OpDelete, Req: &PathVersionRequest{Path: "/gozk/m", Version: -1}},
	}}},
	"gozk-c1-08-sync.bin": {hdr(8, OpSync), &PathRequest{Path: "/disconnect"}},
	"gozk-c2-00-connect.bin": {nil, &ConnectRequest{LastZxidSeen: 0x100000007, TimeOut: 10000,
		SessionID: recorderSession, Passwd: recorderPasswd}},
	// setWatches carries an ordinary xid, not the reserved -8.
	"gozk-c2-01-setWatches.bin": {hdr(9, OpSetWatches), &SetWatches{RelativeZxid: 0x100000007,
		DataWatches: []string{"/gozk"}, ExistWatches: []string{"/gozk/missing"}, ChildWatches: []string{"/gozk"}}},
	"gozk-c2-02-closeSession.bin": {hdr(10, OpCloseSession), nil},

	// The Java client of ZooKeeper 3.8.0 (Debian), driven by a small program.
	"java-c1-00-connect.bin": {nil, &ConnectRequest{TimeOut: 10000, Passwd: zeroPasswd, HasReadOnly: true}},
	"java-c1-01-create.bin":  {hdr(1, OpCreate), openCreate("/gozk", "hello", ModePersistent)},
	"java-c1-02-create2.bin": {hdr(2, OpCreate2), &CreateRequest{Path: "/gozk/e-", Data: []byte{},
		ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: ModeEphemeralSequential}},
	"java-c1-03-createTTL.bin": {hdr(3, OpCreateTTL), &CreateRequest{Path: "/gozk/ttl", Data: []byte("t"),
		ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: ModePersistentWithTTL, TTL: 60000, HasTTL: true}},
	"java-c1-04-createContainer.bin": {hdr(4, OpCreateContainer), &CreateRequest{Path: "/gozk/c", Data: nil,
		ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: ModeContainer}},
	"java-c1-05-getData.bin":      {hdr(5, OpGetData), &PathWatchRequest{Path: "/gozk", Watch: true}},
	"java-c1-06-exists.bin":       {hdr(6, OpExists), &PathWatchRequest{Path: "/gozk/missing", Watch: true}},
	"java-c1-07-getChildren.bin":  {hdr(7, OpGetChildren), &PathWatchRequest{Path: "/gozk", Watch: true}},
	"java-c1-08-getChildren2.bin": {hdr(8, OpGetChildren2), &PathWatchRequest{Path: "/gozk", Watch: false}},
	"java-c1-09-setData.bin":      {hdr(9, OpSetData), &SetDataRequest{Path: "/gozk", Data: []byte("world"), Version: 1}},
	"java-c1-10-getACL.bin":       {hdr(10, OpGetACL), &PathRequest{Path: "/gozk"}},
	"java-c1-11-auth.bin":         {hdr(XidAuth, OpAuth), &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("user:secret")}},
	"java-c1-12-setACL.bin": {hdr(11, OpSetACL), &SetACLRequest{Path: "/gozk", ACL: []ACL{
		{Perms: PermAll, ID: ID{Scheme: "digest", ID: "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="}},
		{Perms: PermRead, ID: WorldAnyone},
	}, Version: 0}},
	"java-c1-13-addWatch.bin": {hdr(12, OpAddWatch), &AddWatchRequest{Path: "/gozk", Mode: AddWatchPersistent}},
	"java-c1-14-addWatch.bin": {hdr(13, OpAddWatch), &AddWatchRequest{Path: "/gozk/r", Mode: AddWatchPersistentRecursive}},
	"java-c1-15-multi.bin": {hdr(14, OpMulti), &MultiRequest{Ops: []MultiOp{
		{Type: OpCreate, Req: openCreate("/gozk/m", "m", ModePersistent)},
		{Type: OpCreate, Req: openCreate("/gozk/ms-", "", ModePersistentSequential)},
		{Type: OpCreateContainer, Req: openCreate("/gozk/mc", "", ModeContainer)},
		{Type: OpCreateTTL, Req: &CreateRequest{Path: "/gozk/mt", Data: []byte{},
			ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: ModePersistentWithTTL, TTL: 30000, HasTTL: true}},
		{Type: OpSetData, Req: &SetDataRequest{Path: "/gozk/m", Data: []byte("n"), Version: 0}},
		{Type: OpCheck, Req: &PathVersionRequest{Path: "/gozk", Version: 2}},
		{Type: OpDelete, Req: &PathVersionRequest{Path: "/gozk/m", Version: -1}},
	}}},
	"java-c1-16-multiRead.bin": {hdr(15, OpMultiRead), &MultiRequest{Ops: []MultiOp{
		{Type: OpGetData, Req: &PathWatchRequest{Path: "/gozk"}},
		{Type: OpGetChildren, Req: &PathWatchRequest{Path: "/gozk"}},
	}}},
	"java-c1-17-getAllChildrenNumber.bin": {hdr(16, OpGetAllChildrenNumber), &PathRequest{Path: "/gozk"}},
	"java-c1-18-getEphemerals.bin":        {hdr(17, OpGetEphemerals), &PathRequest{Path: "/gozk"}},
	"java-c1-19-whoAmI.bin":               {hdr(18, OpWhoAmI), nil},
	"java-c1-20-removeWatches.bin":        {hdr(19, OpRemoveWatches), &WatchesRequest{Path: "/gozk/r", Type: WatcherAny}},
	"java-c1-21-delete.bin":               {hdr(20, OpDelete), &PathVersionRequest{Path: "/gozk/c", Version: -1}},
	"java-c1-22-sync.bin":                 {hdr(21, OpSync), &PathRequest{Path: "/disconnect"}},
	"java-c2-00-connect.bin": {nil, &ConnectRequest{LastZxidSeen: 0x100000015, TimeOut: 10000,
		SessionID: recorderSession, Passwd: recorderPasswd, HasReadOnly: true}},
	// On reconnect the Java client re-sends its auth before re-registering watches.
	"java-c2-01-auth.bin": {hdr(XidAuth, OpAuth), &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("user:secret")}},
	"java-c2-02-setWatches2.bin": {hdr(22, OpSetWatches2), &SetWatches{RelativeZxid: 0x100000015,
		DataWatches: []string{"/gozk"}, ExistWatches: []string{"/gozk/missing"}, ChildWatches: []string{"/gozk"},
		PersistentWatches: []string{"/gozk"}, RecursiveWatches: []string{}, V2: true}},
	"java-c2-03-closeSession.bin": {hdr(23, OpCloseSession), nil},

	// kazoo 2.8.0 (Debian python3-kazoo): sends the readOnly byte, never
	// setWatches (it drops its watches on disconnect), restarts xids at 1 on a
	// new connection.
	"kazoo-c1-00-connect.bin": {nil, &ConnectRequest{TimeOut: 10000, Passwd: zeroPasswd, HasReadOnly: true}},
	"kazoo-c1-01-create.bin":  {hdr(1, OpCreate), openCreate("/gozk", "hello", ModePersistent)},
	"kazoo-c1-02-create.bin": {hdr(2, OpCreate), &CreateRequest{Path: "/gozk/e-", Data: []byte{},
		ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Flags: ModeEphemeralSequential}},
	"kazoo-c1-03-getData.bin":     {hdr(3, OpGetData), &PathWatchRequest{Path: "/gozk", Watch: true}},
	"kazoo-c1-04-exists.bin":      {hdr(4, OpExists), &PathWatchRequest{Path: "/gozk/missing", Watch: true}},
	"kazoo-c1-05-getChildren.bin": {hdr(5, OpGetChildren), &PathWatchRequest{Path: "/gozk", Watch: true}},
	"kazoo-c1-06-setData.bin":     {hdr(6, OpSetData), &SetDataRequest{Path: "/gozk", Data: []byte("world"), Version: 1}},
	"kazoo-c1-07-multi.bin": {hdr(7, OpMulti), &MultiRequest{Ops: []MultiOp{
		{Type: OpCreate, Req: openCreate("/gozk/m", "m", ModePersistent)},
		{Type: OpSetData, Req: &SetDataRequest{Path: "/gozk/m", Data: []byte("n"), Version: 0}},
		{Type: OpCheck, Req: &PathVersionRequest{Path: "/gozk", Version: 2}},
		{Type: OpDelete, Req: &PathVersionRequest{Path: "/gozk/m", Version: -1}},
	}}},
	"kazoo-c1-08-sync.bin": {hdr(8, OpSync), &PathRequest{Path: "/disconnect"}},
	"kazoo-c2-00-connect.bin": {nil, &ConnectRequest{LastZxidSeen: 0x100000007, TimeOut: 10000,
		SessionID: recorderSession, Passwd: recorderPasswd, HasReadOnly: true}},
	"kazoo-c2-01-closeSession.bin": {hdr(1, OpCloseSession), nil},

	// zkCli.sh of ZooKeeper 3.8.0, one command per run (two runs, two sessions).
	"zkcli-c1-00-connect.bin": {nil, &ConnectRequest{TimeOut: 30000, Passwd: zeroPasswd, HasReadOnly: true}},
	"zkcli-c1-01-create.bin":  {hdr(1, OpCreate), openCreate("/zkcli", "hi", ModePersistent)},
	"zkcli-c2-00-connect.bin": {nil, &ConnectRequest{TimeOut: 30000, Passwd: zeroPasswd, HasReadOnly: true}},
	"zkcli-c2-01-getData.bin": {hdr(1, OpGetData), &PathWatchRequest{Path: "/zkcli", Watch: true}},
}

// readGolden returns a fixture's frame payload, checking that the file holds
// exactly one frame.
func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	rd := bytes.NewReader(raw)
	p, err := jute.ReadFrame(rd, nil, jute.DefaultMaxBuffer)
	if err != nil {
		t.Fatalf("%s: ReadFrame: %v", name, err)
	}
	if rd.Len() != 0 {
		t.Fatalf("%s: %d bytes after the frame", name, rd.Len())
	}
	return p
}

// decodeRequestFrame decodes a payload the way a server does: a ConnectRequest
// when hdr is nil, otherwise a RequestHeader and the record NewRequest gives for
// its opcode.
func decodeRequestFrame(p []byte, connect bool) (*RequestHeader, Record, *jute.Reader) {
	r := jute.NewReader(p)
	if connect {
		c := &ConnectRequest{}
		c.Decode(r)
		return nil, c, r
	}
	h := &RequestHeader{}
	h.Decode(r)
	rec := NewRequest(h.Type)
	if rec != nil {
		rec.Decode(r)
	}
	return h, rec, r
}

func TestGoldenFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(goldens) {
		t.Errorf("%d fixtures on disk, %d described", len(files), len(goldens))
	}
	names := make([]string, 0, len(goldens))
	for name := range goldens {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want := goldens[name]
		t.Run(strings.TrimSuffix(name, ".bin"), func(t *testing.T) {
			p := readGolden(t, name)
			h, rec, r := decodeRequestFrame(p, want.hdr == nil)
			if r.Err() != nil {
				t.Fatalf("decode: %v", r.Err())
			}
			if r.Len() != 0 {
				t.Fatalf("%d bytes left after the record", r.Len())
			}
			if !reflect.DeepEqual(h, want.hdr) {
				t.Errorf("header %+v, want %+v", h, want.hdr)
			}
			if want.hdr != nil && !Known(want.hdr.Type) {
				t.Errorf("opcode %v is not Known", want.hdr.Type)
			}
			if !reflect.DeepEqual(rec, want.rec) {
				t.Errorf("record\n got %#v\nwant %#v", rec, want.rec)
			}
			if m, ok := rec.(*MultiRequest); ok {
				wm := want.rec.(*MultiRequest)
				for i := range m.Ops {
					if i < len(wm.Ops) && !reflect.DeepEqual(m.Ops[i], wm.Ops[i]) {
						t.Errorf("op %d\n got %v %#v\nwant %v %#v", i, m.Ops[i].Type, m.Ops[i].Req, wm.Ops[i].Type, wm.Ops[i].Req)
					}
				}
			}

			// Re-encoding the expected values gives back the client's bytes,
			// frame prefix included.
			w := jute.NewWriter(nil)
			off := w.BeginFrame()
			if want.hdr != nil {
				want.hdr.Encode(w)
			}
			if want.rec != nil {
				want.rec.Encode(w)
			}
			w.EndFrame(off)
			raw, _ := os.ReadFile(filepath.Join("testdata", name))
			if !bytes.Equal(w.Bytes(), raw) {
				t.Errorf("re-encoded\n% x\nclient sent\n% x", w.Bytes(), raw)
			}
		})
	}
}

// Every fixture cut short at any byte must fail to decode, never panic and never
// decode to a complete record, except where the format itself makes the tail
// optional (the ConnectRequest readOnly byte).
func TestGoldenTruncated(t *testing.T) {
	for name, want := range goldens {
		p := readGolden(t, name)
		full := len(p)
		if c, ok := want.rec.(*ConnectRequest); ok && c.HasReadOnly {
			full-- // without the readOnly byte it is still a valid ConnectRequest
		}
		for n := 0; n < full; n++ {
			h, rec, r := decodeRequestFrame(p[:n], want.hdr == nil)
			if r.Err() == nil && (want.hdr == nil || rec != nil || n < 8) {
				t.Errorf("%s cut to %d of %d bytes: decoded without error: %+v %+v", name, n, len(p), h, rec)
			}
		}
	}
}
