package jute

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
)

func TestPrimitivesRoundTrip(t *testing.T) {
	w := NewWriter(nil)
	ints := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 0x01020304}
	longs := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 0x0102030405060708}
	for _, v := range ints {
		w.Int(v)
	}
	for _, v := range longs {
		w.Long(v)
	}
	w.Bool(true)
	w.Bool(false)
	w.Buffer(nil)
	w.Buffer([]byte{})
	w.Buffer([]byte("abc"))
	w.String("")
	w.String("/zk/é")
	w.Strings(nil)
	w.Strings([]string{})
	w.Strings([]string{"a", "", "bc"})

	r := NewReader(w.Bytes())
	for _, want := range ints {
		if got := r.Int(); got != want {
			t.Errorf("Int = %d, want %d", got, want)
		}
	}
	for _, want := range longs {
		if got := r.Long(); got != want {
			t.Errorf("Long = %d, want %d", got, want)
		}
	}
	if !r.Bool() || r.Bool() {
		t.Error("Bool round trip failed")
	}
	if b := r.Buffer(); b != nil {
		t.Errorf("null buffer decoded as %#v, want nil", b)
	}
	if b := r.Buffer(); b == nil || len(b) != 0 {
		t.Errorf("empty buffer decoded as %#v, want non-nil empty", b)
	}
	if b := r.Buffer(); string(b) != "abc" {
		t.Errorf("Buffer = %q", b)
	}
	if s := r.String(); s != "" {
		t.Errorf("String = %q", s)
	}
	if s := r.String(); s != "/zk/é" {
		t.Errorf("String = %q", s)
	}
	if v := r.Strings(); v != nil {
		t.Errorf("null vector decoded as %#v, want nil", v)
	}
	if v := r.Strings(); v == nil || len(v) != 0 {
		t.Errorf("empty vector decoded as %#v, want non-nil empty", v)
	}
	if v := r.Strings(); len(v) != 3 || v[0] != "a" || v[1] != "" || v[2] != "bc" {
		t.Errorf("Strings = %#v", v)
	}
	if r.Err() != nil {
		t.Fatalf("Err = %v", r.Err())
	}
	if r.Len() != 0 || r.Offset() != len(w.Bytes()) {
		t.Errorf("Len = %d, Offset = %d, encoded %d", r.Len(), r.Offset(), len(w.Bytes()))
	}
}

func TestWireFormat(t *testing.T) {
	w := NewWriter(nil)
	w.Int(-2)
	w.Long(0x0102030405060708)
	w.Bool(true)
	w.Buffer(nil)
	w.String("ab")
	w.Strings([]string{"x"})
	want := []byte{
		0xff, 0xff, 0xff, 0xfe,
		1, 2, 3, 4, 5, 6, 7, 8,
		1,
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 2, 'a', 'b',
		0, 0, 0, 1, 0, 0, 0, 1, 'x',
	}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("encoded % x\nwant    % x", w.Bytes(), want)
	}
	if w.Len() != len(want) {
		t.Errorf("Len = %d, want %d", w.Len(), len(want))
	}
}

