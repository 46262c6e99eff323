package wal

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// testOpts are small sizes so that tests cut segments and grow preallocations.
func testOpts() Options {
	return Options{SegmentSize: 4096, PreallocSize: 2048, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// mkEnts returns entries from..to (inclusive) in term with data of size bytes
// that identify the entry and its term.
func mkEnts(from, to, term uint64, size int) []raftpb.Entry {
	var es []raftpb.Entry
	for i := from; i <= to; i++ {
		d := bytes.Repeat([]byte{byte(i), byte(term)}, size/2+1)[:size]
		typ := raftpb.EntryNormal
		if i%7 == 0 {
			typ = raftpb.EntryConfChangeV2
		}
		es = append(es, raftpb.Entry{Index: i, Term: term, Type: typ, Data: d})
	}
	return es
}

func sameEntries(t *testing.T, got, want []raftpb.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries (%s), want %d (%s)", len(got), span(got), len(want), span(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Index != w.Index || g.Term != w.Term || g.Type != w.Type || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("entry %d: got {%d %d %v %x}, want {%d %d %v %x}", i, g.Index, g.Term, g.Type, g.Data, w.Index, w.Term, w.Type, w.Data)
		}
	}
}

func span(es []raftpb.Entry) string {
	if len(es) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", es[0].Index, es[len(es)-1].Index)
}

func mustCreate(t testing.TB, dir string, meta []byte, opts Options) *WAL {
	t.Helper()
	w, err := Create(dir, meta, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func mustSave(t testing.TB, w *WAL, hs raftpb.HardState, es []raftpb.Entry) {
	t.Helper()
	if err := w.Save(hs, es); err != nil {
		t.Fatal(err)
	}
}

func mustClose(t testing.TB, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// openRead opens dir and reads it from snap; the WAL is returned open.
func openRead(t testing.TB, dir string, opts Options, snap Snapshot) (*WAL, []byte, raftpb.HardState, []raftpb.Entry) {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	meta, hs, es, err := w.ReadAll(snap)
	if err != nil {
		w.Close()
		t.Fatal(err)
	}
	return w, meta, hs, es
}

// readErr opens dir and returns ReadAll's error.
func readErr(t testing.TB, dir string, opts Options, snap Snapshot) error {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		return err
	}
	defer w.Close()
	_, _, _, err = w.ReadAll(snap)
	return err
}

func segNames(t testing.TB, dir string) []string {
	t.Helper()
	segs, err := listSegments(dir, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range segs {
		names = append(names, s.name())
	}
	return names
}

// tailPath is the path of the tail segment of w.
func tailPath(w *WAL) string { return filepath.Join(w.dir, w.segs[len(w.segs)-1].name()) }

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// logBuffer collects slog output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// faultFS is the operating system's file system with counters and injectable
// failures for the operations on the durability path.
type faultFS struct {
	osFS
	mu         sync.Mutex
	ops        []string // "write", "sync", "allocate", "truncate", "create", "rename"
	failWrite  error    // WriteAt writes half of its bytes, then returns it
	failSync   error
	failAlloc  error
	failCreate error
}

func (fs *faultFS) record(op string) {
	fs.mu.Lock()
	fs.ops = append(fs.ops, op)
	fs.mu.Unlock()
}

func (fs *faultFS) count(op string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for _, o := range fs.ops {
		if o == op {
			n++
		}
	}
	return n
}

func (fs *faultFS) reset() {
	fs.mu.Lock()
	fs.ops = nil
	fs.mu.Unlock()
}

func (fs *faultFS) Create(name string) (file, error) {
	fs.record("create")
	if fs.failCreate != nil {
		return nil, fs.failCreate
	}
	f, err := fs.osFS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{file: f, fs: fs}, nil
}

func (fs *faultFS) OpenRW(name string) (file, error) {
	f, err := fs.osFS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{file: f, fs: fs}, nil
}

func (fs *faultFS) Rename(o, n string) error {
	fs.record("rename")
	return fs.osFS.Rename(o, n)
}

type faultFile struct {
	file
	fs *faultFS
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.record("write")
	if err := f.fs.failWrite; err != nil {
		n, _ := f.file.WriteAt(p[:len(p)/2], off)
		return n, err
	}
	return f.file.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	f.fs.record("sync")
	if f.fs.failSync != nil {
		return f.fs.failSync
	}
	return f.file.Sync()
}

func (f *faultFile) Allocate(off, n int64) error {
	f.fs.record("allocate")
	if f.fs.failAlloc != nil {
		return f.fs.failAlloc
	}
	return f.file.Allocate(off, n)
}

func (f *faultFile) Truncate(size int64) error {
	f.fs.record("truncate")
	return f.file.Truncate(size)
}

// noSyncFS is the operating system's file system with syncs skipped, for tests
// of recovery that reopen many logs.
type noSyncFS struct{ osFS }

func (noSyncFS) Create(name string) (file, error) {
	f, err := osFS{}.Create(name)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (noSyncFS) OpenRW(name string) (file, error) {
	f, err := osFS{}.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (noSyncFS) SyncDir(string) error { return nil }

type noSyncFile struct{ file }

func (noSyncFile) Sync() error { return nil }
