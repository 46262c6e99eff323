package server

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/gozk/gozk/internal/replica"
)

// Version is the ZooKeeper version gozk reports: the protocol level it
// implements, then gozk's own version.
const Version = "3.9.3-gozk-0.1.0"

// FullVersion is Version with its build note, as srvr, stat and mntr print it.
const FullVersion = Version + ", built on gozk"

// fourLetterWords maps every four-letter word ZooKeeper knows to gozk's handler
// (nil for words gozk recognises but does not implement: they answer with a note).
var fourLetterWords = map[string]func(*Server, io.Writer){
	"ruok": (*Server).cmdRuok, "srvr": (*Server).cmdSrvr, "stat": (*Server).cmdStat,
	"mntr": (*Server).cmdMntr, "conf": (*Server).cmdConf, "cons": (*Server).cmdCons,
	"crst": (*Server).cmdCrst, "srst": (*Server).cmdSrst, "envi": (*Server).cmdEnvi,
	"wchs": (*Server).cmdWchs, "wchc": (*Server).cmdWchc, "wchp": (*Server).cmdWchp,
	"dirs": (*Server).cmdDirs, "isro": (*Server).cmdIsro, "dump": (*Server).cmdDump,
	"hash": (*Server).cmdHash, "gtmk": (*Server).cmdGtmk, "stmk": (*Server).cmdGtmk,
}

