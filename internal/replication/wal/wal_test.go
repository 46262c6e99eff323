package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func TestSegmentName(t *testing.T) {
	if got := segmentName(1, 0xa0); got != "0000000000000001-00000000000000a0.wal" {
		t.Fatalf("segmentName = %q", got)
	}
	for _, bad := range []string{
		"0000000000000001-00000000000000A0.wal", "0000000000000001-00000000000000a0.wal.tmp",
		"1-a0.wal", "000000000000000g-00000000000000a0.wal", "0000000000000001_00000000000000a0.wal",
	} {
		if _, _, ok := parseSegmentName(bad); ok {
			t.Errorf("parseSegmentName(%q) accepted", bad)
		}
	}
	seq, first, ok := parseSegmentName("00000000000000ff-ffffffffffffffff.wal")
	if !ok || seq != 0xff || first != 1<<64-1 {
		t.Fatalf("parse = %d %d %v", seq, first, ok)
	}
}

func TestCreateExistsOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log", "version-2")
	if Exists(dir) {
		t.Fatal("Exists before Create")
	}
	if _, err := Open(dir, testOpts()); err == nil {
		t.Fatal("Open of a missing directory succeeded")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testOpts()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of an empty directory: %v, want ErrNotFound", err)
	}
	w := mustCreate(t, dir, []byte("cluster-1"), testOpts())
	mustClose(t, w)
	if !Exists(dir) {
		t.Fatal("Exists after Create is false")
	}
	if got := segNames(t, dir); !slices.Equal(got, []string{"0000000000000000-0000000000000001.wal"}) {
		t.Fatalf("segments %v", got)
	}
	if _, err := Create(dir, nil, testOpts()); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	w, meta, hs, es := openRead(t, dir, testOpts(), Snapshot{})
	defer w.Close()
	if string(meta) != "cluster-1" || !isEmptyState(hs) || len(es) != 0 {
		t.Fatalf("empty log read back meta %q hs %+v %d entries", meta, hs, len(es))
	}
}

func isEmptyState(hs raftpb.HardState) bool { return hs == raftpb.HardState{} }

func TestRoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	w := mustCreate(t, dir, []byte("meta"), opts)
	var want []raftpb.Entry
	var hs raftpb.HardState
	for i := uint64(0); i < 50; i++ {
		es := mkEnts(i*4+1, i*4+4, 1+i/10, int(i*13%300))
		hs = raftpb.HardState{Term: 1 + i/10, Vote: 2, Commit: i * 4}
		mustSave(t, w, hs, es)
		want = append(want, es...)
	}
	mustClose(t, w)
	if n := len(segNames(t, dir)); n < 5 {
		t.Fatalf("only %d segments with SegmentSize %d", n, opts.SegmentSize)
	}

	w, meta, gotHS, got := openRead(t, dir, opts, Snapshot{})
	if string(meta) != "meta" || gotHS != hs {
		t.Fatalf("meta %q hs %+v, want meta %+v", meta, gotHS, hs)
	}
	sameEntries(t, got, want)

	// Append after reopening, including across more segment cuts.
	for i := uint64(0); i < 20; i++ {
		es := mkEnts(201+i*3, 203+i*3, 6, 200)
		mustSave(t, w, raftpb.HardState{}, es)
		want = append(want, es...)
	}
	hs.Commit = 230
	mustSave(t, w, hs, nil)
	mustClose(t, w)

	w, _, gotHS, got = openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	if gotHS != hs {
		t.Fatalf("hs %+v, want %+v", gotHS, hs)
	}
	sameEntries(t, got, want)
}

