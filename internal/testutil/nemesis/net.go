package nemesis

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Node is one end of the links the network faults cut: a process whose
// outgoing packets are recognised by its cgroup, and the address it accepts
// peer connections on.
type Node struct {
	// Name names the node's cgroup under the run's cgroup. Net.Wrapper puts
	// a process started with "--config DIR/zoo.cfg" into the cgroup named
	// after DIR's last element (zkensemble's member directories are m1, m2,
	// ...), so for zkensemble members it is "m" + myid.
	Name string
	// Host and Port are where the node accepts connections from the other
	// nodes (a gozk member's quorum address).
	Host string
	Port int
}

func (n Node) String() string { return fmt.Sprintf("%s(%s:%d)", n.Name, n.Host, n.Port) }

// Net injects network faults between Nodes with iptables. All members of a
// zkensemble share the host's loopback interface, and a member dials its
// peers from 127.0.0.1 whatever address it listens on, so a packet's source
// address does not tell which member sent it. Net therefore runs every
// member in a cgroup (v2) of its own (see Wrapper) and matches a member's
// outgoing packets with iptables' cgroup match: the link from A to B is cut
// by dropping the packets that processes of A's cgroup send to B's quorum
// address. Nothing else on the machine is touched.
//
// Every rule lives in a chain of the run's own, reached from OUTPUT by one
// jump, and every rule (the jump included) carries the comment tag
// "gozk-robust-<pid>-<n>". NewNet registers a cleanup that removes the
// jump, the chain and the cgroups, also when the test fails; Leftovers
// tells whether anything tagged is left in iptables -S.
type Net struct {
	t      testing.TB
	tag    string // comment on every rule
	chain  string // the run's chain in the filter table
	cgRoot string // cgroup2 mount point
	cgBase string // the run's cgroup directory under cgRoot

	mu     sync.Mutex
	rules  int // rules currently in the chain
	slow   int // links slowed (slow.go)
	closed bool
}

var netSeq atomic.Int64

// NewNet prepares network faults for one test run: it checks that it runs as
// root with iptables (and its cgroup match) and a cgroup2 hierarchy, creates
// the run's chain and cgroup, and registers their removal with t.Cleanup.
// It returns an error saying what is missing when network faults cannot be
// injected; the caller then skips them.
func NewNet(t testing.TB) (*Net, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, errors.New("nemesis: network faults need root (iptables)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("nemesis: network faults need iptables: %w", err)
	}
	root, err := cgroup2Root()
	if err != nil {
		return nil, err
	}
	n := netSeq.Add(1)
	id := fmt.Sprintf("%d-%d", os.Getpid(), n)
	nt := &Net{
		t:      t,
		tag:    "gozk-robust-" + id,
		chain:  "GOZKR-" + id,
		cgRoot: root,
		cgBase: filepath.Join(root, "gozk-robust-"+id),
	}
	if len(nt.chain) > 28 {
		nt.chain = nt.chain[:28]
	}
	if err := os.Mkdir(nt.cgBase, 0o755); err != nil {
		return nil, fmt.Errorf("nemesis: create cgroup: %w", err)
	}
	if err := nt.ipt("-N", nt.chain); err != nil {
		os.Remove(nt.cgBase)
		return nil, err
	}
	if err := nt.ipt("-I", "OUTPUT", "-m", "comment", "--comment", nt.tag, "-j", nt.chain); err != nil {
		_ = nt.ipt("-X", nt.chain)
		os.Remove(nt.cgBase)
		return nil, err
	}
	// Probe the cgroup match once: an iptables without it fails here and
	// not in the middle of a run.
	probe := filepath.Join(nt.cgBase, "probe")
	if err := os.Mkdir(probe, 0o755); err == nil {
		err := nt.ipt("-A", nt.chain, "-p", "tcp", "-d", "127.0.0.1", "--dport", "9", "-m", "cgroup", "--path", nt.cgPath("probe"),
			"-m", "comment", "--comment", nt.tag, "-j", "DROP")
		_ = nt.ipt("-F", nt.chain)
		os.Remove(probe)
		if err != nil {
			nt.close()
			return nil, fmt.Errorf("nemesis: iptables cgroup match unusable: %w", err)
		}
	}
	t.Cleanup(nt.close)
	return nt, nil
}

// cgroup2Root returns where the cgroup2 hierarchy is mounted.
func cgroup2Root() (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", fmt.Errorf("nemesis: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[2] == "cgroup2" {
			if _, err := os.Stat(filepath.Join(fs[1], "cgroup.procs")); err == nil {
				return fs[1], nil
			}
		}
	}
	return "", errors.New("nemesis: no cgroup2 hierarchy mounted (needed to tell members' packets apart)")
}

// Tag returns the comment every rule of this Net carries.
func (n *Net) Tag() string { return n.tag }

// cgPath is the cgroup path of node name as iptables' --path wants it.
func (n *Net) cgPath(name string) string {
	rel, _ := filepath.Rel(n.cgRoot, filepath.Join(n.cgBase, name))
	return "/" + rel
}

