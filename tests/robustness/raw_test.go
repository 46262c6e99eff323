package robustness

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// The raw client speaks the client protocol itself, for what go-zookeeper
// cannot do: persistent recursive watches (addWatch, setWatches2 with
// persistent watches on reconnect), the zxid of every reply and
// notification, and requests pipelined in a known order on one connection.

// Opcodes and special xids of the client protocol.
const (
	opCreate      = 1
	opGetData     = 4
	opSync        = 9
	opPing        = 11
	opSetWatches2 = 105
	opAddWatch    = 106

	xidNotification = -1
	xidPing         = -2
	xidSetWatches   = -8

	addWatchPersistentRecursive = 1
)

// ZooKeeper event types.
const (
	evNodeCreated         = 1
	evNodeDeleted         = 2
	evNodeDataChanged     = 3
	evNodeChildrenChanged = 4
)

var errExpired = errors.New("raw: session expired")

// checkExpiry reports a session declared expired before its timeout had
// passed since a server last heard from it (ZooKeeper expires a session
// only after the timeout without hearing from it; a new leader even grants
// a full timeout afresh). A margin covers the time a ping's answer takes to
// come back and the tick rounding.
func (r *run) checkExpiry(who string, s *rawSession) {
	ago := s.heardAgo()
	r.logf("%s: session 0x%x expired, %v after a server last answered it (timeout %v)", who, s.id, ago.Round(time.Millisecond), s.timeout)
	if ago < s.timeout-time.Second {
		r.violation("%s: session 0x%x declared expired %v after a server last answered it, before its timeout of %v", who, s.id, ago.Round(time.Millisecond), s.timeout)
	}
}

// rawSession is what survives a connection: the session and the last zxid
// seen, sent in the next handshake.
type rawSession struct {
	id       int64
	passwd   []byte
	lastZxid int64
	timeout  time.Duration
	// heard is when a frame (a ping's answer included) last came from a
	// server for this session: the server heard the client just before.
	heard atomic.Int64
}

// heardAgo returns how long ago the session last heard from a server.
func (s *rawSession) heardAgo() time.Duration {
	return time.Since(time.Unix(0, s.heard.Load()))
}

type frame struct {
	hdr  zktest.ReplyHeader
	body []byte
}

// rawConn is one connection of a rawSession.
type rawConn struct {
	nc     net.Conn
	sess   *rawSession
	addr   string
	frames chan frame
	dead   chan struct{} // closed when the reader stops
	err    error         // why, set before dead closes
	wmu    sync.Mutex
	xid    int32
	once   sync.Once
	closed chan struct{}
}

// dialRaw connects to addr and creates (sess.id == 0) or resumes sess. A
// server that has applied less than sess.lastZxid, or has no leader, closes
// the connection: that is an error, try another server. errExpired means the
// session is gone.
func dialRaw(addr string, sess *rawSession) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	var e zktest.Enc
	e.Int(0)
	e.Long(sess.lastZxid)
	e.Int(int32(sess.timeout / time.Millisecond))
	e.Long(sess.id)
	pw := sess.passwd
	if pw == nil {
		pw = make([]byte, 16)
	}
	e.Buffer(pw)
	e.Bool(false)
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := writeFrame(nc, e.Bytes()); err != nil {
		nc.Close()
		return nil, err
	}
	p, err := readFrame(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	d := zktest.Dec{B: p}
	d.Int()
	to := d.Int()
	id := d.Long()
	passwd := d.Buffer()
	if d.Err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: %w", addr, d.Err)
	}
	if to <= 0 {
		nc.Close()
		return nil, errExpired
	}
	if sess.id != 0 && id != sess.id {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: resumed session 0x%x as 0x%x", addr, sess.id, id)
	}
	sess.id, sess.passwd, sess.timeout = id, passwd, time.Duration(to)*time.Millisecond
	sess.heard.Store(time.Now().UnixNano())
	_ = nc.SetDeadline(time.Time{})
	c := &rawConn{nc: nc, sess: sess, addr: addr, frames: make(chan frame, 1024), dead: make(chan struct{}), closed: make(chan struct{})}
	go c.readLoop()
	go c.pingLoop()
	return c, nil
}

