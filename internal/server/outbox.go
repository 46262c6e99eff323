package server

import (
	"sync"

	"github.com/gozk/gozk/internal/jute"
)

// maxQueuedBytes bounds a connection's unsent output; a client that reads
// slower than its events and replies arrive is disconnected.
const maxQueuedBytes = 64 << 20

// outbox is a connection's queue of encoded frames, filled by the processor and
// by apply, drained by the writer in one write per wake-up.
type outbox struct {
	mu      sync.Mutex
	cur     *jute.Writer
	spare   []byte
	closed  bool
	closing bool
	wake    chan struct{}
}

func (o *outbox) init() {
	o.cur = jute.NewWriter(make([]byte, 0, 4096))
	o.wake = make(chan struct{}, 1)
}

// frame encodes one length-prefixed frame; false if the outbox is closed or full.
func (o *outbox) frame(fn func(w *jute.Writer)) bool {
	o.mu.Lock()
	if o.closed || o.closing {
		o.mu.Unlock()
		return !o.closed
	}
	off := o.cur.BeginFrame()
	fn(o.cur)
	o.cur.EndFrame(off)
	full := o.cur.Len() > maxQueuedBytes
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return !full
}

func (o *outbox) take() ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.cur.Bytes()
	o.cur = jute.NewWriter(o.spare[:0])
	o.spare = nil
	return b, o.closing
}

func (o *outbox) recycle(b []byte) {
	if cap(b) > 1<<20 {
		return
	}
	o.mu.Lock()
	if o.spare == nil {
		o.spare = b[:0]
	}
	o.mu.Unlock()
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

func (o *outbox) closeAfterFlush() {
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}
