package server

import (
	"sync"

	"github.com/gozk/gozk/internal/jute"
)

// A connection's unsent output is bounded two ways. Replies wait while more
// than replyLimit bytes are queued or being written: a client that does not
// read its replies stalls only its own pipeline (its requests stay unread, in
// its socket), never the server's memory. Watch events cannot wait (apply
// queues them), so a connection whose queue passes eventLimit is closed.
const (
	replyLimit = 4 << 20
	eventLimit = 32 << 20
)

// outbox is a connection's queue of encoded frames, filled by the processor and
// by apply, drained by the writer in one write per wake-up.
type outbox struct {
	mu      sync.Mutex
	drained *sync.Cond // signalled when the writer has written what it took
	cur     *jute.Writer
	spare   []byte
	writing int // bytes taken by the writer and not yet written
	closed  bool
	closing bool
	wake    chan struct{}
}

func (o *outbox) init() {
	o.cur = jute.NewWriter(make([]byte, 0, 4096))
	o.wake = make(chan struct{}, 1)
	o.drained = sync.NewCond(&o.mu)
}

func (o *outbox) queued() int { return o.cur.Len() + o.writing }

// reply encodes one reply frame, first waiting while the queue is over
// replyLimit; false if the outbox was closed meanwhile.
func (o *outbox) reply(fn func(w *jute.Writer)) bool {
	o.mu.Lock()
	for !o.closed && !o.closing && o.queued() > replyLimit {
		o.drained.Wait()
	}
	o.mu.Unlock()
	return o.frame(fn)
}

// frame encodes one length-prefixed frame without waiting; false if the outbox
// is closed or over eventLimit.
func (o *outbox) frame(fn func(w *jute.Writer)) bool {
	closed, over := o.push(fn)
	return !closed && !over
}

// event encodes a watch event without waiting and reports whether the queue
// is now over eventLimit (a closed outbox drops the event and is not).
func (o *outbox) event(fn func(w *jute.Writer)) (over bool) {
	_, over = o.push(fn)
	return over
}

// push encodes one frame unless the outbox is closed (or closing, which
// drops it but is not reported as closed), and reports whether the queue is
// over eventLimit.
func (o *outbox) push(fn func(w *jute.Writer)) (closed, over bool) {
	o.mu.Lock()
	if o.closed || o.closing {
		o.mu.Unlock()
		return o.closed, false
	}
	off := o.cur.BeginFrame()
	fn(o.cur)
	o.cur.EndFrame(off)
	over = o.queued() > eventLimit
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return false, over
}

func (o *outbox) take() ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.cur.Bytes()
	o.cur = jute.NewWriter(o.spare[:0])
	o.spare = nil
	o.writing = len(b)
	return b, o.closing
}

// written returns a buffer the writer has written, for reuse, and lets
// waiting replies go on.
func (o *outbox) written(b []byte) {
	o.mu.Lock()
	o.writing = 0
	if o.spare == nil && cap(b) <= 1<<20 {
		o.spare = b[:0]
	}
	o.drained.Broadcast()
	o.mu.Unlock()
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.drained.Broadcast()
	o.mu.Unlock()
}

func (o *outbox) closeAfterFlush() {
	o.mu.Lock()
	o.closing = true
	o.drained.Broadcast()
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
