package nemesis

import (
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// TestNetSlow: Slow sends what goes to one node's address through a shaped
// htb class (tc's counters for the class see those bytes, and not the bytes
// sent to another address), and Heal removes the shaping from the loopback
// interface.
func TestNetSlow(t *testing.T) {
	nt, err := NewNet(t)
	if err != nil {
		t.Skipf("network faults unavailable: %v", err)
	}
	listen := func(host string) (Node, func() int64) {
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		got := make(chan int64, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				got <- -1
				return
			}
			n, _ := io.Copy(io.Discard, c)
			c.Close()
			got <- n
		}()
		return Node{Name: "x", Host: host, Port: l.Addr().(*net.TCPAddr).Port}, func() int64 { return <-got }
	}
	slowNode, slowGot := listen("127.0.0.201")
	fastNode, fastGot := listen("127.0.0.202")
	if err := nt.Slow(slowNode, 2048); err != nil {
		t.Skipf("cannot shape the loopback interface here: %v", err)
	}
	send := func(n Node, size int) {
		c, err := net.Dial("tcp", net.JoinHostPort(n.Host, strconv.Itoa(n.Port)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	send(fastNode, 200_000)
	if n := fastGot(); n != 200_000 {
		t.Fatalf("fast node received %d bytes", n)
	}
	if sent := classBytes(t); sent > 50_000 {
		t.Fatalf("the slow class carried %d bytes of traffic to another address", sent)
	}
	send(slowNode, 20_000)
	if n := slowGot(); n != 20_000 {
		t.Fatalf("slow node received %d bytes", n)
	}
	if sent := classBytes(t); sent < 20_000 {
		t.Fatalf("the slow class carried %d bytes, want the 20,000 sent to the slowed node", sent)
	}
	if nt.SlowLinks() != 1 {
		t.Fatalf("SlowLinks = %d", nt.SlowLinks())
	}
	if err := nt.Heal(); err != nil {
		t.Fatal(err)
	}
	if left, err := slowLeftover(); err != nil || left != "" {
		t.Fatalf("after Heal: %q, %v", left, err)
	}
}

var sentRe = regexp.MustCompile(`Sent (\d+) bytes`)

// classBytes returns the bytes tc counted through the first slow class.
func classBytes(t *testing.T) int64 {
	out, err := exec.Command("tc", "-s", "class", "show", "dev", slowDev, "classid", slowHandle+":1").CombinedOutput()
	if err != nil {
		t.Fatalf("tc -s class show: %v: %s", err, out)
	}
	m := sentRe.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no counters in %q", out)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}
