package robustness

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
)

var flagBugs = flag.Bool("robustness.bugs", false, "run the tests that show known gozk bugs (also GOZK_ROBUST_BUGS=1)")

func runBugTests() bool { return *flagBugs || os.Getenv("GOZK_ROBUST_BUGS") == "1" }

// regressionRounds is how many rounds a regression test of a race tries: a
// few in the default short mode, more in long mode.
func regressionRounds(short, long int) int {
	if longMode() {
		return long
	}
	return short
}

// TestResumeAtDeposedLeaderKeepsTimeout is a regression test for a premature
// session expiry found by TestRobustness (a watcher session declared expired
// 3.6s after a server last answered it, with a 6s timeout).
//
// A leader L is paused (SIGSTOP) and the others elect L'. A client whose
// connection broke dials L while it is paused: the kernel accepts the TCP
// connection and queues the ConnectRequest. When L resumes, it still believes
// it leads for a moment. It used to answer the resume from its own session
// tracker and touch the session there, then learn of L', step down and
// reset that tracker: the touch never reached L', which expired the session
// at its own deadline, long before the session's timeout had passed since
// the client was last answered. Now a leader answers a resume only once a
// quorum confirmed its leadership in its term after the touch (else the
// question goes to the leader of the day), so a session lives at least a
// timeout from every successful reconnect, as in ZooKeeper.
//
// The test pauses L again right after it answered the resume (so that L
// reports no later activity as a follower), waits until past L”s deadline
// but well before the session's timeout since the resume, and resumes the
// session on a third member. The race on L's resume (answer first, or step
// down first) is not always on; the test tries a few rounds.
func TestResumeAtDeposedLeaderKeepsTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an ensemble; -short skips it")
	}
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: time.Second, SyncLimit: 5})
	const timeout = 6 * time.Second
	for round := range regressionRounds(2, 5) {
		l := e.Leader()
		e.WaitAllServing()
		a, b := (l+1)%3, (l+2)%3
		sess := &rawSession{timeout: timeout}
		c, err := dialRaw(e.Member(a).Addr, sess)
		if err != nil {
			t.Fatalf("round %d: session on member %d: %v", round, a, err)
		}
		time.Sleep(500 * time.Millisecond)

		e.Stop(l)
		nl, err := e.WaitLeader(30*time.Second, l)
		if err != nil {
			t.Fatalf("round %d: no new leader with %d paused: %v", round, l, err)
		}
		c.close()
		leave := time.Now()
		type result struct {
			c   *rawConn
			err error
		}
		res := make(chan result, 1)
		go func() {
			c, err := dialRaw(e.Member(l).Addr, sess) // queued in the paused leader's kernel
			res <- result{c, err}
		}()
		time.Sleep(4 * time.Second)
		e.Cont(l)
		r := <-res
		resumed := time.Now()
		if r.err != nil {
			t.Logf("round %d: resume at the old leader %d failed (%v); not this round", round, l, r.err)
			e.WaitAllServing()
			continue
		}
		e.Stop(l) // no later activity from l
		r.c.close()
		t.Logf("round %d: leader %d paused, %d elected; client left member %d, resumed at %d %v later",
			round, l, nl, a, l, resumed.Sub(leave).Round(time.Millisecond))

		// The session's timeout has not passed since the resume: it must
		// still be alive. L''s own deadline (from its election or the last
		// activity member a reported) has passed by then.
		time.Sleep(timeout - 1500*time.Millisecond)
		c2, err := dialRaw(e.Member(b).Addr, sess)
		since := time.Since(resumed).Round(time.Millisecond)
		e.Cont(l)
		switch {
		case err == errExpired:
			t.Fatalf("session 0x%x, resumed at member %d (the paused leader, just resumed) at %v, is expired when resumed at member %d %v later, before its %v timeout",
				sess.id, l, resumed.Format("15:04:05.000"), b, since, timeout)
		case err != nil:
			t.Logf("round %d: resume at member %d: %v", round, b, err)
		default:
			t.Logf("round %d: session alive at member %d %v after the resume at the old leader", round, b, since)
			c2.close()
		}
		e.WaitAllServing()
	}
}
