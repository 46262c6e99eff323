package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/fuzzcheck"
)

// fuzzMaxFrame is MaxFrame in FuzzInbound: above readPayload's growChunk, so
// that large announced frames take the growing path too.
const fuzzMaxFrame = 4 << 20

// FuzzInbound feeds arbitrary bytes to an accepting transport as one inbound
// connection and checks it against a model of the protocol (modelInbound):
// the answer to the hello (none unless a whole hello with the magic arrived,
// then exactly the status check gives), the messages delivered (none without
// an accepted hello, then exactly the complete frames within MaxFrame, in
// order, with their kinds and payloads), and the one PeerLost report of an
// accepted connection, with the error that ended it. It must never panic.
func FuzzInbound(f *testing.F) {
	ok := hello{protocolVersion, clusterID, 2, 1}.marshal()
	withOK := func(b ...[]byte) []byte { return append(bytes.Clone(ok), bytes.Join(b, nil)...) }
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(ok)
	f.Add(ok[:20])
	f.Add(withOK(frame(1, []byte("hello"))))
	f.Add(withOK(frame(1, []byte("hello")), frame(7, nil), frame(200, bytes.Repeat([]byte{9}, 300))))
	f.Add(withOK([]byte{0xff, 0xff, 0xff, 0xff, 1}))
	f.Add(withOK([]byte{0, 0, 0, 10, 1, 'x'}))
	f.Add(withOK([]byte{0, 0x40, 0, 0, 1, 'x'}))          // exactly MaxFrame, cut short
	f.Add(withOK([]byte{0, 0x40, 0, 1, 1, 'x'}))          // one over MaxFrame
	f.Add(withOK([]byte{0, 0x20, 0, 0, 1}, nil))          // above growChunk, nothing sent
	f.Add(withOK(frame(3, []byte("a")), []byte{0, 0, 0})) // torn frame header
	f.Add(hello{protocolVersion, clusterID + 1, 2, 1}.marshal())
	f.Add(hello{protocolVersion + 1, clusterID, 2, 1}.marshal())
	f.Add(hello{protocolVersion, clusterID, 3, 1}.marshal())
	f.Add(hello{protocolVersion, clusterID, 2, 5}.marshal())
	f.Add(hello{protocolVersion, clusterID, 1, 1}.marshal())
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := Config{ID: 1, Peers: []Peer{{2, "127.0.0.1:1"}}, ClusterID: clusterID, MaxFrame: fuzzMaxFrame,
			Logger: newTestLogger(io.Discard)}
		if err := cfg.fill(); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h := newRecorder()
		tr := newTransport(cfg, h, ln)
		defer tr.Close()
		serverIn, clientOut := io.Pipe()
		clientIn, serverOut := io.Pipe()
		c := &inConn{conn: &pipeConn{serverIn, serverOut}, remote: "pipe:1", done: make(chan struct{})}
		tr.mu.Lock()
		tr.inbound[c] = struct{}{}
		tr.wg.Add(1)
		tr.mu.Unlock()
		go tr.serveInbound(c)
		answered := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(clientIn)
			answered <- b
		}()
		clientOut.Write(in)
		clientOut.Close() // a half close: the answer can still come back
		<-c.done
		answer := <-answered

		want := modelInbound(tr, in)
		if !bytes.Equal(answer, want.answer) {
			t.Fatalf("answer % x, want % x", answer, want.answer)
		}
		got := h.from(2)
		if h.count() != len(got) {
			t.Fatalf("%d messages from peers other than 2", h.count()-len(got))
		}
		if len(got) != len(want.msgs) {
			t.Fatalf("%d messages delivered, want %d", len(got), len(want.msgs))
		}
		for i := range got {
			if got[i].kind != want.msgs[i].kind || !bytes.Equal(got[i].payload, want.msgs[i].payload) {
				t.Fatalf("message %d: kind %d, %d bytes; want kind %d, %d bytes", i, got[i].kind, len(got[i].payload), want.msgs[i].kind, len(want.msgs[i].payload))
			}
		}
		switch {
		case want.lost == nil && len(h.lostc) != 0:
			t.Fatalf("PeerLost reported for a connection that was never accepted: %v", (<-h.lostc).err)
		case want.lost != nil && len(h.lostc) != 1:
			t.Fatalf("%d PeerLost reports, want 1", len(h.lostc))
		case want.lost != nil:
			if l := <-h.lostc; l.id != 2 || !errors.Is(l.err, want.lost) {
				t.Fatalf("PeerLost(%d, %v), want PeerLost(2, %v)", l.id, l.err, want.lost)
			}
		}
	})
}

