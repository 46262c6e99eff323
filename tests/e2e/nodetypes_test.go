package e2e

import (
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestContainer: a container is deleted by the server (every
// znode.container.checkIntervalMs, 1 s here) once it has had children and has
// none left; one that never had a child, or still has one, stays.
func TestContainer(t *testing.T) {
	s, c := start(t, nil)
	w, _ := zktest.Connect(t, s.Addr)
	for _, p := range []string{"/used", "/never", "/busy", "/eph"} {
		if _, err := c.CreateContainer(p, nil, zk.FlagContainer, worldAll); err != nil {
			t.Fatalf("create container %s: %v", p, err)
		}
	}
	create(t, c, "/used/a", nil, 0)
	create(t, c, "/busy/a", nil, 0)
	create(t, c, "/busy/b", nil, 0)
	_, _, delW, err := w.ExistsW("/used")
	must(t, "existsw", err)
	must(t, "delete child", c.Delete("/used/a", -1))
	must(t, "delete child", c.Delete("/busy/a", -1))

	// An ephemeral child's session ending also empties a container.
	other, _ := zktest.Connect(t, s.Addr)
	create(t, other, "/eph/e", nil, zk.FlagEphemeral)
	other.Close()

	if e := waitEvent(t, "container deleted", delW); e.Type != zk.EventNodeDeleted || e.Path != "/used" {
		t.Fatalf("event %+v", e)
	}
	pollUntil(t, "/eph deleted", func() bool { return !exists(t, c, "/eph") })
	// Three more check intervals: the others stay.
	time.Sleep(3500 * time.Millisecond)
	for _, p := range []string{"/never", "/busy"} {
		if !exists(t, c, p) {
			t.Errorf("container %s deleted", p)
		}
	}
	// A container with data and no children ever is a plain node to clients.
	_, err = c.Set("/never", []byte("x"), 0)
	must(t, "set container", err)
}

// TestTTL: a TTL node is deleted once it has had no children and no change
// for its TTL; children keep it; so does a recent setData.
func TestTTL(t *testing.T) {
	_, c := start(t, nil)
	_, err := c.CreateTTL("/ttl", []byte("x"), zk.FlagTTL, worldAll, 500*time.Millisecond)
	must(t, "create ttl", err)
	_, err = c.CreateTTL("/parent", nil, zk.FlagTTL, worldAll, 500*time.Millisecond)
	must(t, "create ttl parent", err)
	create(t, c, "/parent/child", nil, 0)
	p, err := c.CreateTTL("/seq-", nil, zk.FlagPersistentSequentialWithTTL, worldAll, 500*time.Millisecond)
	must(t, "create sequential ttl", err)
	_, err = c.CreateTTL("/long", nil, zk.FlagTTL, worldAll, time.Hour)
	must(t, "create long ttl", err)

	pollUntil(t, "ttl nodes deleted", func() bool { return !exists(t, c, "/ttl") && !exists(t, c, p) })
	if !exists(t, c, "/parent") || !exists(t, c, "/long") {
		t.Fatal("TTL node with a child, or with a long TTL, deleted")
	}
	must(t, "delete child", c.Delete("/parent/child", -1))
	pollUntil(t, "emptied ttl node deleted", func() bool { return !exists(t, c, "/parent") })
	if !exists(t, c, "/long") {
		t.Fatal("/long deleted")
	}
}

// TestTTLErrors: TTLs out of range are BadArguments; with extendedTypesEnabled
// off, TTL creates are Unimplemented.
func TestTTLErrors(t *testing.T) {
	_, c := start(t, nil)
	for _, ttl := range []time.Duration{0, -time.Millisecond, time.Duration(1<<40) * time.Millisecond} {
		_, err := c.CreateTTL("/t", nil, zk.FlagTTL, worldAll, ttl)
		wantCode(t, "ttl "+ttl.String(), err, codeBadArguments)
	}
	_, err := c.CreateTTL("/t", nil, zk.FlagTTL, worldAll, time.Duration(1<<40-1)*time.Millisecond)
	must(t, "largest ttl", err)

	_, off := start(t, map[string]string{"extendedTypesEnabled": "false"})
	_, err = off.CreateTTL("/t", nil, zk.FlagTTL, worldAll, time.Hour)
	wantCode(t, "ttl disabled", err, codeUnimplemented)
	// Containers do not need extended types.
	_, err = off.CreateContainer("/c", nil, zk.FlagContainer, worldAll)
	must(t, "container with extended types off", err)
}
