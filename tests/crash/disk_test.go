package crash

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// logFiles returns the server's transaction log segments, oldest first:
// gozk's *.wal files, or ZooKeeper's version-2/log.* files, anywhere under
// dataLogDir and dataDir.
func logFiles(t *testing.T, s *zktest.Server) []string {
	t.Helper()
	match := func(name string) bool { return strings.HasSuffix(name, ".wal") }
	if s.Kind == zktest.KindZooKeeper {
		match = func(name string) bool { return strings.HasPrefix(name, "log.") }
	}
	files, err := findFiles([]string{s.Config["dataLogDir"], s.DataDir}, match)
	if err != nil {
		t.Fatalf("looking for log segments: %v", err)
	}
	return files
}

// snapshotFiles returns the server's snapshot files under dataDir, oldest
// first: ZooKeeper's snapshot.<zxid>, gozk's snapshot-<index>.gzsnap, not
// a .tmp left by an unfinished one nor a .broken one set aside.
func snapshotFiles(t *testing.T, s *zktest.Server) []string {
	t.Helper()
	files, err := findFiles([]string{s.DataDir}, func(name string) bool {
		return strings.HasPrefix(name, "snapshot") && !strings.HasSuffix(name, ".tmp") && !strings.HasSuffix(name, ".broken")
	})
	if err != nil {
		t.Fatalf("looking for snapshots: %v", err)
	}
	return files
}

// findFiles returns the regular files under the roots whose base name
// matches, each once, oldest first (see sortOldestFirst).
func findFiles(roots []string, match func(name string) bool) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, root := range roots {
		if root == "" {
			continue
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.Type().IsRegular() && match(d.Name()) && !seen[path] {
				seen[path] = true
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", root, err)
		}
	}
	if err := sortOldestFirst(files); err != nil {
		return nil, err
	}
	return files, nil
}

// sortOldestFirst orders log segments or snapshots from oldest to newest.
// Names of the form prefix.HEX (ZooKeeper's log.<zxid>, snapshot.<zxid>,
// unpadded) are ordered by their number when every name has one; other
// names (gozk's zero-padded %016x-%016x.wal) by name; ties by modification
// time.
func sortOldestFirst(files []string) error {
	type key struct {
		path  string
		num   uint64
		hasN  bool
		mtime int64
	}
	keys := make([]key, len(files))
	allNum := true
	for i, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("stat %s: %w", f, err)
		}
		k := key{path: f, mtime: st.ModTime().UnixNano()}
		base := filepath.Base(f)
		if i := strings.LastIndexByte(base, '.'); i >= 0 {
			if n, err := strconv.ParseUint(base[i+1:], 16, 64); err == nil {
				k.num, k.hasN = n, true
			}
		}
		allNum = allNum && k.hasN
		keys[i] = k
	}
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if allNum && a.num != b.num {
			return a.num < b.num
		}
		if !allNum {
			if ba, bb := filepath.Base(a.path), filepath.Base(b.path); ba != bb {
				return ba < bb
			}
		}
		return a.mtime < b.mtime
	})
	for i, k := range keys {
		files[i] = k.path
	}
	return nil
}

// dataEnd returns the offset just past the last non-zero byte of the file:
// the end of what was written in a file whose tail is preallocated zeros.
func dataEnd(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	for end := st.Size(); end > 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read %s: %w", path, err)
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// truncateTail cuts the file k bytes before the end of its data (dataEnd),
// as a write torn by a crash leaves it, and returns the data end and the new
// size.
func truncateTail(path string, k int64) (end, size int64, err error) {
	end, err = dataEnd(path)
	if err != nil {
		return 0, 0, err
	}
	if end < k {
		return end, 0, fmt.Errorf("%s: only %d bytes of data, cannot cut %d", path, end, k)
	}
	size = end - k
	if err := os.Truncate(path, size); err != nil {
		return end, 0, err
	}
	return end, size, nil
}

// garbleTail overwrites the last k bytes of the file's data with random
// bytes, each different from the byte it replaces, and returns the offset of
// the first one.
func garbleTail(path string, k int64, rng *rand.Rand) (int64, error) {
	end, err := dataEnd(path)
	if err != nil {
		return 0, err
	}
	if end < k {
		return 0, fmt.Errorf("%s: only %d bytes of data, cannot garble %d", path, end, k)
	}
	off := end - k
	return off, flipBytes(path, off, k, func() byte { return byte(1 + rng.Intn(255)) })
}

// flipBytes XORs n bytes of the file at off with non-zero masks, so every
// byte changes.
func flipBytes(path string, off, n int64, mask func() byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		f.Close()
		return fmt.Errorf("read %s at %d: %w", path, off, err)
	}
	for i := range b {
		m := mask()
		if m == 0 {
			m = 0xff
		}
		b[i] ^= m
	}
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return fmt.Errorf("write %s at %d: %w", path, off, err)
	}
	return f.Close()
}

