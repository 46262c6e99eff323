package ensemble

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
)

// TestLeaderFailover kills the leader with SIGKILL while a client writes, on
// ensembles of 3 and 5 voters with tickTime=2000: a new leader is elected
// among the survivors, the writing client's session carries on and its
// writes resume, and no acknowledged create is lost. Each round measures the
// time from the SIGKILL to a survivor's srvr reporting Mode: leader, and to
// the first create acknowledged through a fresh client; the figures are
// logged, never asserted. The killed member is restarted between rounds and
// must catch up.
func TestLeaderFailover(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(strconv.Itoa(n)+"_voters", func(t *testing.T) {
			e := zkensemble.Start(t, n, zkensemble.Options{TickTime: 2 * time.Second})
			var toLeader, toCreate []time.Duration
			for r := range *rounds {
				l := e.Leader()
				e.WaitAllServing()
				wc, _ := e.Connect(t)
				w := startWriter(t, wc, "/acked"+strconv.Itoa(r))
				w.waitAcked(t, 20, time.Time{})

				survivors := others(n, l)
				type leaderResult struct {
					member int
					at     time.Time
					err    error
				}
				type createResult struct {
					at       time.Time
					attempts int
					err      error
				}
				leaderCh := make(chan leaderResult, 1)
				createCh := make(chan createResult, 1)
				killAt := time.Now()
				e.Kill(l)
				go func() {
					m, at, err := e.PollLeader(survivors, 10*time.Millisecond, waitFor)
					leaderCh <- leaderResult{m, at, err}
				}()
				go func() {
					at, attempts, err := firstFreshCreate(e, survivors, fmt.Sprintf("/fresh%d", r), waitFor)
					createCh <- createResult{at, attempts, err}
				}()
				lr, cr := <-leaderCh, <-createCh
				if lr.err != nil {
					t.Fatalf("round %d: after killing leader %d: %v (modes %v)", r, l, lr.err, e.Modes())
				}
				if cr.err != nil {
					t.Fatalf("round %d: after killing leader %d: %v (modes %v)", r, l, cr.err, e.Modes())
				}
				dl, dc := lr.at.Sub(killAt), cr.at.Sub(killAt)
				toLeader = append(toLeader, dl)
				toCreate = append(toCreate, dc)
				t.Logf("round %d: killed leader %d; member %d reported leader after %v; first fresh-client create after %v (%d attempts)",
					r, l, lr.member, ms(dl), ms(dc), cr.attempts)

				// The writing client's session survived and its writes resume.
				w.waitAcked(t, 5, cr.at)
				if !w.halt() {
					t.Fatalf("round %d: the writer's create has not returned within %v", r, waitFor)
				}
				if nl := e.Leader(); nl == l || !slices.Contains(survivors, nl) {
					t.Fatalf("round %d: leader %d after killing %d", r, nl, l)
				}
				acked := w.Acked()
				checkPresent(t, e, survivors, acked)
				t.Logf("round %d: %d acknowledged creates all present on the %d survivors (%d failed or unanswered)", r, len(acked), len(survivors), w.Failures())

				// The killed member comes back as a follower with everything.
				e.Restart(l)
				e.WaitServing(l)
				if mode := e.Mode(l); mode != zkensemble.ModeFollower {
					t.Fatalf("round %d: restarted old leader %d is %q, want follower", r, l, mode)
				}
				checkPresent(t, e, []int{l}, acked)
				wc.Close()
			}
			t.Logf("%d voters, tickTime=2000: SIGKILL of the leader to a new leader in srvr: %s", n, stats(toLeader))
			t.Logf("%d voters, tickTime=2000: SIGKILL of the leader to the first create through a fresh client: %s", n, stats(toCreate))
		})
	}
}

// firstFreshCreate opens fresh clients to the given members, one after the
// other, until one of them creates a node (path-<attempt>); it returns when
// that create was acknowledged and how many clients it took. A client that
// has been turned away by every member (go-zookeeper would then pause for a
// second), or has no session within two seconds, or whose create has no
// answer within five, is abandoned.
func firstFreshCreate(e *zkensemble.Ensemble, members []int, path string, timeout time.Duration) (time.Time, int, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for attempt := 1; ; attempt++ {
		if time.Now().After(deadline) {
			return time.Time{}, attempt - 1, fmt.Errorf("no create through a fresh client within %v (last error: %w)", timeout, last)
		}
		events := make(chan zk.Event, zkensemble.EventBuffer)
		c, _, err := zk.Connect(e.Addrs(members...), zkensemble.SessionTimeout,
			zk.WithLogger(nopLogger{}),
			zk.WithEventCallback(func(ev zk.Event) {
				select {
				case events <- ev:
				default:
				}
			}))
		if err != nil {
			return time.Time{}, attempt, fmt.Errorf("zk.Connect: %w", err)
		}
		if err := waitSessionOneCycle(events, len(members), 2*time.Second); err != nil {
			last = err
			go c.Close() // Close waits up to a second without a connection.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		err = zkensemble.Within(5*time.Second, func() error {
			_, err := c.Create(path+"-"+strconv.Itoa(attempt), nil, 0, worldAll)
			return err
		})
		at := time.Now()
		go c.Close()
		if err == nil {
			return at, attempt, nil
		}
		if errors.Is(err, zk.ErrNodeExists) {
			return time.Time{}, attempt, fmt.Errorf("fresh create of a new name: %w", err)
		}
		last = err
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSessionOneCycle waits until the client has a session, and gives up
// when it has been disconnected n times (once by each of n servers) or after
// timeout.
func waitSessionOneCycle(events <-chan zk.Event, n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	disconnects := 0
	for {
		select {
		case ev := <-events:
			if ev.Type != zk.EventSession {
				continue
			}
			switch ev.State {
			case zk.StateHasSession:
				return nil
			case zk.StateDisconnected:
				if disconnects++; disconnects >= n {
					return fmt.Errorf("turned away by all %d servers", n)
				}
			}
		case <-deadline:
			return fmt.Errorf("no session within %v", timeout)
		}
	}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
