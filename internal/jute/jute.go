// Package jute implements the primitive encoding of Apache ZooKeeper's Jute
// serialization: big-endian ints and longs, one-byte booleans, length-prefixed
// buffers, strings and vectors (length -1 meaning null), and length-prefixed frames.
//
// Decoding uses a Reader with a sticky error: after the first short read or bad
// length every further read returns zero values and Err reports the first failure,
// so record decoders are straight-line code that checks the error once. Every
// length read from the wire is checked against the bytes left before anything is
// allocated.
package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxBuffer is ZooKeeper's default jute.maxbuffer (1 MiB - 1).
const DefaultMaxBuffer = 0xfffff

// DefaultExtraSize is ZooKeeper's default jute.maxbuffer.extrasize: the slack a
// server allows on top of jute.maxbuffer for request headers and paths.
const DefaultExtraSize = 1024

var (
	// ErrShort is returned when a record needs more bytes than remain.
	ErrShort = errors.New("jute: short buffer")
	// ErrBadLength is returned for a negative length other than -1, or one past the bytes left.
	ErrBadLength = errors.New("jute: invalid length")
	// ErrFrameTooLarge is returned when a frame's length prefix exceeds the limit.
	ErrFrameTooLarge = errors.New("jute: frame exceeds jute.maxbuffer")
)

// Reader decodes Jute primitives from a byte slice. The zero value reads nothing.
type Reader struct {
	buf []byte
	off int
	err error
}

// NewReader returns a Reader over b. The Reader does not copy b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// Reset makes r read b from the start and clears its error.
func (r *Reader) Reset(b []byte) { r.buf, r.off, r.err = b, 0, nil }

// Err returns the first decoding error, if any.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.buf) - r.off }

// Offset returns the number of bytes consumed.
func (r *Reader) Offset() int { return r.off }

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.fail(ErrShort)
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

// Int reads a 4-byte big-endian signed integer.
func (r *Reader) Int() int32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Long reads an 8-byte big-endian signed integer.
func (r *Reader) Long() int64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Bool reads a one-byte boolean (any non-zero byte is true).
func (r *Reader) Bool() bool {
	b := r.take(1)
	if b == nil {
		return false
	}
	return b[0] != 0
}

// length reads a length prefix and checks that -1 <= n and that n elements of at
// least minElem bytes each fit in what is left.
func (r *Reader) length(minElem int) int {
	n := r.Int()
	if r.err != nil {
		return -1
	}
	if n < -1 {
		r.fail(fmt.Errorf("%w: %d", ErrBadLength, n))
		return -1
	}
	if minElem < 1 {
		minElem = 1
	}
	if n > 0 && int64(n)*int64(minElem) > int64(r.Len()) {
		r.fail(fmt.Errorf("%w: %d with %d bytes left", ErrBadLength, n, r.Len()))
		return -1
	}
	return int(n)
}

// Buffer reads a length-prefixed byte buffer; a -1 length yields nil. The result
// is a copy, safe to keep after the underlying slice is reused.
func (r *Reader) Buffer() []byte {
	n := r.length(1)
	if n < 0 {
		return nil
	}
	b := r.take(n)
	if b == nil {
		return nil
	}
	out := make([]byte, n)
	copy(out, b)
	return out
}

// String reads a length-prefixed UTF-8 string; a -1 length yields "".
func (r *Reader) String() string {
	n := r.length(1)
	if n < 0 {
		return ""
	}
	return string(r.take(n))
}

// NonNullString reads a string that may not be null: a -1 length fails the
// reader (ZooKeeper fails a request whose path is null).
func (r *Reader) NonNullString() string {
	n := r.length(1)
	if n == -1 && r.err == nil {
		r.fail(fmt.Errorf("%w: null string", ErrBadLength))
	}
	if n < 0 {
		return ""
	}
	return string(r.take(n))
}

