package snap

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func TestNames(t *testing.T) {
	if got := snapName(100000); got != "snapshot-00000000000186a0.gzsnap" {
		t.Fatalf("snapName(100000) = %q", got)
	}
	for _, idx := range []uint64{1, 0xff, 1 << 40, ^uint64(0)} {
		if got, ok := parseName(snapName(idx)); !ok || got != idx {
			t.Errorf("parseName(snapName(%d)) = %d, %v", idx, got, ok)
		}
	}
	for _, name := range []string{
		"snapshot.00000000000186a0.gzsnap", // ZooKeeper's separator
		"snapshot-00000000000186A0.gzsnap", // upper case
		"snapshot-186a0.gzsnap",
		"snapshot-00000000000186a0.gzsnap.tmp",
		"snapshot-00000000000186a0.gzsnap.broken",
		"snapshot-0000000000x186a0.gzsnap",
		"snapshot.186a0",
		"log.100000001",
	} {
		if _, ok := parseName(name); ok {
			t.Errorf("parseName(%q) accepted", name)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	if _, _, err := s.Load(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Load of an empty store: %v, want ErrNoSnapshot", err)
	}
	var paths []string
	for _, idx := range []uint64{5, 300, 40} { // saved out of order
		p := mustSave(t, s, idx)
		if want := filepath.Join(dir, snapName(idx)); p != want {
			t.Fatalf("Save returned %q, want %q", p, want)
		}
		paths = append(paths, p)
	}
	meta, payload, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameMeta(t, meta, metaAt(300))
	if !bytes.Equal(payload, payloadFor(300)) {
		t.Fatalf("payload %q", payload)
	}
	// Every file reads back through Open and ReadFile.
	for i, idx := range []uint64{5, 300, 40} {
		meta, payload, err := s.Open(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		sameMeta(t, meta, metaAt(idx))
		if !bytes.Equal(payload, payloadFor(idx)) {
			t.Fatalf("payload of %d: %q", idx, payload)
		}
	}
	// A new Store over the same directory sees the same.
	s2 := mustNew(t, dir, Options{})
	meta, _, err = s2.Load()
	if err != nil || meta.Index != 300 {
		t.Fatalf("reopened: %v, %v", meta, err)
	}
	if got := dirNames(t, dir); len(got) != 3 {
		t.Fatalf("directory holds %v", got)
	}
}

func TestEmptyPayloadAndEmptyConfState(t *testing.T) {
	s := mustNew(t, t.TempDir(), Options{})
	meta := raftpb.SnapshotMetadata{Index: 1, Term: 1}
	if _, err := s.Save(meta, func(io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	got, payload, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameMeta(t, got, meta)
	if len(payload) != 0 {
		t.Fatalf("payload %q", payload)
	}
}

func TestSaveIndexZeroRejected(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	if _, err := s.Save(raftpb.SnapshotMetadata{Term: 1}, writeBytes([]byte("x"))); err == nil {
		t.Fatal("Save at index 0 succeeded")
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Fatalf("directory holds %v", names)
	}
}

func TestSaveReplacesSameIndex(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	mustSave(t, s, 9)
	if _, err := s.Save(metaAt(9), writeBytes([]byte("second"))); err != nil {
		t.Fatal(err)
	}
	_, payload, err := s.Load()
	if err != nil || string(payload) != "second" {
		t.Fatalf("Load: %q, %v", payload, err)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v", names)
	}
}

// TestBigStreamedPayload saves a payload produced piecewise by a generator and
// checks that it comes back bit for bit and that Save did not buffer it.
func TestBigStreamedPayload(t *testing.T) {
	size := 96 << 20
	if testing.Short() {
		size = 8 << 20
	}
	s := mustNew(t, t.TempDir(), Options{})

	h := sha256.New()
	if err := stream(42, size)(h); err != nil {
		t.Fatal(err)
	}
	want := h.Sum(nil)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	path, err := s.Save(metaAt(1000), stream(42, size))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// The generator allocates 256 KiB and Save a 1 MiB buffer; holding the
	// payload would allocate at least its size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("Save of a %d-byte payload allocated %d bytes", size, alloc)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := marshalMeta(metaAt(1000))
	if wantSize := int64(overhead + len(mb) + size); st.Size() != wantSize {
		t.Fatalf("file is %d bytes, want %d", st.Size(), wantSize)
	}

	meta, payload, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameMeta(t, meta, metaAt(1000))
	if len(payload) != size {
		t.Fatalf("payload is %d bytes, want %d", len(payload), size)
	}
	if got := sha256.Sum256(payload); !bytes.Equal(got[:], want) {
		t.Fatal("payload differs from what was streamed")
	}
}

// TestFileLayout checks the bytes on disk against the layout in doc.go.
func TestFileLayout(t *testing.T) {
	s := mustNew(t, t.TempDir(), Options{})
	meta := metaAt(0x186a0)
	payload := []byte("the payload")
	path, err := s.Save(meta, writeBytes(payload))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "snapshot-00000000000186a0.gzsnap" {
		t.Fatalf("name %s", filepath.Base(path))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := meta.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m := len(mb)
	le := binary.LittleEndian
	if string(b[:8]) != "gozksnap" || le.Uint32(b[8:]) != 1 || le.Uint32(b[12:]) != uint32(m) ||
		!bytes.Equal(b[16:16+m], mb) || le.Uint64(b[16+m:]) != uint64(len(payload)) ||
		!bytes.Equal(b[24+m:24+m+len(payload)], payload) || len(b) != 28+m+len(payload) {
		t.Fatalf("layout differs from doc.go: % x", b)
	}
	tab := crc32.MakeTable(crc32.Castagnoli)
	want := crc32.Update(crc32.Checksum(payload, tab), tab, b[:24+m])
	if got := le.Uint32(b[len(b)-4:]); got != want {
		t.Fatalf("crc %08x, want %08x", got, want)
	}
	enc, err := Encode(meta, payload)
	if err != nil || !bytes.Equal(enc, b) {
		t.Fatalf("Encode differs from the file Save wrote (%v)", err)
	}
}

// damage is a way of damaging a snapshot file.
type damage struct {
	name string
	do   func(b []byte) []byte
}

func flipAt(off func(n int) int) func([]byte) []byte {
	return func(b []byte) []byte {
		b = slices.Clone(b)
		b[off(len(b))] ^= 0x10
		return b
	}
}

var damages = []damage{
	{"flip magic", flipAt(func(int) int { return 0 })},
	{"flip version", flipAt(func(int) int { return 8 })},
	{"flip metadata length", flipAt(func(int) int { return 12 })},
	{"flip metadata", flipAt(func(int) int { return 20 })},
	{"flip payload", flipAt(func(n int) int { return n - 10 })},
	{"flip checksum", flipAt(func(n int) int { return n - 1 })},
	{"truncate to zero", func(b []byte) []byte { return nil }},
	{"truncate to 10", func(b []byte) []byte { return b[:10] }},
	{"truncate one byte", func(b []byte) []byte { return b[:len(b)-1] }},
	{"truncate half", func(b []byte) []byte { return b[:len(b)/2] }},
	{"extend", func(b []byte) []byte { return append(slices.Clone(b), 0) }},
	{"zeros", func(b []byte) []byte { return make([]byte, len(b)) }},
}

func damageFile(t *testing.T, path string, d func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, d(b), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedNewestFallsBack(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			lg, logs := newLogger()
			s := mustNew(t, dir, Options{Logger: lg})
			mustSave(t, s, 10)
			mustSave(t, s, 20)
			newest := mustSave(t, s, 30)
			damageFile(t, newest, d.do)

			if _, _, err := s.Open(newest); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), newest) {
				t.Fatalf("Open of the damaged file: %v, want ErrCorrupt naming the file", err)
			}
			meta, payload, err := s.Load()
			if err != nil {
				t.Fatal(err)
			}
			sameMeta(t, meta, metaAt(20))
			if !bytes.Equal(payload, payloadFor(20)) {
				t.Fatalf("payload %q", payload)
			}
			if _, err := os.Stat(newest); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("damaged file still under its name: %v", err)
			}
			if _, err := os.Stat(newest + ".broken"); err != nil {
				t.Fatalf("damaged file not set aside: %v", err)
			}
			out := logs.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, newest) || !strings.Contains(out, "reason=") {
				t.Fatalf("no warning naming the file and the reason:\n%s", out)
			}
			// The next start uses the same snapshot without complaint.
			meta, _, err = mustNew(t, dir, Options{}).Load()
			if err != nil || meta.Index != 20 {
				t.Fatalf("second Load: %v, %v", meta.Index, err)
			}
		})
	}
}

