package snap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// frame builds a file of version v around raw metadata bytes, with a valid
// checksum.
func frame(meta, payload []byte, v uint32) []byte {
	h := header(meta, uint64(len(payload)))
	binary.LittleEndian.PutUint32(h[8:], v)
	out := append(h, payload...)
	crc := crc32.Update(crc32.Checksum(payload, castagnoli), castagnoli, h)
	return binary.LittleEndian.AppendUint32(out, crc)
}

func seedFiles(f *testing.F) [][]byte {
	var files [][]byte
	for _, c := range []struct {
		meta    raftpb.SnapshotMetadata
		payload []byte
	}{
		{raftpb.SnapshotMetadata{Index: 1, Term: 1}, nil},
		{metaAt(100000), []byte("payload")},
		{metaAt(1 << 40), bytes.Repeat([]byte{0xab}, 300)},
	} {
		b, err := Encode(c.meta, c.payload)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, b)
	}
	return files
}

func TestDecodeRejectsEveryDamage(t *testing.T) {
	b, err := Encode(metaAt(77), []byte("some payload bytes"))
	if err != nil {
		t.Fatal(err)
	}
	for off := range b {
		for _, bit := range []byte{1, 0x80} {
			c := bytes.Clone(b)
			c[off] ^= bit
			if _, _, err := Decode(c); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("bit %#x flipped at %d: %v", bit, off, err)
			}
		}
	}
	for n := range len(b) {
		if _, _, err := Decode(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder and to the header-only
// reader used by List; checkDecode says what they must do.
func FuzzDecode(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(withVersion(b, 2))
	}
	f.Add([]byte("gozksnap"))
	f.Fuzz(checkDecode)
}

// FuzzDecodeFramed puts arbitrary metadata bytes and payloads in a well-formed
// frame with a valid checksum, so that the fuzzer reaches the version check
// and the metadata decoder.
func FuzzDecodeFramed(f *testing.F) {
	for _, m := range []raftpb.SnapshotMetadata{{Index: 1}, metaAt(5), metaAt(1 << 50)} {
		mb, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(mb, []byte("p"), uint32(1))
	}
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, []byte{}, uint32(1))
	f.Add([]byte{}, []byte{}, uint32(2))
	f.Fuzz(func(t *testing.T, mb, payload []byte, v uint32) {
		b := frame(mb, payload, v)
		checkDecode(t, b)
		meta, got, err := Decode(b)
		switch {
		case v != version:
			if !errors.Is(err, ErrVersion) {
				t.Fatalf("version %d: %v", v, err)
			}
		case err != nil:
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error of no known kind: %v", err)
			}
			var m raftpb.SnapshotMetadata
			if m.Unmarshal(mb) == nil {
				t.Fatalf("valid metadata rejected: %v", err)
			}
		default:
			if !bytes.Equal(got, payload) {
				t.Fatal("payload changed")
			}
			var m raftpb.SnapshotMetadata
			if err := m.Unmarshal(mb); err != nil || m.Index != meta.Index || m.Term != meta.Term {
				t.Fatalf("metadata %v, decoded separately %v (%v)", meta, m, err)
			}
		}
	})
}
