// Package wait lets goroutines wait for things that happen elsewhere: a
// Registry for results routed by id (a request's reply, an answer from a
// peer), an Index for a counter that only grows (the applied log index).
// etcd's pkg/wait is the model.
package wait

import (
	"sort"
	"sync"
)

// Registry routes one value to whoever registered its id.
type Registry[T any] struct {
	mu sync.Mutex
	m  map[uint64]chan T
}

// Register returns the channel the value for id arrives on (buffered: Trigger
// never blocks). Registering an id twice replaces the first registration.
func (r *Registry[T]) Register(id uint64) <-chan T {
	ch := make(chan T, 1)
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[uint64]chan T)
	}
	r.m[id] = ch
	r.mu.Unlock()
	return ch
}

// Cancel forgets id; a later Trigger for it is dropped.
func (r *Registry[T]) Cancel(id uint64) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

// Trigger delivers v to the waiter for id, once, and reports whether there was
// one.
func (r *Registry[T]) Trigger(id uint64, v T) bool {
	r.mu.Lock()
	ch, ok := r.m[id]
	delete(r.m, id)
	r.mu.Unlock()
	if ok {
		ch <- v
	}
	return ok
}

// Len returns the number of waiters.
func (r *Registry[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// Index is a counter that only grows, and the waiters for it to reach a value.
type Index struct {
	mu      sync.Mutex
	cur     uint64
	waiters []indexWaiter // sorted by at
}

type indexWaiter struct {
	at uint64
	ch chan struct{}
}

// Wait returns a channel closed once the index is at least at.
func (x *Index) Wait(at uint64) <-chan struct{} {
	ch := make(chan struct{})
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cur >= at {
		close(ch)
		return ch
	}
	i := sort.Search(len(x.waiters), func(i int) bool { return x.waiters[i].at > at })
	x.waiters = append(x.waiters, indexWaiter{})
	copy(x.waiters[i+1:], x.waiters[i:])
	x.waiters[i] = indexWaiter{at: at, ch: ch}
	return ch
}

// Advance moves the index to v (never back) and releases the waiters it
// reaches.
func (x *Index) Advance(v uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if v <= x.cur {
		return
	}
	x.cur = v
	n := 0
	for n < len(x.waiters) && x.waiters[n].at <= v {
		close(x.waiters[n].ch)
		n++
	}
	if n > 0 {
		x.waiters = append(x.waiters[:0], x.waiters[n:]...)
	}
}

// Value returns the index.
func (x *Index) Value() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cur
}
