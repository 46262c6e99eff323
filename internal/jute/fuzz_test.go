package jute

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
)

// FuzzReadFrame reads frames from arbitrary bytes, under any limit up to
// 4 GiB, through a fast or a slow reader, with or without a reused buffer. The
// result must be exactly what a straightforward model of the format says:
// every complete frame within the limit, then io.EOF at a frame boundary,
// io.ErrUnexpectedEOF inside a frame, or ErrFrameTooLarge (without reading
// the payload) for a length that is negative or above the limit. And what it
// allocates is bounded by the bytes actually read, whatever length was
// announced.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0}, uint32(DefaultMaxBuffer), false, false)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 'x'}, uint32(math.MaxInt32), true, false)
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 'x'}, uint32(DefaultMaxBuffer), false, true)
	f.Add([]byte{0x80, 0, 0, 0}, uint32(math.MaxUint32), false, false)
	f.Add([]byte{0, 1, 0, 1, 'x'}, uint32(frameChunk+1), false, true)
	f.Add([]byte{0, 0, 1}, uint32(16), false, false)
	f.Fuzz(func(t *testing.T, data []byte, limit uint32, reuse, slow bool) {
		max := int(limit)
		fuzzcheck.Bounded(t, "ReadFrame", len(data), 8, func() {
			br := bytes.NewReader(data)
			var src io.Reader = br
			if slow {
				src = iotest.HalfReader(br)
			}
			var buf []byte
			pos := 0
			for {
				p, err := ReadFrame(src, buf, max)
				want, next, wantErr := modelFrame(data[pos:], max)
				if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
					t.Fatalf("frame at %d: err = %v, want %v", pos, err, wantErr)
				}
				if err != nil {
					if p != nil {
						t.Fatalf("frame at %d: %d bytes returned with %v", pos, len(p), err)
					}
					if errors.Is(err, ErrFrameTooLarge) && br.Len() != len(data)-pos-4 {
						t.Fatalf("frame at %d: payload read after an oversized prefix", pos)
					}
					return
				}
				if !bytes.Equal(p, want) || len(p) > max {
					t.Fatalf("frame at %d: got %d bytes, want %d", pos, len(p), len(want))
				}
				pos += next
				if reuse {
					buf = p[:0]
				}
			}
		})
	})
}

// modelFrame says what reading one frame from b must give: the payload and the
// bytes it takes, or the error.
func modelFrame(b []byte, max int) ([]byte, int, error) {
	switch {
	case len(b) == 0:
		return nil, 0, io.EOF
	case len(b) < 4:
		return nil, 0, io.ErrUnexpectedEOF
	}
	n := int(int32(binary.BigEndian.Uint32(b)))
	switch {
	case n < 0 || n > max:
		return nil, 0, ErrFrameTooLarge
	case len(b)-4 < n:
		return nil, 0, io.ErrUnexpectedEOF
	}
	return b[4 : 4+n], 4 + n, nil
}

// FuzzRoundTrip writes a sequence of values chosen by ops (with contents taken
// from data) into frames with a Writer, reads the frames back with ReadFrame
// and the values with a Reader: every value must come back as it was written,
// every frame must be consumed exactly, and nothing may fail.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 7, 3, 4}, []byte("abcdefghijklmnopqrstuvwxyz0123456789"))
	f.Add([]byte{5, 5, 5, 7, 7, 3}, []byte{0xff, 0, 3, 1, 2, 0x80, 'a', 'b', 'c'})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		s := &valueSource{b: data}
		var frames [][]any
		cur := []any{}
		w := NewWriter(nil)
		off := w.BeginFrame()
		for _, op := range ops {
			switch op % 8 {
			case 0:
				v := int32(s.u64())
				w.Int(v)
				cur = append(cur, v)
			case 1:
				v := int64(s.u64())
				w.Long(v)
				cur = append(cur, v)
			case 2:
				v := s.byte()&1 == 1
				w.Bool(v)
				cur = append(cur, v)
			case 3:
				v := s.bytes()
				w.Buffer(v)
				cur = append(cur, v)
			case 4:
				v := string(s.bytes())
				w.String(v)
				cur = append(cur, v)
			case 5:
				var v []string
				if k := int(s.byte()); k&0x80 == 0 {
					v = make([]string, 0, k%8)
					for range k % 8 {
						v = append(v, string(s.bytes()))
					}
				}
				w.Strings(v)
				cur = append(cur, v)
			default:
				w.EndFrame(off)
				frames = append(frames, cur)
				cur = []any{}
				off = w.BeginFrame()
			}
		}
		w.EndFrame(off)
		frames = append(frames, cur)

		rd := bytes.NewReader(w.Bytes())
		for i, want := range frames {
			p, err := ReadFrame(rd, nil, math.MaxInt32)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			r := NewReader(p)
			for j, v := range want {
				var got any
				switch v.(type) {
				case int32:
					got = r.Int()
				case int64:
					got = r.Long()
				case bool:
					got = r.Bool()
				case []byte:
					got = r.Buffer()
				case string:
					got = r.String()
				case []string:
					got = r.Strings()
				}
				if r.Err() != nil || !reflect.DeepEqual(got, v) {
					t.Fatalf("frame %d value %d: wrote %#v, read %#v (%v)", i, j, v, got, r.Err())
				}
			}
			if r.Len() != 0 {
				t.Fatalf("frame %d: %d bytes left after its values", i, r.Len())
			}
		}
		if _, err := ReadFrame(rd, nil, math.MaxInt32); err != io.EOF {
			t.Fatalf("after the last frame: %v", err)
		}
	})
}

// valueSource hands out the fuzzer's bytes as values, and zeros once they run
// out.
type valueSource struct{ b []byte }

func (s *valueSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *valueSource) u64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(s.byte())
	}
	return v
}

// bytes returns nil (one value in sixteen) or up to 31 bytes.
func (s *valueSource) bytes() []byte {
	n := s.byte()
	if n&0xf0 == 0xf0 {
		return nil
	}
	n %= 32
	out := make([]byte, 0, n)
	for range n {
		out = append(out, s.byte())
	}
	return out
}