func TestBoolAnyNonZeroIsTrue(t *testing.T) {
	r := NewReader([]byte{0, 1, 2, 0xff})
	got := []bool{r.Bool(), r.Bool(), r.Bool(), r.Bool()}
	want := []bool{false, true, true, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("byte %d: Bool = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestBufferIsACopy(t *testing.T) {
	src := []byte{0, 0, 0, 3, 'a', 'b', 'c'}
	b := NewReader(src).Buffer()
	src[4] = 'z'
	if string(b) != "abc" {
		t.Fatalf("Buffer aliases its input: %q", b)
	}
}

func TestWriterAppendsAndResets(t *testing.T) {
	w := NewWriter([]byte{9})
	w.Int(1)
	if !bytes.Equal(w.Bytes(), []byte{9, 0, 0, 0, 1}) {
		t.Fatalf("NewWriter does not append: % x", w.Bytes())
	}
	c := cap(w.Bytes())
	w.Reset()
	if w.Len() != 0 || cap(w.Bytes()) != c {
		t.Fatalf("Reset: len %d cap %d, want 0 and %d", w.Len(), cap(w.Bytes()), c)
	}
}

func TestFrame(t *testing.T) {
	w := NewWriter([]byte{0xaa})
	off := w.BeginFrame()
	w.Int(7)
	w.String("abc")
	w.EndFrame(off)
	off2 := w.BeginFrame()
	w.EndFrame(off2)
	want := []byte{0xaa, 0, 0, 0, 11, 0, 0, 0, 7, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0}
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("frames % x\nwant   % x", w.Bytes(), want)
	}

	rd := bytes.NewReader(w.Bytes()[1:])
	p, err := ReadFrame(rd, nil, DefaultMaxBuffer)
	if err != nil || !bytes.Equal(p, want[5:16]) {
		t.Fatalf("ReadFrame = % x, %v", p, err)
	}
	p, err = ReadFrame(rd, nil, DefaultMaxBuffer)
	if err != nil || len(p) != 0 {
		t.Fatalf("empty frame: ReadFrame = % x, %v", p, err)
	}
	if _, err := ReadFrame(rd, nil, DefaultMaxBuffer); err != io.EOF {
		t.Fatalf("after the last frame: err = %v, want io.EOF", err)
	}
}

func frame(n uint32, payload []byte) []byte {
	w := NewWriter(nil)
	w.Int(int32(n))
	return append(w.Bytes(), payload...)
}

func TestReadFrameLimits(t *testing.T) {
	payload := bytes.Repeat([]byte{'x'}, 16)
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantErr error
		wantLen int
	}{
		{"at limit", frame(16, payload), 16, nil, 16},
		{"one over limit", frame(17, append(payload, 'y')), 16, ErrFrameTooLarge, 0},
		{"negative -1", frame(0xffffffff, payload), DefaultMaxBuffer, ErrFrameTooLarge, 0},
		{"negative min", frame(0x80000000, payload), DefaultMaxBuffer, ErrFrameTooLarge, 0},
		{"huge", frame(0x7fffffff, payload), DefaultMaxBuffer, ErrFrameTooLarge, 0},
		{"default max plus one", frame(DefaultMaxBuffer+1, nil), DefaultMaxBuffer, ErrFrameTooLarge, 0},
		{"short payload", frame(20, payload), DefaultMaxBuffer, io.ErrUnexpectedEOF, 0},
		{"no payload", frame(1, nil), DefaultMaxBuffer, io.ErrUnexpectedEOF, 0},
		{"empty stream", nil, DefaultMaxBuffer, io.EOF, 0},
		{"short prefix", []byte{0, 0, 1}, DefaultMaxBuffer, io.ErrUnexpectedEOF, 0},
		{"zero length", frame(0, nil), DefaultMaxBuffer, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadFrame(bytes.NewReader(tt.in), nil, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if p != nil {
					t.Errorf("payload %d bytes returned with error", len(p))
				}
				return
			}
			if len(p) != tt.wantLen || !bytes.Equal(p, tt.in[4:]) {
				t.Errorf("payload % x", p)
			}
		})
	}
}

// An oversized or negative prefix must be rejected before anything of that
// size is allocated or read.
func TestReadFrameOversizedDoesNotAllocateOrRead(t *testing.T) {
	for _, n := range []uint32{0x7fffffff, 0xffffffff, 0x80000000, DefaultMaxBuffer + 1} {
		in := frame(n, []byte("rest"))
		var rd *bytes.Reader
		allocs := testing.AllocsPerRun(10, func() {
			rd = bytes.NewReader(in)
			_, _ = ReadFrame(rd, nil, DefaultMaxBuffer)
		})
		// The error value itself allocates a little; a payload-sized buffer
		// would show up as far more than that in bytes, which we check by
		// making sure the payload was not consumed.
		if allocs > 8 {
			t.Errorf("prefix %#x: %v allocations", n, allocs)
		}
		if rd.Len() != 4 {
			t.Errorf("prefix %#x: payload consumed, %d bytes left", n, rd.Len())
		}
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	p, err := ReadFrame(bytes.NewReader(frame(3, []byte("abc"))), buf, DefaultMaxBuffer)
	if err != nil || string(p) != "abc" {
		t.Fatalf("ReadFrame = %q, %v", p, err)
	}
	if &p[0] != &buf[:1][0] {
		t.Error("a buffer with enough capacity was not reused")
	}
	small := make([]byte, 0, 2)
	p, err = ReadFrame(bytes.NewReader(frame(3, []byte("xyz"))), small, DefaultMaxBuffer)
	if err != nil || string(p) != "xyz" {
		t.Fatalf("ReadFrame into small buffer = %q, %v", p, err)
	}
}

func TestReadFrameSlowReader(t *testing.T) {
	in := append(frame(5, []byte("hello")), frame(2, []byte("hi"))...)
	rd := iotest.OneByteReader(bytes.NewReader(in))
	for _, want := range []string{"hello", "hi"} {
		p, err := ReadFrame(rd, nil, DefaultMaxBuffer)
		if err != nil || string(p) != want {
			t.Fatalf("ReadFrame = %q, %v; want %q", p, err, want)
		}
	}
}

func TestReadFramePropagatesReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadFrame(iotest.ErrReader(boom), nil, DefaultMaxBuffer)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	rd := io.MultiReader(bytes.NewReader(frame(8, []byte("abc"))), iotest.ErrReader(boom))
	_, err = ReadFrame(rd, nil, DefaultMaxBuffer)
	if !errors.Is(err, boom) {
		t.Fatalf("payload read: err = %v, want %v", err, boom)
	}
}