// FourLetterWordNames returns every known word, sorted.
func FourLetterWordNames() []string {
	out := make([]string, 0, len(fourLetterWords))
	for w := range fourLetterWords {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// fourLetter answers a four-letter word on a fresh connection and closes it.
func (s *Server) fourLetter(word string, c *conn) {
	nc := c.nc
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	if !s.opts.FourLetterWords[word] {
		fmt.Fprintf(&b, "%s is not executed because it is not in the whitelist.\n", word)
	} else {
		fourLetterWords[word](s, &b)
	}
	// The answer counts this connection; it is gone before the client can see
	// the answer end, so its next word does not count it again.
	s.forget(c)
	io.WriteString(nc, b.String())
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	s.log.Debug("four-letter word", "word", word, "remote", nc.RemoteAddr().String())
}

func (s *Server) mode() string {
	if s.opts.ID == 0 {
		return "standalone"
	}
	if s.rep.Sessions().IsLeader() {
		return "leader"
	}
	if s.repl.Status().Learner {
		return "observer"
	}
	return "follower"
}

// peerState is mntr's zk_peer_state: the quorum state and, once serving, the
// broadcast phase (gozk serves only in it).
func peerState(mode string) string {
	switch mode {
	case "leader":
		return "leading - broadcast"
	case "follower":
		return "following - broadcast"
	case "observer":
		return "observing - broadcast"
	}
	return mode
}

// notServing is ZooKeeper's answer to stat words while there is no leader.
const notServing = "This ZooKeeper instance is not currently serving requests\n"

func (s *Server) cmdRuok(w io.Writer) { io.WriteString(w, "imok") }

func (s *Server) writeServerStats(w io.Writer) {
	mn, avg, mx := s.stats.lat.get()
	var zxid int64
	var nodes int
	s.rep.Read(func(v replica.View) { zxid, nodes = v.FSM.Zxid(), nodeCount(v.FSM.Tree().Len()) })
	fmt.Fprintf(w, "Latency min/avg/max: %d/%.4f/%d\n", mn, avg, mx)
	fmt.Fprintf(w, "Received: %d\n", s.stats.received.Load())
	fmt.Fprintf(w, "Sent: %d\n", s.stats.sent.Load())
	fmt.Fprintf(w, "Connections: %d\n", s.connCount())
	fmt.Fprintf(w, "Outstanding: %d\n", s.outstanding())
	fmt.Fprintf(w, "Zxid: 0x%x\n", zxid)
	fmt.Fprintf(w, "Mode: %s\n", s.mode())
	fmt.Fprintf(w, "Node count: %d\n", nodes)
}

// nodeCount is the node count ZooKeeper reports: its DataTree holds the root
// twice (as "" and "/").
func nodeCount(n int) int { return n + 1 }

func (s *Server) cmdSrvr(w io.Writer) {
	if !s.serving() {
		io.WriteString(w, notServing)
		return
	}
	fmt.Fprintf(w, "Zookeeper version: %s\n", FullVersion)
	s.writeServerStats(w)
}

// brief is a connection's short line in stat and cons: [1] for a connection
// with a session (reading), [0] for one that has none (a four-letter word).
func (c *conn) brief() string {
	ops := 0
	if c.sessionID() != 0 {
		ops = 1
	}
	return fmt.Sprintf(" /%s[%d](queued=%d,recved=%d,sent=%d", c.remote, ops, len(c.pending), c.cstats.received.Load(), c.cstats.sent.Load())
}

func (s *Server) cmdStat(w io.Writer) {
	if !s.serving() {
		io.WriteString(w, notServing)
		return
	}
	fmt.Fprintf(w, "Zookeeper version: %s\n", FullVersion)
	io.WriteString(w, "Clients:\n")
	for _, c := range s.snapshotConns() {
		io.WriteString(w, c.brief()+")\n")
	}
	io.WriteString(w, "\n")
	s.writeServerStats(w)
}

func (s *Server) connCount() int {
	s.connsMu.RLock()
	defer s.connsMu.RUnlock()
	return len(s.conns)
}

func (s *Server) outstanding() int {
	n := 0
	for _, c := range s.snapshotConns() {
		n += len(c.pending)
	}
	return n
}

func (s *Server) snapshotConns() []*conn {
	s.connsMu.RLock()
	out := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	s.connsMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Server) cmdCons(w io.Writer) {
	for _, c := range s.snapshotConns() {
		if c.sessionID() == 0 {
			io.WriteString(w, c.brief()+")\n")
			continue
		}
		mn, avg, mx := c.cstats.lat.get()
		fmt.Fprintf(w, "%s,sid=0x%x,lop=%s,est=%d,to=%d,lcxid=0x%x,lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d)\n",
			c.brief(), c.sessionID(), c.lastOp.Load().(string), c.created.UnixMilli(), c.timeout.Milliseconds(),
			c.lastCxid.Load(), c.lastZxid.Load(), c.lastResp.Load(), c.lastLat.Load(), mn, int64(avg), mx)
	}
	io.WriteString(w, "\n")
}

func (s *Server) cmdCrst(w io.Writer) {
	for _, c := range s.snapshotConns() {
		c.cstats.reset()
	}
	io.WriteString(w, "Connection stats reset.\n")
}

func (s *Server) cmdSrst(w io.Writer) {
	s.stats.reset()
	io.WriteString(w, "Server stats reset.\n")
}

func (s *Server) cmdConf(w io.Writer) {
	for _, l := range s.opts.ConfigDump {
		fmt.Fprintln(w, l)
	}
}

// cmdEnvi prints ZooKeeper's environment keys, in its order, so tools that parse
// them work; the java.* keys describe the Go runtime instead.
func (s *Server) cmdEnvi(w io.Writer) {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	user := os.Getenv("USER")
	exe, _ := os.Executable()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	io.WriteString(w, "Environment:\n")
	for _, kv := range [][2]string{
		{"zookeeper.version", FullVersion},
		{"host.name", host},
		{"java.version", runtime.Version()},
		{"java.vendor", "gozk (Go runtime)"},
		{"java.home", filepath.Dir(exe)},
		{"java.class.path", exe},
		{"java.library.path", ""},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", runtime.Compiler},
		{"os.name", osName()},
		{"os.arch", runtime.GOARCH},
		{"os.version", osVersion()},
		{"user.name", user},
		{"user.home", home},
		{"user.dir", wd},
		{"os.memory.free", fmt.Sprintf("%dMB", (ms.HeapIdle)>>20)},
		{"os.memory.max", fmt.Sprintf("%dMB", ms.Sys>>20)},
		{"os.memory.total", fmt.Sprintf("%dMB", ms.HeapSys>>20)},
	} {
		fmt.Fprintf(w, "%s=%s\n", kv[0], kv[1])
	}
}

func osName() string {
	if runtime.GOOS == "linux" {
		return "Linux"
	}
	return runtime.GOOS
}

func osVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// The watch words cover data and exist watches (ZooKeeper's dataWatches table);
// child watches count only in mntr's zk_watch_count.
func (s *Server) cmdWchs(w io.Writer) {
	sum := s.rep.DataWatchSummary()
	fmt.Fprintf(w, "%d connections watching %d paths\nTotal watches:%d\n", sum.Connections, sum.Paths, sum.Total)
}

func (s *Server) sessionOf(connID uint64) int64 {
	s.connsMu.RLock()
	defer s.connsMu.RUnlock()
	if c := s.conns[connID]; c != nil {
		return c.sessionID()
	}
	return 0
}

func (s *Server) cmdWchc(w io.Writer) {
	byW := s.rep.DataWatchesByWatcher()
	ids := make([]uint64, 0, len(byW))
	for id := range byW {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		fmt.Fprintf(w, "0x%x\n", s.sessionOf(id))
		for _, p := range byW[id] {
			fmt.Fprintf(w, "\t%s\n", p)
		}
	}
	io.WriteString(w, "\n")
}

func (s *Server) cmdWchp(w io.Writer) {
	byP := s.rep.DataWatchesByPath()
	paths := make([]string, 0, len(byP))
	for p := range byP {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintln(w, p)
		for _, id := range byP[p] {
			fmt.Fprintf(w, "\t0x%x\n", s.sessionOf(id))
		}
	}
	io.WriteString(w, "\n")
}

func dirSize(dir string) int64 {
	var n int64
	if dir == "" {
		return 0
	}
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func (s *Server) cmdDirs(w io.Writer) {
	fmt.Fprintf(w, "datadir_size: %d\n", dirSize(s.opts.DataDir))
	fmt.Fprintf(w, "logdir_size: %d\n", dirSize(s.opts.DataLogDir))
}

func (s *Server) cmdIsro(w io.Writer) {
	if s.readOnly() {
		io.WriteString(w, "ro")
		return
	}
	io.WriteString(w, "rw")
}

func (s *Server) cmdDump(w io.Writer) {
	s.rep.Read(func(v replica.View) {
		io.WriteString(w, "SessionTracker dump:\n")
		fmt.Fprintf(w, "Session Sets (%d):\n", v.FSM.SessionCount())
		io.WriteString(w, "ephemeral nodes dump:\n")
		t := v.FSM.Tree()
		owners := 0
		t.EachEphemeralOwner(func(int64, []string) { owners++ })
		fmt.Fprintf(w, "Sessions with Ephemerals (%d):\n", owners)
		t.EachEphemeralOwner(func(id int64, paths []string) {
			fmt.Fprintf(w, "0x%x:\n", id)
			for _, p := range paths {
				fmt.Fprintf(w, "\t%s\n", p)
			}
		})
	})
}

func (s *Server) cmdHash(w io.Writer) {
	s.rep.Read(func(v replica.View) {
		fmt.Fprintf(w, "Digest: 0x%x, Zxid: 0x%x\n", v.FSM.Tree().Digest(), v.FSM.Zxid())
	})
}

func (s *Server) cmdGtmk(w io.Writer) { io.WriteString(w, "0\n") }

func (s *Server) cmdMntr(w io.Writer) {
	if !s.serving() {
		io.WriteString(w, notServing)
		return
	}
	mn, avg, mx := s.stats.lat.get()
	var nodes, eph int
	var size int64
	s.rep.Read(func(v replica.View) {
		t := v.FSM.Tree()
		nodes, eph, size = nodeCount(t.Len()), t.EphemeralCount(), t.DataSize()
	})
	sum := s.rep.WatchSummary()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	kv := []struct {
		k string
		v any
	}{
		{"zk_version", FullVersion},
		{"zk_server_state", s.mode()},
		{"zk_peer_state", peerState(s.mode())},
		{"zk_avg_latency", fmt.Sprintf("%.4f", avg)},
		{"zk_max_latency", mx},
		{"zk_min_latency", mn},
		{"zk_packets_received", s.stats.received.Load()},
		{"zk_packets_sent", s.stats.sent.Load()},
		{"zk_num_alive_connections", s.connCount()},
		{"zk_outstanding_requests", s.outstanding()},
		{"zk_znode_count", nodes},
		{"zk_watch_count", sum.Total},
		{"zk_ephemerals_count", eph},
		{"zk_approximate_data_size", size},
		{"zk_open_file_descriptor_count", openFDs()},
		{"zk_max_file_descriptor_count", maxFDs()},
		{"zk_uptime", time.Since(s.started).Milliseconds()},
		{"zk_global_sessions", s.sessionCount()},
		{"zk_local_sessions", 0},
		{"zk_heap_alloc_bytes", ms.HeapAlloc},
	}
	st := s.repl.Status()
	if s.opts.ID != 0 {
		kv = append(kv, struct {
			k string
			v any
		}{"zk_quorum_size", st.Voters})
	}
	if st.IsLeader && s.rep.Sessions().IsLeader() {
		kv = append(kv, []struct {
			k string
			v any
		}{
			{"zk_learners", st.Learners},
			{"zk_followers", st.Followers},
			{"zk_synced_followers", st.SyncedFollowers},
			{"zk_synced_non_voting_followers", 0},
			{"zk_synced_observers", st.SyncedObservers},
			{"zk_pending_syncs", 0},
		}...)
	}
	if s.opts.ID != 0 && st.Learner {
		kv = append(kv, struct {
			k string
			v any
		}{"zk_observer_master_id", st.Leader})
	}
	for _, e := range kv {
		fmt.Fprintf(w, "%s\t%v\n", e.k, e.v)
	}
}

func (s *Server) sessionCount() int {
	n := 0
	s.rep.Read(func(v replica.View) { n = v.FSM.SessionCount() })
	return n
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