// VectorLen reads a vector's element count; -1 (null) is returned as -1, and
// another negative count as 0, an empty vector, as ZooKeeper's
// BinaryInputArchive reads it. minElem is the smallest encoded size of one
// element, used to reject impossible counts.
func (r *Reader) VectorLen(minElem int) int {
	n := r.Int()
	switch {
	case r.err != nil:
		return -1
	case n < -1:
		return 0
	}
	if minElem < 1 {
		minElem = 1
	}
	if n > 0 && int64(n)*int64(minElem) > int64(r.Len()) {
		r.fail(fmt.Errorf("%w: %d with %d bytes left", ErrBadLength, n, r.Len()))
		return -1
	}
	return int(n)
}

// Strings reads a vector of strings; null yields nil.
func (r *Reader) Strings() []string {
	n := r.VectorLen(4)
	if n < 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.String())
	}
	return out
}

// Writer encodes Jute primitives by appending to a byte slice.
type Writer struct {
	buf []byte
}

// NewWriter returns a Writer that appends to b (which may be nil).
func NewWriter(b []byte) *Writer { return &Writer{buf: b} }

// Bytes returns the encoded bytes.
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns the number of bytes written.
func (w *Writer) Len() int { return len(w.buf) }

// Reset truncates the writer to zero length, keeping its capacity.
func (w *Writer) Reset() { w.buf = w.buf[:0] }

// Int appends a 4-byte big-endian integer.
func (w *Writer) Int(v int32) { w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v)) }

// Long appends an 8-byte big-endian integer.
func (w *Writer) Long(v int64) { w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(v)) }

// Bool appends a one-byte boolean.
func (w *Writer) Bool(v bool) {
	if v {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// Buffer appends a length-prefixed buffer; nil is written as length -1.
func (w *Writer) Buffer(b []byte) {
	if b == nil {
		w.Int(-1)
		return
	}
	w.Int(int32(len(b)))
	w.buf = append(w.buf, b...)
}

// String appends a length-prefixed string.
func (w *Writer) String(s string) {
	w.Int(int32(len(s)))
	w.buf = append(w.buf, s...)
}

// Strings appends a vector of strings; nil is written as -1.
func (w *Writer) Strings(v []string) {
	if v == nil {
		w.Int(-1)
		return
	}
	w.Int(int32(len(v)))
	for _, s := range v {
		w.String(s)
	}
}

// BeginFrame reserves room for a 4-byte length prefix and returns its offset, to be
// passed to EndFrame once the payload is written.
func (w *Writer) BeginFrame() int {
	off := len(w.buf)
	w.buf = append(w.buf, 0, 0, 0, 0)
	return off
}

// EndFrame fills in the length prefix reserved at off.
func (w *Writer) EndFrame(off int) {
	binary.BigEndian.PutUint32(w.buf[off:], uint32(len(w.buf)-off-4))
}

// frameChunk is the most ReadFrame allocates ahead of the payload bytes that
// have arrived. A length prefix is only a claim: with jute.maxbuffer raised to
// 2 GB, four bytes announcing 2 GB used to cost a 2 GB allocation before a
// single payload byte was read (caught by FuzzReadFrame's allocation bound).
// A frame larger than this grows its buffer, doubling, as the payload comes
// in, so what it holds is at most twice what the peer has actually sent.
const frameChunk = 64 << 10

// ReadFrame reads one length-prefixed frame from rd into buf (grown as needed) and
// returns the payload. A length above max, or negative, yields ErrFrameTooLarge
// without reading the payload. A payload longer than buf's capacity gets a
// buffer that grows as its bytes arrive, never far ahead of them.
func ReadFrame(rd io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(rd, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 0 || n > max {
		return nil, fmt.Errorf("%w: length %d, limit %d", ErrFrameTooLarge, n, max)
	}
	if cap(buf) < n && n <= frameChunk {
		buf = make([]byte, n)
	}
	if cap(buf) >= n {
		buf = buf[:n]
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, noEOF(err)
		}
		return buf, nil
	}
	buf = buf[:0]
	if cap(buf) < frameChunk {
		buf = make([]byte, 0, frameChunk)
	}
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(rd, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, noEOF(err)
		}
	}
	return buf, nil
}

// noEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Fail records err as the reader's error unless one is already set; record
// decoders use it to report semantic errors such as an unknown type tag.
func (r *Reader) Fail(err error) { r.fail(err) }