func TestTwoDamagedFallsBackFurther(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	mustSave(t, s, 1)
	p2 := mustSave(t, s, 2)
	p3 := mustSave(t, s, 3)
	damageFile(t, p3, damages[4].do)
	damageFile(t, p2, damages[8].do)
	meta, _, err := s.Load()
	if err != nil || meta.Index != 1 {
		t.Fatalf("Load: %d, %v", meta.Index, err)
	}
	want := []string{snapName(1), snapName(2) + ".broken", snapName(3) + ".broken"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("directory holds %v, want %v", got, want)
	}
	// Set-aside files are neither read nor listed.
	infos, err := s.List()
	if err != nil || len(infos) != 1 || infos[0].Index != 1 {
		t.Fatalf("List: %v, %v", infos, err)
	}
}

func TestAllDamaged(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	for i, idx := range []uint64{4, 8} {
		damageFile(t, mustSave(t, s, idx), damages[i*5].do)
	}
	before := dirNames(t, dir)
	for range 2 {
		_, _, err := s.Load()
		if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoSnapshot) {
			t.Fatalf("Load: %v, want ErrCorrupt", err)
		}
		if !strings.Contains(err.Error(), snapName(8)) {
			t.Fatalf("error does not name the newest file: %v", err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, before) {
			t.Fatalf("directory changed to %v", got)
		}
	}
}

