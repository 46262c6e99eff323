package robustness

import (
	"strconv"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/nemesis"
	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

// TestPartitionTakesEffect checks that the nemesis's partitions really cut
// gozk members apart (a rule that matched nothing would make every
// partition of TestRobustness a no-op): with the leader isolated, it stops
// serving and the other two elect a leader; after Heal all three serve
// again, and nothing is left in iptables. It skips, saying why, where
// network faults cannot be injected (not root, no iptables or cgroup2);
// TestRobustness then runs without partitions and packet loss.
func TestPartitionTakesEffect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an ensemble; -short skips it")
	}
	if zktest.Kind() != zktest.KindGozk {
		t.Skipf("network faults need gozk members in cgroups; not for %s", zktest.Kind())
	}
	nt, err := nemesis.NewNet(t)
	if err != nil {
		t.Skipf("network faults (partitions, packet loss) cannot be injected here: %v", err)
	}
	wrapper, err := nt.Wrapper(zktest.GozkBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(zktest.EnvBin, wrapper)
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second, SyncLimit: 5})
	l := e.Leader()
	node := func(i int) nemesis.Node {
		m := e.Member(i)
		return nemesis.Node{Name: "m" + strconv.Itoa(m.ID), Host: m.Host, Port: m.QuorumPort}
	}
	var rest []nemesis.Node
	var restIdx []int
	for i := range 3 {
		if i != l {
			rest = append(rest, node(i))
			restIdx = append(restIdx, i)
		}
	}
	if err := nt.Partition([]nemesis.Node{node(l)}, rest); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for e.Mode(l) == zkensemble.ModeLeader {
		if time.Now().After(deadline) {
			t.Fatalf("isolated leader %d still leads 30s after the partition: modes %v", l, e.Modes())
		}
		time.Sleep(50 * time.Millisecond)
	}
	nl, err := e.WaitLeader(30*time.Second, l)
	if err != nil {
		t.Fatalf("no new leader among %v: %v", restIdx, err)
	}
	t.Logf("isolated leader %d gave up %v after the partition; member %d leads", l, time.Since(cut).Round(time.Millisecond), nl)
	if err := nt.Heal(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.WaitServing(i)
	}
	if left, err := nt.Leftovers(); err != nil || len(left) != 2 { // the jump and the chain, until cleanup
		t.Fatalf("iptables after Heal: %q, %v", left, err)
	}
}
