package transport

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const helperEnv = "GOZK_TRANSPORT_TEST_PEER"

// TestHelperPeer is not a test: run by TestPeerLostWhenProcessKilled in a
// child process, it is peer 2, which says "ready" to peer 1 and waits to be
// killed.
func TestHelperPeer(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("runs only as the child process of TestPeerLostWhenProcessKilled")
	}
	listen, peer, _ := strings.Cut(spec, ",")
	tr, err := New(Config{ID: 2, ListenAddr: listen, Peers: []Peer{{1, peer}}, ClusterID: clusterID,
		Logger: newTestLogger(io.Discard)}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	tr.Send(1, 1, []byte("ready"))
	time.Sleep(time.Minute) // killed long before
	os.Exit(3)
}

func TestPeerLostWhenProcessKilled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	childAddr := ln.Addr().String()
	ln.Close()
	nodes := newCluster(t, 1, func(c *Config) { c.Peers = []Peer{{2, childAddr}} })
	a := nodes[0]

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPeer$")
	cmd.Env = append(os.Environ(), helperEnv+"="+childAddr+","+a.cfg.ListenAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	a.h.waitCount(t, 1, 30*time.Second)
	if got := a.h.from(2); string(got[0].payload) != "ready" {
		t.Fatalf("got %q", got[0].payload)
	}
	waitConnected(t, a.tr, 2, true)
	start := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-a.h.lostc:
		t.Logf("PeerLost(%d, %v) %v after SIGKILL", l.id, l.err, time.Since(start))
		if l.id != 2 {
			t.Fatalf("PeerLost(%d)", l.id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost after the peer process was killed")
	}
	waitConnected(t, a.tr, 2, false)
}
