package wal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Defaults for Options.
const (
	DefaultSegmentSize  = 64 << 20 // bytes after which a segment is cut
	DefaultPreallocSize = 64 << 20 // ZooKeeper's default preAllocSize (65536 KiB)
)

// keepBuf is the largest encoding buffer kept between batches.
const keepBuf = 4 << 20

var (
	// ErrExists is returned by Create when the directory already holds a log.
	ErrExists = errors.New("wal: log already exists")
	// ErrNotFound is returned by Open when the directory holds no log.
	ErrNotFound = errors.New("wal: no log found")
	// ErrCorrupt reports damage that recovery must not repair: a bad record
	// followed by records of a later batch, damage in a segment other than the
	// last, a damaged segment header, or a missing segment or entry.
	ErrCorrupt = errors.New("wal: corrupt log")
	// ErrSnapshotNotFound is returned by ReadAll when no marker for the given
	// snapshot is in the log.
	ErrSnapshotNotFound = errors.New("wal: snapshot not found")
	// ErrSnapshotMismatch is returned by ReadAll when the log's marker at the
	// snapshot's index has another term.
	ErrSnapshotMismatch = errors.New("wal: snapshot term mismatch")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrNotRead is returned by writes to a log that was opened but not yet read
	// with ReadAll, and by a second ReadAll.
	ErrNotRead = errors.New("wal: ReadAll must be called once, right after Open")
	// ErrTooLarge is returned by Save for an entry or batch the format cannot hold.
	ErrTooLarge = errors.New("wal: record too large")
)

// Snapshot identifies a state-machine snapshot by the index and term of the last
// entry it contains.
type Snapshot struct {
	Index, Term uint64
}

// Options configures a WAL. The zero value gives the defaults.
type Options struct {
	// SegmentSize is the size after which the current segment is closed and a
	// new one started (at the end of the Save that crossed it). Default 64 MiB.
	SegmentSize int64
	// PreallocSize is the unit in which segment space is reserved ahead of the
	// writes (ZooKeeper's preAllocSize). Default 64 MiB; negative disables
	// preallocation.
	PreallocSize int64
	// NoSync skips the fsync in Save and SaveSnapshot (ZooKeeper's
	// forceSync=no): a crash of the machine may then lose acknowledged data.
	NoSync bool
	// Logger receives recovery warnings. Default slog.Default().
	Logger *slog.Logger

	fs fileSystem // nil: the operating system's
}