func TestIndexNotTheNamesIsDamage(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	mustSave(t, s, 5)
	p7 := mustSave(t, s, 7)
	b, err := os.ReadFile(p7)
	if err != nil {
		t.Fatal(err)
	}
	// A valid file of index 7 under the name of index 9.
	p9 := filepath.Join(dir, snapName(9))
	if err := os.WriteFile(p9, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(p9); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadFile: %v", err)
	}
	meta, _, err := s.Load()
	if err != nil || meta.Index != 7 {
		t.Fatalf("Load: %d, %v", meta.Index, err)
	}
	if _, err := os.Stat(p9 + ".broken"); err != nil {
		t.Fatal(err)
	}
	// Under another name (a copy for inspection), the file is fine.
	other := filepath.Join(t.TempDir(), "copy")
	if err := os.WriteFile(other, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if meta, _, err := ReadFile(other); err != nil || meta.Index != 7 {
		t.Fatalf("ReadFile of a copy: %d, %v", meta.Index, err)
	}
}

// withVersion re-frames a file as version v with a valid checksum.
func withVersion(b []byte, v uint32) []byte {
	b = slices.Clone(b)
	binary.LittleEndian.PutUint32(b[8:], v)
	m := int(binary.LittleEndian.Uint32(b[12:]))
	end := len(b) - 4
	crc := crc32.Update(crc32.Checksum(b[24+m:end], castagnoli), castagnoli, b[:24+m])
	binary.LittleEndian.PutUint32(b[end:], crc)
	return b
}

func TestUnknownVersionIsNotDamage(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	mustSave(t, s, 1)
	p := mustSave(t, s, 2)
	damageFile(t, p, func(b []byte) []byte { return withVersion(b, 2) })
	_, _, err := s.Load()
	if !errors.Is(err, ErrVersion) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
		t.Fatalf("Load: %v, want ErrVersion naming the file", err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("file of a newer version was moved: %v", err)
	}
	infos, err := s.List()
	if err != nil || !errors.Is(infos[0].Err, ErrVersion) {
		t.Fatalf("List: %v, %v", infos, err)
	}
}

func TestOtherFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	// ZooKeeper's own files, a foreign .tmp, a set-aside file and a directory
	// with a snapshot name.
	for _, name := range []string{"snapshot.0", "snapshot.100000001", "log.100000001", "acceptedEpoch", "x.tmp", snapName(99) + ".broken"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not ours"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, snapName(77)), 0o750); err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, dir)
	s := mustNew(t, dir, Options{})
	if _, _, err := s.Load(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Load: %v, want ErrNoSnapshot", err)
	}
	if infos, err := s.List(); err != nil || len(infos) != 0 {
		t.Fatalf("List: %v, %v", infos, err)
	}
	if removed, err := s.Purge(3); err != nil || len(removed) != 0 {
		t.Fatalf("Purge: %v, %v", removed, err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, before) {
		t.Fatalf("directory changed from %v to %v", before, got)
	}
}

func TestNewCreatesDirAndRemovesLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "version-2")
	s := mustNew(t, dir, Options{})
	mustSave(t, s, 3)
	leftovers := []string{snapName(5) + ".tmp", snapName(6) + ".tmp"}
	for _, name := range leftovers {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half a snapsh"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	foreign := "snapshot.5.tmp"
	if err := os.WriteFile(filepath.Join(dir, foreign), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	lg, logs := newLogger()
	fsys := &recFS{}
	s = mustNew(t, dir, Options{Logger: lg, fs: fsys})
	if got, want := dirNames(t, dir), []string{snapName(3), foreign}; !slices.Equal(got, want) {
		t.Fatalf("directory holds %v, want %v", got, want)
	}
	for _, name := range leftovers {
		if !strings.Contains(logs.String(), filepath.Join(dir, name)) {
			t.Errorf("removal of %s not logged:\n%s", name, logs.String())
		}
	}
	if got := kinds(fsys.recorded()); got != "remove,remove,syncdir" {
		t.Errorf("calls %s, want the removals then a directory sync", got)
	}
	if meta, _, err := s.Load(); err != nil || meta.Index != 3 {
		t.Fatalf("Load: %d, %v", meta.Index, err)
	}
}

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	for idx := uint64(1); idx <= 8; idx++ {
		mustSave(t, s, idx*100)
	}
	removed, err := s.Purge(5)
	if err != nil {
		t.Fatal(err)
	}
	wantRemoved := []string{filepath.Join(dir, snapName(300)), filepath.Join(dir, snapName(200)), filepath.Join(dir, snapName(100))}
	if !slices.Equal(removed, wantRemoved) {
		t.Fatalf("removed %v, want %v", removed, wantRemoved)
	}
	infos, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var idxs []uint64
	for _, in := range infos {
		idxs = append(idxs, in.Index)
	}
	if want := []uint64{800, 700, 600, 500, 400}; !slices.Equal(idxs, want) {
		t.Fatalf("kept %v, want %v", idxs, want)
	}
	// Nothing more to do at the same count.
	if removed, err := s.Purge(5); err != nil || len(removed) != 0 {
		t.Fatalf("second Purge: %v, %v", removed, err)
	}
	// Below the minimum, MinRetain are kept.
	if removed, err := s.Purge(1); err != nil || len(removed) != 2 {
		t.Fatalf("Purge(1): %v, %v", removed, err)
	}
	if infos, _ := s.List(); len(infos) != MinRetain || infos[0].Index != 800 {
		t.Fatalf("after Purge(1): %v", infos)
	}
}

func TestPurgeCountsOnlySoundHeaders(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	for idx := uint64(1); idx <= 6; idx++ {
		mustSave(t, s, idx)
	}
	// The newest file is truncated (unsound header), the second newest has a
	// flipped payload byte (sound header, bad checksum: not detected here).
	damageFile(t, filepath.Join(dir, snapName(6)), damages[9].do)
	damageFile(t, filepath.Join(dir, snapName(5)), damages[4].do)
	brokenName := filepath.Join(dir, snapName(1)+".broken")
	if err := os.WriteFile(brokenName, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Purge(3)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: 6 (newest, unsound), 5, 4, 3; removed: 2, 1.
	want := []string{filepath.Join(dir, snapName(2)), filepath.Join(dir, snapName(1))}
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	if _, err := os.Stat(brokenName); err != nil {
		t.Fatalf("set-aside file touched: %v", err)
	}
}

func TestPurgeNeverDeletesTheNewest(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	for idx := uint64(1); idx <= 5; idx++ {
		damageFile(t, mustSave(t, s, idx), damages[7].do)
	}
	removed, err := s.Purge(3)
	if err != nil || len(removed) != 0 {
		t.Fatalf("Purge of unsound files: %v, %v", removed, err)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	for _, idx := range []uint64{12, 1, 40} {
		mustSave(t, s, idx)
	}
	damageFile(t, filepath.Join(dir, snapName(1)), damages[0].do)
	infos, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 {
		t.Fatalf("List: %v", infos)
	}
	for i, idx := range []uint64{40, 12, 1} {
		in := infos[i]
		st, err := os.Stat(in.Path)
		if err != nil {
			t.Fatal(err)
		}
		if in.Index != idx || in.Path != filepath.Join(dir, snapName(idx)) || in.Size != st.Size() {
			t.Errorf("info %d: %+v", i, in)
		}
		if idx != 1 && (in.Err != nil || in.Term != metaAt(idx).Term) {
			t.Errorf("info %d: %+v", i, in)
		}
	}
	if !errors.Is(infos[2].Err, ErrCorrupt) || infos[2].Term != 0 {
		t.Errorf("damaged file listed as %+v", infos[2])
	}
}

// TestSaveOrdering checks the durability protocol: the file is written and
// synced before it is renamed into place, and the directory is synced after.
func TestSaveOrdering(t *testing.T) {
	dir := t.TempDir()
	fsys := &recFS{}
	s := mustNew(t, dir, Options{fs: fsys})
	path, err := s.Save(metaAt(7), stream(1, 3<<20))
	if err != nil {
		t.Fatal(err)
	}
	ops := fsys.recorded()
	tmp := snapName(7) + ".tmp"
	if got, want := kinds(ops), "remove,create,write,writeat,sync,close,rename,syncdir"; got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	for _, o := range ops[1 : len(ops)-2] {
		if o.name != tmp {
			t.Fatalf("%v is not on the temporary file %s", o, tmp)
		}
	}
	if r := ops[len(ops)-2]; r.name != tmp || r.to != filepath.Base(path) {
		t.Fatalf("rename %v", r)
	}
	if d := ops[len(ops)-1]; d.name != filepath.Base(dir) {
		t.Fatalf("synced %s, not the store's directory", d.name)
	}

	fsys = &recFS{}
	s = mustNew(t, t.TempDir(), Options{fs: fsys, NoSync: true})
	if _, err := s.Save(metaAt(7), writeBytes([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(fsys.recorded()), "remove,create,write,writeat,close,rename"; got != want {
		t.Fatalf("NoSync: calls %s, want %s", got, want)
	}
}

// TestSaveFaults fails each step of Save in turn: the error is returned, no
// temporary file is left, and the previous snapshot is still the one loaded.
func TestSaveFaults(t *testing.T) {
	for _, step := range []string{"create", "write", "writeat", "sync", "close", "rename"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			fsys := &recFS{}
			s := mustNew(t, dir, Options{fs: fsys})
			mustSave(t, s, 1)
			fsys.failOn = step
			fsys.failN = 2 // the first such call was the first Save's (or its only write)
			if step == "write" {
				fsys.failN = 0
			}
			_, err := s.Save(metaAt(2), stream(2, 2<<20))
			if !errors.Is(err, errInjected) {
				t.Fatalf("Save: %v, want the injected fault", err)
			}
			if got := dirNames(t, dir); !slices.Equal(got, []string{snapName(1)}) {
				t.Fatalf("directory holds %v", got)
			}
			fsys.failOn = ""
			if meta, _, err := s.Load(); err != nil || meta.Index != 1 {
				t.Fatalf("Load: %d, %v", meta.Index, err)
			}
		})
	}
}

func TestSaveDirSyncFault(t *testing.T) {
	dir := t.TempDir()
	fsys := &recFS{failOn: "syncdir"}
	s := mustNew(t, dir, Options{fs: fsys})
	if _, err := s.Save(metaAt(2), writeBytes([]byte("x"))); !errors.Is(err, errInjected) {
		t.Fatalf("Save: %v", err)
	}
	// The rename happened; only its durability is unknown.
	if got := dirNames(t, dir); !slices.Equal(got, []string{snapName(2)}) {
		t.Fatalf("directory holds %v", got)
	}
}

func TestSaveCallbackError(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	boom := errors.New("tree walk failed")
	_, err := s.Save(metaAt(3), func(w io.Writer) error {
		if _, err := w.Write([]byte("partial")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Save: %v", err)
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %v", got)
	}
}

// TestSaveSwallowedWriteError: a callback that ignores a write error does not
// produce a snapshot.
func TestSaveSwallowedWriteError(t *testing.T) {
	dir := t.TempDir()
	fsys := &recFS{failOn: "write", failN: 2}
	s := mustNew(t, dir, Options{fs: fsys})
	_, err := s.Save(metaAt(3), func(w io.Writer) error {
		chunk := make([]byte, 600<<10)
		for range 8 {
			w.Write(chunk) //nolint:errcheck // the point of the test
		}
		return nil
	})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Save: %v", err)
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %v", got)
	}
}

// TestCrashLeavesTemporaryFile simulates a crash in the middle of a Save: the
// temporary file stays (its removal fails too); the next New removes it and
// Load uses the previous snapshot.
func TestCrashLeavesTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	mustSave(t, s, 1)
	crashing := &recFS{failOn: "sync"}
	s = mustNew(t, dir, Options{fs: crashing})
	// The removal of the temporary file after the failed sync fails as well.
	s.fs = &failRemoveFS{crashing}
	if _, err := s.Save(metaAt(2), writeBytes([]byte("lost"))); err == nil {
		t.Fatal("Save succeeded")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{snapName(1), snapName(2) + ".tmp"}) {
		t.Fatalf("directory holds %v", got)
	}
	s = mustNew(t, dir, Options{})
	if got := dirNames(t, dir); !slices.Equal(got, []string{snapName(1)}) {
		t.Fatalf("after New, directory holds %v", got)
	}
	if meta, _, err := s.Load(); err != nil || meta.Index != 1 {
		t.Fatalf("Load: %d, %v", meta.Index, err)
	}
}

type failRemoveFS struct{ fileSystem }

// Remove fails for files that exist.
func (failRemoveFS) Remove(name string) error {
	if _, err := os.Stat(name); err != nil {
		return err
	}
	return errInjected
}

func TestLoadSetAsideFault(t *testing.T) {
	dir := t.TempDir()
	fsys := &recFS{}
	s := mustNew(t, dir, Options{fs: fsys})
	mustSave(t, s, 1)
	damageFile(t, mustSave(t, s, 2), damages[5].do)
	fsys.failOn = "rename"
	if _, _, err := s.Load(); !errors.Is(err, errInjected) {
		t.Fatalf("Load: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{NoSync: true})
	mustSave(t, s, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				idx := uint64(2 + g*10 + i)
				if _, err := s.Save(metaAt(idx), writeBytes(payloadFor(idx))); err != nil {
					errs <- err
				}
				if _, err := s.Purge(3); err != nil {
					errs <- err
				}
				meta, payload, err := s.Load()
				if err != nil {
					errs <- err
				} else if !bytes.Equal(payload, payloadFor(meta.Index)) {
					errs <- errors.New("payload does not match its index")
				}
				if _, err := s.List(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	infos, err := s.List()
	if err != nil || len(infos) < MinRetain || infos[0].Index != 41 {
		t.Fatalf("List: %v, %v", infos, err)
	}
}
