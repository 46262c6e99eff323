package wal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/raft/v3/raftpb"
)

// headerTypes are the record types of a segment's header batch, in order.
var headerTypes = [...]byte{recSegment, recMeta, recState, recSnapshot}

// scan is one segment's valid records and what follows them.
type scan struct {
	recs      []record
	prevIndex uint64 // from the segment header
	seed      uint32 // from the segment header
	end       int    // offset just past the last valid record
	dropped   int    // bytes of damaged tail after end, zeros excluded (last segment only)
	reason    string // why the bytes at end are not a record, when dropped > 0
}

func corruptAt(name string, off int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d: %s", ErrCorrupt, name, off, fmt.Sprintf(format, args...))
}

// scanSegment parses the bytes of segment seq, whose file is called name. It
// stops at the first offset that does not hold a valid record. What follows
// must be zeros (preallocated space), except in the last segment, where damage
// confined to the last batch written is a torn tail: it is reported in dropped,
// for the caller to truncate. Anything else is ErrCorrupt.
func scanSegment(name string, buf []byte, seq uint64, last bool) (scan, error) {
	var s scan
	hdr, why := parseRecord(buf, 0, headerSeed(seq))
	if why != "" || hdr.typ != recSegment {
		return s, corruptAt(name, 0, "no segment header: %s", why)
	}
	hseq, prev, seed, ok := hdr.segmentHeader()
	if !ok || hseq != seq {
		return s, corruptAt(name, 0, "bad segment header (sequence %d, want %d)", hseq, seq)
	}
	s.prevIndex, s.seed = prev, seed
	s.recs = append(s.recs, hdr)
	off, reason := hdr.size, ""
	for off < len(buf) {
		r, why := parseRecord(buf, off, seed)
		if why == "" && r.batch != s.recs[len(s.recs)-1].batch && r.batch != r.off {
			why = "record neither continues the previous batch nor starts one"
		}
		if why != "" {
			reason = why
			break
		}
		s.recs = append(s.recs, r)
		off += r.size
	}
	s.end = off

	// The header batch was synced before the file got its name: it is never torn.
	for i, typ := range headerTypes {
		if i >= len(s.recs) {
			return s, corruptAt(name, off, "segment header batch incomplete: %s", reason)
		}
		if r := s.recs[i]; r.typ != typ || r.batch != 0 {
			return s, corruptAt(name, r.off, "segment header batch has record type %d in place %d", r.typ, i)
		}
	}
	for _, r := range s.recs[len(headerTypes):] {
		if r.typ == recSegment || r.typ == recMeta || r.batch == 0 {
			return s, corruptAt(name, r.off, "header record type %d after the segment header batch", r.typ)
		}
	}

	if off == len(buf) || isZero(buf[off:]) {
		return s, nil
	}
	if !last {
		return s, corruptAt(name, off, "%s in a finished segment", reason)
	}
	// A batch is written with one write and synced before the next batch is
	// written, so a crash can tear only the last batch, in any of its pages.
	// A valid record after the damage that belongs to a later batch proves the
	// damaged batch was synced: that is corruption of acknowledged data.
	// Candidates of the same batch are not checked at all, and the checksum
	// work is bounded, so that crafted entry data cannot make this quadratic;
	// such data cannot pass for a record either, not knowing the random seed.
	budget := 4*len(buf) + 1<<20
	for y := off + align; y+headerSize <= len(buf); y += align {
		_, _, batch, size, why := parseHeader(buf, y)
		if why != "" || batch <= off {
			continue
		}
		if budget -= size; budget < 0 {
			reason += " (search for later records cut short)"
			break
		}
		if _, why := parseRecord(buf, y, seed); why == "" {
			return s, corruptAt(name, off, "%s, followed by a valid record of a later batch at offset %d", reason, y)
		}
	}
	s.dropped = lastNonZero(buf) - off
	s.reason = reason
	return s, nil
}

// ReadAll reads the log, repairing a torn tail, and returns the metadata given
// to Create, the last HardState saved, and the entries after snapshot after
// (all of them for the zero Snapshot). An entry replaces any earlier one with
// the same index together with everything after it, as raft truncates its log
// on a conflict. For a non-zero after, the log must hold its marker (see
// SaveSnapshot), else ErrSnapshotNotFound. ReadAll must be called exactly once
// after Open and before any write; a log made by Create needs no ReadAll.
func (w *WAL) ReadAll(after Snapshot) (meta []byte, hs raftpb.HardState, ents []raftpb.Entry, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return nil, hs, nil, ErrClosed
	case !w.unread:
		return nil, hs, nil, ErrNotRead
	}
	meta, hs, ents, err = w.readAll(after)
	if err != nil {
		w.err = err
		return nil, raftpb.HardState{}, nil, err
	}
	w.unread = false
	return meta, hs, ents, nil
}