// corruptMiddle flips n bytes in the middle of the file's data and returns
// their offset.
func corruptMiddle(path string, n int64) (int64, error) {
	end, err := dataEnd(path)
	if err != nil {
		return 0, err
	}
	if end < 2*n {
		return 0, fmt.Errorf("%s: only %d bytes of data", path, end)
	}
	off := end/2 - n/2
	return off, flipBytes(path, off, n, func() byte { return 0xff })
}

func TestSortOldestFirst(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zk := []string{touch("log.a"), touch("log.100000001"), touch("log.9"), touch("log.1f")}
	if err := sortOldestFirst(zk); err != nil {
		t.Fatal(err)
	}
	want := "log.9 log.a log.1f log.100000001"
	if got := baseNames(zk); got != want {
		t.Errorf("ZooKeeper logs sorted: %s, want %s", got, want)
	}
	g := []string{touch("0000000000000002-0000000000000040.wal"), touch("0000000000000000-0000000000000001.wal"), touch("0000000000000001-0000000000000011.wal")}
	if err := sortOldestFirst(g); err != nil {
		t.Fatal(err)
	}
	want = "0000000000000000-0000000000000001.wal 0000000000000001-0000000000000011.wal 0000000000000002-0000000000000040.wal"
	if got := baseNames(g); got != want {
		t.Errorf("gozk segments sorted: %s, want %s", got, want)
	}
	sn := []string{touch("snapshot-0000000000000100.gzsnap"), touch("snapshot-00000000000000ff.gzsnap")}
	if err := sortOldestFirst(sn); err != nil {
		t.Fatal(err)
	}
	want = "snapshot-00000000000000ff.gzsnap snapshot-0000000000000100.gzsnap"
	if got := baseNames(sn); got != want {
		t.Errorf("gozk snapshots sorted: %s, want %s", got, want)
	}
}

func baseNames(files []string) string {
	var b []string
	for _, f := range files {
		b = append(b, filepath.Base(f))
	}
	return strings.Join(b, " ")
}

func TestDamageHelpers(t *testing.T) {
	dir := t.TempDir()
	mk := func() string {
		p := filepath.Join(dir, "seg")
		data := append([]byte("0123456789abcdef0\x00\x00z"), make([]byte, 3<<20)...) // data, then preallocated zeros
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := mk()
	if end, err := dataEnd(p); err != nil || end != 20 {
		t.Fatalf("dataEnd = %d, %v; want 20", end, err)
	}
	if end, size, err := truncateTail(p, 5); err != nil || end != 20 || size != 15 {
		t.Fatalf("truncateTail = %d, %d, %v; want 20, 15", end, size, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "0123456789abcde" {
		t.Fatalf("after truncateTail: %q", b)
	}
	p = mk()
	off, err := garbleTail(p, 4, rand.New(rand.NewSource(1)))
	if err != nil || off != 16 {
		t.Fatalf("garbleTail = %d, %v; want 16", off, err)
	}
	b, _ := os.ReadFile(p)
	if string(b[:16]) != "0123456789abcdef" || len(b) != 20+3<<20 {
		t.Fatalf("garbleTail changed bytes before the tail or the size: %q, %d bytes", b[:16], len(b))
	}
	for i, orig := range []byte("0\x00\x00z") {
		if b[16+i] == orig {
			t.Errorf("garbleTail left byte %d unchanged", 16+i)
		}
	}
	p = mk()
	if off, err := corruptMiddle(p, 4); err != nil || off != 8 {
		t.Fatalf("corruptMiddle = %d, %v; want 8", off, err)
	}
	b, _ = os.ReadFile(p)
	if string(b[:8]) != "01234567" || string(b[12:20]) != "cdef0\x00\x00z" || b[8] != '8'^0xff {
		t.Fatalf("corruptMiddle: %q", b[:20])
	}
}
