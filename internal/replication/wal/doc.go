// Package wal is the write-ahead log that makes gozk's raft log durable.
//
// # Usage
//
// A new server creates the log; a restarting one opens it, reads it back from
// its latest snapshot, and appends:
//
//	w, err := wal.Create(dir, meta, wal.Options{})
//	...
//	w, err := wal.Open(dir, wal.Options{})
//	meta, hs, ents, err := w.ReadAll(wal.Snapshot{Index: 10, Term: 2})
//
// For every raft Ready, Save(rd.HardState, rd.Entries) writes the batch with one
// write and, when raft.MustSync says so, one fsync (group commit); it returns
// when the batch is durable. After a snapshot is durable, SaveSnapshot records
// its {Index, Term}, and ReleaseTo(index) deletes the oldest segments whose
// entries all have an index at or below both index and the last snapshot
// marker, never the segment being appended to. A failed write, preallocation or fsync is sticky: every later
// write returns the same error, because the state of the file is then unknown.
// The caller must treat it as fatal.
//
// # Segments
//
// The log is a sequence of segment files in one directory, named
//
//	%016x-%016x.wal   (sequence number, index of the first entry expected)
//
// e.g. 0000000000000001-00000000000000a0.wal, so that they sort by sequence.
// Create writes segment 0 with first index 1. Sequence numbers of the segments
// present must be consecutive. The first index is the index of the last entry
// written before the segment began plus one; the segment may still hold lower
// indexes (entries that replace earlier ones after a raft conflict), so the name
// is a label, checked against the segment header, never a lookup key.
//
// After a Save or SaveSnapshot leaves the current segment at or over
// Options.SegmentSize bytes (default 64 MiB), the segment is cut: its unused
// preallocated space is truncated away and it is synced; then the next segment
// is written under its name plus ".tmp", synced, renamed into place, and the
// directory synced. A batch never spans two segments, and leftover ".tmp" files
// (an interrupted cut) are deleted by Open and Create. Syncing a segment is
// fdatasync(2) on Linux, fsync(2) elsewhere.
//
// Space is reserved ahead of the writes in units of Options.PreallocSize
// (ZooKeeper's preAllocSize, default 64 MiB) with fallocate(2) on Linux, so an
// fsync rarely has to update file metadata; elsewhere, or where fallocate is
// unsupported, the file is extended sparsely. Reserved space reads as zeros.
//
// # Records
//
// A segment is a sequence of records, each starting at a multiple of 8 bytes:
//
//	offset  size  field
//	0       4     crc: CRC-32C (Castagnoli) of bytes 4 to the end of the padding,
//	              with the segment's seed as initial value
//	4       4     length of the payload in bytes (at most 1 GiB)
//	8       1     type
//	9       3     zero
//	12      4     batch: distance in 8-byte units from the start of this
//	              record's batch to the start of this record (0 for the first)
//	16      n     payload
//	16+n    0-7   zero padding to a multiple of 8
//
// All integers are little-endian. Records are 8-byte aligned so that the crc
// and length word is never split by a sector or page boundary, and type 0 is
// never used, so zeroed (preallocated) space never looks like a record.
//
// The CRC seed: each segment gets a random 32-bit seed when it is created,
// stored in its segment header, and every other record of the segment is
// checksummed with it. The segment header itself is checksummed with the CRC-32C
// of the sequence number as 8 little-endian bytes, so that it can be verified
// first. A record copied from another segment does not verify, and no one can
// craft entry data that passes for a record of the log it is written to.
//
// Each record carries its own checksum rather than a chain of checksums: with a
// chain, every record after a damaged one fails too, and recovery could not tell
// a torn tail from lost acknowledged data followed by more of it. What a chain
// would add, rejecting stale records after the end of the log, is provided
// instead by never reusing a file and by zeroing any dropped tail before
// appending again.
//
// Payloads by type:
//
//	1 segment header  "gozkwal\x00", version uint32 = 1, crc seed uint32,
//	                  sequence uint64, previous index uint64   (32 bytes)
//	2 metadata        the bytes given to Create, repeated in every segment
//	3 hard state      term, vote, commit uint64                 (24 bytes)
//	4 snapshot        index, term uint64                        (16 bytes)
//	5 entry           index, term uint64, entry type uint32, data
//
// A batch is what one call writes with one write: Save writes its entries, then
// its HardState (so any prefix of a batch that holds the HardState holds all the
// entries it may commit); SaveSnapshot writes one snapshot record. Every segment
// begins with its header batch, exactly: segment header, metadata, the current
// HardState and the latest snapshot marker. So a segment is self-contained, and
// deleting older segments loses neither state nor the latest marker. The header
// batch is synced before the segment is renamed into place and must always be
// intact.
//
// # Recovery
//
// ReadAll reads every segment in order and stops in each at the first 8-byte
// offset that does not hold a valid record (header damaged or out of range,
// payload beyond the end of the file, checksum mismatch, non-zero padding, wrong
// payload size, a batch start that is neither that of the previous record nor
// the record's own). If only zeros follow, that is the end of the segment. Otherwise:
//
//   - In any segment but the last, it is ErrCorrupt: a finished segment was
//     synced before the next one was created.
//   - In the last segment, the rest of the file is searched, at every 8-byte
//     offset, for a valid record of a later batch: one whose batch start lies
//     after the damage (candidates whose header says otherwise are not
//     checksummed, and the checksum work is capped at about four times the
//     file's size; past the cap the search stops). A batch is synced before the next one is written, so a crash
//     can only tear the last batch, in any of its pages; a later batch proves
//     the damaged one was acknowledged: ErrCorrupt. Otherwise the damage is a
//     torn or corrupt tail: it is logged as a warning with the file, the offset
//     and the number of non-zero bytes dropped, never applied, and the file is
//     truncated at the offset, its space reserved again (zeros) and synced, so
//     appends resume there. The valid records of the torn batch before the
//     damage are kept: they are a prefix of the log that was never
//     acknowledged, which raft handles like any unacknowledged entries.
//
// Across segments, the last entry read before a segment must have the index its
// header names as previous, else ErrCorrupt (a lost end of a segment). The
// first segment present must not start after the snapshot ReadAll reads from
// (ErrCorrupt: the entries in between were released). Entries with an index at
// or below the snapshot's are skipped; a later entry replaces the earlier one
// with the same index and all after it; an entry whose index skips past the
// next expected one is ErrCorrupt. Metadata must be the same in every segment.
// The HardState returned is the last one read, the snapshot marker the one whose
// index is the snapshot's (its term must match: ErrSnapshotMismatch). Every
// ErrCorrupt names the file and the offset.
//
// With Options.NoSync, batches are not synced, so a machine crash may leave
// damage followed by later batches; recovery then reports ErrCorrupt rather than
// guess.
package wal