func (w *WAL) readAll(after Snapshot) (meta []byte, hs raftpb.HardState, ents []raftpb.Entry, err error) {
	found := after.Index == 0
	var last uint64 // index of the last entry record read
	for i := range w.segs {
		seg := &w.segs[i]
		name := seg.name()
		buf, err := os.ReadFile(filepath.Join(w.dir, name))
		if err != nil {
			return nil, hs, nil, fmt.Errorf("wal: read: %w", err)
		}
		isTail := i == len(w.segs)-1
		s, err := scanSegment(name, buf, seg.seq, isTail)
		if err != nil {
			return nil, hs, nil, err
		}
		if s.prevIndex != seg.prevIndex {
			return nil, hs, nil, corruptAt(name, 0, "header says previous index %d, file name %d", s.prevIndex, seg.prevIndex)
		}
		if i == 0 {
			// Segments before this one were released behind a snapshot.
			if s.prevIndex > after.Index {
				return nil, hs, nil, corruptAt(name, 0, "the log starts after index %d (older segments were released), not at snapshot index %d",
					s.prevIndex, after.Index)
			}
			last = s.prevIndex
		} else if s.prevIndex != last {
			return nil, hs, nil, corruptAt(name, 0, "segment follows index %d but the previous segment ends at index %d", s.prevIndex, last)
		}
		for _, r := range s.recs {
			switch r.typ {
			case recMeta:
				if i == 0 {
					meta = bytes.Clone(r.payload)
				} else if !bytes.Equal(meta, r.payload) {
					return nil, hs, nil, corruptAt(name, r.off, "metadata differs from that of the first segment")
				}
			case recState:
				hs = r.state()
			case recSnapshot:
				snap := r.snapshot()
				if after.Index != 0 && snap.Index == after.Index {
					if snap.Term != after.Term {
						return nil, hs, nil, fmt.Errorf("%w: %s at offset %d: snapshot at index %d has term %d, want %d",
							ErrSnapshotMismatch, name, r.off, snap.Index, snap.Term, after.Term)
					}
					found = true
				}
				w.snap = snap
			case recEntry:
				idx := r.entryIndex()
				last = idx
				if !seg.hasEntries || idx > seg.maxIndex {
					seg.maxIndex = idx
				}
				seg.hasEntries = true
				if idx <= after.Index {
					ents = ents[:0] // replaces everything after it, as any entry does
					continue
				}
				pos := idx - after.Index - 1
				if pos > uint64(len(ents)) {
					return nil, hs, nil, corruptAt(name, r.off, "entry %d follows index %d: entries are missing",
						idx, after.Index+uint64(len(ents)))
				}
				ents = append(ents[:pos], r.entry())
			}
		}
		if isTail {
			w.enc.seed = s.seed
			if err := w.repairTail(name, s, int64(len(buf))); err != nil {
				return nil, hs, nil, err
			}
		}
	}
	if !found {
		return nil, hs, nil, fmt.Errorf("%w: index %d term %d in %s", ErrSnapshotNotFound, after.Index, after.Term, w.dir)
	}
	w.meta, w.state, w.lastIndex = meta, hs, last
	return meta, hs, ents, nil
}

// repairTail positions the writer after the tail's last valid record. Damaged
// bytes after it are logged and replaced with zeros (truncated, then the space
// reserved again), so no stale record can reappear after later appends.
func (w *WAL) repairTail(name string, s scan, size int64) error {
	w.off, w.allocated = int64(s.end), size
	if s.dropped == 0 {
		return nil
	}
	w.opts.Logger.Warn("wal: dropping torn or corrupt tail",
		"file", filepath.Join(w.dir, name), "offset", s.end, "bytes", s.dropped, "reason", s.reason)
	if err := w.f.Truncate(w.off); err != nil {
		return fmt.Errorf("wal: repair %s: %w", name, err)
	}
	w.allocated = w.off
	if w.opts.PreallocSize > 0 && size > w.off {
		if err := w.f.Allocate(w.off, size-w.off); err != nil {
			return fmt.Errorf("wal: repair %s: %w", name, err)
		}
		w.allocated = size
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("wal: repair %s: %w", name, err)
	}
	return nil
}
