package snap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

var (
	// ErrNoSnapshot is returned by Load when the directory holds no snapshot.
	ErrNoSnapshot = errors.New("snap: no snapshot")
	// ErrCorrupt reports a damaged snapshot file: bad magic, a length that does
	// not match the file's (truncated or extended), a checksum mismatch,
	// undecodable metadata, or an index that is not the one in its name.
	ErrCorrupt = errors.New("snap: corrupt snapshot")
	// ErrVersion reports an intact snapshot file of a format version this
	// build cannot read.
	ErrVersion = errors.New("snap: unsupported snapshot version")
)

// MinRetain is the least number of snapshots Purge keeps, as ZooKeeper's
// autopurge.snapRetainCount.
const MinRetain = 3

// File name parts; doc.go specifies the naming.
const (
	namePrefix   = "snapshot-"
	nameSuffix   = ".gzsnap"
	tmpSuffix    = ".tmp"
	brokenSuffix = ".broken"
	nameLen      = len(namePrefix) + 16 + len(nameSuffix)
)

// writeBuffer is the size of the buffer between the payload stream and the file.
const writeBuffer = 1 << 20

// snapName is the file name of the snapshot at index.
func snapName(index uint64) string {
	return fmt.Sprintf("%s%016x%s", namePrefix, index, nameSuffix)
}

// parseName reverses snapName; it accepts only its exact output.
func parseName(name string) (uint64, bool) {
	if len(name) != nameLen || !strings.HasPrefix(name, namePrefix) || !strings.HasSuffix(name, nameSuffix) {
		return 0, false
	}
	idx, err := strconv.ParseUint(name[len(namePrefix):len(namePrefix)+16], 16, 64)
	if err != nil || snapName(idx) != name {
		return 0, false
	}
	return idx, true
}

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// Logger receives warnings about damaged snapshots and leftover files, and
	// a line per snapshot saved or purge done. Default slog.Default().
	Logger *slog.Logger
	// NoSync skips the fsync of snapshot files and of the directory
	// (ZooKeeper's forceSync=no): a machine crash may then lose or damage the
	// latest snapshot.
	NoSync bool

	fs fileSystem // nil: the operating system's
}

// Store is a directory of snapshot files. Its methods may be called from
// several goroutines.
type Store struct {
	dir    string
	lg     *slog.Logger
	noSync bool
	fs     fileSystem

	saveMu sync.Mutex // serializes Save, which owns the temporary files
	mu     sync.Mutex // serializes changes of snapshot names: Save's rename, Load, Purge
}

// Info describes one snapshot file.
type Info struct {
	Path  string
	Index uint64 // from the file name
	Term  uint64 // from the header; 0 when Err is set
	Size  int64  // of the file, in bytes
	// Err is why the header is unsound (it wraps ErrCorrupt or ErrVersion, or
	// is a read error), nil if it is sound. The checksum is not verified.
	Err error
}

