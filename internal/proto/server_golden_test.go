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

// serverGolden is one frame that Apache ZooKeeper 3.8.0 sent (see
// testdata/server/README.md): a ConnectResponse (hdr nil), or a ReplyHeader and
// the response record (nil when the reply has no body).
type serverGolden struct {
	hdr *ReplyHeader
	rec Record
}

func st(czxid, mzxid, ctime, mtime int64, version, cversion, aversion int32, owner int64, dataLength, numChildren int32, pzxid int64) Stat {
	return Stat{czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, dataLength, numChildren, pzxid}
}

func reply(xid int32, zxid int64, err Err) *ReplyHeader {
	return &ReplyHeader{Xid: xid, Zxid: zxid, Err: err}
}

const (
	zkSession1 = 0x100000e6a9d0000 // session ids of the two connections
	zkSession2 = 0x100000e6a9d0001
	tGozk      = 1795624566725 // ctime of /gozk
	tSet       = 1795624566812 // mtime of /gozk after setData
	tMulti     = 1795624566839 // time of the successful multi
)

var (
	notification = reply(XidNotification, -1, ErrOK)
	// /gozk after setData, the multi and the failed multi.
	gozkLate  = st(2, 6, tGozk, tSet, 1, 8, 0, 0, 5, 6, 8)
	gozkEarly = st(2, 2, tGozk, tGozk, 0, 3, 0, 0, 5, 3, 5)
)

func event(t EventType, path string) serverGolden {
	return serverGolden{notification, &WatcherEvent{Type: t, State: StateSyncConnected, Path: path}}
}

var serverGoldens = map[string]serverGolden{
	"zk38-c1-00-connect.bin": {nil, &ConnectResponse{TimeOut: 10000, SessionID: zkSession1,
		Passwd: []byte{0xb9, 0x39, 0xdf, 0x73, 0x52, 0xfb, 0x08, 0x55, 0xbf, 0x79, 0x37, 0xba, 0xeb, 0xb8, 0xb6, 0x94}, HasReadOnly: true}},
	"zk38-c1-01-create.bin":  {reply(1, 2, ErrOK), &PathResponse{Path: "/gozk"}},
	"zk38-c1-02-create2.bin": {reply(2, 3, ErrOK), &Create2Response{Path: "/gozk/e-0000000000", Stat: st(3, 3, 1795624566761, 1795624566761, 0, 0, 0, zkSession1, 0, 0, 3)}},
	// TTL and container nodes: the Stat shows ephemeralOwner 0.
	"zk38-c1-03-createTTL.bin":       {reply(3, 4, ErrOK), &Create2Response{Path: "/gozk/ttl", Stat: st(4, 4, 1795624566774, 1795624566774, 0, 0, 0, 0, 1, 0, 4)}},
	"zk38-c1-04-createContainer.bin": {reply(4, 5, ErrOK), &Create2Response{Path: "/gozk/c", Stat: st(5, 5, 1795624566781, 1795624566781, 0, 0, 0, 0, 0, 0, 5)}},
	"zk38-c1-05-getData.bin":         {reply(5, 5, ErrOK), &GetDataResponse{Data: []byte("hello"), Stat: gozkEarly}},
	"zk38-c1-06-exists-nonode.bin":   {reply(6, 5, ErrNoNode), nil},
	"zk38-c1-07-exists.bin":          {reply(7, 5, ErrOK), &StatResponse{Stat: gozkEarly}},
	// Children in the server's order, not sorted.
	"zk38-c1-08-getChildren.bin":  {reply(8, 5, ErrOK), &ChildrenResponse{Children: []string{"e-0000000000", "c", "ttl"}}},
	"zk38-c1-09-getChildren2.bin": {reply(9, 5, ErrOK), &ChildrenResponse{Children: []string{"e-0000000000", "c", "ttl"}, Stat: gozkEarly, WithStat: true}},
	// addWatch answers with an ErrorResponse{0} body.
	"zk38-c1-10-addWatch.bin":     {reply(10, 5, ErrOK), &IntResponse{Value: 0}},
	"zk38-c1-11-notification.bin": event(EventNodeDataChanged, "/gozk"),
	"zk38-c1-12-setData.bin":      {reply(11, 6, ErrOK), &StatResponse{Stat: st(2, 6, tGozk, tSet, 1, 3, 0, 0, 5, 3, 5)}},
	// A failed write still takes a zxid.
	"zk38-c1-13-setData-badversion.bin": {reply(12, 7, ErrBadVersion), nil},
	// The persistent recursive watch on /gozk sees each change of the multi,
	// all before the multi's reply.
	"zk38-c1-14-notification.bin": event(EventNodeCreated, "/gozk/m"),
	"zk38-c1-15-notification.bin": event(EventNodeCreated, "/gozk/ms-0000000004"),
	"zk38-c1-16-notification.bin": event(EventNodeCreated, "/gozk/mc"),
	"zk38-c1-17-notification.bin": event(EventNodeCreated, "/gozk/mt"),
	"zk38-c1-18-notification.bin": event(EventNodeDataChanged, "/gozk/m"),
	"zk38-c1-19-notification.bin": event(EventNodeDeleted, "/gozk/m"),
	// createContainer and createTTL results travel as create2 (15).
	"zk38-c1-20-multi.bin": {reply(13, 8, ErrOK), &MultiResponse{Results: []MultiResult{
		{Type: OpCreate, Path: "/gozk/m"},
		{Type: OpCreate, Path: "/gozk/ms-0000000004"},
		{Type: OpCreate2, Path: "/gozk/mc", Stat: st(8, 8, tMulti, tMulti, 0, 0, 0, 0, 0, 0, 8)},
		{Type: OpCreate2, Path: "/gozk/mt", Stat: st(8, 8, tMulti, tMulti, 0, 0, 0, 0, 0, 0, 8)},
		{Type: OpSetData, Stat: st(8, 8, tMulti, tMulti, 1, 0, 0, 0, 1, 0, 8)},
		{Type: OpCheck},
		{Type: OpDelete},
	}}},
	// A failed multi: reply header OK, every result an error result: 0 before
	// the failing op, its code, then RUNTIMEINCONSISTENCY.
	"zk38-c1-21-multi-failed.bin": {reply(14, 9, ErrOK), &MultiResponse{Results: []MultiResult{
		{Type: OpError, Err: ErrOK},
		{Type: OpError, Err: ErrBadVersion},
		{Type: OpError, Err: ErrRuntimeInconsistency},
	}}},
	"zk38-c1-22-multiRead.bin": {reply(15, 9, ErrOK), &MultiResponse{Results: []MultiResult{
		{Type: OpGetData, Data: []byte("world"), Stat: gozkLate},
		{Type: OpGetChildren, Children: []string{"ms-0000000004", "e-0000000000", "c", "mc", "mt", "ttl"}},
		{Type: OpError, Err: ErrNoNode},
	}}},
	"zk38-c1-23-getACL.bin": {reply(16, 9, ErrOK), &GetACLResponse{ACL: []ACL{{Perms: PermAll, ID: WorldAnyone}}, Stat: gozkLate}},
	// The auth reply carries zxid 0.
	"zk38-c1-24-auth.bin": {reply(XidAuth, 0, ErrOK), nil},
	"zk38-c1-25-whoAmI.bin": {reply(18, 9, ErrOK), &WhoAmIResponse{Infos: []ClientInfo{
		{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "digest", User: "user"},
	}}},
	"zk38-c1-26-getAllChildrenNumber.bin": {reply(19, 9, ErrOK), &IntResponse{Value: 6}},
	"zk38-c1-27-getEphemerals.bin":        {reply(20, 9, ErrOK), &StringsResponse{Values: []string{"/gozk/e-0000000000"}}},
	"zk38-c1-28-sync.bin":                 {reply(21, 9, ErrOK), &PathResponse{Path: "/gozk"}},
	// setWatches with relativeZxid 1: the watches that already fired are
	// delivered at once, then the reply (with the request's own xid).
	"zk38-c1-29-notification.bin":    event(EventNodeDataChanged, "/gozk"),
	"zk38-c1-30-notification.bin":    event(EventNodeChildrenChanged, "/gozk"),
	"zk38-c1-31-setWatches.bin":      {reply(22, 9, ErrOK), nil},
	"zk38-c1-32-ping.bin":            {reply(XidPing, 9, ErrOK), nil},
	"zk38-c1-33-delete-notempty.bin": {reply(24, 10, ErrNotEmpty), nil},
	// Closing the session deletes its ephemeral before the reply.
	"zk38-c1-34-notification.bin": event(EventNodeDeleted, "/gozk/e-0000000000"),
	"zk38-c1-35-closeSession.bin": {reply(25, 11, ErrOK), nil},
	// A client without the readOnly byte gets a response without it.
	"zk38-c2-00-connect.bin": {nil, &ConnectResponse{TimeOut: 10000, SessionID: zkSession2,
		Passwd: []byte{0xcc, 0x5a, 0xd9, 0x73, 0xf2, 0x46, 0xe8, 0x99, 0xb4, 0xbc, 0x9e, 0xe5, 0xbf, 0x41, 0xcb, 0x61}}},
	"zk38-c2-01-closeSession.bin": {reply(1, 13, ErrOK), nil},
}

