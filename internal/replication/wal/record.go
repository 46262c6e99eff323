package wal

import (
	"encoding/binary"
	"hash/crc32"

	"go.etcd.io/raft/v3/raftpb"
)

// Record types. Zero is never a valid type, so preallocated (zeroed) space never
// parses as a record.
const (
	recSegment  byte = 1 // segment header: magic, version, crc seed, sequence, previous index
	recMeta     byte = 2 // caller's metadata, opaque bytes
	recState    byte = 3 // raft HardState: term, vote, commit
	recSnapshot byte = 4 // snapshot marker: index, term
	recEntry    byte = 5 // raft Entry: index, term, type, data
)

const (
	headerSize  = 16      // crc, length, type, 3 zero bytes, batch distance
	align       = 8       // every record starts and ends on an 8-byte boundary
	maxPayload  = 1 << 30 // largest payload accepted by the writer and the reader
	entryFixed  = 20      // index, term, entry type in front of an entry's data
	segHdrSize  = 32      // magic, version, crc seed, sequence, previous index
	stateSize   = 24      // term, vote, commit
	snapSize    = 16      // index, term
	version     = 1
	maxBatchLen = (1<<32 - 1) * align // the batch distance counts 8-byte units in a uint32
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	magic      = [8]byte{'g', 'o', 'z', 'k', 'w', 'a', 'l', 0}
)

// headerSeed is the initial CRC value of the segment header record of segment
// seq: the CRC-32C of seq as 8 little-endian bytes. The header carries the seed
// of every other record of the segment.
func headerSeed(seq uint64) uint32 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seq)
	return crc32.Checksum(b[:], castagnoli)
}

// recordSize is the size on disk of a record with a payload of n bytes.
func recordSize(n int) int {
	return (headerSize + n + align - 1) &^ (align - 1)
}

// encoder appends records of one batch to buf.
// buf holds exactly one batch: buf[0] is the batch's first byte.
type encoder struct {
	buf  []byte
	seed uint32
}

// begin starts the record: it appends the header with a zero checksum and
// returns the record's position in buf.
func (e *encoder) begin(typ byte, n int) int {
	start := len(e.buf)
	dist := uint32(start / align) // distance back to the batch start, in 8-byte units
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[4:], uint32(n))
	h[8] = typ
	binary.LittleEndian.PutUint32(h[12:], dist)
	e.buf = append(e.buf, h[:]...)
	return start
}

// end pads the record that starts at start and stores its checksum.
func (e *encoder) end(start int) {
	for len(e.buf)%align != 0 {
		e.buf = append(e.buf, 0)
	}
	rec := e.buf[start:]
	binary.LittleEndian.PutUint32(rec, crc32.Update(e.seed, castagnoli, rec[4:]))
}

func (e *encoder) entry(ent *raftpb.Entry) {
	s := e.begin(recEntry, entryFixed+len(ent.Data))
	e.buf = binary.LittleEndian.AppendUint64(e.buf, ent.Index)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, ent.Term)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(ent.Type))
	e.buf = append(e.buf, ent.Data...)
	e.end(s)
}

func (e *encoder) state(hs raftpb.HardState) {
	s := e.begin(recState, stateSize)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, hs.Term)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, hs.Vote)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, hs.Commit)
	e.end(s)
}

func (e *encoder) snapshot(snap Snapshot) {
	s := e.begin(recSnapshot, snapSize)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, snap.Index)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, snap.Term)
	e.end(s)
}

func (e *encoder) meta(meta []byte) {
	s := e.begin(recMeta, len(meta))
	e.buf = append(e.buf, meta...)
	e.end(s)
}

// segment appends a segment header, checksummed with headerSeed(seq), and makes
// seed the seed of the records that follow.
func (e *encoder) segment(seq, prevIndex uint64, seed uint32) {
	e.seed = headerSeed(seq)
	s := e.begin(recSegment, segHdrSize)
	e.buf = append(e.buf, magic[:]...)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, version)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, seed)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, seq)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, prevIndex)
	e.end(s)
	e.seed = seed
}

// record is one parsed record; payload aliases the segment's bytes.
type record struct {
	typ     byte
	off     int // offset of the record in its segment
	batch   int // offset of the first record of its batch
	size    int // bytes on disk, padding included
	payload []byte
}

