package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

const clusterID = 0xC1A5

// recv is one message as the handler saw it.
type recv struct {
	from    uint64
	kind    byte
	payload []byte
}

type lost struct {
	id  uint64
	err error
}

// recorder is a Handler that keeps everything it is given.
type recorder struct {
	mu      sync.Mutex
	msgs    []recv
	changed chan struct{} // capacity 1
	lostc   chan lost     // buffered
}

func newRecorder() *recorder {
	return &recorder{changed: make(chan struct{}, 1), lostc: make(chan lost, 100)}
}

func (r *recorder) Receive(from uint64, kind byte, payload []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, recv{from, kind, payload})
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) PeerLost(id uint64, err error) { r.lostc <- lost{id, err} }

// from returns the messages received from one peer, in order.
func (r *recorder) from(id uint64) []recv {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recv
	for _, m := range r.msgs {
		if m.from == id {
			out = append(out, m)
		}
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// waitCount waits until at least n messages arrived.
func (r *recorder) waitCount(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for r.count() < n {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("received %d messages, want %d", r.count(), n)
		}
	}
}

// logBuf collects a transport's log.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log has a line holding every one of parts.
func (l *logBuf) waitFor(t testing.TB, within time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			all := true
			for _, p := range parts {
				if !strings.Contains(line, p) {
					all = false
					break
				}
			}
			if all {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q; log:\n%s", parts, l.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type node struct {
	cfg  Config
	tr   *Transport
	h    *recorder
	logs *logBuf
}

// newCluster starts n transports (ids 1..n) that know each other, on
// listeners bound before any configuration is written.
func newCluster(t testing.TB, n int, tweak func(*Config)) []*node {
	t.Helper()
	return newClusterWith(t, n, tweak, nil)
}

// newClusterWith is newCluster with handler(i) as the handler of node i, when
// it returns one; the recorder otherwise.
func newClusterWith(t testing.TB, n int, tweak func(*Config), handler func(i int) Handler) []*node {
	t.Helper()
	lns := make([]net.Listener, n)
	peers := make([]Peer, n)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		peers[i] = Peer{ID: uint64(i + 1), Addr: ln.Addr().String()}
	}
	nodes := make([]*node, n)
	for i := range nodes {
		var others []Peer
		for j, p := range peers {
			if j != i {
				others = append(others, p)
			}
		}
		cfg := Config{ID: uint64(i + 1), ListenAddr: peers[i].Addr, Peers: others, ClusterID: clusterID}
		if tweak != nil {
			tweak(&cfg)
		}
		nd := &node{cfg: cfg, h: newRecorder(), logs: &logBuf{}}
		nd.cfg.Logger = slog.New(slog.NewTextHandler(nd.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c := nd.cfg
		if err := c.fill(); err != nil {
			t.Fatal(err)
		}
		var h Handler = nd.h
		if handler != nil {
			if x := handler(i); x != nil {
				h = x
			}
		}
		nd.tr = newTransport(c, h, lns[i])
		nodes[i] = nd
	}
	for _, nd := range nodes {
		nd.tr.Start()
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.tr.Close()
		}
		if t.Failed() {
			for _, nd := range nodes {
				t.Logf("log of %d:\n%s", nd.cfg.ID, nd.logs.String())
			}
		}
	})
	return nodes
}

// restart closes nd's transport and starts a new one on the same address.
func (nd *node) restart(t testing.TB) {
	t.Helper()
	nd.tr.Close()
	nd.h = newRecorder()
	tr, err := New(nd.cfg, nd.h)
	if err != nil {
		t.Fatal(err)
	}
	nd.tr = tr
	tr.Start()
}

func waitConnected(t testing.TB, tr *Transport, to uint64, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tr.Connected(to) != want {
		if time.Now().After(deadline) {
			t.Fatalf("Connected(%d) stayed %v", to, !want)
		}
		time.Sleep(time.Millisecond)
	}
}

// rawPeer dials addr and sends a hello as it likes.
func rawPeer(t testing.TB, addr string, h hello) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(h.marshal()); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var st [1]byte
	if _, err := io.ReadFull(c, st[:]); err != nil {
		t.Fatalf("no answer to hello: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	return c, st[0]
}

// waitClosed waits until the other end closes c, failing if it sends data.
func waitClosed(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if len(b) > 0 {
		t.Fatalf("unexpected %d bytes: %q", len(b), b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed")
	}
}

func frame(kind byte, payload []byte) []byte {
	b := make([]byte, frameHeaderSize+len(payload))
	putFrameHeader(b, kind, len(payload))
	copy(b[frameHeaderSize:], payload)
	return b
}

// seqPayload is a payload that names its sender and sequence number.
func seqPayload(from uint64, seq, size int) []byte {
	b := make([]byte, max(size, 16))
	binary.BigEndian.PutUint64(b, from)
	binary.BigEndian.PutUint64(b[8:], uint64(seq))
	for i := 16; i < len(b); i++ {
		b[i] = byte(seq + i)
	}
	return b
}

func checkSeq(m recv, from uint64, seq int) error {
	if len(m.payload) < 16 {
		return fmt.Errorf("short payload %d", len(m.payload))
	}
	if f, s := binary.BigEndian.Uint64(m.payload), binary.BigEndian.Uint64(m.payload[8:]); f != from || int(s) != seq {
		return fmt.Errorf("got message %d from %d, want %d from %d", s, f, seq, from)
	}
	for i := 16; i < len(m.payload); i++ {
		if m.payload[i] != byte(seq+i) {
			return fmt.Errorf("message %d corrupt at byte %d", seq, i)
		}
	}
	return nil
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
