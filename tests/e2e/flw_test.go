package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

func flw(t *testing.T, addr, word string) string {
	t.Helper()
	out, err := zktest.FourLetter(addr, word)
	if err != nil {
		t.Fatalf("%s: %v", word, err)
	}
	return out
}

// kv parses "key<sep>value" lines, in order.
func kv(out, sep string) ([]string, map[string]string) {
	var keys []string
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		k, v, ok := strings.Cut(line, sep)
		if !ok {
			continue
		}
		keys = append(keys, k)
		m[k] = v
	}
	return keys, m
}

// flwFixture is a server with two sessions, two persistent nodes, one
// ephemeral, and watches: session A has a child watch on /d and an exist
// watch on /nope; session B has a data watch and an exist watch on /d.
type flwFixture struct {
	s      *zktest.Server
	a, b   *zk.Conn
	lastZx int64
}

func newFLWFixture(t *testing.T) flwFixture {
	s, a := start(t, nil)
	b, _ := zktest.Connect(t, s.Addr)
	create(t, a, "/d", nil, 0)
	create(t, a, "/x", []byte("12345"), 0)
	create(t, a, "/e", nil, zk.FlagEphemeral)
	_, _, _, err := a.ChildrenW("/d")
	must(t, "childrenw", err)
	_, _, _, err = a.ExistsW("/nope")
	must(t, "existsw", err)
	_, _, _, err = b.GetW("/d")
	must(t, "getw", err)
	_, _, _, err = b.ExistsW("/d")
	must(t, "existsw", err)
	return flwFixture{s: s, a: a, b: b, lastZx: stat(t, a, "/e").Czxid}
}

// TestFLWRuokIsro: ruok answers imok, isro rw.
func TestFLWRuokIsro(t *testing.T) {
	s := startServer(t, nil)
	if got := flw(t, s.Addr, "ruok"); got != "imok" {
		t.Errorf("ruok = %q", got)
	}
	if got := flw(t, s.Addr, "isro"); got != "rw" {
		t.Errorf("isro = %q", got)
	}
}

// TestFLWSrvr: the srvr lines, in order, with the counts that are exact: a
// fresh server has 5 nodes (ZooKeeper's DataTree counts the root twice, as ""
// and "/", plus /zookeeper, /zookeeper/quota and /zookeeper/config); the
// connection asking is counted; Zxid is the last zxid in hex.
func TestFLWSrvr(t *testing.T) {
	s := startServer(t, nil)
	out := flw(t, s.Addr, "srvr")
	re := regexp.MustCompile(`^Zookeeper version: [^\n]+\n` +
		`Latency min/avg/max: \d+/[\d.]+/\d+\n` +
		`Received: \d+\nSent: \d+\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n$`)
	if !re.MatchString(out) {
		t.Fatalf("srvr on a fresh server:\n%s", out)
	}

	f := newFLWFixture(t)
	out = flw(t, f.s.Addr, "srvr")
	want := fmt.Sprintf("Connections: 3\nOutstanding: 0\nZxid: %#x\nMode: standalone\nNode count: 8\n", f.lastZx)
	if !strings.HasSuffix(out, want) {
		t.Fatalf("srvr:\n%s\nwant it to end with:\n%s", out, want)
	}
}

