package snap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
)

// checkDecode feeds b to the snapshot file reader, both Decode (the whole
// file, checksum verified) and readHeader (what Open and List read of a file:
// the header only). Neither may panic or allocate beyond the file's size;
// every failure wraps ErrCorrupt or ErrVersion; the two must agree on
// everything but the checksum, which only Decode sees; and what Decode accepts
// must encode back to a file that decodes to the same metadata and payload (to
// the same bytes, when the metadata's encoding is canonical).
func checkDecode(t *testing.T, b []byte) {
	var meta raftpb.SnapshotMetadata
	var payload []byte
	var err error
	fuzzcheck.Bounded(t, "Decode", len(b), 16, func() { meta, payload, err = Decode(b) })
	var hmeta raftpb.SnapshotMetadata
	var herr error
	fuzzcheck.Bounded(t, "readHeader", len(b), 16, func() { hmeta, herr = readHeader(bytes.NewReader(b), int64(len(b))) })
	for _, e := range []error{err, herr} {
		if e != nil && !errors.Is(e, ErrCorrupt) && !errors.Is(e, ErrVersion) {
			t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", e)
		}
	}
	if err != nil {
		if payload != nil {
			t.Fatalf("Decode returned a payload with %v", err)
		}
		if errors.Is(err, ErrVersion) && !errors.Is(herr, ErrVersion) {
			t.Fatalf("Decode: %v; readHeader: %v", err, herr)
		}
		if herr == nil {
			// The header is sound: only the checksum can be wrong, and with
			// the right one the file decodes.
			if _, _, err := Decode(sealFrame(b)); err != nil {
				t.Fatalf("readHeader accepts the file, Decode refuses it even with the right checksum: %v", err)
			}
		}
		return
	}
	if herr != nil {
		t.Fatalf("Decode accepts the file, readHeader refuses it: %v", herr)
	}
	if !reflect.DeepEqual(meta, hmeta) {
		t.Fatalf("Decode and readHeader disagree on the metadata: %+v, %+v", meta, hmeta)
	}
	m := int(binary.LittleEndian.Uint32(b[12:]))
	if headEnd := fixedHead + m + 8; !bytes.Equal(payload, b[headEnd:len(b)-trailerSize]) {
		t.Fatal("payload is not the bytes between the header and the checksum")
	}
	again, err := Encode(meta, payload)
	if err != nil {
		t.Fatal(err)
	}
	meta2, payload2, err := Decode(again)
	if err != nil {
		t.Fatalf("re-encoded file does not decode: %v", err)
	}
	if !reflect.DeepEqual(meta, meta2) || !bytes.Equal(payload, payload2) {
		t.Fatalf("decode(encode(meta, payload)) differs: %+v, %+v", meta, meta2)
	}
	if mb, _ := meta.Marshal(); bytes.Equal(mb, b[fixedHead:fixedHead+m]) && !bytes.Equal(again, b) {
		t.Fatal("a file with canonical metadata does not encode back to the same bytes")
	}
}

// FuzzDecodeSealed is FuzzDecode on files that the target first makes sound
// (magic, the payload length the size implies, the checksum; see sealFrame),
// so that the fuzzer spends its time on the version, the metadata length and
// the metadata decoder rather than on the checksum.
func FuzzDecodeSealed(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
		f.Add(b[:fixedHead+2])
		f.Add(withVersion(b, version+1))
	}
	f.Add([]byte(magic + "\x01\x00\x00\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) { checkDecode(t, sealFrame(b)) })
}

// sealFrame returns a copy of b with the magic, the payload length its size
// implies (the metadata length cut to fit) and the checksum put right. Shorter
// inputs than a frame can hold are returned unchanged.
func sealFrame(in []byte) []byte {
	b := bytes.Clone(in)
	if len(b) < overhead {
		return b
	}
	copy(b, magic)
	m := binary.LittleEndian.Uint32(b[12:])
	if room := uint32(len(b) - overhead); m > room {
		m = room
		binary.LittleEndian.PutUint32(b[12:], m)
	}
	headEnd := fixedHead + int(m) + 8
	binary.LittleEndian.PutUint64(b[headEnd-8:], uint64(len(b)-overhead-int(m)))
	payload := b[headEnd : len(b)-trailerSize]
	crc := crc32.Update(crc32.Checksum(payload, castagnoli), castagnoli, b[:headEnd])
	binary.LittleEndian.PutUint32(b[len(b)-trailerSize:], crc)
	return b
}
