package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

const (
	readBufSize = 64 << 10
	// growChunk is how a large payload's buffer grows as its bytes arrive,
	// so that a length announced but never sent costs little.
	growChunk = 1 << 20
	// answerTimeout bounds writing the one-byte answer to a hello.
	answerTimeout = time.Second
)

// inConn is one accepted connection.
type inConn struct {
	conn   net.Conn
	remote string
	from   uint64        // the peer, once its hello is accepted
	byUs   atomic.Bool   // closed by this transport: not a lost peer
	done   chan struct{} // closed when its goroutine is finished
}

func (c *inConn) closeByUs() {
	c.byUs.Store(true)
	c.conn.Close()
}

func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	delay := time.Duration(0)
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and go on.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("accepting a peer connection failed", "addr", t.ln.Addr().String(), "err", err, "retry_in", delay)
			if !t.sleep(delay) {
				return
			}
			continue
		}
		delay = 0
		c := &inConn{conn: conn, remote: conn.RemoteAddr().String(), done: make(chan struct{})}
		t.mu.Lock()
		if t.closed.Load() {
			t.mu.Unlock()
			conn.Close()
			return
		}
		t.inbound[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serveInbound(c)
	}
}

// serveInbound checks the hello of an accepted connection and then delivers
// its frames to the handler.
func (t *Transport) serveInbound(c *inConn) {
	defer t.wg.Done()
	defer close(c.done)
	defer func() {
		c.conn.Close()
		t.mu.Lock()
		delete(t.inbound, c)
		if c.from != 0 && t.current[c.from] == c {
			delete(t.current, c.from)
		}
		t.mu.Unlock()
	}()

	br := bufio.NewReaderSize(c.conn, readBufSize)
	h, err := t.readHello(c, br)
	if err != nil {
		if !c.byUs.Load() {
			t.reject(c, err.Error())
		}
		return
	}
	if status := t.check(h); status != statusOK {
		t.reject(c, statusText(status), "peer", h.from, "cluster_id", h.clusterID, "version", h.version, "to", h.to)
		t.answer(c, status)
		return
	}

	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		return
	}
	prev := t.current[h.from]
	c.from = h.from
	t.current[h.from] = c
	t.mu.Unlock()
	if prev != nil {
		t.log.Info("new connection from peer replaces the old one", "peer", h.from, "remote", c.remote, "old_remote", prev.remote)
		prev.closeByUs()
	}
	if err := t.answer(c, statusOK); err != nil {
		if !c.byUs.Load() {
			t.log.Warn("connection from peer failed during handshake", "peer", h.from, "remote", c.remote, "err", err)
		}
		return
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	if prev != nil {
		<-prev.done // the old connection's last message is delivered first
	}
	t.log.Info("accepted connection from peer", "peer", h.from, "remote", c.remote)

	err = t.readFrames(c, br)
	if c.byUs.Load() || t.closed.Load() {
		return
	}
	t.log.Warn("connection from peer lost", "peer", h.from, "remote", c.remote, "err", err)
	t.h.PeerLost(h.from, err)
}

// readHello reads the hello under the handshake deadline, failing fast on a
// connection that does not start with the magic.
func (t *Transport) readHello(c *inConn, br *bufio.Reader) (hello, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(t.cfg.HandshakeTimeout)); err != nil {
		return hello{}, err
	}
	var b [helloSize]byte
	n, err := io.ReadFull(br, b[:len(magic)])
	if err == nil && string(b[:n]) != magic {
		return hello{}, ErrNotPeer
	}
	if err == nil {
		_, err = io.ReadFull(br, b[len(magic):])
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return hello{}, fmt.Errorf("no hello within %v", t.cfg.HandshakeTimeout)
	case errors.Is(err, io.EOF):
		return hello{}, errors.New("closed before sending a hello")
	case errors.Is(err, io.ErrUnexpectedEOF):
		if string(b[:min(len(magic), n)]) != magic[:min(len(magic), n)] {
			return hello{}, ErrNotPeer
		}
		return hello{}, errors.New("closed in the middle of its hello")
	case err != nil:
		return hello{}, fmt.Errorf("reading hello: %w", err)
	}
	return unmarshalHello(b[:])
}

func (t *Transport) check(h hello) byte {
	switch {
	case h.version != protocolVersion:
		return statusBadVersion
	case h.clusterID != t.cfg.ClusterID:
		return statusWrongClust
	case t.peers[h.from] == nil:
		return statusUnknownPeer
	case h.to != t.cfg.ID:
		return statusWrongServer
	}
	return statusOK
}

// reject logs why an inbound connection is refused, at most five times a
// minute per reason and remote host.
func (t *Transport) reject(c *inConn, why string, attrs ...any) {
	host, _, _ := net.SplitHostPort(c.remote)
	ok, held := t.rejectLog.allow(why+"\x00"+host, time.Now())
	if !ok {
		return
	}
	args := append([]any{"remote", c.remote, "reason", why}, attrs...)
	if held > 0 {
		args = append(args, "similar_suppressed", held)
	}
	t.log.Warn("refused a connection on the quorum port", args...)
}

func (t *Transport) answer(c *inConn, status byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(answerTimeout)); err != nil {
		return err
	}
	_, err := c.conn.Write([]byte{status})
	return err
}

// readFrames hands each frame to the handler until the connection ends.
func (t *Transport) readFrames(c *inConn, br *bufio.Reader) error {
	var hdr [frameHeaderSize]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if uint64(n) > uint64(t.cfg.MaxFrame) {
			return fmt.Errorf("%w: %d bytes announced, MaxFrame is %d", ErrFrameTooLarge, n, t.cfg.MaxFrame)
		}
		payload, err := readPayload(br, int(n))
		if err != nil {
			return err
		}
		t.h.Receive(c.from, hdr[4], payload)
	}
}

// readPayload reads n bytes into a new slice, growing it as they arrive when
// n is large.
func readPayload(r io.Reader, n int) ([]byte, error) {
	if n <= growChunk {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, noEOF(err)
		}
		return b, nil
	}
	b := make([]byte, 0, growChunk)
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*cap(b)))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, noEOF(err)
		}
	}
	return b, nil
}

// noEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