// New opens the snapshot store in dir, creating the directory if it is missing,
// and deletes the temporary files of saves interrupted by a crash.
func New(dir string, opts Options) (*Store, error) {
	s := &Store{dir: dir, lg: opts.Logger, noSync: opts.NoSync, fs: opts.fs}
	if s.lg == nil {
		s.lg = slog.Default()
	}
	if s.fs == nil {
		s.fs = osFS{}
	}
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("snap: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := s.syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, fmt.Errorf("snap: %w", err)
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snap: %w", err)
	}
	removed := false
	for _, de := range des {
		name := de.Name()
		if _, ok := parseName(strings.TrimSuffix(name, tmpSuffix)); !ok || !strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		path := filepath.Join(dir, name)
		s.lg.Warn("removing the temporary file of an interrupted snapshot save", "file", path)
		if err := removeIfExists(s.fs, path); err != nil {
			return nil, fmt.Errorf("snap: %w", err)
		}
		removed = true
	}
	if removed {
		if err := s.syncDir(dir); err != nil {
			return nil, fmt.Errorf("snap: %w", err)
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) syncDir(dir string) error {
	if s.noSync {
		return nil
	}
	return s.fs.SyncDir(dir)
}

// payloadWriter is the writer handed to Save's callback: it checksums and counts
// the payload on its way to the file. Its first error is sticky.
type payloadWriter struct {
	w   io.Writer
	crc uint32
	n   uint64
	err error
}

func (p *payloadWriter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.crc = crc32.Update(p.crc, castagnoli, b[:n])
	p.n += uint64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	p.err = err
	return n, err
}

// Save writes the snapshot with meta whose payload write streams to w, and
// returns its path once it is durable. It writes a temporary file in the store's
// directory, syncs it, renames it to the snapshot's name (replacing a snapshot
// at the same index) and syncs the directory. The payload is checksummed on its
// way and never held in memory as a whole. If write fails, or anything else
// does, the temporary file is removed and no snapshot appears. A failure after
// the rename (syncing the directory) leaves the snapshot in place, but it may
// not survive a crash.
func (s *Store) Save(meta raftpb.SnapshotMetadata, write func(w io.Writer) error) (string, error) {
	if meta.Index == 0 {
		return "", errors.New("snap: a snapshot cannot be at index 0")
	}
	mb, err := marshalMeta(meta)
	if err != nil {
		return "", err
	}
	start := time.Now()
	s.saveMu.Lock()
	defer s.saveMu.Unlock()

	final := filepath.Join(s.dir, snapName(meta.Index))
	tmp := final + tmpSuffix
	// Only a failed Save whose cleanup failed too leaves one behind.
	if err := removeIfExists(s.fs, tmp); err != nil {
		return "", fmt.Errorf("snap: %w", err)
	}
	f, err := s.fs.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("snap: %w", err)
	}
	size, err := s.writeFile(f, mb, write)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("snap: %s: %w", tmp, cerr)
	}
	if err != nil {
		if rerr := removeIfExists(s.fs, tmp); rerr != nil {
			s.lg.Warn("cannot remove the temporary file of a failed snapshot save", "file", tmp, "err", rerr)
		}
		return "", err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fs.Rename(tmp, final); err != nil {
		if rerr := removeIfExists(s.fs, tmp); rerr != nil {
			s.lg.Warn("cannot remove the temporary file of a failed snapshot save", "file", tmp, "err", rerr)
		}
		return "", fmt.Errorf("snap: %w", err)
	}
	if err := s.syncDir(s.dir); err != nil {
		return "", fmt.Errorf("snap: syncing %s after saving %s: %w", s.dir, final, err)
	}
	s.lg.Info("snapshot saved", "file", final, "index", meta.Index, "term", meta.Term,
		"bytes", size, "took", time.Since(start).Round(time.Millisecond))
	return final, nil
}

// writeFile writes a complete snapshot file with metadata mb to f, the payload
// streamed by write, and syncs it. It returns the file's size.
func (s *Store) writeFile(f file, mb []byte, write func(w io.Writer) error) (int64, error) {
	h := header(mb, 0)
	bw := bufio.NewWriterSize(f, writeBuffer)
	if _, err := bw.Write(h); err != nil {
		return 0, fmt.Errorf("snap: writing header: %w", err)
	}
	pw := &payloadWriter{w: bw}
	if err := write(pw); err != nil {
		return 0, fmt.Errorf("snap: writing payload: %w", err)
	}
	if pw.err != nil { // write swallowed it
		return 0, fmt.Errorf("snap: writing payload: %w", pw.err)
	}
	nOff := len(h) - 8
	binary.LittleEndian.PutUint64(h[nOff:], pw.n)
	crc := crc32.Update(pw.crc, castagnoli, h)
	if _, err := bw.Write(binary.LittleEndian.AppendUint32(nil, crc)); err != nil {
		return 0, fmt.Errorf("snap: writing checksum: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("snap: writing payload: %w", err)
	}
	if _, err := f.WriteAt(h[nOff:], int64(nOff)); err != nil {
		return 0, fmt.Errorf("snap: writing header: %w", err)
	}
	if !s.noSync {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("snap: syncing snapshot: %w", err)
		}
	}
	return int64(len(h)) + int64(pw.n) + trailerSize, nil
}

// Load returns the newest valid snapshot, or ErrNoSnapshot if the directory
// holds none. Newer damaged files are logged and renamed to .broken once a
// valid one is found; if none is valid, nothing is renamed and the error wraps
// ErrCorrupt. A read error or an unknown version is returned as it is.
func (s *Store) Load() (raftpb.SnapshotMetadata, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idxs, err := s.indexes()
	if err != nil {
		return raftpb.SnapshotMetadata{}, nil, err
	}
	var damaged []string
	for _, idx := range idxs {
		path := filepath.Join(s.dir, snapName(idx))
		meta, payload, err := readFile(path)
		switch {
		case err == nil:
			if err := s.setAside(damaged); err != nil {
				return raftpb.SnapshotMetadata{}, nil, err
			}
			return meta, payload, nil
		case errors.Is(err, ErrCorrupt):
			s.lg.Warn("snapshot is damaged; trying an older one", "file", path, "reason", err)
			damaged = append(damaged, path)
		case errors.Is(err, fs.ErrNotExist):
			// Deleted since the directory was read.
		case errors.Is(err, ErrVersion):
			return raftpb.SnapshotMetadata{}, nil, fmt.Errorf("%s: %w", path, err)
		default:
			return raftpb.SnapshotMetadata{}, nil, fmt.Errorf("snap: %w", err)
		}
	}
	if len(damaged) > 0 {
		return raftpb.SnapshotMetadata{}, nil, fmt.Errorf("%w: all %d snapshots in %s are damaged, the newest %s; none was renamed",
			ErrCorrupt, len(damaged), s.dir, damaged[0])
	}
	return raftpb.SnapshotMetadata{}, nil, ErrNoSnapshot
}

// setAside renames damaged snapshot files to name.broken.
func (s *Store) setAside(paths []string) error {
	for _, p := range paths {
		if err := s.fs.Rename(p, p+brokenSuffix); err != nil {
			return fmt.Errorf("snap: setting aside a damaged snapshot: %w", err)
		}
		s.lg.Warn("damaged snapshot set aside", "file", p, "renamed", p+brokenSuffix)
	}
	if len(paths) == 0 {
		return nil
	}
	if err := s.syncDir(s.dir); err != nil {
		return fmt.Errorf("snap: %w", err)
	}
	return nil
}

// Open reads and verifies the snapshot file at path (ReadFile).
func (s *Store) Open(path string) (raftpb.SnapshotMetadata, []byte, error) {
	return ReadFile(path)
}

// indexes returns the indexes of the snapshot files in the directory, newest
// first.
func (s *Store) indexes() ([]uint64, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("snap: %w", err)
	}
	var idxs []uint64
	for _, de := range des {
		if idx, ok := parseName(de.Name()); ok && de.Type().IsRegular() {
			idxs = append(idxs, idx)
		}
	}
	slices.Sort(idxs)
	slices.Reverse(idxs)
	return idxs, nil
}

