package snap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

func mustNew(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// metaAt returns metadata at index with a conf state that uses every field.
func metaAt(index uint64) raftpb.SnapshotMetadata {
	return raftpb.SnapshotMetadata{
		Index: index,
		Term:  index/10 + 1,
		ConfState: raftpb.ConfState{
			Voters:         []uint64{1, 2, 3},
			Learners:       []uint64{7},
			VotersOutgoing: []uint64{1, 2, 4},
			LearnersNext:   []uint64{4},
			AutoLeave:      index%2 == 0,
		},
	}
}

// payloadFor is a payload that identifies index.
func payloadFor(index uint64) []byte {
	return []byte(fmt.Sprintf("payload of the snapshot at index %d", index))
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}

func mustSave(t testing.TB, s *Store, index uint64) string {
	t.Helper()
	p, err := s.Save(metaAt(index), writeBytes(payloadFor(index)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sameMeta(t testing.TB, got, want raftpb.SnapshotMetadata) {
	t.Helper()
	if !(got.Index == want.Index && got.Term == want.Term && confEqual(got.ConfState, want.ConfState)) {
		t.Fatalf("metadata: got %v, want %v", got, want)
	}
}

func confEqual(a, b raftpb.ConfState) bool {
	eq := func(x, y []uint64) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return eq(a.Voters, b.Voters) && eq(a.Learners, b.Learners) && eq(a.VotersOutgoing, b.VotersOutgoing) &&
		eq(a.LearnersNext, b.LearnersNext) && a.AutoLeave == b.AutoLeave
}

// dirNames returns the sorted names in dir.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// stream writes n pseudo-random bytes from seed in chunks of varying sizes,
// generating them as it goes.
func stream(seed uint64, n int) func(io.Writer) error {
	return func(w io.Writer) error {
		rng := rand.New(rand.NewPCG(seed, 1))
		buf := make([]byte, 256<<10)
		for n > 0 {
			c := min(n, 1+rng.IntN(len(buf)))
			for i := 0; i < c; i += 8 {
				v := rng.Uint64()
				for j := 0; j < 8 && i+j < c; j++ {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
			if _, err := w.Write(buf[:c]); err != nil {
				return err
			}
			n -= c
		}
		return nil
	}
}

// op is one recorded file-system call.
type op struct {
	kind string // create, write, writeat, sync, close, rename, remove, syncdir
	name string // base name of the file (for rename, the old one)
	to   string // rename's new base name
}

func (o op) String() string {
	if o.to != "" {
		return fmt.Sprintf("%s %s->%s", o.kind, o.name, o.to)
	}
	return o.kind + " " + o.name
}

// recFS records calls to the operating system's file system and can fail one
// kind of call.
type recFS struct {
	mu     sync.Mutex
	ops    []op
	failOn string // kind of call that fails
	failN  int    // fail the failN-th such call (1-based); 0: every one
	seen   map[string]int
}

var errInjected = errors.New("injected fault")

func (r *recFS) record(kind, name, to string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]int{}
	}
	r.seen[kind]++
	if kind == r.failOn && (r.failN == 0 || r.seen[kind] == r.failN) {
		r.ops = append(r.ops, op{kind: "FAILED " + kind, name: name, to: to})
		return errInjected
	}
	r.ops = append(r.ops, op{kind: kind, name: name, to: to})
	return nil
}

func (r *recFS) recorded() []op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]op(nil), r.ops...)
}

func (r *recFS) Create(name string) (file, error) {
	if err := r.record("create", filepath.Base(name), ""); err != nil {
		return nil, err
	}
	f, err := osFS{}.Create(name)
	if err != nil {
		return nil, err
	}
	return &recFile{f: f, r: r, name: filepath.Base(name)}, nil
}

func (r *recFS) Rename(oldname, newname string) error {
	if err := r.record("rename", filepath.Base(oldname), filepath.Base(newname)); err != nil {
		return err
	}
	return os.Rename(oldname, newname)
}

func (r *recFS) Remove(name string) error {
	if err := r.record("remove", filepath.Base(name), ""); err != nil {
		return err
	}
	return os.Remove(name)
}

func (r *recFS) SyncDir(dir string) error {
	if err := r.record("syncdir", filepath.Base(dir), ""); err != nil {
		return err
	}
	return osFS{}.SyncDir(dir)
}

type recFile struct {
	f    file
	r    *recFS
	name string
}

func (f *recFile) Write(p []byte) (int, error) {
	if err := f.r.record("write", f.name, ""); err != nil {
		return 0, err
	}
	return f.f.Write(p)
}

func (f *recFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.r.record("writeat", f.name, ""); err != nil {
		return 0, err
	}
	return f.f.WriteAt(p, off)
}

func (f *recFile) Sync() error {
	if err := f.r.record("sync", f.name, ""); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *recFile) Close() error {
	err := f.f.Close()
	if rerr := f.r.record("close", f.name, ""); rerr != nil {
		return rerr
	}
	return err
}

// kinds returns the kinds of ops, consecutive writes collapsed into one.
func kinds(ops []op) string {
	var ks []string
	for _, o := range ops {
		if o.kind == "write" && len(ks) > 0 && ks[len(ks)-1] == "write" {
			continue
		}
		ks = append(ks, o.kind)
	}
	return strings.Join(ks, ",")
}