func writeFrame(w io.Writer, p []byte) error {
	b := make([]byte, 4+len(p))
	binary.BigEndian.PutUint32(b, uint32(len(p)))
	copy(b[4:], p)
	_, err := w.Write(b)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > 16<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// readLoop reads frames until the connection fails; a server silent for
// two thirds of the session timeout is given up, as real clients do.
func (c *rawConn) readLoop() {
	defer close(c.dead)
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.sess.timeout * 2 / 3))
		p, err := readFrame(c.nc)
		if err != nil {
			c.err = err
			c.nc.Close()
			return
		}
		c.sess.heard.Store(time.Now().UnixNano())
		d := zktest.Dec{B: p}
		h := zktest.ReplyHeader{Xid: d.Int(), Zxid: d.Long(), Err: d.Int()}
		if d.Err != nil {
			c.err = d.Err
			c.nc.Close()
			return
		}
		if h.Xid == xidPing {
			continue
		}
		select {
		case c.frames <- frame{h, d.B}:
		case <-c.closed:
			return
		}
	}
}

func (c *rawConn) pingLoop() {
	t := time.NewTicker(c.sess.timeout / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			var e zktest.Enc
			e.Int(xidPing)
			e.Int(opPing)
			if c.write(e.Bytes()) != nil {
				return
			}
		case <-c.dead:
			return
		case <-c.closed:
			return
		}
	}
}

func (c *rawConn) write(frames ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var buf []byte
	for _, p := range frames {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(p)))
		buf = append(buf, p...)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(buf)
	return err
}

func (c *rawConn) close() {
	c.once.Do(func() {
		close(c.closed)
		c.nc.Close()
	})
}

// nextXid returns a fresh positive xid.
func (c *rawConn) nextXid() int32 {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.xid++
	return c.xid
}

// request builds RequestHeader{xid, op} + body.
func request(xid, op int32, body []byte) []byte {
	var e zktest.Enc
	e.Int(xid)
	e.Int(op)
	e.Raw(body)
	return e.Bytes()
}

// next returns the next frame other than a ping, updating the session's
// last zxid, or the connection's error.
func (c *rawConn) next(timeout time.Duration) (frame, error) {
	select {
	case f := <-c.frames:
		if f.hdr.Zxid > c.sess.lastZxid {
			c.sess.lastZxid = f.hdr.Zxid
		}
		return f, nil
	default:
	}
	select {
	case f := <-c.frames:
		if f.hdr.Zxid > c.sess.lastZxid {
			c.sess.lastZxid = f.hdr.Zxid
		}
		return f, nil
	case <-c.dead:
		// Frames read before the failure come first.
		select {
		case f := <-c.frames:
			if f.hdr.Zxid > c.sess.lastZxid {
				c.sess.lastZxid = f.hdr.Zxid
			}
			return f, nil
		default:
		}
		return frame{}, fmt.Errorf("connection to %s: %w", c.addr, c.err)
	case <-time.After(timeout):
		return frame{}, fmt.Errorf("connection to %s: no frame within %v", c.addr, timeout)
	}
}

// watcherEvent decodes a notification.
func watcherEvent(body []byte) (typ int32, path string, err error) {
	d := zktest.Dec{B: body}
	typ = d.Int()
	d.Int() // state
	path = d.String()
	return typ, path, d.Err
}

func createBody(path string, data []byte, flags int32) []byte {
	var e zktest.Enc
	e.String(path)
	e.Buffer(data)
	e.Int(1)
	e.Int(31)
	e.String("world")
	e.String("anyone")
	e.Int(flags)
	return e.Bytes()
}

func pathWatchBody(path string, watch bool) []byte {
	var e zktest.Enc
	e.String(path)
	e.Bool(watch)
	return e.Bytes()
}

func pathBody(path string) []byte {
	var e zktest.Enc
	e.String(path)
	return e.Bytes()
}

func addWatchBody(path string, mode int32) []byte {
	var e zktest.Enc
	e.String(path)
	e.Int(mode)
	return e.Bytes()
}

// setWatches2Body re-registers persistent recursive watches on paths.
func setWatches2Body(relZxid int64, recursive []string) []byte {
	var e zktest.Enc
	e.Long(relZxid)
	for range 4 { // data, exist, child, persistent
		e.Int(0)
	}
	e.Int(int32(len(recursive)))
	for _, p := range recursive {
		e.String(p)
	}
	return e.Bytes()
}
