package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
)

// fuzzMaxBuffer is the server's jute.maxbuffer in FuzzFirstBytes: small, so
// that frames over the limit are within the fuzzer's reach.
const fuzzMaxBuffer = 1 << 14

// fuzzUnlisted are the four-letter words FuzzFirstBytes leaves out of the
// whitelist, so that both answers are exercised.
var fuzzUnlisted = map[string]bool{"envi": true, "dirs": true}

// FuzzFirstBytes sends arbitrary bytes as everything a client sends on a new
// connection to an in-process server (started afresh for every input, so that
// any failure reproduces from its input alone), then half-closes it. The
// bytes reach the first-frame reader: a four-letter word, or a ConnectRequest
// frame, and after a handshake that succeeds, the request frames that follow.
// The server must not panic (a panic on any of its goroutines kills the
// process, which the fuzzer reports with the input), must end the connection
// (no hang), must answer what the first bytes call for (modelFirst), and must
// then still serve a new client: a handshake and a request.
func FuzzFirstBytes(f *testing.F) {
	for _, seed := range firstBytesSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		words := map[string]bool{}
		for _, w := range FourLetterWordNames() {
			words[w] = !fuzzUnlisted[w]
		}
		s := startServer(t, func(o *Options) {
			// A short tick: a client that has seen a later zxid than the
			// server is refused after a tick of trying to catch up.
			o.TickTime = 20 * time.Millisecond
			// But sessions that outlive a loaded machine's pauses, so that
			// the check after the input does not see its session expire.
			o.MaxSessionTimeout = 30 * time.Second
			o.MaxBuffer = fuzzMaxBuffer
			o.HandshakeTimeout = 5 * time.Second
			o.FourLetterWords = words
		})
		answer := sendAll(t, s, in)
		checkAnswer(t, in, answer)

		// The server goes on serving.
		nc := dialNoLinger(t, s)
		defer nc.Close()
		if resp := handshake(t, nc, proto.ConnectRequest{TimeOut: 4000}); resp.SessionID == 0 {
			t.Fatalf("after the input, a new client gets no session: %+v", resp)
		}
		if h := sendRequest(t, nc, 1, proto.OpExists, &proto.PathWatchRequest{Path: "/zookeeper"}); h.Err != proto.ErrOK || h.Xid != 1 {
			t.Fatalf("after the input, exists of /zookeeper answers %+v", h)
		}
	})
}

// dialNoLinger connects to s. Its connections are closed with a reset, so
// that thousands of fuzz inputs a second leave no TIME_WAIT sockets behind
// to exhaust the ports of a shared machine.
func dialNoLinger(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc.(*net.TCPConn).SetLinger(0)
	return nc
}

// sendAll writes in on a new connection, half-closes it and returns all the
// server sends back before it closes the connection.
func sendAll(t *testing.T, s *Server, in []byte) []byte {
	t.Helper()
	nc := dialNoLinger(t, s)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	done := make(chan []byte)
	go func() {
		b, err := io.ReadAll(nc)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("the server did not close the connection within 20 s (read %d bytes)", len(b))
		}
		done <- b
	}()
	// The server may close before reading everything (a bad frame): a
	// failed write is not a failure of the server.
	nc.Write(in)
	nc.(*net.TCPConn).CloseWrite()
	return <-done
}

