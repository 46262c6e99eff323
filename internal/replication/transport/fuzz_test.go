package transport

import (
	"io"
	"net"
	"testing"
)

// FuzzInbound feeds arbitrary bytes to an accepting transport as one inbound
// connection: it must never panic, and must deliver frames only after an
// accepted hello.
func FuzzInbound(f *testing.F) {
	ok := hello{protocolVersion, clusterID, 2, 1}.marshal()
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(ok)
	f.Add(append(append([]byte{}, ok...), frame(1, []byte("hello"))...))
	f.Add(append(append([]byte{}, ok...), 0xff, 0xff, 0xff, 0xff, 1))
	f.Add(append(append([]byte{}, ok...), 0, 0, 0, 10, 1, 'x'))
	f.Add(hello{protocolVersion, clusterID + 1, 2, 1}.marshal())
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := Config{ID: 1, Peers: []Peer{{2, "127.0.0.1:1"}}, ClusterID: clusterID, MaxFrame: 1 << 16,
			Logger: newTestLogger(io.Discard)}
		if err := cfg.fill(); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h := newRecorder()
		tr := newTransport(cfg, h, ln)
		defer tr.Close()
		server, client := net.Pipe()
		c := &inConn{conn: server, remote: "pipe:1", done: make(chan struct{})}
		tr.mu.Lock()
		tr.inbound[c] = struct{}{}
		tr.wg.Add(1)
		tr.mu.Unlock()
		go tr.serveInbound(c)
		go io.Copy(io.Discard, client)
		client.Write(in)
		client.Close()
		<-c.done
		accepted := len(in) >= helloSize && string(in[:helloSize]) == string(ok)
		if !accepted && h.count() > 0 {
			t.Fatalf("%d messages delivered without an accepted hello", h.count())
		}
	})
}
