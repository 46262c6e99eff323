// Package fuzzcheck holds the checks that the fuzz targets of several packages
// share. It is imported by tests only.
//
// The one check so far is bounded allocation: a decoder handed n bytes must
// not allocate much more than a small multiple of n, whatever lengths and
// counts those bytes declare. A frame or vector that claims 2 GB in a 4-byte
// length must cost what its bytes cost, not 2 GB.
package fuzzcheck

import (
	"fmt"
	"runtime/metrics"
	"testing"
)

// Slack is the allocation allowed on top of the per-byte allowance: room for
// error values, small fixed buffers and the imprecision of the heap counter
// (runtime/metrics counts small objects by the span, when a span is handed
// back; objects above 32 KiB are counted exactly, when allocated).
const Slack = 1 << 20

var sample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

func allocated() uint64 {
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// AllocBytes returns about how many bytes fn allocated on the heap. It counts
// the whole process, so fn should be the only goroutine that allocates much
// while it runs. Reading the counter costs a few hundred nanoseconds.
func AllocBytes(fn func()) uint64 {
	before := allocated()
	fn()
	return allocated() - before
}

// Bounded runs fn, which decodes n bytes of input, and fails t if it
// allocated more than perByte*n + Slack bytes (see BoundedTo).
func Bounded(t testing.TB, what string, n, perByte int, fn func()) {
	t.Helper()
	BoundedTo(t, fmt.Sprintf("%s of %d bytes of input", what, n), uint64(perByte)*uint64(n)+Slack, fn)
}

// BoundedTo runs fn and fails t if it allocated more than limit bytes. A
// collection that happens to run meanwhile flushes the spans other code filled
// before fn started, which then count against fn; so an excess is measured
// again, twice more at most, and only an excess every time fails. fn must
// therefore do the same thing each time it runs (set up its own reader, not
// consume a shared one).
func BoundedTo(t testing.TB, what string, limit uint64, fn func()) {
	t.Helper()
	var got uint64
	for range 3 {
		if got = AllocBytes(fn); got <= limit {
			return
		}
	}
	t.Fatalf("%s allocated %d bytes (limit %d)", what, got, limit)
}
