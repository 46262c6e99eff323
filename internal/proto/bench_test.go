package proto

import (
	"testing"

	"github.com/gozk/gozk/internal/jute"
)

// The benchmarks decode and encode what the server handles for the most common
// requests: a frame payload (header and record) with a Reader and a Writer that
// are reused from one request to the next, as a connection's loops reuse them.

func BenchmarkDecodeGetDataRequest(b *testing.B) {
	p := readGolden(b, "java-c1-05-getData.bin")
	r := jute.NewReader(nil)
	var h RequestHeader
	var req PathWatchRequest
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(p)
		h.Decode(r)
		req.Decode(r)
		if r.Err() != nil || req.Path != "/gozk" || !req.Watch {
			b.Fatalf("decode: %v %+v", r.Err(), req)
		}
	}
}

func BenchmarkEncodeGetDataResponse(b *testing.B) {
	hdr := ReplyHeader{Xid: 5, Zxid: 0x100000009}
	resp := GetDataResponse{Data: make([]byte, 128), Stat: sampleStat}
	w := jute.NewWriter(make([]byte, 0, 512))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		off := w.BeginFrame()
		hdr.Encode(w)
		resp.Encode(w)
		w.EndFrame(off)
	}
	b.SetBytes(int64(w.Len()))
}

func BenchmarkDecodeCreateRequest(b *testing.B) {
	p := readGolden(b, "java-c1-01-create.bin")
	r := jute.NewReader(nil)
	var h RequestHeader
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(p)
		h.Decode(r)
		var req CreateRequest
		req.Decode(r)
		if r.Err() != nil || req.Path != "/gozk" || len(req.ACL) != 1 {
			b.Fatalf("decode: %v %+v", r.Err(), req)
		}
	}
}
