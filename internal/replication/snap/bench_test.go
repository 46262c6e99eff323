package snap

import (
	"io"
	"testing"
)

const benchPayload = 100 << 20

// chunked streams n bytes by repeating chunk, as a state machine writing its
// tree node by node would.
func chunked(chunk []byte, n int) func(io.Writer) error {
	return func(w io.Writer) error {
		for n > 0 {
			c := min(n, len(chunk))
			if _, err := w.Write(chunk[:c]); err != nil {
				return err
			}
			n -= c
		}
		return nil
	}
}

func benchChunk() []byte {
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	return chunk
}

// BenchmarkSaveLoad100MB saves and loads a 100 MB payload, synced; MB/s counts
// the payload once per round trip.
func BenchmarkSaveLoad100MB(b *testing.B) {
	s := mustNew(b, b.TempDir(), Options{})
	chunk := benchChunk()
	b.SetBytes(benchPayload)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Save(metaAt(1), chunked(chunk, benchPayload)); err != nil {
			b.Fatal(err)
		}
		if _, payload, err := s.Load(); err != nil || len(payload) != benchPayload {
			b.Fatal(len(payload), err)
		}
	}
}

func BenchmarkSave100MB(b *testing.B) {
	for _, c := range []struct {
		name   string
		noSync bool
	}{{"sync", false}, {"nosync", true}} {
		b.Run(c.name, func(b *testing.B) {
			s := mustNew(b, b.TempDir(), Options{NoSync: c.noSync})
			chunk := benchChunk()
			b.SetBytes(benchPayload)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Save(metaAt(1), chunked(chunk, benchPayload)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLoad100MB(b *testing.B) {
	s := mustNew(b, b.TempDir(), Options{})
	if _, err := s.Save(metaAt(1), chunked(benchChunk(), benchPayload)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchPayload)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, payload, err := s.Load(); err != nil || len(payload) != benchPayload {
			b.Fatal(len(payload), err)
		}
	}
}
