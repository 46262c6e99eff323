package snap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"go.etcd.io/raft/v3/raftpb"
)

// Format constants; doc.go specifies the layout.
const (
	magic       = "gozksnap"
	version     = 1
	maxMeta     = 64 << 20 // largest metadata accepted
	fixedHead   = 16       // magic, version, m
	trailerSize = 4        // crc
	// overhead is the size of a file with empty metadata and payload.
	overhead = fixedHead + 8 + trailerSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header returns the bytes before the payload for metadata encoded as meta and
// a payload of n bytes.
func header(meta []byte, n uint64) []byte {
	h := make([]byte, fixedHead+len(meta)+8)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(meta)))
	copy(h[fixedHead:], meta)
	binary.LittleEndian.PutUint64(h[fixedHead+len(meta):], n)
	return h
}

// marshalMeta encodes meta for the header.
func marshalMeta(meta raftpb.SnapshotMetadata) ([]byte, error) {
	b, err := meta.Marshal()
	if err != nil {
		return nil, fmt.Errorf("snap: encoding metadata: %w", err)
	}
	if len(b) > maxMeta {
		return nil, fmt.Errorf("snap: metadata of %d bytes is over the %d-byte limit", len(b), maxMeta)
	}
	return b, nil
}

// Encode returns the file contents of a snapshot with meta and payload, as Save
// writes them.
func Encode(meta raftpb.SnapshotMetadata, payload []byte) ([]byte, error) {
	mb, err := marshalMeta(meta)
	if err != nil {
		return nil, err
	}
	h := header(mb, uint64(len(payload)))
	out := make([]byte, 0, len(h)+len(payload)+trailerSize)
	out = append(out, h...)
	out = append(out, payload...)
	crc := crc32.Update(crc32.Checksum(payload, castagnoli), castagnoli, h)
	return binary.LittleEndian.AppendUint32(out, crc), nil
}

// Decode verifies the contents of a snapshot file and returns its metadata and
// payload, which aliases b. Every failure wraps ErrCorrupt, except an unknown
// version, which wraps ErrVersion.
func Decode(b []byte) (raftpb.SnapshotMetadata, []byte, error) {
	var meta raftpb.SnapshotMetadata
	m, n, err := checkFrame(b, int64(len(b)))
	if err != nil {
		return meta, nil, err
	}
	headEnd := fixedHead + m + 8
	payload := b[headEnd : headEnd+n : headEnd+n]
	want := binary.LittleEndian.Uint32(b[headEnd+n:])
	got := crc32.Update(crc32.Checksum(payload, castagnoli), castagnoli, b[:headEnd])
	if got != want {
		return meta, nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, want, got)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return meta, nil, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, v, version)
	}
	if err := meta.Unmarshal(b[fixedHead : fixedHead+m]); err != nil {
		return raftpb.SnapshotMetadata{}, nil, fmt.Errorf("%w: metadata: %w", ErrCorrupt, err)
	}
	return meta, payload, nil
}

// checkFrame checks the magic and the lengths of a file of size bytes whose
// first bytes are b (at least the fixed header and the metadata, when the file
// has them), and returns the metadata length m and payload length n.
func checkFrame(b []byte, size int64) (m, n int, err error) {
	if size < overhead {
		return 0, 0, fmt.Errorf("%w: %d bytes is shorter than any snapshot file", ErrCorrupt, size)
	}
	if len(b) < fixedHead {
		return 0, 0, fmt.Errorf("%w: header unreadable", ErrCorrupt)
	}
	if string(b[:8]) != magic {
		return 0, 0, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:8])
	}
	m64 := int64(binary.LittleEndian.Uint32(b[12:]))
	if m64 > maxMeta || m64 > size-overhead {
		return 0, 0, fmt.Errorf("%w: metadata length %d does not fit in a file of %d bytes", ErrCorrupt, m64, size)
	}
	m = int(m64)
	if int64(len(b)) < fixedHead+m64+8 {
		return 0, 0, fmt.Errorf("%w: header unreadable", ErrCorrupt)
	}
	n64 := binary.LittleEndian.Uint64(b[fixedHead+m:])
	if want := size - overhead - m64; n64 != uint64(want) {
		return 0, 0, fmt.Errorf("%w: payload length %d, but the file of %d bytes has room for %d (truncated or extended)", ErrCorrupt, n64, size, want)
	}
	return m, int(n64), nil
}

// readHeader reads and checks the header of the open file f of size bytes,
// without reading the payload or verifying the checksum.
func readHeader(f io.ReaderAt, size int64) (raftpb.SnapshotMetadata, error) {
	var meta raftpb.SnapshotMetadata
	if _, _, err := checkFrame(nil, size); size < overhead {
		return meta, err
	}
	fixed := make([]byte, fixedHead)
	if _, err := f.ReadAt(fixed, 0); err != nil {
		return meta, err
	}
	m := int64(binary.LittleEndian.Uint32(fixed[12:]))
	b := fixed
	if m <= maxMeta && m <= size-overhead {
		b = make([]byte, fixedHead+m+8)
		if _, err := f.ReadAt(b, 0); err != nil {
			return meta, err
		}
	}
	m2, _, err := checkFrame(b, size)
	if err != nil {
		return meta, err
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return meta, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, v, version)
	}
	if err := meta.Unmarshal(b[fixedHead : fixedHead+m2]); err != nil {
		return raftpb.SnapshotMetadata{}, fmt.Errorf("%w: metadata: %w", ErrCorrupt, err)
	}
	return meta, nil
}

// ReadFile reads and verifies the snapshot file at path. When the file's name
// is a snapshot name (snapshot-%016x.gzsnap), its index must be the metadata's.
// It changes nothing, so tools may use it on any file.
func ReadFile(path string) (raftpb.SnapshotMetadata, []byte, error) {
	meta, payload, err := readFile(path)
	switch {
	case err == nil:
		return meta, payload, nil
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrVersion):
		return meta, nil, fmt.Errorf("%s: %w", path, err)
	default:
		return meta, nil, fmt.Errorf("snap: %w", err)
	}
}

// readFile is ReadFile with errors that do not name the file.
func readFile(path string) (raftpb.SnapshotMetadata, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return raftpb.SnapshotMetadata{}, nil, err
	}
	meta, payload, err := Decode(b)
	if err != nil {
		return raftpb.SnapshotMetadata{}, nil, err
	}
	if idx, ok := parseName(filepath.Base(path)); ok && idx != meta.Index {
		return raftpb.SnapshotMetadata{}, nil, fmt.Errorf("%w: the name says index %d, the metadata %d", ErrCorrupt, idx, meta.Index)
	}
	return meta, payload, nil
}
