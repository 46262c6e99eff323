// Package inspect prints gozk's on-disk state for people, like ZooKeeper's
// txn-log and snapshot toolkits: the write-ahead log's entries, a snapshot's
// sessions and nodes, and a verification of every checksum in a data directory.
// It never modifies the files it reads: the log is read from a private copy.
package inspect

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication/snap"
	"github.com/gozk/gozk/internal/replication/wal"
	"github.com/gozk/gozk/internal/tree"
)

// readLog reads a WAL directory through a copy, so that recovery's repairs of a
// torn tail never touch the original.
func readLog(dir string) (raftpb.HardState, []raftpb.Entry, error) {
	tmp, err := os.MkdirTemp("", "gozk-inspect-")
	if err != nil {
		return raftpb.HardState{}, nil, err
	}
	defer os.RemoveAll(tmp)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return raftpb.HardState{}, nil, err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return raftpb.HardState{}, nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o600); err != nil {
			return raftpb.HardState{}, nil, err
		}
	}
	w, err := wal.Open(tmp, wal.Options{NoSync: true, Logger: quietLogger()})
	if err != nil {
		return raftpb.HardState{}, nil, err
	}
	defer w.Close()
	_, hs, es, err := w.ReadAll(wal.Snapshot{})
	return hs, es, err
}

// FindLogDir returns the WAL directory under a data directory (or dir itself if
// it holds segments).
func FindLogDir(dir string) string {
	for _, d := range []string{dir, filepath.Join(dir, "wal"), filepath.Join(dir, "version-2", "wal")} {
		if m, _ := filepath.Glob(filepath.Join(d, "*.wal")); len(m) > 0 {
			return d
		}
	}
	return dir
}

// Log prints every entry of the log in dir.
func Log(out io.Writer, dir string) error {
	dir = FindLogDir(dir)
	hs, ents, err := readLog(dir)
	if err != nil {
		return fmt.Errorf("inspect: reading log %s: %w", dir, err)
	}
	fmt.Fprintf(out, "log %s: %d entries, term %d, commit %d, vote %d\n", dir, len(ents), hs.Term, hs.Commit, hs.Vote)
	for _, e := range ents {
		fmt.Fprintf(out, "%d/%d %s\n", e.Index, e.Term, describeEntry(e))
	}
	return nil
}

func describeEntry(e raftpb.Entry) string {
	switch e.Type {
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return "confChange (undecodable: " + err.Error() + ")"
		}
		return fmt.Sprintf("confChange %s node %d", cc.Type, cc.NodeID)
	case raftpb.EntryConfChangeV2:
		return "confChangeV2"
	}
	if len(e.Data) == 0 {
		return "noop (new leader)"
	}
	fe, err := fsm.Unmarshal(e.Data)
	if err != nil {
		return "undecodable entry: " + err.Error()
	}
	return DescribeEntry(fe)
}

// DescribeEntry renders one state-machine entry on one line.
func DescribeEntry(e *fsm.Entry) string {
	var b strings.Builder
	op := e.Op.String()
	if e.Op == fsm.OpSetSessionTimeout {
		op = "setSessionTimeout"
	}
	fmt.Fprintf(&b, "%s session:0x%x %s", time.UnixMilli(e.Time).UTC().Format("2006-01-02T15:04:05.000Z"), e.Session, op)
	switch e.Op {
	case proto.OpCreateSession, fsm.OpSetSessionTimeout:
		fmt.Fprintf(&b, " timeout:%dms", e.Timeout)
	}
	if e.Req != nil {
		b.WriteString(" " + describeRequest(e.Req))
	}
	return b.String()
}