// checkAnswer checks what the server sent back for the client bytes in.
func checkAnswer(t *testing.T, in, answer []byte) {
	t.Helper()
	if len(in) >= 4 {
		if w := string(in[:4]); fourLetterWords[w] != nil {
			// The answer of a listed word depends on the state (conf prints
			// nothing without a configuration dump); it is not the refusal.
			refusal := w + " is not executed because it is not in the whitelist.\n"
			if (string(answer) == refusal) != fuzzUnlisted[w] {
				t.Fatalf("%s (listed: %v): answer %q", w, !fuzzUnlisted[w], answer)
			}
			return
		}
	}
	req, ok := modelFirst(in)
	if !ok {
		if len(answer) != 0 {
			t.Fatalf("answer %q to a first frame that is no ConnectRequest", answer)
		}
		return
	}
	if req.LastZxidSeen > 0 {
		// A fresh server has seen nothing: it refuses the client, or (should
		// the client's zxid be reachable) answers; either way frames.
		if len(answer) == 0 {
			return
		}
	}
	rd := bytes.NewReader(answer)
	p, err := jute.ReadFrame(rd, nil, 1<<20)
	if err != nil {
		t.Fatalf("answer % x to a ConnectRequest: no frame: %v", answer, err)
	}
	var resp proto.ConnectResponse
	r := jute.NewReader(p)
	resp.Decode(r)
	if r.Err() != nil || r.Len() != 0 || resp.HasReadOnly != req.HasReadOnly || len(resp.Passwd) != proto.PasswordLen {
		t.Fatalf("answer to %+v: ConnectResponse %+v (%v, %d bytes left)", req, resp, r.Err(), r.Len())
	}
	if req.SessionID == 0 && (resp.SessionID == 0 || resp.TimeOut <= 0) {
		t.Fatalf("answer to %+v: no session: %+v", req, resp)
	}
	// Then replies and notifications, each a ReplyHeader and its body.
	for n := 0; rd.Len() > 0; n++ {
		p, err := jute.ReadFrame(rd, nil, 1<<20)
		if err != nil {
			t.Fatalf("reply %d: %v", n, err)
		}
		var h proto.ReplyHeader
		r := jute.NewReader(p)
		h.Decode(r)
		if r.Err() != nil {
			t.Fatalf("reply %d: % x: %v", n, p, r.Err())
		}
	}
}

// modelFirst says whether in starts with a frame the server must take as a
// ConnectRequest: within the limit, complete, and decoding without error.
func modelFirst(in []byte) (proto.ConnectRequest, bool) {
	var req proto.ConnectRequest
	if len(in) < 4 {
		return req, false
	}
	n := int(int32(binary.BigEndian.Uint32(in)))
	if n < 0 || n > fuzzMaxBuffer || len(in)-4 < n {
		return req, false
	}
	r := jute.NewReader(in[4 : 4+n])
	req.Decode(r)
	return req, r.Err() == nil
}

// firstBytesSeeds are what clients really send first: every four-letter word,
// the golden frames of internal/proto/testdata (each connection's frames in
// order, as one input: the ConnectRequest and the requests after it), the
// ConnectRequests alone and cut short, and lengths at the boundaries.
func firstBytesSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	words := FourLetterWordNames()
	for _, w := range words {
		seeds = append(seeds, []byte(w), []byte(w+"\n"))
	}
	files, err := filepath.Glob("../proto/testdata/*-c*-*.bin")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no golden frames: %v", err)
	}
	sort.Strings(files)
	conns := map[string][]byte{} // "java-c1" -> its frames
	var order []string
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		name := filepath.Base(file)
		conn := name[:strings.LastIndexByte(name[:strings.LastIndexByte(name, '-')], '-')]
		if _, ok := conns[conn]; !ok {
			order = append(order, conn)
		}
		conns[conn] = append(conns[conn], b...)
		if strings.Contains(name, "-connect") {
			seeds = append(seeds, b, b[:len(b)-1], b[:len(b)/2])
		}
	}
	for _, conn := range order {
		seeds = append(seeds, conns[conn])
	}
	for _, n := range []uint32{0, 1, fuzzMaxBuffer, fuzzMaxBuffer + 1, 0x7fffffff, 0x80000000, 0xffffffff} {
		seeds = append(seeds, binary.BigEndian.AppendUint32(nil, n), binary.BigEndian.AppendUint32(nil, n)[:3])
	}
	seeds = append(seeds, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []byte{})
	return seeds
}