func TestLengthErrors(t *testing.T) {
	type read func(r *Reader)
	buffer := func(r *Reader) { r.Buffer() }
	str := func(r *Reader) { _ = r.String() }
	strs := func(r *Reader) { r.Strings() }
	vec := func(r *Reader) { r.VectorLen(12) }
	readers := map[string]read{"Buffer": buffer, "String": str, "Strings": strs, "VectorLen": vec}
	cases := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"-2", []byte{0xff, 0xff, 0xff, 0xfe, 'a'}, ErrBadLength},
		{"min int", []byte{0x80, 0, 0, 0, 'a'}, ErrBadLength},
		{"past end", []byte{0, 0, 0, 5, 'a', 'b'}, ErrBadLength},
		{"huge", []byte{0x7f, 0xff, 0xff, 0xff, 'a'}, ErrBadLength},
		{"truncated prefix", []byte{0, 0, 0}, ErrShort},
		{"empty", nil, ErrShort},
	}
	vectors := map[string]bool{"Strings": true, "VectorLen": true}
	for name, rd := range readers {
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				r := NewReader(c.in)
				rd(r)
				want := c.wantErr
				if vectors[name] && (c.name == "-2" || c.name == "min int") {
					// A vector count below -1 is an empty vector, as in
					// ZooKeeper's BinaryInputArchive.
					want = nil
				}
				if !errors.Is(r.Err(), want) {
					t.Fatalf("Err = %v, want %v", r.Err(), want)
				}
			})
		}
	}
	r := NewReader([]byte{0xff, 0xff, 0xff, 0xfe})
	if n := r.VectorLen(1); n != 0 || r.Err() != nil {
		t.Fatalf("VectorLen of -2 = %d, %v; want 0 (empty)", n, r.Err())
	}
	r = NewReader([]byte{0xff, 0xff, 0xff, 0xff})
	if s := r.NonNullString(); s != "" || !errors.Is(r.Err(), ErrBadLength) {
		t.Fatalf("NonNullString of null = %q, %v; want ErrBadLength", s, r.Err())
	}
}

func TestNullLengths(t *testing.T) {
	null := []byte{0xff, 0xff, 0xff, 0xff}
	r := NewReader(null)
	if b := r.Buffer(); b != nil || r.Err() != nil {
		t.Errorf("Buffer = %#v, %v", b, r.Err())
	}
	r = NewReader(null)
	if s := r.String(); s != "" || r.Err() != nil {
		t.Errorf("String = %q, %v", s, r.Err())
	}
	r = NewReader(null)
	if v := r.Strings(); v != nil || r.Err() != nil {
		t.Errorf("Strings = %#v, %v", v, r.Err())
	}
	r = NewReader(null)
	if n := r.VectorLen(1); n != -1 || r.Err() != nil {
		t.Errorf("VectorLen = %d, %v", n, r.Err())
	}
}

func TestVectorLenChecksMinimumElementSize(t *testing.T) {
	// 3 elements of at least 4 bytes need 12 bytes; 11 are left.
	in := append([]byte{0, 0, 0, 3}, make([]byte, 11)...)
	r := NewReader(in)
	if n := r.VectorLen(4); n != -1 || !errors.Is(r.Err(), ErrBadLength) {
		t.Fatalf("VectorLen = %d, %v; want -1, ErrBadLength", n, r.Err())
	}
	in = append(in, 0)
	r = NewReader(in)
	if n := r.VectorLen(4); n != 3 || r.Err() != nil {
		t.Fatalf("VectorLen = %d, %v; want 3", n, r.Err())
	}
	// A minimum element size below one byte is still bounded by the bytes left.
	for _, minElem := range []int{0, -1} {
		r = NewReader([]byte{0x7f, 0xff, 0xff, 0xff, 0})
		if n := r.VectorLen(minElem); n != -1 || !errors.Is(r.Err(), ErrBadLength) {
			t.Errorf("VectorLen(%d) of a huge count = %d, %v; want -1, ErrBadLength", minElem, n, r.Err())
		}
	}
}

