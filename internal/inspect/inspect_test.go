package inspect

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication/snap"
	"github.com/gozk/gozk/internal/replication/wal"
)

func writeDataDir(t *testing.T) (dataDir string, snapPath string) {
	t.Helper()
	dataDir = t.TempDir()
	walDir := filepath.Join(dataDir, "version-2", "wal")
	w, err := wal.Create(walDir, nil, wal.Options{NoSync: true, PreallocSize: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	entries := []*fsm.Entry{
		{Op: proto.OpCreateSession, Session: 0x42, Timeout: 6000, Passwd: make([]byte, 16), Time: 1},
		{Op: proto.OpCreate, Session: 0x42, Time: 2, Req: &proto.CreateRequest{Path: "/inspected", Data: []byte("payload"), ACL: proto.OpenACLUnsafe}},
	}
	f := fsm.New(false)
	var ents []raftpb.Entry
	for i, e := range entries {
		ents = append(ents, raftpb.Entry{Index: uint64(i + 1), Term: 1, Data: e.Marshal()})
		f.Apply(1, e)
	}
	if err := w.Save(raftpb.HardState{Term: 1, Commit: 2}, ents); err != nil {
		t.Fatal(err)
	}
	w.Close()
	store, err := snap.New(filepath.Join(dataDir, "version-2"), snap.Options{NoSync: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s := f.BeginSnapshot()
	defer s.Close()
	snapPath, err = store.Save(raftpb.SnapshotMetadata{Index: 2, Term: 1}, func(w io.Writer) error { _, err := s.WriteTo(w); return err })
	if err != nil {
		t.Fatal(err)
	}
	return dataDir, snapPath
}

func TestLogSnapshotVerify(t *testing.T) {
	dataDir, snapPath := writeDataDir(t)
	var out bytes.Buffer
	if err := Log(&out, dataDir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 entries", "createSession timeout:6000ms", `create /inspected mode:0 data:"payload"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := Snapshot(&out, snapPath); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index 2 term 1", "0x42 timeout 6000ms", `/inspected czxid:0x100000002`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("snapshot output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := Verify(&out, dataDir, ""); err != nil {
		t.Fatalf("verify of a sound directory: %v\n%s", err, out.String())
	}
	// Damage the snapshot: verify reports it, and reading never repaired anything.
	b, _ := os.ReadFile(snapPath)
	b[len(b)/2] ^= 0xff
	os.WriteFile(snapPath, b, 0o600)
	segs, _ := filepath.Glob(filepath.Join(dataDir, "version-2", "wal", "*.wal"))
	before, _ := os.ReadFile(segs[0])
	out.Reset()
	if err := Verify(&out, dataDir, ""); err == nil || !strings.Contains(out.String(), "BAD  "+snapPath) {
		t.Fatalf("verify missed a damaged snapshot: %v\n%s", err, out.String())
	}
	after, _ := os.ReadFile(segs[0])
	if !bytes.Equal(before, after) {
		t.Fatal("inspect modified the log")
	}
}
