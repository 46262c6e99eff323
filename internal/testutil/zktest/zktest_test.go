package zktest

import (
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"
)

func TestMain(m *testing.M) { Main(m) }

// TestStartAndRestart checks the harness against the server chosen by
// GOZK_TEST_SERVER: it starts, serves a client, restarts on the same port
// with its data, and answers four-letter words.
func TestStartAndRestart(t *testing.T) {
	s := Start(t, nil)
	c, _ := Connect(t, s.Addr)
	if _, err := c.Create("/harness", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create: %v", err)
	}
	c.Close()
	s.Restart(t)
	c2, _ := Connect(t, s.Addr)
	data, _, err := c2.Get("/harness")
	if err != nil || string(data) != "x" {
		t.Fatalf("after restart: get = %q, %v; want x", data, err)
	}
	out, err := FourLetter(s.Addr, "srvr")
	if err != nil || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("srvr = %q, %v", out, err)
	}
	s.Kill()
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	if _, err := FourLetter(s.Addr, "ruok"); err == nil {
		t.Fatal("ruok answered after Kill")
	}
}
