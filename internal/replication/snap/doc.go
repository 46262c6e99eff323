// Package snap stores state-machine snapshots on disk, one file per snapshot,
// each with the raft metadata of the log position it was taken at.
//
// # Usage
//
// The server keeps its snapshots in dataDir/version-2, beside the WAL:
//
//	s, err := snap.New(filepath.Join(dataDir, "version-2"), snap.Options{Logger: lg})
//	...
//	fs := machine.BeginSnapshot()
//	path, err := s.Save(meta, func(w io.Writer) error { _, err := fs.WriteTo(w); return err })
//	...
//	meta, payload, err := s.Load() // at startup; errors.Is(err, snap.ErrNoSnapshot) on a new server
//	machine, err := fsm.DecodeSnapshot(payload)
//	...
//	removed, err := s.Purge(retainCount)
//
// The payload is opaque here: package fsm writes and reads it. Save streams it
// to disk, so a snapshot never has to fit in memory while it is written; Load
// and Open return it as one slice of one buffer holding the whole file.
//
// Tools that only look at a file (gozk inspect snapshot FILE) use ReadFile,
// which verifies it without creating, renaming or deleting anything; Encode and
// Decode convert between a snapshot and the bytes of its file.
//
// # Files
//
// A snapshot taken at raft index i is the file
//
//	snapshot-%016x.gzsnap   (i in 16 lower-case hex digits)
//
// e.g. snapshot-00000000000186a0.gzsnap for index 100000, so that names sort by
// index. The directory may also hold Apache ZooKeeper's files; ZooKeeper reads
// a name as a snapshot of zxid z when it splits on '.' into "snapshot" and a hex
// number z (snapshot.186a0, and also snapshot.00000000000186a0.gzsnap), so the
// dash keeps ZooKeeper's loader and its purge tool (zkCleanup.sh) from taking
// these files for its own. Other names are ignored, except:
//
//	snapshot-%016x.gzsnap.tmp     a snapshot being written; one left by a crash
//	                              is deleted (and logged) by New
//	snapshot-%016x.gzsnap.broken  a snapshot that Load found damaged and set
//	                              aside; never read or deleted by this package
//
// Save writes the temporary file, syncs it (fsync), renames it to its final
// name and then syncs the directory, so that after a crash the final name holds
// either nothing or the complete, durable file. With Options.NoSync both syncs
// are skipped (ZooKeeper's forceSync=no): a machine crash may then leave a
// damaged or missing snapshot, which Load detects. A Save at an index that
// already has a snapshot replaces it atomically.
//
// # Format
//
// All integers are little-endian.
//
//	offset    size  field
//	0         8     magic "gozksnap"
//	8         4     version, uint32 = 1
//	12        4     m: length of the metadata, at most 64 MiB
//	16        m     metadata: raftpb.SnapshotMetadata (index, term and
//	                ConfState: voters, learners, voters_outgoing, learners_next,
//	                auto_leave) in its protobuf encoding (go.etcd.io/raft/v3
//	                raftpb/raft.proto)
//	16+m      8     n: length of the payload
//	24+m      n     payload
//	24+m+n    4     crc: CRC-32C (Castagnoli) of the payload followed by bytes
//	                0 to 24+m of the file (magic through n)
//
// The file is exactly 28+m+n bytes long. The checksum covers the payload before
// the header because Save learns n only at the end of the stream: it writes the
// header with n = 0, streams the payload while checksumming it, writes the
// checksum and then n in place. Everything except the version is framing common
// to all versions; the version says how metadata and payload are to be read.
//
// A file is valid when it has the magic, its length agrees with m and n, its
// checksum matches, its version is 1, its metadata decodes, and, when its name
// is a snapshot name, the index in the name is the metadata's. The payload's
// own format and checksum (package fsm) are checked by its reader.
//
// # Recovery
//
// Load returns the newest valid snapshot. A newer file that is damaged (bad
// magic, wrong length, for instance truncated, or checksum mismatch) is logged
// as a warning naming the file and the reason and renamed to .broken, and the
// next older one is tried. The renames happen only once a valid snapshot is
// found: if every file is damaged, Load returns an error wrapping ErrCorrupt and
// leaves them all in place, so that every start fails the same way until an
// operator steps in. A file of an unknown version and a failure to read a file
// (other than its disappearance) are returned as errors without fallback: they
// are not damage, and silently using an older snapshot would hide them.
//
// Falling back to an older snapshot is only useful while the WAL still holds the
// entries after it; the caller should release WAL segments only up to the
// oldest snapshot it retains, not the newest.
//
// # Purging
//
// Purge(retain) keeps the newest retain snapshots (at least MinRetain, as
// ZooKeeper's autopurge.snapRetainCount) and deletes the older ones. It counts
// toward retain only files whose header is sound (magic, version, metadata,
// length); the checksum is not verified, which would mean reading every file.
// The newest snapshot file is never deleted.
//
// A Store must be the only user of its directory. Its methods may be called
// from several goroutines.
package snap
