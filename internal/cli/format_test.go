package cli

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/client"
	"github.com/gozk/gozk/internal/proto"
)

func TestJavaDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database")
	}
	cases := []struct {
		ms   int64
		loc  *time.Location
		want string
	}{
		{0, time.UTC, "Thu Jan 01 00:00:00 UTC 1970"},
		{1795624509590, time.UTC, "Wed Nov 25 16:35:09 UTC 2026"},
		{1700000000000, berlin, "Tue Nov 14 23:13:20 CET 2023"},
		{1690000000000, berlin, "Sat Jul 22 06:26:40 CEST 2023"},
		{0, time.FixedZone("", 3*3600+1800), "Thu Jan 01 03:30:00 GMT+03:30 1970"},
		{0, time.FixedZone("-05", -5*3600), "Wed Dec 31 19:00:00 GMT-05:00 1969"},
	}
	for _, tc := range cases {
		if got := javaDate(tc.ms, tc.loc); got != tc.want {
			t.Errorf("javaDate(%d, %v) = %q, want %q", tc.ms, tc.loc, got, tc.want)
		}
	}
}

func TestPrintStat(t *testing.T) {
	var b bytes.Buffer
	printStat(&b, proto.Stat{
		Czxid: 0x100000002, Mzxid: 0x1a, Ctime: 0, Mtime: 1000, Version: 3, Cversion: -2,
		Aversion: 1, EphemeralOwner: 0x1000004ac41000b, DataLength: 5, NumChildren: 2, Pzxid: 0xff,
	}, time.UTC)
	want := `cZxid = 0x100000002
ctime = Thu Jan 01 00:00:00 UTC 1970
mZxid = 0x1a
mtime = Thu Jan 01 00:00:01 UTC 1970
pZxid = 0xff
cversion = -2
dataVersion = 3
aclVersion = 1
ephemeralOwner = 0x1000004ac41000b
dataLength = 5
numChildren = 2
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// Negative values print as Java's Long.toHexString: two's complement.
	b.Reset()
	printStat(&b, proto.Stat{EphemeralOwner: -1}, time.UTC)
	if !strings.Contains(b.String(), "ephemeralOwner = 0xffffffffffffffff\n") {
		t.Errorf("negative owner: %s", b.String())
	}
}

func TestFormatChildrenAndList(t *testing.T) {
	if got := formatChildren([]string{"zookeeper", "b", "a"}); got != "[a, b, zookeeper]" {
		t.Errorf("formatChildren = %q", got)
	}
	if got := formatChildren(nil); got != "[]" {
		t.Errorf("formatChildren(nil) = %q", got)
	}
	if got := formatList([]string{"/z", "/a"}); got != "[/z, /a]" {
		t.Errorf("formatList = %q", got)
	}
}

func TestPermString(t *testing.T) {
	cases := map[int32]string{31: "cdrwa", 1: "r", 2: "w", 4: "c", 8: "d", 16: "a", 0: "", 3: "rw", 20: "ca"}
	for perms, want := range cases {
		if got := permString(perms); got != want {
			t.Errorf("permString(%d) = %q, want %q", perms, got, want)
		}
	}
}

func TestFormatACL(t *testing.T) {
	cases := []struct {
		acl  proto.ACL
		want string
	}{
		{proto.ACL{Perms: 31, ID: proto.WorldAnyone}, "'world,'anyone\n: cdrwa"},
		{proto.ACL{Perms: 1, ID: proto.ID{Scheme: "digest", ID: "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="}}, "'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=\n: r"},
		{proto.ACL{Perms: 3, ID: proto.ID{Scheme: "ip", ID: "10.0.0.0/8,%}\n"}}, "'ip,'10.0.0.0/8%2C%25%7D%0A\n: rw"},
	}
	for _, tc := range cases {
		if got := formatACL(tc.acl); got != tc.want {
			t.Errorf("formatACL(%+v) = %q, want %q", tc.acl, got, tc.want)
		}
	}
}

func TestParseACL(t *testing.T) {
	cases := []struct {
		in   string
		want []proto.ACL
		warn string
	}{
		{"world:anyone:cdrwa", []proto.ACL{{Perms: 31, ID: proto.WorldAnyone}}, ""},
		{"digest:user:hash:r,ip:127.0.0.1:rw", []proto.ACL{
			{Perms: 1, ID: proto.ID{Scheme: "digest", ID: "user:hash"}},
			{Perms: 3, ID: proto.ID{Scheme: "ip", ID: "127.0.0.1"}},
		}, ""},
		{"auth::cdrwa", []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "auth", ID: ""}}}, ""},
		{"world:anyone:rxz", []proto.ACL{{Perms: 1, ID: proto.WorldAnyone}}, "Unknown perm type: x\nUnknown perm type: z\n"},
		{"bad", nil, "bad does not have the form scheme:id:perm\n"},
		{"bad:x,world:anyone:r", []proto.ACL{{Perms: 1, ID: proto.WorldAnyone}}, "bad:x does not have the form scheme:id:perm\n"},
	}
	for _, tc := range cases {
		var warn bytes.Buffer
		got := parseACL(tc.in, &warn)
		if !reflect.DeepEqual(got, tc.want) || warn.String() != tc.warn {
			t.Errorf("parseACL(%q) = %+v, warnings %q; want %+v, %q", tc.in, got, warn.String(), tc.want, tc.warn)
		}
	}
}

func TestJavaData(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{nil, "null"},
		{[]byte{}, ""},
		{[]byte("héllo"), "héllo"},
		{[]byte{'a', 0xff, 'b'}, "a\uFFFDb"},
	}
	for _, tc := range cases {
		if got := javaData(tc.in); got != tc.want {
			t.Errorf("javaData(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	cases := []struct {
		err  error
		path string
		want string
	}{
		{proto.ErrNoNode, "/x", "Node does not exist: /x"},
		{fmt.Errorf("wrapped: %w", proto.ErrNoNode), "/x", "Node does not exist: /x"},
		{proto.ErrNoNode, "", "Node does not exist: null"},
		{proto.ErrNoChildrenForEphemerals, "/e/x", "Ephemerals cannot have children: /e/x"},
		{proto.ErrNodeExists, "/x", "Node already exists: /x"},
		{proto.ErrNotEmpty, "/x", "Node not empty: /x"},
		{proto.ErrNotReadOnly, "/x", "Not a read-only call: /x"},
		{proto.ErrInvalidACL, "/x", "Acl is not valid : /x"},
		{client.ErrEmptyACL, "/x", "Acl is not valid : null"},
		{proto.ErrNoAuth, "/x", "Insufficient permission : /x"},
		{proto.ErrBadArguments, "/x", "Arguments are not valid : /x"},
		{proto.ErrBadVersion, "/x", "version No is not valid : /x"},
		{proto.ErrQuotaExceeded, "/x", "Quota has exceeded : /x"},
		{proto.ErrNoWatcher, "/x", "KeeperErrorCode = No such watcher for /x"},
		{proto.ErrConnectionLoss, "/x", "KeeperErrorCode = ConnectionLoss for /x"},
		{proto.ErrSessionExpired, "", "KeeperErrorCode = Session expired"},
		{proto.ErrRequestTimeout, "/x", "KeeperErrorCode = Unknown error REQUESTTIMEOUT for /x"},
		{client.ValidatePath("x"), "x", "Path must start with / character"},
		{errors.New("other"), "/x", "other"},
	}
	for _, tc := range cases {
		if got := errorMessage(tc.err, tc.path); got != tc.want {
			t.Errorf("errorMessage(%v, %q) = %q, want %q", tc.err, tc.path, got, tc.want)
		}
	}
}

func TestClientConfigString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", " "},
		{"server.1=a:2888:3888:participant;0.0.0.0:2181\nserver.2=b:2888:3888;2182\nversion=100000000\n",
			"100000000 0.0.0.0:2181,0.0.0.0:2182"},
	}
	for _, tc := range cases {
		if got := clientConfigString(tc.in); got != tc.want {
			t.Errorf("clientConfigString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUsage(t *testing.T) {
	var errb bytes.Buffer
	sh := &shell{errw: &errb}
	sh.usage()
	lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
	if lines[0] != "ZooKeeper -server host:port -client-configuration properties-file cmd args" {
		t.Errorf("first line %q", lines[0])
	}
	for _, want := range []string{
		"\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]",
		"\tls [-s] [-w] [-R] path",
		"\tclose ",
		"\tconnect host:port",
		"\tremovewatches path [-c|-d|-a] [-l]",
	} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("usage lacks %q", want)
		}
	}
	// zkCli sorts the commands as Java sorts strings: upper case first.
	if lines[1] != "\taddWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE" {
		t.Errorf("second line %q", lines[1])
	}
}