func describeRequest(r proto.Record) string {
	switch r := r.(type) {
	case *proto.CreateRequest:
		s := fmt.Sprintf("%s mode:%d data:%q acl:%s", r.Path, r.Flags, clip(r.Data), describeACL(r.ACL))
		if r.HasTTL {
			s += fmt.Sprintf(" ttl:%dms", r.TTL)
		}
		return s
	case *proto.PathVersionRequest:
		return fmt.Sprintf("%s version:%d", r.Path, r.Version)
	case *proto.SetDataRequest:
		return fmt.Sprintf("%s version:%d data:%q", r.Path, r.Version, clip(r.Data))
	case *proto.SetACLRequest:
		return fmt.Sprintf("%s version:%d acl:%s", r.Path, r.Version, describeACL(r.ACL))
	case *proto.PathRequest:
		return r.Path
	case *proto.MultiRequest:
		parts := make([]string, len(r.Ops))
		for i, op := range r.Ops {
			parts[i] = op.Type.String() + " " + describeRequest(op.Req)
		}
		return "[" + strings.Join(parts, "; ") + "]"
	}
	return fmt.Sprintf("%+v", r)
}

func describeACL(acls []proto.ACL) string {
	parts := make([]string, len(acls))
	for i, a := range acls {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.ID.Scheme, a.ID.ID, a.Perms)
	}
	return strings.Join(parts, ",")
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// Snapshot prints a snapshot file: its metadata, sessions and nodes.
func Snapshot(out io.Writer, path string) error {
	meta, payload, err := snap.ReadFile(path)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	f, err := fsm.DecodeSnapshot(payload)
	if err != nil {
		return fmt.Errorf("inspect: %s: %w", path, err)
	}
	fmt.Fprintf(out, "snapshot %s: index %d term %d voters %v learners %v, last zxid 0x%x\n",
		path, meta.Index, meta.Term, meta.ConfState.Voters, meta.ConfState.Learners, f.Zxid())
	var ids []int64
	f.EachSession(func(s *fsm.Session) { ids = append(ids, s.ID) })
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	fmt.Fprintf(out, "sessions (%d):\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(out, "  0x%x timeout %dms\n", id, f.Session(id).Timeout)
	}
	t := f.Tree()
	fmt.Fprintf(out, "nodes (%d), digest 0x%x:\n", t.Len(), t.Digest())
	t.Walk(func(p string, n *tree.Node) {
		st := n.Stat()
		fmt.Fprintf(out, "  %s czxid:0x%x mzxid:0x%x pzxid:0x%x version:%d cversion:%d aversion:%d owner:0x%x data:%q\n",
			p, st.Czxid, st.Mzxid, st.Pzxid, st.Version, st.Cversion, st.Aversion, n.EphemeralOwner, clip(n.Data))
	})
	return nil
}

// Verify checks every checksum of a data directory: each snapshot file and the
// whole log. It reports every problem found and returns an error if any.
func Verify(out io.Writer, dataDir, logDir string) error {
	var problems []string
	snaps, _ := filepath.Glob(filepath.Join(dataDir, "version-2", "snapshot-*.gzsnap"))
	sort.Strings(snaps)
	for _, p := range snaps {
		meta, payload, err := snap.ReadFile(p)
		if err == nil {
			_, err = fsm.DecodeSnapshot(payload)
		}
		if err != nil {
			problems = append(problems, err.Error())
			fmt.Fprintf(out, "BAD  %s: %v\n", p, err)
			continue
		}
		fmt.Fprintf(out, "ok   %s (index %d, %d bytes)\n", p, meta.Index, len(payload))
	}
	if logDir == "" {
		logDir = dataDir
	}
	ld := FindLogDir(logDir)
	if m, _ := filepath.Glob(filepath.Join(ld, "*.wal")); len(m) == 0 {
		fmt.Fprintf(out, "no log segments under %s\n", logDir)
	} else {
		_, ents, err := readLog(ld)
		if err != nil {
			problems = append(problems, err.Error())
			fmt.Fprintf(out, "BAD  log %s: %v\n", ld, err)
		} else {
			fmt.Fprintf(out, "ok   log %s (%d segments, %d entries)\n", ld, len(m), len(ents))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("inspect: %d problem(s) found", len(problems))
	}
	return nil
}
