package e2e

import (
	"sync"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestThousandsOfConnections: 2,000 sessions at once on one server (no
// per-IP limit) are all established and served, and a client that was there
// before keeps working while they come and go.
func TestThousandsOfConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2000 connections")
	}
	const n = 2000
	s := zktest.Start(t, map[string]string{"maxClientCnxns": "0"})
	c, _ := zktest.Connect(t, s.Addr)
	create(t, c, "/many", nil, 0)
	conns := make([]*zktest.Raw, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := zktest.RawDial(s.Addr)
			if err != nil {
				errs <- err
				return
			}
			if _, err := r.Handshake(30000, 0, make([]byte, 16), false); err != nil {
				r.Close()
				errs <- err
				return
			}
			conns[i] = r
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("opening %d sessions: %v", n, err)
	}
	defer func() {
		for _, r := range conns {
			r.Close()
		}
	}()
	// Every one of them is served.
	for i, r := range conns {
		if h, _, err := r.Request(1, 3, existsBody("/many")); err != nil || h.Err != 0 {
			t.Fatalf("session %d: exists: %+v %v", i, h, err)
		}
	}
	if _, err := c.Create("/many/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("the first client after %d sessions: %v", n, err)
	}
}
