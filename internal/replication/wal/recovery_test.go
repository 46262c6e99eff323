package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// damagedLog is a log whose tail segment can be rewritten with damage.
type damagedLog struct {
	dir      string
	tail     string // file name of the tail segment
	orig     []byte // the tail segment as written
	batches  [][]raftpb.Entry
	states   []raftpb.HardState
	offsets  []int64 // offset of each batch in the tail segment (-1: earlier segment)
	lastEnd  int64
	lastRecs []int64 // ends of the records of the last batch
}

// writeLog saves one batch per element of sizes (entries of those data sizes,
// then a hard state), each batch with its own Save, so that every batch is
// synced before the next is written.
func writeLog(t *testing.T, opts Options, sizes [][]int) *damagedLog {
	t.Helper()
	d := &damagedLog{dir: t.TempDir()}
	w := mustCreate(t, d.dir, []byte("meta"), opts)
	idx := uint64(0)
	for bi, batch := range sizes {
		var es []raftpb.Entry
		for _, n := range batch {
			idx++
			es = append(es, mkEnts(idx, idx, uint64(bi/3+1), n)...)
		}
		hs := raftpb.HardState{Term: uint64(bi/3 + 1), Vote: 1, Commit: idx}
		start := w.off
		mustSave(t, w, hs, es)
		d.batches = append(d.batches, es)
		d.states = append(d.states, hs)
		d.offsets = append(d.offsets, start)
		if bi == len(sizes)-1 {
			if w.off < start {
				t.Fatal("the last batch cut a segment; use fewer or smaller batches")
			}
			d.lastEnd = w.off
			end := start
			for _, e := range es {
				end += int64(recordSize(entryFixed + len(e.Data)))
				d.lastRecs = append(d.lastRecs, end)
			}
			d.lastRecs = append(d.lastRecs, end+int64(recordSize(stateSize)))
		}
	}
	d.tail = filepath.Base(tailPath(w))
	mustClose(t, w)
	var err error
	if d.orig, err = os.ReadFile(filepath.Join(d.dir, d.tail)); err != nil {
		t.Fatal(err)
	}
	return d
}

// variant copies the log with the tail segment replaced by tail.
func (d *damagedLog) variant(t *testing.T, tail []byte) string {
	t.Helper()
	dir := copyDir(t, d.dir)
	if err := os.WriteFile(filepath.Join(dir, d.tail), tail, 0o640); err != nil {
		t.Fatal(err)
	}
	return dir
}

// upTo returns the entries of every batch before the last, then the first n
// entries of the last batch.
func (d *damagedLog) upTo(n int) []raftpb.Entry {
	var es []raftpb.Entry
	for _, b := range d.batches[:len(d.batches)-1] {
		es = append(es, b...)
	}
	return append(es, d.batches[len(d.batches)-1][:n]...)
}

