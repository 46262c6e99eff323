package wal

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

var errInjected = errors.New("injected I/O error")

// faultyLog creates a log on a faultFS holding entries 1..10.
func faultyLog(t *testing.T, opts Options) (*WAL, *faultFS, string) {
	t.Helper()
	fsys := &faultFS{}
	opts.fs = fsys
	dir := t.TempDir()
	w := mustCreate(t, dir, nil, opts)
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: 10}, mkEnts(1, 10, 1, 100))
	return w, fsys, dir
}

// checkSticky asserts that every write now fails with an error matching target,
// even with the fault gone.
func checkSticky(t *testing.T, w *WAL, fsys *faultFS, target error) {
	t.Helper()
	fsys.failWrite, fsys.failSync, fsys.failAlloc, fsys.failCreate = nil, nil, nil, nil
	fsys.reset()
	if err := w.Save(raftpb.HardState{}, mkEnts(11, 11, 1, 1)); !errors.Is(err, target) {
		t.Fatalf("Save after a failure: %v, want %v", err, target)
	}
	if err := w.Save(raftpb.HardState{Term: 5}, nil); !errors.Is(err, target) {
		t.Fatalf("Save of a hard state after a failure: %v, want %v", err, target)
	}
	if err := w.SaveSnapshot(Snapshot{Index: 5, Term: 1}); !errors.Is(err, target) {
		t.Fatalf("SaveSnapshot after a failure: %v, want %v", err, target)
	}
	if err := w.ReleaseTo(5); !errors.Is(err, target) {
		t.Fatalf("ReleaseTo after a failure: %v, want %v", err, target)
	}
	if n := fsys.count("write") + fsys.count("sync"); n != 0 {
		t.Fatalf("%d writes or syncs after a failure", n)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after a failure: %v", err)
	}
}

func TestFailedSyncIsSticky(t *testing.T) {
	w, fsys, dir := faultyLog(t, testOpts())
	fsys.failSync = errInjected
	err := w.Save(raftpb.HardState{}, mkEnts(11, 12, 1, 100))
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "sync") {
		t.Fatalf("Save with a failing fsync: %v", err)
	}
	checkSticky(t, w, fsys, errInjected)

	// The entries acknowledged before the failure are there.
	w, _, hs, got := openRead(t, dir, testOpts(), Snapshot{})
	defer w.Close()
	if len(got) < 10 || hs.Commit != 10 {
		t.Fatalf("after reopening: %d entries, hard state %+v", len(got), hs)
	}
	sameEntries(t, got[:10], mkEnts(1, 10, 1, 100))
}

func TestFailedWriteENOSPC(t *testing.T) {
	opts := testOpts()
	opts.PreallocSize = -1 // blocks are allocated by the write itself
	w, fsys, dir := faultyLog(t, opts)
	fsys.failWrite = syscall.ENOSPC
	fsys.reset()
	err := w.Save(raftpb.HardState{Term: 1, Vote: 1, Commit: 12}, mkEnts(11, 12, 1, 100))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Save on a full disk: %v, want ENOSPC", err)
	}
	if fsys.count("sync") != 0 {
		t.Fatalf("a failed write was synced: %v", fsys.ops)
	}
	checkSticky(t, w, fsys, syscall.ENOSPC)

	// Half of the batch reached the file: it is a torn tail. That half holds
	// the whole record of entry 11 (never acknowledged, but a valid prefix of
	// the log), not the hard state that follows entry 12.
	var logs logBuffer
	opts.Logger = loggerTo(&logs)
	w, _, hs, got := openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	sameEntries(t, got, mkEnts(1, 11, 1, 100))
	if hs.Commit != 10 || !strings.Contains(logs.String(), "dropping torn") {
		t.Fatalf("hard state %+v, log %q", hs, logs.String())
	}
	mustSave(t, w, raftpb.HardState{Term: 1, Vote: 1, Commit: 12}, mkEnts(12, 12, 1, 3))
}

func TestFailedPreallocationENOSPC(t *testing.T) {
	opts := testOpts()
	opts.PreallocSize = 4096
	opts.SegmentSize = 1 << 20
	w, fsys, dir := faultyLog(t, opts)
	fsys.failAlloc = syscall.ENOSPC
	fsys.reset()
	err := w.Save(raftpb.HardState{}, mkEnts(11, 50, 1, 100)) // needs more than 4 KiB
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "preallocate") {
		t.Fatalf("Save with failing preallocation: %v, want ENOSPC", err)
	}
	if fsys.count("write") != 0 {
		t.Fatalf("wrote after a failed preallocation: %v", fsys.ops)
	}
	checkSticky(t, w, fsys, syscall.ENOSPC)
	w, _, _, got := openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	sameEntries(t, got, mkEnts(1, 10, 1, 100))
}

func TestFailedCutIsSticky(t *testing.T) {
	opts := testOpts()
	w, fsys, dir := faultyLog(t, opts)
	fsys.failCreate = syscall.ENOSPC
	// This batch fills the segment; it is durable before the cut fails.
	err := w.Save(raftpb.HardState{Term: 1, Vote: 1, Commit: 30}, mkEnts(11, 30, 1, 200))
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "create segment") {
		t.Fatalf("Save whose cut fails: %v", err)
	}
	checkSticky(t, w, fsys, syscall.ENOSPC)
	w, _, hs, got := openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	sameEntries(t, got, append(mkEnts(1, 10, 1, 100), mkEnts(11, 30, 1, 200)...))
	if hs.Commit != 30 || len(segNames(t, dir)) != 1 {
		t.Fatalf("hard state %+v, segments %v", hs, segNames(t, dir))
	}
}

func TestFailedRepairIsSticky(t *testing.T) {
	d := writeLog(t, testOpts(), [][]int{{10}, {20}})
	tail := append([]byte(nil), d.orig...)
	tail[d.offsets[1]+3] ^= 1
	dir := d.variant(t, tail)
	fsys := &faultFS{failAlloc: syscall.EIO}
	opts := testOpts()
	opts.fs = fsys
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, _, _, err := w.ReadAll(Snapshot{}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("ReadAll with a failing repair: %v", err)
	}
	if err := w.Save(raftpb.HardState{}, mkEnts(2, 2, 1, 1)); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Save after a failed repair: %v", err)
	}
}