// freshLike returns an empty record of rec's type with the variant flags a
// client would choose from its request.
func freshLike(rec Record) Record {
	if c, ok := rec.(*ChildrenResponse); ok {
		return &ChildrenResponse{WithStat: c.WithStat}
	}
	return reflect.New(reflect.TypeOf(rec).Elem()).Interface().(Record)
}

func TestServerGoldenFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/server/*.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(serverGoldens) {
		t.Errorf("%d fixtures on disk, %d described", len(files), len(serverGoldens))
	}
	names := make([]string, 0, len(serverGoldens))
	for name := range serverGoldens {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want := serverGoldens[name]
		t.Run(strings.TrimSuffix(name, ".bin"), func(t *testing.T) {
			p := readGolden(t, filepath.Join("server", name))
			r := jute.NewReader(p)
			var hdr *ReplyHeader
			if want.hdr != nil {
				hdr = &ReplyHeader{}
				hdr.Decode(r)
				if !reflect.DeepEqual(hdr, want.hdr) {
					t.Errorf("header %+v, want %+v", hdr, want.hdr)
				}
			}
			if want.rec != nil {
				got := freshLike(want.rec)
				got.Decode(r)
				if !reflect.DeepEqual(got, want.rec) {
					t.Errorf("record\n got %#v\nwant %#v", got, want.rec)
				}
			}
			if r.Err() != nil || r.Len() != 0 {
				t.Fatalf("decode: %v, %d bytes left", r.Err(), r.Len())
			}

			// What gozk encodes for the same values is what ZooKeeper sent.
			w := jute.NewWriter(nil)
			off := w.BeginFrame()
			if want.hdr != nil {
				want.hdr.Encode(w)
			}
			if want.rec != nil {
				want.rec.Encode(w)
			}
			w.EndFrame(off)
			raw, _ := os.ReadFile(filepath.Join("testdata", "server", name))
			if !bytes.Equal(w.Bytes(), raw) {
				t.Errorf("encoded\n% x\nZooKeeper sent\n% x", w.Bytes(), raw)
			}
		})
	}
}
