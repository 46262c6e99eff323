package robustness

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
)

// TestDeposedLeaderCannotExpireSessions is a regression test for sessions of
// healthy clients closed by a deposed leader, found by TestRobustness
// (watcher sessions told "expired" 152 ms after a server answered them).
//
// The leader L is paused (SIGSTOP) for longer than the session timeout while
// clients connected to the two followers keep pinging; the followers elect
// L' and report the clients' activity to it, so the sessions stay alive. When
// L resumes, its session Keeper still believes it leads: every session is
// overdue in its own (stale) tracker, and it proposes closeSession for them.
// L has become a follower by the time it proposes, and etcd raft forwards a
// follower's proposals to the leader, so L' used to commit them. Now an
// expiry is fenced to the term its leader decided it in (fsm.Entry.Term),
// and apply discards it in any other term, as ZooKeeper's epochs fence a
// deposed leader's proposals. The race (the resumed leader proposes after it
// learnt of the new term and before its expiry loop noticed) is on in about
// one round in eight.
func TestDeposedLeaderCannotExpireSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an ensemble; -short skips it")
	}
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second, SyncLimit: 5})
	for round := range regressionRounds(3, 10) {
		l := e.Leader()
		e.WaitAllServing()
		followers := []int{(l + 1) % 3, (l + 2) % 3}
		type client struct {
			c    *zk.Conn
			ev   <-chan zk.Event
			node string
		}
		var cs []client
		for i := range 4 {
			m := followers[i%2]
			c, ev, err := e.Dial(t, []int{m}, sessionTimeout, 20*time.Second, zk.WithLogger(quietLogger{}))
			if err != nil {
				t.Fatal(err)
			}
			node := fmt.Sprintf("/eph-%d-%d", round, i)
			if _, err := c.Create(node, nil, zk.FlagEphemeral, worldAll); err != nil {
				t.Fatal(err)
			}
			cs = append(cs, client{c, ev, node})
		}
		// Writes during the pause fill the new leader's connection to the
		// paused one, so that it breaks and is redialled with a backoff:
		// the resumed leader then learns of the new term (from a vote or a
		// response) before it hears from the new leader. They overwrite one
		// node each, so that the log grows but the state stays small.
		stopW := make(chan struct{})
		for w := range 2 {
			wc, _, err := e.Dial(t, followers, sessionTimeout, 20*time.Second, zk.WithLogger(quietLogger{}))
			if err != nil {
				t.Fatal(err)
			}
			load := fmt.Sprintf("/load-%d-%d", round, w)
			if _, err := wc.Create(load, nil, 0, worldAll); err != nil {
				t.Fatal(err)
			}
			go func() {
				defer wc.Close()
				for {
					select {
					case <-stopW:
						return
					default:
					}
					_, _ = wc.Set(load, make([]byte, 8<<10), -1)
				}
			}()
		}
		e.Stop(l)
		paused := time.Now()
		if _, err := e.WaitLeader(30*time.Second, l); err != nil {
			t.Fatal(err)
		}
		time.Sleep(sessionTimeout + 2*time.Second - time.Since(paused))
		// The sessions are alive: their clients talk to the new quorum.
		for _, c := range cs {
			if ok, err := existsRetry(c.c, c.node); err != nil || !ok {
				t.Fatalf("round %d: before the old leader resumes: %s exists = %v, %v", round, c.node, ok, err)
			}
		}
		e.Cont(l)
		time.Sleep(3 * time.Second)
		close(stopW)
		var lost []string
		for _, c := range cs {
			ok, err := existsRetry(c.c, c.node)
			expired := false
		drain:
			for {
				select {
				case ev := <-c.ev:
					if ev.State == zk.StateExpired {
						expired = true
					}
				default:
					break drain
				}
			}
			if !ok || err != nil || expired {
				lost = append(lost, fmt.Sprintf("%s (session 0x%x: exists %v, err %v, expired event %v)", c.node, c.c.SessionID(), ok, err, expired))
			}
			c.c.Close()
		}
		if len(lost) > 0 {
			t.Fatalf("round %d: leader %d paused %v while the clients of followers %v kept their sessions alive; 3s after it resumed these sessions are gone: %v",
				round, l, (sessionTimeout + 2*time.Second).Round(time.Second), followers, lost)
		}
		t.Logf("round %d: every session survived the old leader's return", round)
	}
}

// existsRetry asks whether path exists, retrying for a few seconds while the
// client reconnects (connection loss is not an answer).
func existsRetry(c *zk.Conn, path string) (bool, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, _, err := c.Exists(path)
		if err == nil || err == zk.ErrSessionExpired || time.Now().After(deadline) {
			return ok, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
