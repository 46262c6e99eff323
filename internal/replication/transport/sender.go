package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// batchBytes is how much the sender takes from a queue per flush (at
	// least one message): it bounds what is in flight beside the queue.
	batchBytes = 1 << 20
	// writeBufSize is the sender's buffered writer.
	writeBufSize = 64 << 10
	// writeChunk is the most written under one write deadline.
	writeChunk = 1 << 20
	// dropLogEvery and unreachableLogEvery rate-limit repeated warnings.
	dropLogEvery        = 10 * time.Second
	unreachableLogEvery = 30 * time.Second
)

type message struct {
	kind    byte
	payload []byte
}

func (m message) size() int { return frameHeaderSize + len(m.payload) }

// peer is the outbound side of one peer: its queue, filled by Send and
// drained by the peer's sender goroutine, which alone owns the connection.
type peer struct {
	Peer
	connected atomic.Bool
	wake      chan struct{} // capacity 1: "the queue may have grown"

	mu          sync.Mutex
	q           []message // pending messages are q[head:]
	head        int
	bytes       int // sum of size() over q[head:]
	dropped     int // dropped since the last log line
	lastDropLog time.Time
	closed      bool
}

func newPeer(p Peer) *peer {
	return &peer{Peer: p, wake: make(chan struct{}, 1)}
}

// enqueue appends m, first dropping the oldest messages while the queue would
// exceed max. ok is false when anything was dropped or the peer is closed;
// report asks the caller to log the dropped count.
func (p *peer) enqueue(m message, max int) (ok, report bool, dropped int) {
	size := m.size()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false, false, 0
	}
	ok = true
	for p.bytes+size > max && p.head < len(p.q) {
		p.bytes -= p.q[p.head].size()
		p.q[p.head] = message{}
		p.head++
		p.dropped++
		ok = false
	}
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	} else if p.head > 0 && len(p.q) == cap(p.q) {
		n := copy(p.q, p.q[p.head:])
		clear(p.q[n:])
		p.q, p.head = p.q[:n], 0
	}
	p.q = append(p.q, m)
	p.bytes += size
	if p.dropped > 0 {
		if now := time.Now(); now.Sub(p.lastDropLog) >= dropLogEvery {
			report, dropped = true, p.dropped
			p.dropped, p.lastDropLog = 0, now
		}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return ok, report, dropped
}

// take moves the oldest queued messages, about limit bytes of them and at
// least one, onto buf.
func (p *peer) take(buf []message, limit int) []message {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for p.head < len(p.q) && n < limit {
		m := p.q[p.head]
		p.q[p.head] = message{}
		p.head++
		buf = append(buf, m)
		n += m.size()
	}
	p.bytes -= n
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	}
	return buf
}

// discard empties the queue for good.
func (p *peer) discard() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.q, p.head, p.bytes = nil, 0, 0
}

// queued reports the messages and bytes waiting.
func (p *peer) queued() (msgs, bytes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.q) - p.head, p.bytes
}

// runSender owns the outbound connection to p: dial, handshake, drain the
// queue, and on failure dial again after a backoff, until Close.
func (t *Transport) runSender(p *peer) {
	defer t.wg.Done()
	backoff := minBackoff
	failures := 0
	var lastFailLog time.Time
	for t.ctx.Err() == nil {
		conn, err := t.dial(p)
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			failures++
			now := time.Now()
			switch {
			case failures == 1:
				lvl := slog.LevelInfo
				if errors.Is(err, ErrRefused) {
					lvl = slog.LevelWarn
				}
				t.log.Log(t.ctx, lvl, "cannot connect to peer; retrying", "peer", p.ID, "addr", p.Addr, "err", err)
				lastFailLog = now
			case now.Sub(lastFailLog) >= unreachableLogEvery:
				t.log.Warn("peer still unreachable", "peer", p.ID, "addr", p.Addr, "attempts", failures, "err", err)
				lastFailLog = now
			}
			if !t.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		t.log.Info("connected to peer", "peer", p.ID, "addr", p.Addr, "failed_attempts", failures)
		failures = 0
		start := time.Now()
		p.connected.Store(true)
		err = t.sendLoop(p, conn)
		p.connected.Store(false)
		if t.ctx.Err() != nil {
			return
		}
		t.log.Warn("lost connection to peer; reconnecting", "peer", p.ID, "addr", p.Addr, "err", err)
		// A connection that lived a while resets the backoff; one that
		// keeps failing at once does not.
		if time.Since(start) >= maxBackoff {
			backoff = minBackoff
		}
		if !t.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// sleep waits d, or returns false at once when the transport closes.
func (t *Transport) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// dial connects to p and exchanges the hello, within DialTimeout.
func (t *Transport) dial(p *peer) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err = t.handshake(conn, p.ID)
	if !stop() {
		conn.Close()
		return nil, fmt.Errorf("transport: handshake with %s: %w", p.Addr, ctx.Err())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (t *Transport) handshake(conn net.Conn, to uint64) error {
	h := hello{version: protocolVersion, clusterID: t.cfg.ClusterID, from: t.cfg.ID, to: to}
	if _, err := conn.Write(h.marshal()); err != nil {
		return fmt.Errorf("transport: sending hello: %w", err)
	}
	var status [1]byte
	if _, err := io.ReadFull(conn, status[:]); err != nil {
		return fmt.Errorf("transport: no answer to hello: %w", err)
	}
	if status[0] != statusOK {
		return fmt.Errorf("%w: %s", ErrRefused, statusText(status[0]))
	}
	return nil
}

// sendLoop writes p's queue to conn until a write fails, the peer closes the
// connection, or the transport closes. It closes conn before returning.
func (t *Transport) sendLoop(p *peer, conn net.Conn) error {
	defer conn.Close()
	stop := context.AfterFunc(t.ctx, func() { conn.Close() })
	defer stop()

	// The acceptor never writes after its answer to the hello, so a read
	// returns only when the connection ends: the sender learns of it even
	// while it has nothing to send.
	dead := make(chan error, 1)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		var b [1]byte
		_, err := conn.Read(b[:])
		if err == nil {
			err = errors.New("transport: unexpected data from the acceptor")
		}
		dead <- err
	}()

	bw := bufio.NewWriterSize(&stallWriter{conn: conn, timeout: t.cfg.WriteTimeout}, writeBufSize)
	var hdr [frameHeaderSize]byte
	var batch []message
	for {
		batch = p.take(batch[:0], batchBytes)
		if len(batch) == 0 {
			select {
			case <-p.wake:
				continue
			case err := <-dead:
				return err
			case <-t.ctx.Done():
				return t.ctx.Err()
			}
		}
		for _, m := range batch {
			putFrameHeader(hdr[:], m.kind, len(m.payload))
			bw.Write(hdr[:])
			bw.Write(m.payload)
		}
		clear(batch)
		if err := bw.Flush(); err != nil {
			return err
		}
	}
}

// stallWriter writes to a connection, failing when a chunk makes no progress
// within timeout.
type stallWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (w *stallWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), writeChunk)]
		if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
			return written, err
		}
		n, err := w.conn.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}