// List describes the snapshot files in the directory, newest first. It reads
// only their headers.
func (s *Store) List() ([]Info, error) {
	idxs, err := s.indexes()
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(idxs))
	for _, idx := range idxs {
		in, err := s.info(idx)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the directory was read
		}
		if err != nil {
			return nil, fmt.Errorf("snap: %w", err)
		}
		infos = append(infos, in)
	}
	return infos, nil
}

// info describes the snapshot at index; errors are for files that cannot be
// opened.
func (s *Store) info(idx uint64) (Info, error) {
	in := Info{Path: filepath.Join(s.dir, snapName(idx)), Index: idx}
	f, err := os.Open(in.Path)
	if err != nil {
		return in, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return in, err
	}
	in.Size = st.Size()
	meta, err := readHeader(f, in.Size)
	if err == nil && meta.Index != idx {
		err = fmt.Errorf("%w: the name says index %d, the metadata %d", ErrCorrupt, idx, meta.Index)
	}
	if err != nil {
		in.Err = err
		return in, nil
	}
	in.Term = meta.Term
	return in, nil
}

// Purge deletes all but the newest retain snapshots (at least MinRetain), and
// returns the paths it deleted, oldest last. Only files with a sound header
// count toward retain; the newest file is never deleted. Files set aside as
// .broken are left alone.
func (s *Store) Purge(retain int) ([]string, error) {
	retain = max(retain, MinRetain)
	s.mu.Lock()
	defer s.mu.Unlock()
	infos, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	kept := 0
	for i, in := range infos {
		if i == 0 || kept < retain {
			if in.Err == nil {
				kept++
			}
			continue
		}
		if err := removeIfExists(s.fs, in.Path); err != nil {
			return removed, fmt.Errorf("snap: purging: %w", err)
		}
		removed = append(removed, in.Path)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	if err := s.syncDir(s.dir); err != nil {
		return removed, fmt.Errorf("snap: purging: %w", err)
	}
	s.lg.Info("purged old snapshots", "dir", s.dir, "removed", len(removed), "kept", len(infos)-len(removed))
	return removed, nil
}
