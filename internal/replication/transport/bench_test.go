package transport

import (
	"sync/atomic"
	"testing"
	"time"
)

// counter is a Handler that counts what arrives and wakes a waiting sender.
type counter struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
	credit chan struct{} // capacity 1
}

func (c *counter) Receive(from uint64, kind byte, payload []byte) {
	n := c.n.Add(1)
	if n%64 == 0 {
		select {
		case c.credit <- struct{}{}:
		default:
		}
	}
	if n == c.target {
		close(c.done)
	}
}

func (c *counter) PeerLost(uint64, error) {}

// BenchmarkThroughput sends b.N messages from one transport to another over
// loopback, keeping at most window bytes in flight so that nothing is
// dropped, and reports messages per second and MB/s (payload bytes).
func BenchmarkThroughput(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{{"100B", 100}, {"64KiB", 64 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			const window = 16 << 20
			c := &counter{target: int64(b.N), done: make(chan struct{}), credit: make(chan struct{}, 1)}
			nodes := newClusterWith(b, 2, nil, func(i int) Handler {
				if i == 1 {
					return c
				}
				return nil
			})
			a := nodes[0]
			waitConnected(b, a.tr, 2, true)
			payload := make([]byte, bc.size)
			perWindow := int64(window / (bc.size + frameHeaderSize))
			b.SetBytes(int64(bc.size))
			b.ResetTimer()
			start := time.Now()
			for i := range int64(b.N) {
				for i-c.n.Load() >= perWindow {
					<-c.credit
				}
				if !a.tr.Send(2, 1, payload) {
					b.Fatal("message dropped")
				}
			}
			<-c.done
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRoundTrip measures a message and its answer between two idle,
// connected transports: the latency of one message with no batching delay.
func BenchmarkRoundTrip(b *testing.B) {
	back := make(chan struct{}, 1)
	var second atomic.Pointer[Transport]
	nodes := newClusterWith(b, 2, nil, func(i int) Handler {
		if i == 0 {
			return echoBack{back}
		}
		return echo{&second}
	})
	a, c := nodes[0], nodes[1]
	second.Store(c.tr)
	waitConnected(b, a.tr, 2, true)
	waitConnected(b, c.tr, 1, true)
	payload := make([]byte, 100)
	b.ResetTimer()
	for range b.N {
		a.tr.Send(2, 1, payload)
		<-back
	}
}

type echo struct{ t *atomic.Pointer[Transport] }

func (e echo) Receive(from uint64, kind byte, p []byte) { e.t.Load().Send(from, kind, p) }
func (echo) PeerLost(uint64, error)                     {}

type echoBack struct{ c chan struct{} }

func (e echoBack) Receive(uint64, byte, []byte) { e.c <- struct{}{} }
func (echoBack) PeerLost(uint64, error)         {}
