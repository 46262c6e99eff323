package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestConnectionThrottle: with ZooKeeper's connection throttle configured
// (connection_throttle_tokens, a bucket of 3 that refills one token every 10
// minutes), the first three ConnectRequests get sessions, the fourth
// connection is closed without an answer, and a session that got through
// keeps being served (the throttle limits new sessions only). Four-letter
// words take no token. Run against Apache ZooKeeper with
// GOZK_TEST_SERVER=zookeeper, which reads the same zoo.cfg keys as its
// zookeeper.connection_throttle_* system properties.
func TestConnectionThrottle(t *testing.T) {
	s := zktest.Start(t, map[string]string{
		"connection_throttle_tokens":     "3",
		"connection_throttle_fill_time":  "600000",
		"connection_throttle_fill_count": "1",
	})
	// Four-letter words do not count against the bucket.
	for range 5 {
		if out, err := zktest.FourLetter(s.Addr, "ruok"); err != nil || out != "imok" {
			t.Fatalf("ruok: %q, %v", out, err)
		}
	}
	c, _, err := zk.Connect([]string{s.Addr}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Create("/throttled", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through the first session: %v", err)
	}
	for i := range 2 {
		r := zktest.DialRaw(t, s.Addr)
		if _, err := r.Handshake(10000, 0, nil, false); err != nil {
			t.Fatalf("session %d of a bucket of 3: %v", i+2, err)
		}
	}
	r := zktest.DialRaw(t, s.Addr)
	if resp, err := r.Handshake(10000, 0, nil, false); err == nil {
		t.Fatalf("fourth session with an empty bucket was answered: %+v", resp)
	}
	if !r.WaitClosed(5 * time.Second) {
		t.Fatal("the throttled connection was not closed")
	}
	// The sessions that got through are still served.
	if _, _, err := c.Get("/throttled"); err != nil {
		t.Fatalf("first session after the throttle refused another: %v", err)
	}
	if s.Kind == zktest.KindGozk && !strings.Contains(s.Log(), "over the connection throttle") {
		t.Errorf("no log line names the throttle:\n%s", s.LogTail(2000))
	}
}
