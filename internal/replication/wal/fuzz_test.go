package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"testing"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
)

// FuzzScanSegment feeds arbitrary bytes to the segment reader as segment 0 and
// as the last segment or not. It must never panic, must allocate in proportion
// to the input, and what it accepts must be consistent (see checkScan).
func FuzzScanSegment(f *testing.F) {
	for _, seed := range segmentSeeds(f) {
		f.Add(seed.b, seed.last)
	}
	f.Fuzz(func(t *testing.T, b []byte, last bool) {
		checkScan(t, b, 0, last)
	})
}

// FuzzScanSegmentFixed is FuzzScanSegment for inputs that the fuzzer could
// never produce by chance: before the scan, the target gives every record
// whose header parses, from offset 0 on, the checksum it needs (the segment
// header's with the sequence's seed, the others' with the seed the header
// names). So the fuzzer explores the structure (record types, lengths, batch
// distances, padding, header batch rules, torn tails) instead of failing on
// the first checksum. With fixAll, records after the first bad one are
// checksummed too, at every aligned offset, which makes "a valid record of a
// later batch after damage" reachable. seq is the segment's sequence number.
func FuzzScanSegmentFixed(f *testing.F) {
	for _, seed := range segmentSeeds(f) {
		f.Add(seed.b, seed.last, false, uint8(0))
		f.Add(seed.b, seed.last, true, uint8(0))
	}
	f.Add([]byte{}, true, true, uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, last, fixAll bool, seq uint8) {
		b := bytes.Clone(in)
		fixChecksums(b, uint64(seq), fixAll)
		checkScan(t, b, uint64(seq), last)
	})
}

type segmentSeed struct {
	b    []byte
	last bool
}

// segmentSeeds are a real segment (header batch, entries of every type, a
// state, a snapshot marker, preallocated zeros after them), cut at a record
// boundary, torn inside the last batch and damaged in the middle.
func segmentSeeds(f *testing.F) []segmentSeed {
	dir := f.TempDir()
	w := mustCreate(f, dir, []byte("meta"), Options{SegmentSize: 1 << 20, PreallocSize: 512})
	mustSave(f, w, raftpb.HardState{Term: 1, Vote: 2, Commit: 1}, mkEnts(1, 3, 1, 9))
	if err := w.SaveSnapshot(Snapshot{Index: 2, Term: 1}); err != nil {
		f.Fatal(err)
	}
	mustSave(f, w, raftpb.HardState{}, []raftpb.Entry{{Index: 3, Term: 2}})
	mustSave(f, w, raftpb.HardState{Term: 2, Vote: 1, Commit: 3}, mkEnts(4, 7, 2, 40))
	end := w.off
	mustClose(f, w)
	seg, err := os.ReadFile(tailPath(w))
	if err != nil {
		f.Fatal(err)
	}
	torn := bytes.Clone(seg)
	torn[end-30] ^= 0xff
	mid := bytes.Clone(seg)
	mid[200] ^= 0x01
	return []segmentSeed{
		{seg, true}, {seg[:end], false}, {seg[:end-5], true}, {seg[:120], true},
		{torn, true}, {torn, false}, {mid, true}, {[]byte{}, true},
	}
}

// fixChecksums stores the right checksum in each record of b that follows a
// record whose header parsed; with all, also in every later aligned position
// whose header parses.
func fixChecksums(b []byte, seq uint64, all bool) {
	seed := headerSeed(seq)
	fix := func(off int) (size int, ok bool) {
		typ, n, _, size, why := parseHeader(b, off)
		if why != "" {
			return 0, false
		}
		rec := b[off : off+size]
		binary.LittleEndian.PutUint32(rec, crc32.Update(seed, castagnoli, rec[4:]))
		if off == 0 && typ == recSegment && n == segHdrSize {
			seed = binary.LittleEndian.Uint32(rec[headerSize+12:])
		}
		return size, true
	}
	off := 0
	for {
		size, ok := fix(off)
		if !ok {
			break
		}
		off += size
	}
	if all {
		for y := off + align; y+headerSize <= len(b); y += align {
			fix(y)
		}
	}
}

// checkScan scans b as segment seq and checks that what scanSegment accepts
// is consistent: contiguous records from offset 0, payloads that decode, a
// tail within the file, and records whose bytes are exactly what the encoder
// writes for what they decode to (the encoding is canonical).
func checkScan(t *testing.T, b []byte, seq uint64, last bool) {
	var s scan
	var err error
	fuzzcheck.Bounded(t, "scanSegment", len(b), 16, func() { s, err = scanSegment("fuzz.wal", b, seq, last) })
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
		return
	}
	off := 0
	for i, r := range s.recs {
		if r.off != off || r.size%align != 0 || r.batch > r.off || r.off+r.size > len(b) {
			t.Fatalf("record %d: %+v after offset %d", i, r, off)
		}
		off += r.size
		enc := encoder{buf: make([]byte, r.off-r.batch), seed: s.seed}
		switch r.typ {
		case recEntry:
			e := r.entry()
			if e.Index != r.entryIndex() || len(e.Data) != len(r.payload)-entryFixed {
				t.Fatalf("entry decodes to %+v", e)
			}
			enc.entry(&e)
		case recState:
			enc.state(r.state())
		case recSnapshot:
			enc.snapshot(r.snapshot())
		case recMeta:
			enc.meta(r.payload)
		case recSegment:
			hseq, prev, seed, ok := r.segmentHeader()
			if !ok || hseq != seq || seed != s.seed || prev != s.prevIndex {
				t.Fatal("accepted a bad segment header")
			}
			enc.segment(hseq, prev, seed)
		}
		if got := enc.buf[r.off-r.batch:]; !bytes.Equal(got, b[r.off:r.off+r.size]) {
			t.Fatalf("record %d (type %d) at %d: accepted bytes\n% x\nencode back to\n% x", i, r.typ, r.off, b[r.off:r.off+r.size], got)
		}
	}
	if off != s.end || s.dropped < 0 || s.end+s.dropped > len(b) || (!last && s.dropped != 0) {
		t.Fatalf("end %d dropped %d of %d bytes (records end at %d)", s.end, s.dropped, len(b), off)
	}
	if s.dropped == 0 && !isZero(b[s.end:]) {
		t.Fatalf("non-zero bytes after offset %d not reported", s.end)
	}
}
