package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDeliveryAndOrder(t *testing.T) {
	const n, perPair = 3, 3000
	nodes := newCluster(t, n, nil)
	var wg sync.WaitGroup
	for _, src := range nodes {
		for _, dst := range nodes {
			if src == dst {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perPair {
					if !src.tr.Send(dst.cfg.ID, byte(i%7), seqPayload(src.cfg.ID, i, 16+i%300)) {
						t.Errorf("send %d from %d to %d refused", i, src.cfg.ID, dst.cfg.ID)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, dst := range nodes {
		dst.h.waitCount(t, (n-1)*perPair, 20*time.Second)
		for _, src := range nodes {
			if src == dst {
				continue
			}
			got := dst.h.from(src.cfg.ID)
			if len(got) != perPair {
				t.Fatalf("%d got %d messages from %d, want %d", dst.cfg.ID, len(got), src.cfg.ID, perPair)
			}
			for i, m := range got {
				if err := checkSeq(m, src.cfg.ID, i); err != nil {
					t.Fatalf("%d from %d: %v", dst.cfg.ID, src.cfg.ID, err)
				}
				if m.kind != byte(i%7) {
					t.Fatalf("message %d has kind %d, want %d", i, m.kind, i%7)
				}
			}
		}
	}
	for _, nd := range nodes {
		for _, p := range nd.cfg.Peers {
			if !nd.tr.Connected(p.ID) {
				t.Errorf("%d not connected to %d", nd.cfg.ID, p.ID)
			}
		}
	}
}

func TestEmptyPayloadAndUnknownPeer(t *testing.T) {
	nodes := newCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	if a.tr.Send(99, 1, []byte("x")) {
		t.Fatal("Send to an unknown peer accepted")
	}
	if a.tr.Connected(99) {
		t.Fatal("Connected to an unknown peer")
	}
	if !a.tr.Send(2, 0, nil) || !a.tr.Send(2, 255, []byte{}) {
		t.Fatal("empty payloads refused")
	}
	b.h.waitCount(t, 2, 10*time.Second)
	got := b.h.from(1)
	if got[0].kind != 0 || got[1].kind != 255 || len(got[0].payload) != 0 || len(got[1].payload) != 0 {
		t.Fatalf("got %+v", got)
	}
	a.tr.Close()
	a.tr.Close()
	if a.tr.Send(2, 1, []byte("x")) {
		t.Fatal("Send after Close accepted")
	}
}

func TestLargeFrames(t *testing.T) {
	nodes := newCluster(t, 2, func(c *Config) { c.MaxFrame = 80 << 20; c.MaxQueueBytes = 200 << 20 })
	a, b := nodes[0], nodes[1]
	sizes := []int{64 << 20, 1, growChunk, growChunk + 1, 3<<20 + 7, 65536, 80 << 20}
	var sums [][32]byte
	for i, size := range sizes {
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(j*7 + i)
		}
		sums = append(sums, sha256.Sum256(p))
		if !a.tr.Send(2, byte(i), p) {
			t.Fatalf("send of %d bytes refused", size)
		}
	}
	if a.tr.Send(2, 0, make([]byte, 80<<20+1)) {
		t.Fatal("a payload above MaxFrame was accepted")
	}
	b.h.waitCount(t, len(sizes), 60*time.Second)
	for i, m := range b.h.from(1) {
		if len(m.payload) != sizes[i] || sha256.Sum256(m.payload) != sums[i] || m.kind != byte(i) {
			t.Fatalf("message %d: %d bytes, kind %d, want %d bytes intact", i, len(m.payload), m.kind, sizes[i])
		}
	}
}

func TestFrameAboveMaxClosesConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // peer 2 exists only as a raw connection
	nodes := newCluster(t, 1, func(c *Config) {
		c.MaxFrame = 1000
		c.Peers = []Peer{{2, ln.Addr().String()}}
	})
	a := nodes[0]
	c, st := rawPeer(t, a.cfg.ListenAddr, hello{protocolVersion, clusterID, 2, 1})
	if st != statusOK {
		t.Fatalf("status %d", st)
	}
	if _, err := c.Write(append(frame(3, []byte("fine")), frame(4, make([]byte, 1001))...)); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
	select {
	case l := <-a.h.lostc:
		if l.id != 2 || !errors.Is(l.err, ErrFrameTooLarge) {
			t.Fatalf("PeerLost(%d, %v)", l.id, l.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost")
	}
	a.logs.waitFor(t, 5*time.Second, "connection from peer lost", "MaxFrame")
	got := a.h.from(2)
	if len(got) == 0 || string(got[len(got)-1].payload) != "fine" {
		t.Fatalf("the frame before the oversized one was not delivered: %d messages", len(got))
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	nodes := newCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	seq := 0
	for ; seq < 100; seq++ {
		a.tr.Send(2, 1, seqPayload(1, seq, 100))
	}
	b.h.waitCount(t, 100, 10*time.Second)

	b.tr.Close()
	waitConnected(t, a.tr, 2, false)
	// Sent while 2 is down: kept in the queue.
	for ; seq < 1100; seq++ {
		if !a.tr.Send(2, 1, seqPayload(1, seq, 100)) {
			t.Fatalf("send %d refused", seq)
		}
	}
	time.Sleep(50 * time.Millisecond) // some dials fail meanwhile
	b.restart(t)
	b.h.waitCount(t, 1000, 10*time.Second)
	waitConnected(t, a.tr, 2, true)
	waitConnected(t, b.tr, 1, true)
	for i, m := range b.h.from(1) {
		if err := checkSeq(m, 1, 100+i); err != nil {
			t.Fatal(err)
		}
	}
	// And the other way round, on the new transport's own connection.
	b.tr.Send(1, 9, []byte("back"))
	a.h.waitCount(t, 1, 10*time.Second)
}

func TestOutageKeepsNewestUpToBound(t *testing.T) {
	const size, keep = 1000, 10
	nodes := newCluster(t, 2, func(c *Config) { c.MaxQueueBytes = keep * (size + frameHeaderSize) })
	a, b := nodes[0], nodes[1]
	waitConnected(t, a.tr, 2, true)
	b.tr.Close()
	waitConnected(t, a.tr, 2, false)
	refused := 0
	for seq := range 50 {
		if !a.tr.Send(2, 1, seqPayload(1, seq, size)) {
			refused++
		}
	}
	if refused != 50-keep {
		t.Fatalf("%d sends reported drops, want %d", refused, 50-keep)
	}
	if _, bytes := a.tr.peers[2].queued(); bytes > a.cfg.MaxQueueBytes {
		t.Fatalf("queue holds %d bytes, bound %d", bytes, a.cfg.MaxQueueBytes)
	}
	a.logs.waitFor(t, time.Second, "outbound queue full", "peer=2")
	b.restart(t)
	b.h.waitCount(t, keep, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	got := b.h.from(1)
	if len(got) != keep {
		t.Fatalf("got %d messages, want the newest %d", len(got), keep)
	}
	for i, m := range got {
		if err := checkSeq(m, 1, 50-keep+i); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueueBoundWhilePeerDown(t *testing.T) {
	// Peer 2's address refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	const bound = 1 << 20
	logs := &logBuf{}
	cfg := Config{ID: 1, ListenAddr: "127.0.0.1:0", Peers: []Peer{{2, dead}}, ClusterID: clusterID, MaxQueueBytes: bound}
	cfg.Logger = newTestLogger(logs)
	tr, err := New(cfg, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Start()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const size, total = 10 << 10, 20000 // 200 MiB offered
	accepted := 0
	for i := range total {
		if tr.Send(2, 1, make([]byte, size)) {
			accepted++
		}
		if i%1000 == 0 {
			if _, q := tr.peers[2].queued(); q > bound {
				t.Fatalf("queue at %d bytes, bound %d", q, bound)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	msgs, q := tr.peers[2].queued()
	if q > bound || msgs != bound/(size+frameHeaderSize) {
		t.Fatalf("queue holds %d messages, %d bytes; bound %d", msgs, q, bound)
	}
	if accepted != bound/(size+frameHeaderSize) {
		t.Fatalf("%d sends without drops, want %d", accepted, bound/(size+frameHeaderSize))
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8*bound {
		t.Fatalf("heap grew by %d bytes with a %d-byte queue bound", grew, bound)
	}
	logs.waitFor(t, time.Second, "cannot connect to peer", dead)
	if tr.Connected(2) {
		t.Fatal("connected to a dead address")
	}
}

func TestOversizedMessageQueuedAlone(t *testing.T) {
	p := newPeer(Peer{ID: 2})
	for range 5 {
		if ok, _, _ := p.enqueue(message{1, make([]byte, 10)}, 100); !ok {
			t.Fatal("small message dropped")
		}
	}
	if ok, _, _ := p.enqueue(message{1, make([]byte, 500)}, 100); ok {
		t.Fatal("no drop reported")
	}
	if msgs, bytes := p.queued(); msgs != 1 || bytes != 505 {
		t.Fatalf("queue holds %d messages, %d bytes", msgs, bytes)
	}
	batch := p.take(nil, batchBytes)
	if len(batch) != 1 || len(batch[0].payload) != 500 {
		t.Fatalf("took %d", len(batch))
	}
	// Taking many small messages is capped near the limit.
	for range 100 {
		p.enqueue(message{1, make([]byte, 95)}, 1<<20)
	}
	if batch := p.take(nil, 1000); len(batch) != 10 {
		t.Fatalf("took %d messages of 100 bytes with a limit of 1000", len(batch))
	}
	if msgs, bytes := p.queued(); msgs != 90 || bytes != 9000 {
		t.Fatalf("left %d messages, %d bytes", msgs, bytes)
	}
}

func TestRejectedConnections(t *testing.T) {
	nodes := newCluster(t, 2, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	a, b := nodes[0], nodes[1]
	addr := a.cfg.ListenAddr

	check := func(name string, want ...string) {
		t.Helper()
		line := a.logs.waitFor(t, 5*time.Second, append([]string{"refused a connection"}, want...)...)
		t.Logf("%s: %s", name, line)
	}

	// Garbage: closed without an answer.
	g, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	waitClosed(t, g)
	check("garbage", "bad magic", g.LocalAddr().String())

	// Short garbage then close.
	g2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	g2.Write([]byte("GOZ\x00"))
	g2.Close()
	check("short garbage", "bad magic", g2.LocalAddr().String())

	cases := []struct {
		name string
		h    hello
		want byte
		log  string
	}{
		{"cluster", hello{protocolVersion, clusterID + 1, 2, 1}, statusWrongClust, "different cluster id"},
		{"unknown peer", hello{protocolVersion, clusterID, 77, 1}, statusUnknownPeer, "unknown peer id"},
		{"self", hello{protocolVersion, clusterID, 1, 1}, statusUnknownPeer, "unknown peer id"},
		{"wrong server", hello{protocolVersion, clusterID, 2, 3}, statusWrongServer, "wrong server"},
		{"version", hello{protocolVersion + 1, clusterID, 2, 1}, statusBadVersion, "unsupported protocol version"},
	}
	for _, tc := range cases {
		c, st := rawPeer(t, addr, tc.h)
		if st != tc.want {
			t.Fatalf("%s: status %d, want %d", tc.name, st, tc.want)
		}
		waitClosed(t, c)
		check(tc.name, tc.log, c.LocalAddr().String())
	}

	// Silent: closed after the handshake timeout.
	s, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitClosed(t, s)
	check("silent", "no hello within", s.LocalAddr().String())

	// None of this disturbed the real peers, nor was reported as a lost peer.
	b.tr.Send(1, 1, []byte("still here"))
	a.tr.Send(2, 1, []byte("me too"))
	a.h.waitCount(t, 1, 10*time.Second)
	b.h.waitCount(t, 1, 10*time.Second)
	select {
	case l := <-a.h.lostc:
		t.Fatalf("PeerLost(%d, %v) for a refused connection", l.id, l.err)
	default:
	}
}

func TestDialerLogsRefusal(t *testing.T) {
	nodes := newCluster(t, 2, nil)
	// A third transport with another cluster id dials 1 as if it were 2.
	logs := &logBuf{}
	tr, err := New(Config{ID: 2, ListenAddr: "127.0.0.1:0", Peers: []Peer{{1, nodes[0].cfg.ListenAddr}},
		ClusterID: clusterID + 5, Logger: newTestLogger(logs)}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Start()
	logs.waitFor(t, 5*time.Second, "cannot connect to peer", "different cluster id", "level=WARN")
	nodes[0].logs.waitFor(t, 5*time.Second, "refused a connection", "different cluster id")
	if tr.Connected(1) {
		t.Fatal("connected despite the refusal")
	}
}

func TestPeerLostOnRemoteClose(t *testing.T) {
	nodes := newCluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	for _, x := range nodes {
		for _, p := range x.cfg.Peers {
			waitConnected(t, x.tr, p.ID, true)
		}
	}
	// Inbound connections are established once the dialers are connected;
	// a message each way proves it.
	b.tr.Send(1, 1, nil)
	c.tr.Send(1, 1, nil)
	a.h.waitCount(t, 2, 10*time.Second)

	start := time.Now()
	b.tr.Close()
	select {
	case l := <-a.h.lostc:
		t.Logf("PeerLost(%d, %v) after %v", l.id, l.err, time.Since(start))
		if l.id != 2 {
			t.Fatalf("PeerLost(%d)", l.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost after the peer closed")
	}
	select {
	case l := <-c.h.lostc:
		if l.id != 2 {
			t.Fatalf("PeerLost(%d)", l.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost on the third server")
	}
	// Our own Close reports nothing to our own handler; a peer that sees
	// us go reports us.
	a.tr.Close()
	select {
	case l := <-c.h.lostc:
		if l.id != 1 {
			t.Fatalf("PeerLost(%d)", l.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost for 1 on the third server")
	}
	c.tr.Close()
	for _, x := range nodes {
		select {
		case l := <-x.h.lostc:
			t.Fatalf("server %d: PeerLost(%d, %v) after its own Close", x.cfg.ID, l.id, l.err)
		default:
		}
	}
}

func TestPeerLostOnRawConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // peers 2 and 3 exist only as raw connections
	nodes := newCluster(t, 1, func(c *Config) {
		c.Peers = []Peer{{2, ln.Addr().String()}, {3, ln.Addr().String()}}
	})
	a := nodes[0]

	for i, reset := range []bool{false, true} {
		c, st := rawPeer(t, a.cfg.ListenAddr, hello{protocolVersion, clusterID, 2, 1})
		if st != statusOK {
			t.Fatalf("status %d", st)
		}
		c.Write(frame(1, []byte("hi")))
		a.h.waitCount(t, i+1, 10*time.Second) // a reset may discard unread data
		start := time.Now()
		if reset {
			c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
		select {
		case l := <-a.h.lostc:
			t.Logf("reset=%v: PeerLost(%d, %v) after %v", reset, l.id, l.err, time.Since(start))
			if l.id != 2 || l.err == nil {
				t.Fatalf("PeerLost(%d, %v)", l.id, l.err)
			}
			if !reset && !errors.Is(l.err, io.EOF) {
				t.Fatalf("clean close reported as %v", l.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no PeerLost")
		}
	}

	// A second connection from the same peer replaces the first without a
	// PeerLost; closing the second one is one.
	c1, _ := rawPeer(t, a.cfg.ListenAddr, hello{protocolVersion, clusterID, 3, 1})
	c1.Write(frame(1, []byte("one")))
	a.h.waitCount(t, 3, 10*time.Second)
	c2, st := rawPeer(t, a.cfg.ListenAddr, hello{protocolVersion, clusterID, 3, 1})
	if st != statusOK {
		t.Fatalf("status %d", st)
	}
	waitClosed(t, c1)
	c2.Write(frame(1, []byte("two")))
	a.h.waitCount(t, 4, 10*time.Second)
	select {
	case l := <-a.h.lostc:
		t.Fatalf("PeerLost(%d, %v) for a replaced connection", l.id, l.err)
	case <-time.After(100 * time.Millisecond):
	}
	a.logs.waitFor(t, time.Second, "replaces the old one", "peer=3")
	c2.Close()
	select {
	case l := <-a.h.lostc:
		if l.id != 3 {
			t.Fatalf("PeerLost(%d)", l.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost")
	}
	if got := a.h.from(3); len(got) != 2 || string(got[0].payload) != "one" || string(got[1].payload) != "two" {
		t.Fatalf("got %v", got)
	}
}

func TestReplacementKeepsOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	nodes := newCluster(t, 1, func(c *Config) { c.Peers = []Peer{{2, ln.Addr().String()}} })
	a := nodes[0]
	seq := 0
	for round := range 20 {
		c, st := rawPeer(t, a.cfg.ListenAddr, hello{protocolVersion, clusterID, 2, 1})
		if st != statusOK {
			t.Fatalf("round %d: status %d", round, st)
		}
		var buf bytes.Buffer
		for range 200 {
			buf.Write(frame(1, seqPayload(2, seq, 40)))
			seq++
		}
		c.Write(buf.Bytes())
	}
	time.Sleep(200 * time.Millisecond)
	// Frames still unread when their connection was replaced may be lost,
	// but what arrives is in order.
	got := a.h.from(2)
	last := -1
	for _, m := range got {
		cur := int(binary.BigEndian.Uint64(m.payload[8:]))
		if cur <= last {
			t.Fatalf("message %d after %d", cur, last)
		}
		last = cur
	}
	t.Logf("%d of %d messages delivered across 20 replacements", len(got), seq)
}

func TestNewErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	h := newRecorder()
	if _, err := New(Config{ID: 1, ListenAddr: busy}, h); err == nil || !strings.Contains(err.Error(), busy) {
		t.Fatalf("listening on a busy port: %v", err)
	}
	bad := []Config{
		{ID: 0, ListenAddr: "127.0.0.1:0"},
		{ID: 1, ListenAddr: "127.0.0.1:0", Peers: []Peer{{1, busy}}},
		{ID: 1, ListenAddr: "127.0.0.1:0", Peers: []Peer{{2, busy}, {2, busy}}},
		{ID: 1, ListenAddr: "127.0.0.1:0", Peers: []Peer{{0, busy}}},
		{ID: 1, ListenAddr: "127.0.0.1:0", Peers: []Peer{{2, ""}}},
	}
	for i, cfg := range bad {
		if tr, err := New(cfg, h); err == nil {
			tr.Close()
			t.Errorf("config %d accepted", i)
		}
	}
}

func TestCloseWithoutStartAndSendBeforeStart(t *testing.T) {
	tr, err := New(Config{ID: 1, ListenAddr: "127.0.0.1:0"}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()

	nodes := newCluster(t, 1, nil)
	b := nodes[0]
	h := newRecorder()
	a, err := New(Config{ID: 2, ListenAddr: "127.0.0.1:0", Peers: []Peer{{1, b.cfg.ListenAddr}}, ClusterID: 1}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a // not started: Send queues
	if !a.Send(1, 1, []byte("early")) {
		t.Fatal("send before Start refused")
	}
	if msgs, _ := a.peers[1].queued(); msgs != 1 {
		t.Fatalf("queued %d", msgs)
	}
}

func TestLimiter(t *testing.T) {
	l := limiter{every: time.Minute, burst: 2}
	t0 := time.Unix(1000, 0)
	for i, want := range []bool{true, true, false, false, false} {
		if ok, _ := l.allow("a", t0.Add(time.Duration(i)*time.Second)); ok != want {
			t.Fatalf("line %d: %v", i, ok)
		}
	}
	if ok, _ := l.allow("b", t0); !ok {
		t.Fatal("another key held back")
	}
	ok, held := l.allow("a", t0.Add(time.Minute))
	if !ok || held != 3 {
		t.Fatalf("next window: %v, held %d", ok, held)
	}
}