func TestHugeCountsDoNotAllocate(t *testing.T) {
	huge := []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	for name, f := range map[string]func(r *Reader){
		"Buffer":  func(r *Reader) { r.Buffer() },
		"String":  func(r *Reader) { _ = r.String() },
		"Strings": func(r *Reader) { r.Strings() },
	} {
		r := NewReader(nil)
		allocs := testing.AllocsPerRun(100, func() {
			r.Reset(huge)
			f(r)
		})
		if r.Err() == nil {
			t.Errorf("%s: no error for a count of 2^31-1 with 4 bytes left", name)
		}
		// The wrapped error costs a few small allocations; anything sized by the
		// count would be gigabytes and fail the test run outright, so also cap
		// the number here.
		if allocs > 4 {
			t.Errorf("%s: %v allocations", name, allocs)
		}
	}
}

func TestStickyError(t *testing.T) {
	r := NewReader([]byte{0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22, 0x33})
	if r.Int() != 1 {
		t.Fatal("first Int")
	}
	if v := r.Long(); uint64(v) != 0xaabbccddeeff1122 || r.Err() != nil {
		t.Fatalf("second Long = %#x, %v", v, r.Err())
	}
	// 1 byte left: every read now fails and yields zero values.
	_ = r.Long()
	first := r.Err()
	if !errors.Is(first, ErrShort) {
		t.Fatalf("Err = %v, want ErrShort", first)
	}
	off := r.Offset()
	if r.Bool() || r.Int() != 0 || r.Long() != 0 || r.Buffer() != nil || r.String() != "" ||
		r.Strings() != nil || r.VectorLen(1) != -1 {
		t.Error("reads after an error return non-zero values")
	}
	r.Fail(errors.New("later"))
	if r.Err() != first {
		t.Errorf("Err changed to %v after further failures", r.Err())
	}
	if r.Offset() != off {
		t.Errorf("Offset moved from %d to %d after the error", off, r.Offset())
	}
}

func TestFailKeepsFirstError(t *testing.T) {
	r := NewReader([]byte{1, 2, 3, 4})
	a, b := errors.New("a"), errors.New("b")
	r.Fail(a)
	r.Fail(b)
	if r.Err() != a {
		t.Fatalf("Err = %v, want %v", r.Err(), a)
	}
	if r.Int() != 0 {
		t.Error("read succeeded after Fail")
	}
}

func TestZeroReaderAndReset(t *testing.T) {
	var r Reader
	if r.Len() != 0 || r.Int() != 0 || !errors.Is(r.Err(), ErrShort) {
		t.Fatalf("zero Reader: Len %d, Err %v", r.Len(), r.Err())
	}
	r.Reset([]byte{0, 0, 0, 9})
	if r.Err() != nil || r.Int() != 9 || r.Offset() != 4 || r.Len() != 0 {
		t.Fatalf("after Reset: Err %v, Offset %d", r.Err(), r.Offset())
	}
}

func TestTruncatedPrimitives(t *testing.T) {
	for name, f := range map[string]func(r *Reader){
		"Int":  func(r *Reader) { r.Int() },
		"Long": func(r *Reader) { r.Long() },
		"Bool": func(r *Reader) { r.Bool() },
	} {
		r := NewReader(nil)
		f(r)
		if !errors.Is(r.Err(), ErrShort) {
			t.Errorf("%s on empty input: Err = %v", name, r.Err())
		}
	}
	r := NewReader([]byte{1, 2, 3, 4, 5, 6, 7})
	if r.Long() != 0 || !errors.Is(r.Err(), ErrShort) || r.Offset() != 0 {
		t.Errorf("Long on 7 bytes: Err %v, Offset %d", r.Err(), r.Offset())
	}
	// A string vector whose last element is cut short.
	w := NewWriter(nil)
	w.Strings([]string{"abc", "defgh"})
	in := w.Bytes()
	for n := 0; n < len(in); n++ {
		r := NewReader(in[:n])
		r.Strings()
		if r.Err() == nil {
			t.Errorf("Strings on %d of %d bytes: no error", n, len(in))
		}
	}
}

