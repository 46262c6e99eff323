package server

import (
	"testing"
	"time"

	"github.com/gozk/gozk/internal/jute"
)

// TestOutboxBoundsWhatIsQueued: replies wait while the queue is over its
// limit, until the writer has written what it took; events never wait, and
// past their limit say the connection must go.
func TestOutboxBoundsWhatIsQueued(t *testing.T) {
	var o outbox
	o.init()
	chunk := make([]byte, 1<<20)
	put := func(w *jute.Writer) { w.Buffer(chunk) }
	for o.queued() <= replyLimit {
		if !o.reply(put) {
			t.Fatal("reply refused below the limit")
		}
	}
	b, _ := o.take() // the writer takes everything; it is still "being written"
	done := make(chan bool)
	go func() { done <- o.reply(put) }()
	select {
	case <-done:
		t.Fatal("a reply was queued while more than the limit was being written")
	case <-time.After(100 * time.Millisecond):
	}
	o.written(b)
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("reply refused after the writer caught up")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reply still waiting after the writer caught up")
	}
	// Events do not wait; past eventLimit the outbox reports it is full.
	full := false
	for i := 0; i < eventLimit>>20+2 && !full; i++ {
		full = o.event(put)
	}
	if !full {
		t.Fatalf("%d bytes queued and the outbox is not full", o.queued())
	}
	// A closed outbox releases a waiting reply.
	go func() { done <- o.reply(put) }()
	o.close()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("reply accepted by a closed outbox")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing did not release a waiting reply")
	}
	// An event for a closed connection is dropped: not an overflow (which
	// would log that the client does not read).
	if o.event(put) {
		t.Fatal("an event queued on a closed outbox reported an overflow")
	}
}