// TestFLWStat: version, the client list (one line per connection, the asking
// one included with no session), a blank line, then srvr's lines.
func TestFLWStat(t *testing.T) {
	f := newFLWFixture(t)
	out := flw(t, f.s.Addr, "stat")
	re := regexp.MustCompile(`^Zookeeper version: [^\n]+\nClients:\n` +
		`((?: /127\.0\.0\.1:\d+\[[01]\]\(queued=\d+,recved=\d+,sent=\d+\)\n){3})\n` +
		`Latency min/avg/max: \d+/[\d.]+/\d+\nReceived: \d+\nSent: \d+\nConnections: 3\nOutstanding: 0\n` +
		`Zxid: 0x[0-9a-f]+\nMode: standalone\nNode count: 8\n$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stat:\n%s", out)
	}
	if n := strings.Count(m[1], "[1]"); n != 2 {
		t.Errorf("stat: %d connections with a session, want 2:\n%s", n, out)
	}
	if !strings.Contains(m[1], "[0](queued=0,recved=1,sent=0)") {
		t.Errorf("stat: the asking connection is missing:\n%s", out)
	}
}

// TestFLWCons: one line per connection with the session's details.
func TestFLWCons(t *testing.T) {
	f := newFLWFixture(t)
	out := flw(t, f.s.Addr, "cons")
	if !strings.HasSuffix(out, ")\n\n") {
		t.Errorf("cons does not end with a blank line:\n%q", out)
	}
	for _, c := range []*zk.Conn{f.a, f.b} {
		re := regexp.MustCompile(` /127\.0\.0\.1:\d+\[1\]\(queued=0,recved=\d+,sent=\d+,sid=` +
			fmt.Sprintf("%#x", c.SessionID()) +
			`,lop=[A-Z]+,est=\d+,to=10000,lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)\n`)
		if !re.MatchString(out) {
			t.Errorf("cons has no line for session %#x:\n%s", c.SessionID(), out)
		}
	}
	if !regexp.MustCompile(` /127\.0\.0\.1:\d+\[0\]\(queued=0,recved=1,sent=0\)\n`).MatchString(out) {
		t.Errorf("cons: the asking connection is missing:\n%s", out)
	}
}

// TestFLWMntr: tab-separated key/value lines with ZooKeeper's classic keys,
// and the values that are exact.
func TestFLWMntr(t *testing.T) {
	f := newFLWFixture(t)
	out := flw(t, f.s.Addr, "mntr")
	keys, m := kv(out, "\t")
	if len(keys) != strings.Count(out, "\n") {
		t.Errorf("mntr has lines that are not key<TAB>value:\n%s", out)
	}
	for _, k := range []string{"zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
		"zk_packets_received", "zk_packets_sent", "zk_num_alive_connections", "zk_outstanding_requests",
		"zk_server_state", "zk_znode_count", "zk_watch_count", "zk_ephemerals_count",
		"zk_approximate_data_size", "zk_open_file_descriptor_count", "zk_max_file_descriptor_count",
		"zk_global_sessions", "zk_uptime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("mntr lacks %s", k)
		}
	}
	if keys[0] != "zk_version" || keys[1] != "zk_server_state" {
		t.Errorf("mntr starts with %v, want zk_version, zk_server_state", keys[:2])
	}
	exact := map[string]string{
		"zk_server_state":          "standalone",
		"zk_znode_count":           "8",
		"zk_ephemerals_count":      "1",
		"zk_watch_count":           "3", // data/exist watches 2 (one per session and path), child watches 1
		"zk_num_alive_connections": "3",
		"zk_outstanding_requests":  "0",
		"zk_global_sessions":       "2",
	}
	for k, v := range exact {
		if m[k] != v {
			t.Errorf("mntr %s = %q, want %q", k, m[k], v)
		}
	}
	srvr := flw(t, f.s.Addr, "srvr")
	if !strings.HasPrefix(srvr, "Zookeeper version: "+m["zk_version"]+"\n") {
		t.Errorf("mntr zk_version %q differs from srvr:\n%s", m["zk_version"], srvr)
	}
}

// TestFLWConf: ZooKeeper's key=value lines, in ZooKeeper's order.
func TestFLWConf(t *testing.T) {
	s := startServer(t, nil)
	keys, m := kv(flw(t, s.Addr, "conf"), "=")
	want := []string{"clientPort", "secureClientPort", "dataDir", "dataDirSize", "dataLogDir", "dataLogSize",
		"tickTime", "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout", "clientPortListenBacklog", "serverId"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("conf keys %v\nwant %v", keys, want)
	}
	exact := map[string]string{
		"clientPort":        strconv.Itoa(s.Port),
		"secureClientPort":  "-1",
		"dataDir":           s.DataDir + "/version-2",
		"dataLogDir":        s.DataDir + "/version-2",
		"tickTime":          "2000",
		"maxClientCnxns":    "60",
		"minSessionTimeout": "4000",
		"maxSessionTimeout": "40000",
		"serverId":          "0",
	}
	for k, v := range exact {
		if m[k] != v {
			t.Errorf("conf %s = %q, want %q", k, m[k], v)
		}
	}
}

// TestFLWEnvi: "Environment:" then ZooKeeper's keys in ZooKeeper's order.
func TestFLWEnvi(t *testing.T) {
	s := startServer(t, nil)
	out := flw(t, s.Addr, "envi")
	if !strings.HasPrefix(out, "Environment:\n") {
		t.Fatalf("envi:\n%s", out)
	}
	keys, m := kv(out, "=")
	want := []string{"zookeeper.version", "host.name", "java.version", "java.vendor", "java.home",
		"java.class.path", "java.library.path", "java.io.tmpdir", "java.compiler", "os.name", "os.arch",
		"os.version", "user.name", "user.home", "user.dir", "os.memory.free", "os.memory.max", "os.memory.total"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("envi keys %v\nwant %v", keys, want)
	}
	if m["os.name"] != "Linux" {
		t.Errorf("os.name = %q", m["os.name"])
	}
}

// TestFLWWatches: wchs, wchc and wchp cover data and exist watches only
// (ZooKeeper's dataWatches); child watches are counted by mntr alone.
func TestFLWWatches(t *testing.T) {
	f := newFLWFixture(t)
	if got := flw(t, f.s.Addr, "wchs"); got != "2 connections watching 2 paths\nTotal watches:2\n" {
		t.Errorf("wchs = %q", got)
	}
	sa, sb := fmt.Sprintf("%#x", f.a.SessionID()), fmt.Sprintf("%#x", f.b.SessionID())
	// Groups may come in any order.
	wchc := flw(t, f.s.Addr, "wchc")
	if wchc != sa+"\n\t/nope\n"+sb+"\n\t/d\n\n" && wchc != sb+"\n\t/d\n"+sa+"\n\t/nope\n\n" {
		t.Errorf("wchc = %q", wchc)
	}
	wchp := flw(t, f.s.Addr, "wchp")
	if wchp != "/nope\n\t"+sa+"\n/d\n\t"+sb+"\n\n" && wchp != "/d\n\t"+sb+"\n/nope\n\t"+sa+"\n\n" {
		t.Errorf("wchp = %q", wchp)
	}
}

// TestFLWMisc: dirs, crst, srst, gtmk.
func TestFLWMisc(t *testing.T) {
	s := startServer(t, nil)
	if !regexp.MustCompile(`^datadir_size: \d+\nlogdir_size: \d+\n$`).MatchString(flw(t, s.Addr, "dirs")) {
		t.Errorf("dirs = %q", flw(t, s.Addr, "dirs"))
	}
	if got := flw(t, s.Addr, "crst"); got != "Connection stats reset.\n" {
		t.Errorf("crst = %q", got)
	}
	if got := flw(t, s.Addr, "srst"); got != "Server stats reset.\n" {
		t.Errorf("srst = %q", got)
	}
	if got := flw(t, s.Addr, "gtmk"); !regexp.MustCompile(`^\d+\n?$`).MatchString(got) {
		t.Errorf("gtmk = %q", got)
	}
}

// TestFLWWhitelist: a word outside 4lw.commands.whitelist gets ZooKeeper's
// message; an unknown word gets the connection closed without an answer.
func TestFLWWhitelist(t *testing.T) {
	s := startServer(t, map[string]string{"4lw.commands.whitelist": "srvr, stat"})
	for _, w := range []string{"ruok", "mntr", "conf", "wchs", "isro"} {
		if got := flw(t, s.Addr, w); got != w+" is not executed because it is not in the whitelist.\n" {
			t.Errorf("%s = %q", w, got)
		}
	}
	if got := flw(t, s.Addr, "stat"); !strings.HasPrefix(got, "Zookeeper version: ") {
		t.Errorf("stat = %q", got)
	}
	if got := flw(t, s.Addr, "xxxx"); got != "" {
		t.Errorf("unknown word = %q", got)
	}

	// Without the setting, only srvr is enabled.
	d := startServer(t, map[string]string{"4lw.commands.whitelist": ""})
	if got := flw(t, d.Addr, "srvr"); !strings.HasPrefix(got, "Zookeeper version: ") {
		t.Errorf("default whitelist: srvr = %q", got)
	}
	if got := flw(t, d.Addr, "ruok"); got != "ruok is not executed because it is not in the whitelist.\n" {
		t.Errorf("default whitelist: ruok = %q", got)
	}
}
