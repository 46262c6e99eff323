package nemesis

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Slow links. The kernel here has no netem (tc's delay and loss qdisc), but
// it has htb and the u32 classifier, so a link is slowed by shaping it: the
// packets sent to a node's quorum address go through an htb class of a low
// rate, and queue behind one another as on a congested link, so that a
// heartbeat waits behind the appends before it (the delay grows with the
// load). Everything else on the loopback interface bypasses the shaping
// (htb's direct queue), and nothing is installed while no link is slow.
//
// The qdisc has a fixed handle (slowHandle) so that one left by a crashed
// run is recognised and replaced; SlowLinks are removed by Heal and by the
// Net's cleanup.

const (
	slowDev    = "lo"
	slowHandle = "6f7a" // "oz"; the root qdisc's handle, classes 6f7a:N
)

// Slow shapes the packets sent to node to rate (kbit/s, at least 8) until
// Heal.
func (n *Net) Slow(to Node, kbit int) error {
	if kbit < 8 {
		return fmt.Errorf("nemesis: slow link rate %d kbit/s below 8", kbit)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("nemesis: Net already cleaned up")
	}
	if n.slow == 0 {
		if err := canSlow(); err != nil {
			return err
		}
		_ = tcQuiet("qdisc", "del", "dev", slowDev, "root", "handle", slowHandle+":") // a crashed run's
		// default 0: unclassified packets take the direct queue, unshaped.
		if err := tc("qdisc", "add", "dev", slowDev, "root", "handle", slowHandle+":", "htb", "default", "0"); err != nil {
			return err
		}
	}
	class := fmt.Sprintf("%s:%x", slowHandle, n.slow+1)
	rate := strconv.Itoa(kbit) + "kbit"
	if err := tc("class", "add", "dev", slowDev, "parent", slowHandle+":", "classid", class, "htb", "rate", rate, "ceil", rate); err != nil {
		return err
	}
	if err := tc("filter", "add", "dev", slowDev, "parent", slowHandle+":", "protocol", "ip", "prio", "1", "u32",
		"match", "ip", "dst", to.Host+"/32", "match", "ip", "dport", strconv.Itoa(to.Port), "0xffff", "flowid", class); err != nil {
		return err
	}
	n.slow++
	return nil
}

// healSlow removes the shaping; n.mu is held.
func (n *Net) healSlow() error {
	if n.slow == 0 {
		return nil
	}
	n.slow = 0
	return tc("qdisc", "del", "dev", slowDev, "root", "handle", slowHandle+":")
}

// SlowLinks reports how many links are slowed.
func (n *Net) SlowLinks() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.slow
}

// slowLeftover reports the run's qdisc if it is still installed.
func slowLeftover() (string, error) {
	out, err := exec.Command("tc", "qdisc", "show", "dev", slowDev).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("tc qdisc show: %w: %s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "htb "+slowHandle+":") {
			return strings.TrimSpace(line), nil
		}
	}
	return "", nil
}

// canSlow reports whether tc can shape the loopback interface here.
func canSlow() error {
	if _, err := exec.LookPath("tc"); err != nil {
		return fmt.Errorf("nemesis: slow links need tc: %w", err)
	}
	return nil
}

func tc(args ...string) error {
	out, err := exec.Command("tc", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nemesis: tc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func tcQuiet(args ...string) error { return exec.Command("tc", args...).Run() }