// parseHeader checks the header of a record at off, which must be a multiple
// of align, without reading the payload.
func parseHeader(buf []byte, off int) (typ byte, n, batch, size int, reason string) {
	if len(buf)-off < headerSize {
		return 0, 0, 0, 0, "truncated record header"
	}
	h := buf[off : off+headerSize]
	n = int(binary.LittleEndian.Uint32(h[4:]))
	typ = h[8]
	dist := int(binary.LittleEndian.Uint32(h[12:])) * align
	switch {
	case isZero(h):
		return 0, 0, 0, 0, "zero record header"
	case typ < recSegment || typ > recEntry || h[9]|h[10]|h[11] != 0:
		return 0, 0, 0, 0, "invalid record header"
	case n > maxPayload:
		return 0, 0, 0, 0, "record length out of range"
	case dist > off:
		return 0, 0, 0, 0, "batch distance out of range"
	}
	size = recordSize(n)
	if len(buf)-off < size {
		return 0, 0, 0, 0, "truncated record"
	}
	return typ, n, off - dist, size, ""
}

// parseRecord returns the record at off, or a reason why there is no valid
// record there. off must be a multiple of align.
func parseRecord(buf []byte, off int, seed uint32) (record, string) {
	typ, n, batch, size, why := parseHeader(buf, off)
	if why != "" {
		return record{}, why
	}
	rec := buf[off : off+size]
	if binary.LittleEndian.Uint32(rec) != crc32.Update(seed, castagnoli, rec[4:]) {
		return record{}, "checksum mismatch"
	}
	if !isZero(rec[headerSize+n:]) {
		return record{}, "non-zero padding"
	}
	r := record{typ: typ, off: off, batch: batch, size: size, payload: rec[headerSize : headerSize+n]}
	if !r.wellFormed() {
		return record{}, "malformed payload"
	}
	return r, ""
}

// wellFormed reports whether the payload has the length its type requires.
func (r record) wellFormed() bool {
	switch r.typ {
	case recSegment:
		return len(r.payload) == segHdrSize
	case recState:
		return len(r.payload) == stateSize
	case recSnapshot:
		return len(r.payload) == snapSize
	case recEntry:
		return len(r.payload) >= entryFixed
	}
	return true
}

func (r record) state() raftpb.HardState {
	p := r.payload
	return raftpb.HardState{
		Term:   binary.LittleEndian.Uint64(p),
		Vote:   binary.LittleEndian.Uint64(p[8:]),
		Commit: binary.LittleEndian.Uint64(p[16:]),
	}
}

func (r record) snapshot() Snapshot {
	return Snapshot{Index: binary.LittleEndian.Uint64(r.payload), Term: binary.LittleEndian.Uint64(r.payload[8:])}
}

// entryIndex returns the raft index of an entry record without decoding the rest.
func (r record) entryIndex() uint64 { return binary.LittleEndian.Uint64(r.payload) }

// entry decodes an entry record; Data is a copy, so it does not pin the segment.
func (r record) entry() raftpb.Entry {
	p := r.payload
	e := raftpb.Entry{
		Index: binary.LittleEndian.Uint64(p),
		Term:  binary.LittleEndian.Uint64(p[8:]),
		Type:  raftpb.EntryType(binary.LittleEndian.Uint32(p[16:])),
	}
	if len(p) > entryFixed {
		e.Data = append([]byte(nil), p[entryFixed:]...)
	}
	return e
}

// segmentHeader decodes a segment header record.
func (r record) segmentHeader() (seq, prevIndex uint64, seed uint32, ok bool) {
	p := r.payload
	if [8]byte(p[:8]) != magic || binary.LittleEndian.Uint32(p[8:]) != version {
		return 0, 0, 0, false
	}
	return binary.LittleEndian.Uint64(p[16:]), binary.LittleEndian.Uint64(p[24:]), binary.LittleEndian.Uint32(p[12:]), true
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// lastNonZero returns the length of b without its trailing zero bytes.
func lastNonZero(b []byte) int {
	n := len(b)
	for n >= 8 && binary.LittleEndian.Uint64(b[n-8:]) == 0 {
		n -= 8
	}
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return n
}