func loggerTo(l *logBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// nonZeroSpan is the number of bytes from the start of b to its last non-zero byte.
func nonZeroSpan(b []byte) int {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return n
}

func TestTornTailAtEveryOffset(t *testing.T) {
	opts := testOpts()
	opts.SegmentSize = 1 << 20
	opts.fs = noSyncFS{} // recovery is under test here, not durability; fsyncs would make it slow
	d := writeLog(t, opts, [][]int{{10, 20}, {30}, {100, 0, 57}})
	start := d.offsets[len(d.offsets)-1]
	prevHS := d.states[len(d.states)-2]
	for o := start; o < d.lastEnd; o++ {
		for _, mode := range []string{"truncated", "zeroed"} {
			tail := slices.Clone(d.orig[:o])
			if mode == "zeroed" {
				// A torn write into preallocated space: the rest reads as zeros.
				tail = slices.Clone(d.orig)
				clear(tail[o:d.lastEnd])
			}
			dir := d.variant(t, tail)
			var logs logBuffer
			o2 := opts
			o2.Logger = loggerTo(&logs)
			w, _, hs, got := openRead(t, dir, o2, Snapshot{})

			// A record is intact if it ends before o, or, when zeroed, if the
			// bytes zeroed were zeros already (padding, high bytes of a number).
			intact := func(end int64) bool {
				return end <= o || mode == "zeroed" && isZero(d.orig[o:end])
			}
			kept := 0 // intact records of the last batch
			keptEnd := start
			for kept < len(d.lastRecs) && intact(d.lastRecs[kept]) {
				keptEnd = d.lastRecs[kept]
				kept++
			}
			wantHS := prevHS
			if kept == len(d.lastRecs) {
				wantHS = d.states[len(d.states)-1]
				kept--
			}
			sameEntries(t, got, d.upTo(kept))
			if hs != wantHS {
				t.Fatalf("%s at %d: hard state %+v, want %+v (a torn batch's state must not apply)", mode, o, hs, wantHS)
			}
			dropped := nonZeroSpan(d.orig[:o]) - int(keptEnd)
			msg := logs.String()
			if dropped > 0 {
				for _, want := range []string{"dropping torn", d.tail, fmt.Sprintf("offset=%d", keptEnd), fmt.Sprintf("bytes=%d", dropped)} {
					if !strings.Contains(msg, want) {
						t.Fatalf("%s at %d: warning %q lacks %q", mode, o, msg, want)
					}
				}
			} else if msg != "" {
				t.Fatalf("%s at %d: unexpected warning %q", mode, o, msg)
			}

			// Appending resumes after the kept records and nothing torn reappears.
			next := got[len(got)-1].Index + 1
			more := mkEnts(next, next, 9, 5)
			mustSave(t, w, raftpb.HardState{Term: 9, Commit: next}, more)
			mustClose(t, w)
			w, _, hs, got2 := openRead(t, dir, opts, Snapshot{})
			w.Close()
			sameEntries(t, got2, append(got, more...))
			if hs.Term != 9 {
				t.Fatalf("%s at %d: state after append %+v", mode, o, hs)
			}
		}
	}
}

// A batch spans several pages; a crash may persist later pages and not an
// earlier one. That is still a torn tail, unless a later batch follows.
func TestTornBatchWithLaterPagesWritten(t *testing.T) {
	opts := testOpts()
	opts.SegmentSize = 1 << 20
	d := writeLog(t, opts, [][]int{{100}, {100}, {3000, 3000, 3000}})
	start := d.offsets[2]
	tail := slices.Clone(d.orig)
	clear(tail[start+4096 : start+8192]) // the second page of the batch never reached the disk
	var logs logBuffer
	o2 := opts
	o2.Logger = loggerTo(&logs)
	w, _, hs, got := openRead(t, d.variant(t, tail), o2, Snapshot{})
	w.Close()
	sameEntries(t, got, d.upTo(1)) // the first 3000-byte entry ends within the first page
	if hs != d.states[1] {
		t.Fatalf("hard state %+v", hs)
	}
	if !strings.Contains(logs.String(), "dropping torn") {
		t.Fatalf("no warning: %q", logs.String())
	}

	// The same damage in a batch that was followed by another one is
	// acknowledged data lost.
	d = writeLog(t, opts, [][]int{{100}, {3000, 3000, 3000}, {100}})
	start = d.offsets[1]
	tail = slices.Clone(d.orig)
	clear(tail[start+4096 : start+8192])
	err := readErr(t, d.variant(t, tail), opts, Snapshot{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), d.tail) {
		t.Fatalf("damage before a later batch: %v, want ErrCorrupt naming %s", err, d.tail)
	}
}

func corruptByte(rng *rand.Rand, b []byte, from, to int64) int64 {
	at := from + rng.Int64N(to-from)
	b[at] ^= byte(1 + rng.IntN(255))
	return at
}

func TestCorruptLastRecordIsTruncated(t *testing.T) {
	opts := testOpts()
	opts.SegmentSize = 1 << 20
	d := writeLog(t, opts, [][]int{{50}, {60}, {70}, {80}})
	start := d.offsets[3]
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		// The last batch is an entry record, then a hard state record:
		// damage the entry (both are dropped) or the hard state.
		from, to, keep, at := start, d.lastRecs[0], 0, start
		if i%2 == 1 {
			from, to, keep, at = d.lastRecs[0], d.lastEnd, 1, d.lastRecs[0]
		}
		tail := slices.Clone(d.orig)
		for range 1 + rng.IntN(3) {
			corruptByte(rng, tail, from, to)
		}
		var logs logBuffer
		o2 := opts
		o2.Logger = loggerTo(&logs)
		w, _, hs, got := openRead(t, d.variant(t, tail), o2, Snapshot{})
		w.Close()
		sameEntries(t, got, d.upTo(keep))
		if hs != d.states[2] {
			t.Fatalf("case %d: hard state %+v", i, hs)
		}
		if msg := logs.String(); !strings.Contains(msg, fmt.Sprintf("offset=%d", at)) || !strings.Contains(msg, d.tail) {
			t.Fatalf("case %d: warning %q", i, msg)
		}
	}
	// Garbage after the last record, where the preallocated zeros were.
	tail := slices.Clone(d.orig)
	for i := d.lastEnd + 8; i < d.lastEnd+300; i++ {
		tail[i] = byte(rng.IntN(256))
	}
	var logs logBuffer
	o2 := opts
	o2.Logger = loggerTo(&logs)
	w, _, hs, got := openRead(t, d.variant(t, tail), o2, Snapshot{})
	w.Close()
	sameEntries(t, got, d.upTo(1))
	if hs != d.states[3] || !strings.Contains(logs.String(), fmt.Sprintf("offset=%d", d.lastEnd)) {
		t.Fatalf("garbage after the tail: hard state %+v, log %q", hs, logs.String())
	}
}