func TestSegmentNamesFollowIndexes(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, nil, testOpts())
	for i := uint64(1); i <= 100; i++ {
		mustSave(t, w, raftpb.HardState{}, mkEnts(i, i, 1, 300))
	}
	mustClose(t, w)
	names := segNames(t, dir)
	var last uint64
	for i, name := range names {
		seq, first, _ := parseSegmentName(name)
		if seq != uint64(i) {
			t.Fatalf("segment %d has sequence %d", i, seq)
		}
		if i > 0 && first <= last {
			t.Fatalf("segment %s: first index %d not after %d", name, first, last)
		}
		last = first
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if i < len(names)-1 && (len(b) < 4096 || len(b) > 4096+recordSize(entryFixed+300)) {
			t.Fatalf("finished segment %s has %d bytes, want just over the segment size", name, len(b))
		}
		if i == 0 {
			continue
		}
		// The first entry of every later segment has the index in its name.
		s, err := scanSegment(name, b, seq, i == len(names)-1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.recs {
			if r.typ == recEntry {
				if r.entryIndex() != first {
					t.Fatalf("%s starts with entry %d", name, r.entryIndex())
				}
				break
			}
		}
	}
}

func TestOverwriteConflictingEntries(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	w := mustCreate(t, dir, nil, opts)
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: 3}, mkEnts(1, 10, 1, 100))
	// A new leader in term 2 replaces 6..10 with 6..8.
	mustSave(t, w, raftpb.HardState{Term: 2, Vote: 3, Commit: 5}, mkEnts(6, 8, 2, 100))
	// Enough entries to cut segments, then a conflict that reaches back into
	// an earlier segment.
	for i := uint64(9); i <= 80; i += 4 {
		mustSave(t, w, raftpb.HardState{}, mkEnts(i, i+3, 2, 150))
	}
	segsBefore := len(segNames(t, dir))
	mustSave(t, w, raftpb.HardState{Term: 3, Vote: 2, Commit: 20}, mkEnts(30, 31, 3, 50))
	mustClose(t, w)
	if segsBefore < 3 {
		t.Fatalf("only %d segments", segsBefore)
	}

	want := slices.Concat(mkEnts(1, 5, 1, 100), mkEnts(6, 8, 2, 100))
	for i := uint64(9); i <= 29; i += 4 {
		want = append(want, mkEnts(i, min(i+3, 29), 2, 150)...)
	}
	want = append(want, mkEnts(30, 31, 3, 50)...)

	w, _, hs, got := openRead(t, dir, opts, Snapshot{})
	if hs != (raftpb.HardState{Term: 3, Vote: 2, Commit: 20}) {
		t.Fatalf("hs %+v", hs)
	}
	sameEntries(t, got, want)
	// Appending continues after the overwrite, and the next read agrees.
	mustSave(t, w, raftpb.HardState{}, mkEnts(32, 33, 3, 10))
	mustClose(t, w)
	w, _, _, got = openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	sameEntries(t, got, append(want, mkEnts(32, 33, 3, 10)...))
}

func TestReadAllAfterSnapshot(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	w := mustCreate(t, dir, nil, opts)
	mustSave(t, w, raftpb.HardState{Term: 1, Commit: 10}, mkEnts(1, 10, 1, 64))
	if err := w.SaveSnapshot(Snapshot{Index: 5, Term: 1}); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, raftpb.HardState{Term: 2, Commit: 12}, mkEnts(11, 12, 2, 64))
	mustClose(t, w)

	w, _, hs, got := openRead(t, dir, opts, Snapshot{Index: 5, Term: 1})
	w.Close()
	sameEntries(t, got, slices.Concat(mkEnts(6, 10, 1, 64), mkEnts(11, 12, 2, 64)))
	if hs.Commit != 12 {
		t.Fatalf("hs %+v", hs)
	}
	if err := readErr(t, dir, opts, Snapshot{Index: 4, Term: 1}); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("unknown snapshot: %v, want ErrSnapshotNotFound", err)
	}
	if err := readErr(t, dir, opts, Snapshot{Index: 5, Term: 2}); !errors.Is(err, ErrSnapshotMismatch) {
		t.Fatalf("wrong term: %v, want ErrSnapshotMismatch", err)
	}

	// A snapshot received from a leader jumps past the local log.
	w, _, _, _ = openRead(t, dir, opts, Snapshot{Index: 5, Term: 1})
	if err := w.SaveSnapshot(Snapshot{Index: 100, Term: 4}); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, raftpb.HardState{Term: 4, Commit: 101}, mkEnts(101, 102, 4, 8))
	mustClose(t, w)
	w, _, _, got = openRead(t, dir, opts, Snapshot{Index: 100, Term: 4})
	w.Close()
	sameEntries(t, got, mkEnts(101, 102, 4, 8))
	// Read from the older snapshot, entries 13..100 are missing.
	if err := readErr(t, dir, opts, Snapshot{Index: 5, Term: 1}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read across a gap: %v, want ErrCorrupt", err)
	}
}

