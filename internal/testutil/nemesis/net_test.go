package nemesis

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestNetBlock starts a process through the wrapper in cgroup "m1" and checks
// that Block stops its connections to a listener while this process (in no
// cgroup of the run) still connects, that Heal lets it through again, and
// that nothing is left in iptables afterwards.
func TestNetBlock(t *testing.T) {
	nt, err := NewNet(t)
	if err != nil {
		t.Skipf("network faults unavailable: %v", err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	wrapper, err := nt.Wrapper(bash)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// bash -c SCRIPT --config DIR/zoo.cfg: the wrapper sees --config.
	connects := func() bool {
		script := "exec 3<>/dev/tcp/127.0.0.1/" + strconv.Itoa(port)
		cmd := exec.Command("timeout", "2", wrapper, "-c", script, "--config", filepath.Join(dir, "zoo.cfg"))
		return cmd.Run() == nil
	}
	if !connects() {
		t.Fatal("wrapped process cannot connect before any rule")
	}
	from := Node{Name: "m1"}
	to := Node{Name: "m2", Host: "127.0.0.1", Port: port}
	if err := nt.Block(from, to); err != nil {
		t.Fatal(err)
	}
	if connects() {
		t.Fatal("wrapped process connected through a Block")
	}
	c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
	if err != nil {
		t.Fatalf("a process outside the cgroup is blocked too: %v", err)
	}
	c.Close()
	if err := nt.Heal(); err != nil {
		t.Fatal(err)
	}
	if !connects() {
		t.Fatal("wrapped process cannot connect after Heal")
	}
	if err := nt.Block(from, to); err != nil {
		t.Fatal(err)
	}
	nt.close() // what the cleanup does, with a rule still in force
	if left, err := nt.Leftovers(); err != nil || len(left) != 0 {
		t.Fatalf("left in iptables: %q, %v", left, err)
	}
	if _, err := os.Stat(nt.cgBase); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s left: %v", nt.cgBase, err)
	}
}

func TestParseZxid(t *testing.T) {
	if z := ParseZxid("Latency min/avg/max: 0/0/0\nZxid: 0x300000012\nMode: leader\n"); z != 0x300000012 {
		t.Fatalf("ParseZxid = %#x", z)
	}
	if z := ParseZxid("nothing"); z != 0 {
		t.Fatalf("ParseZxid = %#x", z)
	}
}
