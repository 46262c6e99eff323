package zktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Raw is a bare TCP connection to a server that speaks the client protocol by
// hand, for tests of the handshake and of malformed input. Its encoding is
// written independently of the server's codec on purpose.
type Raw struct {
	net.Conn
}

// DialRaw opens a raw connection, closed when the test ends.
func DialRaw(t testing.TB, addr string) *Raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("zktest: dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Raw{Conn: c}
}

// RawDial opens a raw connection without a test; the caller closes it.
func RawDial(addr string) (*Raw, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("zktest: dial %s: %w", addr, err)
	}
	return &Raw{Conn: c}, nil
}

// ConnectResponse is the server's answer to a handshake.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        *bool // nil when the server sent no readOnly byte
	Size            int   // payload length
}

// ReplyHeader starts every reply.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  int32
}

// Handshake sends a ConnectRequest (with the trailing readOnly byte when
// withReadOnly is set) and reads the ConnectResponse.
func (r *Raw) Handshake(timeoutMs int32, sessionID int64, passwd []byte, withReadOnly bool) (ConnectResponse, error) {
	var e Enc
	e.Int(0) // protocolVersion
	e.Long(0)
	e.Int(timeoutMs)
	e.Long(sessionID)
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	e.Buffer(passwd)
	if withReadOnly {
		e.Bool(false)
	}
	if err := r.WriteFrame(e.Bytes()); err != nil {
		return ConnectResponse{}, err
	}
	p, err := r.ReadFrame(10 * time.Second)
	if err != nil {
		return ConnectResponse{}, err
	}
	d := Dec{B: p}
	resp := ConnectResponse{Size: len(p)}
	resp.ProtocolVersion = d.Int()
	resp.TimeOut = d.Int()
	resp.SessionID = d.Long()
	resp.Passwd = d.Buffer()
	if d.Len() > 0 {
		ro := d.Bool()
		resp.ReadOnly = &ro
	}
	if d.Err != nil {
		return resp, fmt.Errorf("decode ConnectResponse: %w", d.Err)
	}
	return resp, nil
}

// WriteFrame writes a length-prefixed frame.
func (r *Raw) WriteFrame(payload []byte) error {
	b := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	_ = r.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := r.Write(b)
	return err
}

// ReadFrame reads one length-prefixed frame.
func (r *Raw) ReadFrame(timeout time.Duration) ([]byte, error) {
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > 64<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Request sends RequestHeader{xid, op} + body and returns the first reply with
// that xid, skipping notifications and pings.
func (r *Raw) Request(xid, op int32, body []byte) (ReplyHeader, []byte, error) {
	var e Enc
	e.Int(xid)
	e.Int(op)
	e.Raw(body)
	if err := r.WriteFrame(e.Bytes()); err != nil {
		return ReplyHeader{}, nil, err
	}
	for {
		p, err := r.ReadFrame(10 * time.Second)
		if err != nil {
			return ReplyHeader{}, nil, err
		}
		d := Dec{B: p}
		h := ReplyHeader{Xid: d.Int(), Zxid: d.Long(), Err: d.Int()}
		if d.Err != nil {
			return h, nil, d.Err
		}
		if h.Xid == xid {
			return h, d.B, nil
		}
	}
}

// WaitClosed reads until the server closes the connection and reports whether
// it did so within timeout. Anything the server sends before closing is discarded.
func (r *Raw) WaitClosed(timeout time.Duration) bool {
	_ = r.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := r.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false
		}
		return true
	}
}

// Enc builds Jute-encoded bytes.
type Enc struct{ b []byte }

// Bytes returns the encoded bytes.
func (e *Enc) Bytes() []byte { return e.b }

// Int appends a 4-byte big-endian int.
func (e *Enc) Int(v int32) { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }

// Long appends an 8-byte big-endian long.
func (e *Enc) Long(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }

// Bool appends one byte.
func (e *Enc) Bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// Buffer appends a length-prefixed buffer (-1 for nil).
func (e *Enc) Buffer(p []byte) {
	if p == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(p)))
	e.b = append(e.b, p...)
}

// String appends a length-prefixed string.
func (e *Enc) String(s string) {
	e.Int(int32(len(s)))
	e.b = append(e.b, s...)
}

// Raw appends bytes as they are.
func (e *Enc) Raw(p []byte) { e.b = append(e.b, p...) }

// Dec reads Jute-encoded bytes; the first failure sticks in Err.
type Dec struct {
	B   []byte
	Err error
}

// Len returns the number of unread bytes.
func (d *Dec) Len() int { return len(d.B) }

func (d *Dec) take(n int) []byte {
	if d.Err != nil {
		return nil
	}
	if n < 0 || n > len(d.B) {
		d.Err = fmt.Errorf("short buffer: need %d, have %d", n, len(d.B))
		return nil
	}
	p := d.B[:n]
	d.B = d.B[n:]
	return p
}

// Int reads an int.
func (d *Dec) Int() int32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

// Long reads a long.
func (d *Dec) Long() int64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

// Bool reads a bool.
func (d *Dec) Bool() bool {
	p := d.take(1)
	return p != nil && p[0] != 0
}

// Buffer reads a length-prefixed buffer (nil for -1).
func (d *Dec) Buffer() []byte {
	n := d.Int()
	if n == -1 || d.Err != nil {
		return nil
	}
	return d.take(int(n))
}

// String reads a length-prefixed string.
func (d *Dec) String() string { return string(d.Buffer()) }