func (o Options) withDefaults() Options {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.PreallocSize == 0 {
		o.PreallocSize = DefaultPreallocSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.fs == nil {
		o.fs = osFS{}
	}
	return o
}

// segment describes one segment file of the log.
type segment struct {
	seq        uint64
	prevIndex  uint64 // index of the last entry written before the segment began
	hasEntries bool
	maxIndex   uint64 // largest entry index in the segment
}

func (s segment) name() string { return segmentName(s.seq, s.prevIndex+1) }

// WAL is an append-only, segmented log of raft entries and state. Its methods
// may be called from several goroutines; they are serialized.
type WAL struct {
	mu   sync.Mutex
	dir  string
	opts Options
	fs   fileSystem

	segs      []segment // oldest first; the last one is the tail being appended to
	f         file      // the tail
	off       int64     // end of the records in the tail
	allocated int64     // bytes reserved for the tail

	meta      []byte
	state     raftpb.HardState // last HardState written
	snap      Snapshot         // last snapshot marker written
	lastIndex uint64           // index of the last entry written
	enc       encoder

	unread bool  // opened and not yet read by ReadAll
	err    error // sticky: the first failed write, sync or recovery
	closed bool
}

// segmentName is the file name of segment seq whose first entry is expected to
// have index first.
func segmentName(seq, first uint64) string {
	return fmt.Sprintf("%016x-%016x.wal", seq, first)
}

// parseSegmentName reverses segmentName; it accepts only its exact output.
func parseSegmentName(name string) (seq, first uint64, ok bool) {
	if len(name) != 37 || !strings.HasSuffix(name, ".wal") || name[16] != '-' {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(name[:16], 16, 64)
	first, err2 := strconv.ParseUint(name[17:33], 16, 64)
	if err1 != nil || err2 != nil || segmentName(seq, first) != name {
		return 0, 0, false
	}
	return seq, first, true
}

// listSegments returns the log's segments in dir sorted by sequence. With
// clean, it removes the temporary files of interrupted segment creations.
func listSegments(dir string, fsys fileSystem, clean bool) ([]segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, de := range des {
		name := de.Name()
		if seq, first, ok := parseSegmentName(name); ok && de.Type().IsRegular() {
			segs = append(segs, segment{seq: seq, prevIndex: first - 1})
			continue
		}
		if _, _, ok := parseSegmentName(strings.TrimSuffix(name, ".tmp")); ok && clean && strings.HasSuffix(name, ".tmp") {
			if err := removeIfExists(fsys, filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(segs, func(a, b segment) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return segs, nil
}

// Exists reports whether dir holds a log.
func Exists(dir string) bool {
	segs, err := listSegments(dir, nil, false)
	return err == nil && len(segs) > 0
}

// Create creates an empty log in dir (created if missing) whose every segment
// records meta. It fails with ErrExists if dir already holds a log.
func Create(dir string, meta []byte, opts Options) (*WAL, error) {
	opts = opts.withDefaults()
	if len(meta) > maxPayload {
		return nil, ErrTooLarge
	}
	if Exists(dir) {
		return nil, fmt.Errorf("%w: %s", ErrExists, dir)
	}
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: create: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncParent(opts.fs, dir); err != nil {
			return nil, fmt.Errorf("wal: create: %w", err)
		}
	}
	if _, err := listSegments(dir, opts.fs, true); err != nil {
		return nil, fmt.Errorf("wal: create: %w", err)
	}
	w := &WAL{dir: dir, opts: opts, fs: opts.fs, meta: slices.Clone(meta)}
	seg := segment{seq: 0, prevIndex: 0}
	f, off, seed, err := w.createSegment(seg)
	if err != nil {
		return nil, err
	}
	w.segs = []segment{seg}
	w.f, w.off, w.allocated = f, off, max(off, w.opts.PreallocSize)
	w.enc.seed = seed
	return w, nil
}

// Open opens the log in dir for appending. ReadAll must be called next.
func Open(dir string, opts Options) (*WAL, error) {
	opts = opts.withDefaults()
	segs, err := listSegments(dir, opts.fs, true)
	if err != nil {
		return nil, fmt.Errorf("wal: open: %w", err)
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dir)
	}
	for i := 1; i < len(segs); i++ {
		if segs[i].seq != segs[i-1].seq+1 {
			return nil, fmt.Errorf("%w: %s: segment %d is missing between %s and %s",
				ErrCorrupt, dir, segs[i-1].seq+1, segs[i-1].name(), segs[i].name())
		}
	}
	tail := segs[len(segs)-1]
	f, err := opts.fs.OpenRW(filepath.Join(dir, tail.name()))
	if err != nil {
		return nil, fmt.Errorf("wal: open: %w", err)
	}
	return &WAL{dir: dir, opts: opts, fs: opts.fs, segs: segs, f: f, unread: true}, nil
}

// createSegment writes a new segment holding only its header batch (segment
// header with a new random CRC seed, metadata, current HardState, latest
// snapshot marker) under a temporary name, makes it durable, and renames it
// into place. It returns the open file, the end of the header batch and the
// segment's CRC seed.
func (w *WAL) createSegment(seg segment) (file, int64, uint32, error) {
	path := filepath.Join(w.dir, seg.name())
	tmp := path + ".tmp"
	fail := func(err error) (file, int64, uint32, error) {
		return nil, 0, 0, fmt.Errorf("wal: create segment %s: %w", seg.name(), err)
	}
	if err := removeIfExists(w.fs, tmp); err != nil {
		return fail(err)
	}
	f, err := w.fs.Create(tmp)
	if err != nil {
		return fail(err)
	}
	e := encoder{buf: w.enc.buf[:0]}
	e.segment(seg.seq, seg.prevIndex, rand.Uint32())
	e.meta(w.meta)
	e.state(w.state)
	e.snapshot(w.snap)
	err = nil
	if w.opts.PreallocSize > 0 {
		err = f.Allocate(0, max(int64(len(e.buf)), w.opts.PreallocSize))
	}
	if err == nil {
		err = writeFull(f, e.buf, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = w.fs.Rename(tmp, path)
	}
	if err == nil {
		err = w.fs.SyncDir(w.dir)
	}
	if err != nil {
		f.Close()
		return fail(err)
	}
	return f, int64(len(e.buf)), e.seed, nil
}

func writeFull(f file, b []byte, off int64) error {
	n, err := f.WriteAt(b, off)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// writable reports why the log cannot be written to, if it cannot.
func (w *WAL) writable() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case w.unread:
		return ErrNotRead
	}
	return nil
}

// fail makes err sticky: after a failed write or sync the state of the file is
// unknown, so nothing more may be written.
func (w *WAL) fail(op string, err error) error {
	w.err = fmt.Errorf("wal: %s %s: %w", op, w.segs[len(w.segs)-1].name(), err)
	return w.err
}

// Save appends ents and then hs (if it is not empty and differs from the last
// one saved) as one batch: one write, then one fsync when raft.MustSync says the
// batch needs it and Options.NoSync is off. It returns once the batch is
// durable. Entries whose index is at or below that of entries already saved
// replace them and everything after them when the log is read back.
func (w *WAL) Save(hs raftpb.HardState, ents []raftpb.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writable(); err != nil {
		return err
	}
	writeState := !raft.IsEmptyHardState(hs) && hs != w.state
	if !writeState && len(ents) == 0 {
		return nil
	}
	n := 0
	for i := range ents {
		if len(ents[i].Data) > maxPayload-entryFixed {
			return fmt.Errorf("%w: entry %d has %d bytes", ErrTooLarge, ents[i].Index, len(ents[i].Data))
		}
		n += recordSize(entryFixed + len(ents[i].Data))
	}
	if writeState {
		n += recordSize(stateSize)
	}
	w.enc.buf = slices.Grow(w.enc.buf[:0], n)
	for i := range ents {
		w.enc.entry(&ents[i])
	}
	after := w.state
	if writeState {
		w.enc.state(hs)
		after = hs
	}
	if err := w.write(!w.opts.NoSync && raft.MustSync(after, w.state, len(ents))); err != nil {
		return err
	}
	w.state = after
	if len(ents) > 0 {
		tail := &w.segs[len(w.segs)-1]
		for i := range ents {
			if !tail.hasEntries || ents[i].Index > tail.maxIndex {
				tail.maxIndex = ents[i].Index
			}
			tail.hasEntries = true
		}
		w.lastIndex = ents[len(ents)-1].Index
	}
	return w.cutIfFull()
}

// SaveSnapshot records, durably, that a snapshot at s exists, so that ReadAll(s)
// finds it after a restart. Call it after the snapshot itself is durable.
func (w *WAL) SaveSnapshot(s Snapshot) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writable(); err != nil {
		return err
	}
	w.enc.buf = w.enc.buf[:0]
	w.enc.snapshot(s)
	if err := w.write(!w.opts.NoSync); err != nil {
		return err
	}
	w.snap = s
	return w.cutIfFull()
}

// write appends the encoded batch to the tail and syncs it if asked.
func (w *WAL) write(sync bool) error {
	b := w.enc.buf
	if len(b) > maxBatchLen {
		return fmt.Errorf("%w: batch of %d bytes", ErrTooLarge, len(b))
	}
	end := w.off + int64(len(b))
	if p := w.opts.PreallocSize; p > 0 && end > w.allocated {
		grow := (end+p-1)/p*p - w.allocated
		if err := w.f.Allocate(w.allocated, grow); err != nil {
			return w.fail("preallocate", err)
		}
		w.allocated += grow
	}
	if err := writeFull(w.f, b, w.off); err != nil {
		return w.fail("write", err)
	}
	if sync {
		if err := w.f.Sync(); err != nil {
			return w.fail("sync", err)
		}
	}
	w.off = end
	if cap(b) > keepBuf {
		w.enc.buf = nil
	}
	return nil
}

// cutIfFull starts a new segment once the tail has reached SegmentSize: the
// tail's unused preallocation is cut off and the tail synced, then the new
// segment is created. A failure is sticky.
func (w *WAL) cutIfFull() error {
	if w.off < w.opts.SegmentSize {
		return nil
	}
	if err := w.f.Truncate(w.off); err != nil {
		return w.fail("truncate", err)
	}
	if err := w.f.Sync(); err != nil {
		return w.fail("sync", err)
	}
	seg := segment{seq: w.segs[len(w.segs)-1].seq + 1, prevIndex: w.lastIndex}
	f, off, seed, err := w.createSegment(seg)
	if err != nil {
		w.err = err
		return err
	}
	if err := w.f.Close(); err != nil {
		w.opts.Logger.Warn("wal: closing finished segment", "file", w.segs[len(w.segs)-1].name(), "err", err)
	}
	w.segs = append(w.segs, seg)
	w.f, w.off, w.allocated = f, off, max(off, w.opts.PreallocSize)
	w.enc.seed = seed
	return nil
}

// ReleaseTo deletes the oldest segments all of whose entries have an index at
// or below index, never the tail segment and never entries after the last
// snapshot recorded with SaveSnapshot (index is lowered to it). Call it after
// SaveSnapshot to compact the log behind snapshots.
func (w *WAL) ReleaseTo(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.writable(); err != nil {
		return err
	}
	index = min(index, w.snap.Index)
	n := 0
	for n < len(w.segs)-1 && (!w.segs[n].hasEntries || w.segs[n].maxIndex <= index) {
		n++
	}
	if n == 0 {
		return nil
	}
	var err error
	done := 0
	for ; done < n; done++ {
		if err = removeIfExists(w.fs, filepath.Join(w.dir, w.segs[done].name())); err != nil {
			err = fmt.Errorf("wal: release %s: %w", w.segs[done].name(), err)
			break
		}
	}
	w.segs = w.segs[done:]
	if serr := w.fs.SyncDir(w.dir); err == nil && serr != nil {
		err = fmt.Errorf("wal: release: %w", serr)
	}
	return err
}

// Close syncs and closes the log. Every later call returns ErrClosed.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	var err error
	if w.err == nil && !w.unread {
		if err = w.f.Sync(); err != nil {
			err = fmt.Errorf("wal: close: %w", err)
		}
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wal: close: %w", cerr)
	}
	return err
}