func TestCorruptMiddleRecordIsAnError(t *testing.T) {
	opts := testOpts()
	opts.SegmentSize = 1 << 20
	d := writeLog(t, opts, [][]int{{50}, {60, 61}, {70}, {80}})
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		b := 1 + rng.IntN(2) // batch 1 or 2 (batch 0 is partly the header)
		from, to := d.offsets[b], d.offsets[b+1]
		tail := slices.Clone(d.orig)
		corruptByte(rng, tail, from, to)
		err := readErr(t, d.variant(t, tail), opts, Snapshot{})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("case %d: corrupt batch %d: %v, want ErrCorrupt", i, b, err)
		}
		if !strings.Contains(err.Error(), d.tail) || !strings.Contains(err.Error(), "offset") {
			t.Fatalf("case %d: error %q does not name the file and offset", i, err)
		}
	}
	// The error names the offset of the damaged record.
	tail := slices.Clone(d.orig)
	tail[d.offsets[2]+20]++
	err := readErr(t, d.variant(t, tail), opts, Snapshot{})
	if want := fmt.Sprintf("%s at offset %d", d.tail, d.offsets[2]); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
}

func TestHeaderDamageIsAnError(t *testing.T) {
	opts := testOpts()
	d := writeLog(t, opts, [][]int{{50}})
	for _, at := range []int{0, 5, 20, 60, int(d.offsets[0]) - 1} {
		tail := slices.Clone(d.orig)
		tail[at] ^= 0x40
		if err := readErr(t, d.variant(t, tail), opts, Snapshot{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("header byte %d damaged: %v, want ErrCorrupt", at, err)
		}
	}
	// A segment under another segment's name fails its checksums.
	dir := d.variant(t, d.orig)
	if err := os.Rename(filepath.Join(dir, d.tail), filepath.Join(dir, segmentName(1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, dir, opts, Snapshot{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("renamed segment: %v, want ErrCorrupt", err)
	}
}

// multiSegmentLog writes entries 1..n, one per batch, over several segments.
func multiSegmentLog(t *testing.T, n uint64) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	w := mustCreate(t, dir, nil, testOpts())
	for i := uint64(1); i <= n; i++ {
		mustSave(t, w, raftpb.HardState{Term: 1, Commit: i}, mkEnts(i, i, 1, 300))
	}
	mustClose(t, w)
	names := segNames(t, dir)
	if len(names) < 3 {
		t.Fatalf("%d segments", len(names))
	}
	return dir, names
}

func TestDamageInFinishedSegmentIsAnError(t *testing.T) {
	dir, names := multiSegmentLog(t, 40)
	first := filepath.Join(dir, names[0])
	orig, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scanSegment(names[0], orig, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	var lastRec record // the last entry record
	for _, r := range s.recs {
		if r.typ == recEntry {
			lastRec = r
		}
	}

	// Its last record damaged, even though nothing valid follows in the file.
	b := slices.Clone(orig)
	b[lastRec.off+30]++
	if err := os.WriteFile(first, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, dir, testOpts(), Snapshot{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), names[0]) {
		t.Fatalf("damaged finished segment: %v", err)
	}
	// Its last record lost at a record boundary: the next segment's header
	// says which index should have come before it.
	if err := os.WriteFile(first, orig[:lastRec.off], 0o640); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, dir, testOpts(), Snapshot{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), names[1]) {
		t.Fatalf("shortened finished segment: %v", err)
	}
	// Zeros after its last record (a truncation of its preallocated space that
	// did not reach the disk) are fine.
	if err := os.WriteFile(first, append(slices.Clone(orig), make([]byte, 8192)...), 0o640); err != nil {
		t.Fatal(err)
	}
	w, _, _, got := openRead(t, dir, testOpts(), Snapshot{})
	w.Close()
	sameEntries(t, got, mkEnts(1, 40, 1, 300))
}

func TestPreallocatedZeroTail(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	opts.PreallocSize = 1 << 20
	opts.SegmentSize = 8 << 20
	var logs logBuffer
	opts.Logger = loggerTo(&logs)
	w := mustCreate(t, dir, nil, opts)
	mustSave(t, w, raftpb.HardState{Term: 1}, mkEnts(1, 10, 1, 100))
	mustClose(t, w)
	st, err := os.Stat(filepath.Join(dir, segNames(t, dir)[0]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 1<<20 {
		t.Fatalf("segment of %d bytes, want the preallocated %d", st.Size(), 1<<20)
	}
	w, _, _, got := openRead(t, dir, opts, Snapshot{})
	sameEntries(t, got, mkEnts(1, 10, 1, 100))
	// Grow past the first preallocation.
	mustSave(t, w, raftpb.HardState{}, mkEnts(11, 25, 1, 200<<10))
	mustClose(t, w)
	if st, _ = os.Stat(filepath.Join(dir, segNames(t, dir)[0])); st.Size() != 3<<20 {
		t.Fatalf("segment of %d bytes, want 3 MiB", st.Size())
	}
	w, _, _, got = openRead(t, dir, opts, Snapshot{})
	w.Close()
	sameEntries(t, got, append(mkEnts(1, 10, 1, 100), mkEnts(11, 25, 1, 200<<10)...))
	if logs.String() != "" {
		t.Fatalf("warnings for a clean log: %s", logs.String())
	}
}

func TestNoPreallocation(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts()
	opts.PreallocSize = -1
	w := mustCreate(t, dir, nil, opts)
	for i := uint64(1); i <= 30; i++ {
		mustSave(t, w, raftpb.HardState{Term: 1, Commit: i}, mkEnts(i, i, 1, 300))
	}
	mustClose(t, w)
	w, _, _, got := openRead(t, dir, opts, Snapshot{})
	defer w.Close()
	sameEntries(t, got, mkEnts(1, 30, 1, 300))
	st, err := os.Stat(tailPath(w))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != w.off {
		t.Fatalf("tail of %d bytes holds %d bytes of records", st.Size(), w.off)
	}
}

// Entry data that looks like records must neither pass for a later batch nor
// make recovery slow when its batch is torn.
func TestCraftedDataInTornBatch(t *testing.T) {
	opts := testOpts()
	opts.SegmentSize = 64 << 20
	opts.PreallocSize = 1 << 20
	// Entry data starts 36 bytes into its record; 4 more bytes align what
	// follows like a record.
	const pad = 4
	// A record as it would be checksummed with a predictable seed, claiming
	// to start a batch 8 bytes before it, after the torn record's start.
	fake := encoder{seed: headerSeed(0)}
	fake.buf = make([]byte, 8)
	fake.entry(&raftpb.Entry{Index: 99, Term: 9, Data: []byte("x")})
	fake.buf = append(make([]byte, pad), fake.buf[8:]...)
	// Headers every 16 bytes that claim a later batch and reach almost to the
	// end of the data, so that checking each would read megabytes.
	const n = 4 << 20
	flood := make([]byte, pad+n)
	for i := 0; i+headerSize <= n; i += 2 * align {
		h := flood[pad+i:]
		binary.LittleEndian.PutUint32(h[4:], uint32(n-i-64))
		h[8] = recEntry
	}

	for _, data := range [][]byte{fake.buf, flood} {
		dir := t.TempDir()
		w := mustCreate(t, dir, nil, opts)
		mustSave(t, w, raftpb.HardState{Term: 1, Commit: 1}, mkEnts(1, 1, 1, 10))
		start := w.off
		mustSave(t, w, raftpb.HardState{}, []raftpb.Entry{{Index: 2, Term: 1, Data: data}})
		mustClose(t, w)
		path := tailPath(w)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[start] ^= 1 // the batch is torn
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
		w, _, _, got := openRead(t, dir, opts, Snapshot{})
		w.Close()
		sameEntries(t, got, mkEnts(1, 1, 1, 10))
	}
}

// Records of a torn batch that survived after the damage must not come back
// when new records end exactly where one of them starts.
func TestStaleRecordsAfterRepair(t *testing.T) {
	opts := testOpts()
	opts.SegmentSize = 1 << 20
	d := writeLog(t, opts, [][]int{{100}, {3000, 3000, 3000}})
	start := d.offsets[1]
	tail := slices.Clone(d.orig)
	tail[start+40]++ // the first record of the last batch; the others stay valid
	dir := d.variant(t, tail)
	w, _, _, got := openRead(t, dir, opts, Snapshot{})
	sameEntries(t, got, d.upTo(0))
	// One record as long as the damaged one: the next stale record would
	// follow it exactly, with the same batch start.
	repl := mkEnts(2, 2, 5, 3000)
	mustSave(t, w, raftpb.HardState{}, repl)
	mustClose(t, w)
	w, _, hs, got := openRead(t, dir, opts, Snapshot{})
	w.Close()
	sameEntries(t, got, append(d.upTo(0), repl...))
	if hs != d.states[0] {
		t.Fatalf("hard state %+v, want %+v", hs, d.states[0])
	}
}