func TestReleaseTo(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	w := mustCreate(t, dir, []byte("m"), opts)
	hs := raftpb.HardState{Term: 1, Vote: 1}
	for i := uint64(1); i <= 100; i++ {
		hs.Commit = i
		mustSave(t, w, hs, mkEnts(i, i, 1, 200))
	}
	before := segNames(t, dir)
	// Nothing is released beyond the last snapshot marker (none yet).
	if err := w.ReleaseTo(100); err != nil {
		t.Fatal(err)
	}
	if got := segNames(t, dir); !slices.Equal(got, before) {
		t.Fatalf("ReleaseTo without a snapshot deleted segments: %v -> %v", before, got)
	}
	if err := w.SaveSnapshot(Snapshot{Index: 60, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.ReleaseTo(60); err != nil {
		t.Fatal(err)
	}
	after := segNames(t, dir)
	if len(after) >= len(before) {
		t.Fatalf("ReleaseTo(60) kept %d of %d segments", len(after), len(before))
	}
	// Every deleted segment held only entries <= 60; the first kept one holds a later entry.
	_, first, _ := parseSegmentName(after[0])
	if first > 61 {
		t.Fatalf("first kept segment %s starts after 61: entries were lost", after[0])
	}
	if len(after) > 1 {
		_, second, _ := parseSegmentName(after[1])
		if second <= 61 {
			t.Fatalf("segment %s kept although all its entries are <= 60", after[0])
		}
	}
	mustSave(t, w, hs, mkEnts(101, 101, 1, 10))
	mustClose(t, w)

	w, meta, gotHS, got := openRead(t, dir, opts, Snapshot{Index: 60, Term: 1})
	if string(meta) != "m" || gotHS != hs {
		t.Fatalf("after release: meta %q hs %+v", meta, gotHS)
	}
	var want []raftpb.Entry
	for i := uint64(61); i <= 100; i++ {
		want = append(want, mkEnts(i, i, 1, 200)...)
	}
	sameEntries(t, got, append(want, mkEnts(101, 101, 1, 10)...))

	// Releasing everything keeps the tail segment, and its header keeps the
	// hard state and the snapshot marker.
	if err := w.SaveSnapshot(Snapshot{Index: 101, Term: 1}); err != nil {
		t.Fatal(err)
	}
	for i := uint64(102); i <= 140; i++ {
		mustSave(t, w, hs, mkEnts(i, i, 1, 200))
	}
	if err := w.SaveSnapshot(Snapshot{Index: 140, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.ReleaseTo(1 << 60); err != nil {
		t.Fatal(err)
	}
	if n := len(segNames(t, dir)); n != 1 {
		t.Fatalf("%d segments after releasing everything", n)
	}
	mustClose(t, w)
	w, _, gotHS, got = openRead(t, dir, opts, Snapshot{Index: 140, Term: 1})
	defer w.Close()
	if gotHS != hs || len(got) != 0 {
		t.Fatalf("hs %+v, %d entries", gotHS, len(got))
	}
	if err := readErr(t, dir, opts, Snapshot{}); err == nil {
		t.Fatal("reading released entries from the start succeeded")
	}
}

func TestSyncPerBatch(t *testing.T) {
	fsys := &faultFS{}
	opts := testOpts()
	opts.SegmentSize = 1 << 20
	opts.PreallocSize = 1 << 20
	opts.fs = fsys
	w := mustCreate(t, t.TempDir(), nil, opts)
	defer w.Close()
	check := func(what string, write, sync int) {
		t.Helper()
		if w, s := fsys.count("write"), fsys.count("sync"); w != write || s != sync {
			t.Fatalf("%s: %d writes, %d syncs; want %d, %d (ops %v)", what, w, s, write, sync, fsys.ops)
		}
		fsys.reset()
	}
	fsys.reset()
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: 0}, mkEnts(1, 256, 1, 100))
	if !slices.Equal(fsys.ops, []string{"write", "sync"}) {
		t.Fatalf("batch ops %v, want one write then one sync", fsys.ops)
	}
	check("256 entries", 1, 1)
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: 100}, nil)
	check("commit-only hard state", 1, 0)
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: 100}, nil)
	check("unchanged hard state", 0, 0)
	mustSave(t, w, raftpb.HardState{}, nil)
	check("empty", 0, 0)
	mustSave(t, w, raftpb.HardState{Term: 2, Vote: 3, Commit: 100}, nil)
	check("vote", 1, 1)
	mustSave(t, w, raftpb.HardState{}, mkEnts(257, 257, 2, 1))
	check("one entry", 1, 1)
	if err := w.SaveSnapshot(Snapshot{Index: 200, Term: 1}); err != nil {
		t.Fatal(err)
	}
	check("snapshot", 1, 1)

	w.opts.NoSync = true
	mustSave(t, w, raftpb.HardState{Term: 3}, mkEnts(258, 300, 3, 100))
	check("NoSync", 1, 0)
}