// pipeConn is the accepting end of a connection made of two pipes, so that
// the other end can close its writing half and still read the answer (which
// net.Pipe cannot do). Deadlines are ignored: every connection of the fuzz
// target ends when the writing half closes.
type pipeConn struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeConn) Close() error {
	p.r.Close()
	return p.w.Close()
}
func (p *pipeConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe:1" }

// inbound is what modelInbound says an inbound connection must produce.
type inbound struct {
	answer []byte // the bytes written back: nothing, or one status byte
	msgs   []recv // the messages delivered
	lost   error  // the PeerLost error, nil for none
}

// modelInbound says what tr must do with a connection that sends in and
// closes.
func modelInbound(tr *Transport, in []byte) inbound {
	var out inbound
	if len(in) < helloSize || string(in[:len(magic)]) != magic {
		return out
	}
	h, err := unmarshalHello(in[:helloSize])
	if err != nil {
		panic(err)
	}
	status := tr.check(h)
	out.answer = []byte{status}
	if status != statusOK {
		return out
	}
	rest := in[helloSize:]
	for {
		switch {
		case len(rest) == 0:
			out.lost = io.EOF
			return out
		case len(rest) < frameHeaderSize:
			out.lost = io.ErrUnexpectedEOF
			return out
		}
		n := uint64(binary.BigEndian.Uint32(rest))
		switch {
		case n > fuzzMaxFrame:
			out.lost = ErrFrameTooLarge
			return out
		case uint64(len(rest)-frameHeaderSize) < n:
			out.lost = io.ErrUnexpectedEOF
			return out
		}
		out.msgs = append(out.msgs, recv{from: 2, kind: rest[4], payload: rest[frameHeaderSize : frameHeaderSize+int(n)]})
		rest = rest[frameHeaderSize+int(n):]
	}
}

// FuzzReadPayload reads an announced payload of n bytes from data: exactly
// the first n bytes when there are that many, else io.ErrUnexpectedEOF; and
// never more allocated than what arrived (doubled as the buffer grows) plus
// the first chunk, however large n is.
func FuzzReadPayload(f *testing.F) {
	f.Add(uint32(5), []byte("hello"))
	f.Add(uint32(0), []byte{})
	f.Add(uint32(growChunk), bytes.Repeat([]byte{1}, 100))
	f.Add(uint32(growChunk+1), bytes.Repeat([]byte{2}, growChunk+1))
	f.Add(uint32(0xffffffff), []byte("x"))
	f.Fuzz(func(t *testing.T, n uint32, data []byte) {
		var p []byte
		var err error
		limit := 4*uint64(len(data)) + growChunk + fuzzcheck.Slack
		fuzzcheck.BoundedTo(t, "readPayload", limit, func() { p, err = readPayload(bytes.NewReader(data), int(n)) })
		if uint64(len(data)) >= uint64(n) {
			if err != nil || !bytes.Equal(p, data[:n]) {
				t.Fatalf("%d of %d bytes: %d bytes, %v", n, len(data), len(p), err)
			}
			return
		}
		if p != nil || err != io.ErrUnexpectedEOF {
			t.Fatalf("%d of %d bytes: %d bytes, %v; want io.ErrUnexpectedEOF", n, len(data), len(p), err)
		}
	})
}

// FuzzHello decodes arbitrary hellos: those with the magic must marshal back
// to the same bytes, the others must be ErrNotPeer.
func FuzzHello(f *testing.F) {
	f.Add(hello{protocolVersion, clusterID, 2, 1}.marshal())
	f.Add(make([]byte, helloSize))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := unmarshalHello(b)
		switch {
		case len(b) != helloSize:
			if err == nil {
				t.Fatalf("a hello of %d bytes accepted", len(b))
			}
		case string(b[:len(magic)]) != magic:
			if !errors.Is(err, ErrNotPeer) {
				t.Fatalf("bad magic: %v", err)
			}
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(h.marshal(), b):
			t.Fatalf("%+v marshals to % x, not % x", h, h.marshal(), b)
		default:
			if h2, err := unmarshalHello(h.marshal()); err != nil || !reflect.DeepEqual(h, h2) {
				t.Fatalf("round trip: %+v, %v", h2, err)
			}
		}
	})
}