// Wrapper writes a shell script that starts bin with its arguments inside
// the cgroup of the node named after the directory of its --config file,
// and returns its path. Point zkensemble at it with GOZK_BIN (zktest.EnvBin)
// before Start: the script execs bin, so the member keeps the script's pid
// and the harness's signals reach the server itself.
func (n *Net) Wrapper(bin string) (string, error) {
	dir := n.t.TempDir()
	p := filepath.Join(dir, "gozk-in-cgroup")
	script := `#!/bin/sh
# Written by nemesis.Net.Wrapper: run the server in its member's cgroup.
cfg=""
prev=""
for a in "$@"; do
	if [ "$prev" = "--config" ]; then cfg="$a"; fi
	prev="$a"
done
if [ -n "$cfg" ]; then
	cg=` + shellQuote(n.cgBase) + `/$(basename "$(dirname "$cfg")")
	mkdir -p "$cg" || exit 111
	echo $$ > "$cg/cgroup.procs" || { echo "nemesis: cannot join cgroup $cg" >&2; exit 111; }
fi
exec ` + shellQuote(bin) + ` "$@"
`
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("nemesis: write wrapper: %w", err)
	}
	return p, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Block drops every packet that from's processes send to to's address (the
// link from → to), until Heal.
func (n *Net) Block(from, to Node) error {
	return n.add(from, to, nil)
}

// Loss drops each packet on the link from → to with probability p, until
// Heal.
func (n *Net) Loss(from, to Node, p float64) error {
	if p <= 0 || p >= 1 {
		return fmt.Errorf("nemesis: loss probability %v outside (0,1)", p)
	}
	return n.add(from, to, []string{"-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(p, 'f', 4, 64)})
}

func (n *Net) add(from, to Node, match []string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("nemesis: Net already cleaned up")
	}
	args := []string{"-A", n.chain, "-p", "tcp", "-d", to.Host, "--dport", strconv.Itoa(to.Port),
		"-m", "cgroup", "--path", n.cgPath(from.Name)}
	args = append(args, match...)
	args = append(args, "-m", "comment", "--comment", n.tag, "-j", "DROP")
	if err := n.ipt(args...); err != nil {
		return err
	}
	n.rules++
	return nil
}

// Partition cuts every link between nodes of different sides, both ways.
// A node in no side keeps all its links (a bridge, when it is left out of
// two sides).
func (n *Net) Partition(sides ...[]Node) error {
	for i, a := range sides {
		for j, b := range sides {
			if i == j {
				continue
			}
			for _, x := range a {
				for _, y := range b {
					if err := n.Block(x, y); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Heal removes every rule Block, Loss and Partition added, and every slowed
// link (Slow).
func (n *Net) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	err := n.healSlow()
	if n.rules == 0 {
		return err
	}
	if err := n.ipt("-F", n.chain); err != nil {
		return err
	}
	n.rules = 0
	return err
}

// Active reports how many rules are in force.
func (n *Net) Active() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rules
}

// close removes the jump, the chain and the cgroups. Registered by NewNet.
func (n *Net) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	var errs []error
	if err := n.healSlow(); err != nil {
		errs = append(errs, err)
	}
	n.mu.Unlock()
	if left, err := slowLeftover(); err != nil || left != "" {
		errs = append(errs, fmt.Errorf("shaping left behind: %q (%v)", left, err))
	}
	if err := n.ipt("-D", "OUTPUT", "-m", "comment", "--comment", n.tag, "-j", n.chain); err != nil {
		errs = append(errs, err)
	}
	if err := n.ipt("-F", n.chain); err != nil {
		errs = append(errs, err)
	}
	if err := n.ipt("-X", n.chain); err != nil {
		errs = append(errs, err)
	}
	if left, err := n.Leftovers(); err != nil || len(left) > 0 {
		errs = append(errs, fmt.Errorf("rules left behind: %q (%v)", left, err))
	}
	// The members' processes are gone by now (zkensemble's cleanup ran
	// first when the Net was made before the ensemble); a cgroup with a
	// process still exiting is busy for a moment.
	subs, _ := filepath.Glob(filepath.Join(n.cgBase, "*", "cgroup.procs"))
	for _, s := range subs {
		if err := rmdirRetry(filepath.Dir(s)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := rmdirRetry(n.cgBase); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		n.t.Errorf("nemesis: cleanup: %v", errors.Join(errs...))
	}
}

func rmdirRetry(dir string) error {
	var err error
	for range 100 {
		if err = os.Remove(dir); err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

// Leftovers returns the lines of iptables -S (filter table) that carry this
// Net's tag or name its chain.
func (n *Net) Leftovers() ([]string, error) {
	out, err := exec.Command("iptables", "-w", "5", "-S").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("iptables -S: %w: %s", err, out)
	}
	var left []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, n.tag) || strings.Contains(line, n.chain) {
			left = append(left, strings.TrimSpace(line))
		}
	}
	return left, nil
}

// ipt runs iptables with the xtables lock waited for.
func (n *Net) ipt(args ...string) error {
	full := append([]string{"-w", "5"}, args...)
	out, err := exec.Command("iptables", full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nemesis: iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