func TestMisuse(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, nil, testOpts())
	if _, _, _, err := w.ReadAll(Snapshot{}); !errors.Is(err, ErrNotRead) {
		t.Fatalf("ReadAll after Create: %v", err)
	}
	mustSave(t, w, raftpb.HardState{}, mkEnts(1, 3, 1, 10))
	mustClose(t, w)
	if err := w.Save(raftpb.HardState{}, mkEnts(4, 4, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save after Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}

	w, err := Open(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Save(raftpb.HardState{}, mkEnts(4, 4, 1, 1)); !errors.Is(err, ErrNotRead) {
		t.Fatalf("Save before ReadAll: %v", err)
	}
	if err := w.SaveSnapshot(Snapshot{Index: 1, Term: 1}); !errors.Is(err, ErrNotRead) {
		t.Fatalf("SaveSnapshot before ReadAll: %v", err)
	}
	if _, _, _, err := w.ReadAll(Snapshot{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := w.ReadAll(Snapshot{}); !errors.Is(err, ErrNotRead) {
		t.Fatalf("second ReadAll: %v", err)
	}
}

func TestEmptyDataAndLargeEntries(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	w := mustCreate(t, dir, bytes.Repeat([]byte("x"), 5000), opts)
	want := []raftpb.Entry{
		{Index: 1, Term: 1},
		{Index: 2, Term: 1, Type: raftpb.EntryConfChange, Data: []byte{1}},
		{Index: 3, Term: 1, Data: bytes.Repeat([]byte{0xab}, 3<<20)},
		{Index: 4, Term: 1, Data: []byte{}},
	}
	mustSave(t, w, raftpb.HardState{Term: 1}, want)
	mustClose(t, w)
	w, meta, _, got := openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	if len(meta) != 5000 {
		t.Fatalf("meta of %d bytes", len(meta))
	}
	sameEntries(t, got, want)
}

func TestLeftoverTempFileRemoved(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, nil, testOpts())
	mustSave(t, w, raftpb.HardState{}, mkEnts(1, 2, 1, 10))
	mustClose(t, w)
	tmp := filepath.Join(dir, segmentName(1, 3)+".tmp")
	if err := os.WriteFile(tmp, []byte("half a segment"), 0o640); err != nil {
		t.Fatal(err)
	}
	w, _, _, got := openRead(t, dir, testOpts(), Snapshot{})
	defer w.Close()
	sameEntries(t, got, mkEnts(1, 2, 1, 10))
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary file not removed: %v", err)
	}
}

func TestMissingSegment(t *testing.T) {
	dir := t.TempDir()
	w := mustCreate(t, dir, nil, testOpts())
	for i := uint64(1); i <= 60; i++ {
		mustSave(t, w, raftpb.HardState{}, mkEnts(i, i, 1, 300))
	}
	mustClose(t, w)
	names := segNames(t, dir)
	if len(names) < 3 {
		t.Fatalf("%d segments", len(names))
	}
	if err := os.Remove(filepath.Join(dir, names[1])); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, testOpts())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open with a missing segment: %v", err)
	}
}