func TestLongStringRoundTrip(t *testing.T) {
	s := strings.Repeat("z", DefaultMaxBuffer)
	w := NewWriter(nil)
	w.String(s)
	r := NewReader(w.Bytes())
	if got := r.String(); got != s || r.Err() != nil {
		t.Fatalf("round trip of a %d-byte string failed: %v", len(s), r.Err())
	}
}

// FuzzReader drives the Reader with arbitrary operations over arbitrary bytes:
// it must never panic, never read past the end, after an error every read
// returns zero values, and what it allocates is bounded by the input's size
// whatever lengths and counts the input declares.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, []byte{0, 0, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{5, 5, 6}, []byte{0, 0, 0, 2, 0, 0, 0, 1, 'x', 0, 0, 0, 0})
	f.Add([]byte{3, 4}, []byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		fuzzcheck.Bounded(t, "Reader", len(data), 8, func() { fuzzReader(t, ops, data) })
	})
}

func fuzzReader(t *testing.T, ops, data []byte) {
	r := NewReader(data)
	for _, op := range ops {
		before := r.Offset()
		failed := r.Err() != nil
		switch op % 7 {
		case 0:
			v := r.Int()
			if failed && v != 0 {
				t.Fatal("Int after error")
			}
		case 1:
			v := r.Long()
			if failed && v != 0 {
				t.Fatal("Long after error")
			}
		case 2:
			v := r.Bool()
			if failed && v {
				t.Fatal("Bool after error")
			}
		case 3:
			b := r.Buffer()
			if b != nil && r.Err() != nil {
				t.Fatal("Buffer returned data with an error")
			}
		case 4:
			s := r.String()
			if s != "" && r.Err() != nil {
				t.Fatal("String returned data with an error")
			}
		case 5:
			v := r.Strings()
			if v != nil && failed {
				t.Fatal("Strings after error")
			}
		case 6:
			n := r.VectorLen(int(op>>3) % 16)
			if n > r.Len() {
				t.Fatalf("VectorLen %d with %d bytes left", n, r.Len())
			}
		}
		if r.Offset() < before || r.Offset() > len(data) || r.Len() != len(data)-r.Offset() {
			t.Fatalf("offset %d -> %d over %d bytes", before, r.Offset(), len(data))
		}
		if failed && r.Offset() != before {
			t.Fatal("reader advanced after an error")
		}
	}
}

// A length prefix is a claim: with the limit at its largest, a frame that
// announces 2 GB and sends ten bytes must cost about ten bytes, not 2 GB.
func TestReadFrameAnnouncedButNotSentDoesNotAllocate(t *testing.T) {
	for _, n := range []uint32{0x7fffffff, 1 << 30, 200 << 20, frameChunk + 1} {
		in := frame(n, []byte("0123456789"))
		var err error
		got := fuzzcheck.AllocBytes(func() { _, err = ReadFrame(bytes.NewReader(in), nil, math.MaxInt32) })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("prefix %#x: err = %v, want io.ErrUnexpectedEOF", n, err)
		}
		if got > 4*frameChunk {
			t.Errorf("prefix %#x with 10 bytes of payload: %d bytes allocated", n, got)
		}
	}
}

// Frames above frameChunk grow their buffer as they arrive and still come out
// whole, whatever the reads return and whatever buffer the caller passes.
func TestReadFrameLargeGrows(t *testing.T) {
	for _, n := range []int{frameChunk, frameChunk + 1, 3*frameChunk + 17, 5 << 20} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		in := frame(uint32(n), payload)
		for _, buf := range [][]byte{nil, make([]byte, 0, 100), make([]byte, 0, frameChunk+5), make([]byte, 0, n)} {
			p, err := ReadFrame(iotest.HalfReader(bytes.NewReader(in)), buf, math.MaxInt32)
			if err != nil || !bytes.Equal(p, payload) {
				t.Fatalf("%d bytes into a buffer of cap %d: %d bytes, %v", n, cap(buf), len(p), err)
			}
			if cap(buf) >= n && &p[0] != &buf[:1][0] {
				t.Errorf("%d bytes: a buffer of cap %d was not reused", n, cap(buf))
			}
			if _, err := ReadFrame(bytes.NewReader(in[:len(in)-1]), buf, math.MaxInt32); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%d bytes less one: err = %v", n, err)
			}
		}
	}
}
