package wal

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// FuzzScanSegment feeds arbitrary bytes to the segment reader as segment 0 and
// as the last segment or not. It must never panic, and what it accepts must be
// consistent: contiguous records from offset 0, payloads that decode, a tail
// within the file.
func FuzzScanSegment(f *testing.F) {
	dir := f.TempDir()
	w := mustCreate(f, dir, []byte("meta"), Options{SegmentSize: 1 << 20, PreallocSize: 512})
	mustSave(f, w, raftpb.HardState{Term: 1, Vote: 2, Commit: 1}, mkEnts(1, 3, 1, 9))
	if err := w.SaveSnapshot(Snapshot{Index: 2, Term: 1}); err != nil {
		f.Fatal(err)
	}
	mustSave(f, w, raftpb.HardState{}, []raftpb.Entry{{Index: 3, Term: 2}})
	end := w.off
	mustClose(f, w)
	seg, err := os.ReadFile(tailPath(w))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg, true)
	f.Add(seg[:end], false)
	f.Add(seg[:end-5], true)
	f.Add(seg[:120], true)
	torn := bytes.Clone(seg)
	torn[end-30] ^= 0xff
	f.Add(torn, true)
	f.Add([]byte{}, true)

	f.Fuzz(func(t *testing.T, b []byte, last bool) {
		s, err := scanSegment("fuzz.wal", b, 0, last)
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
			switch r.typ {
			case recEntry:
				if e := r.entry(); e.Index != r.entryIndex() || len(e.Data) != len(r.payload)-entryFixed {
					t.Fatalf("entry decodes to %+v", e)
				}
			case recState:
				_ = r.state()
			case recSnapshot:
				_ = r.snapshot()
			case recSegment:
				if _, _, _, ok := r.segmentHeader(); !ok {
					t.Fatal("accepted a bad segment header")
				}
			}
		}
		if off != s.end || s.dropped < 0 || s.end+s.dropped > len(b) || (!last && s.dropped != 0) {
			t.Fatalf("end %d dropped %d of %d bytes (records end at %d)", s.end, s.dropped, len(b), off)
		}
		if s.dropped == 0 && !isZero(b[s.end:]) {
			t.Fatalf("non-zero bytes after offset %d not reported", s.end)
		}
	})
}
