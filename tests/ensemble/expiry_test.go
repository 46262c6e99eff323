package ensemble

// Session expiry and resumption across the members of an ensemble, driven
// with raw connections so that the test decides exactly when a client talks
// (go-zookeeper pings by itself). As in a standalone ZooKeeper, and on every
// member alike:
//   - the timeout negotiated by the connection that resumed a session, on
//     whichever member, is the session's timeout from then on;
//   - a session nothing arrived for during its timeout (rounded up to a
//     tick, plus the half tick a follower may take to pass the activity on
//     to the leader) expires, with its connection open or not: its
//     ephemerals vanish on every member, its connection is closed, and a
//     resume through any member is answered with timeOut 0, sessionId 0
//     and a zeroed password.

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zkensemble"
	"github.com/gozk/gozk/internal/testutil/zktest"
)

// exTick is the ensembles' tickTime here; the default session timeout bounds
// (2 and 20 ticks) allow 2000..20000 ms.
const exTick = time.Second

// exSlack is added to every upper bound: scheduling, replication of the
// closeSession, the notifications' way back.
const exSlack = 3 * time.Second

// exSess is a raw connection and its session; sent and replied bracket the
// last thing sent on it (the server's last activity of the session lies
// between them).
type exSess struct {
	*zktest.Raw
	member        int
	resp          zktest.ConnectResponse
	sent, replied time.Time
}

// exHandshake dials member i and sends a ConnectRequest for sid/passwd
// (0/nil: a new session).
func exHandshake(t *testing.T, e *zkensemble.Ensemble, i int, timeoutMs int32, sid int64, passwd []byte) (*exSess, error) {
	t.Helper()
	s := &exSess{Raw: zktest.DialRaw(t, e.Member(i).Addr), member: i}
	s.sent = time.Now()
	var err error
	s.resp, err = s.Handshake(timeoutMs, sid, passwd, true)
	s.replied = time.Now()
	return s, err
}

func exShow(r zktest.ConnectResponse) string {
	pw := fmt.Sprintf("%d bytes", len(r.Passwd))
	if len(r.Passwd) > 0 && bytes.Equal(r.Passwd, make([]byte, len(r.Passwd))) {
		pw += ", all zero"
	}
	return fmt.Sprintf("{timeOut %d, sessionId %#x, passwd %s, size %d}", r.TimeOut, r.SessionID, pw, r.Size)
}

// exNewSession opens a session through member i and fails unless it gets
// exactly the timeout it asks for.
func exNewSession(t *testing.T, e *zkensemble.Ensemble, i int, timeoutMs int32) *exSess {
	t.Helper()
	s, err := exHandshake(t, e, i, timeoutMs, 0, nil)
	if err != nil {
		t.Fatalf("member %d: handshake: %v", i, err)
	}
	if s.resp.SessionID == 0 || s.resp.TimeOut != timeoutMs || len(s.resp.Passwd) != 16 {
		t.Fatalf("member %d: new session asking for %d ms: %s", i, timeoutMs, exShow(s.resp))
	}
	return s
}

// exResume resumes old's session through member i and fails unless the
// member gives it back with the requested timeout and the same password.
func exResume(t *testing.T, e *zkensemble.Ensemble, i int, timeoutMs int32, old *exSess) *exSess {
	t.Helper()
	s, err := exHandshake(t, e, i, timeoutMs, old.resp.SessionID, old.resp.Passwd)
	if err != nil {
		t.Fatalf("member %d: resume %#x: %v", i, old.resp.SessionID, err)
	}
	if s.resp.SessionID != old.resp.SessionID || s.resp.TimeOut != timeoutMs || !bytes.Equal(s.resp.Passwd, old.resp.Passwd) {
		t.Fatalf("member %d: resume %#x asking for %d ms: %s; want the session back with timeOut %d and its password",
			i, old.resp.SessionID, timeoutMs, exShow(s.resp), timeoutMs)
	}
	return s
}

// exRefused checks the refusal of a resume: timeOut 0, sessionId 0, a
// zeroed 16-byte password, then the connection closed.
func exRefused(t *testing.T, what string, s *exSess, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s through member %d: no ConnectResponse: %v", what, s.member, err)
		return
	}
	if s.resp.TimeOut != 0 || s.resp.SessionID != 0 || !bytes.Equal(s.resp.Passwd, make([]byte, 16)) {
		t.Errorf("%s through member %d: %s; want timeOut 0, sessionId 0 and a zeroed 16-byte password", what, s.member, exShow(s.resp))
	}
	if !s.WaitClosed(waitFor) {
		t.Errorf("%s through member %d: connection still open after the refusal", what, s.member)
	}
}

// exResumeRefused resumes old's session through member i and checks the
// refusal. A resume racing the session's closeSession may be closed without
// an answer by ZooKeeper (the close goes to whichever connection is
// registered for the session by then); that is retried twice.
func exResumeRefused(t *testing.T, e *zkensemble.Ensemble, i int, what string, timeoutMs int32, old *exSess) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		r, err := exHandshake(t, e, i, timeoutMs, old.resp.SessionID, old.resp.Passwd)
		if err != nil && attempt < 3 {
			t.Logf("%s through member %d: closed without an answer (%v); again", what, i, err)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		exRefused(t, what, r, err)
		return
	}
}

// exEphemeral creates an ephemeral node through s.
func (s *exSess) exEphemeral(t *testing.T, path string) {
	t.Helper()
	var b zktest.Enc
	b.String(path)
	b.Buffer(nil)
	b.Int(1)
	b.Int(31)
	b.String("world")
	b.String("anyone")
	b.Int(1) // ephemeral
	s.sent = time.Now()
	h, _, err := s.Request(1, 1, b.Bytes())
	s.replied = time.Now()
	if err != nil || h.Err != 0 {
		t.Fatalf("member %d: create %s: %+v, %v", s.member, path, h, err)
	}
}

// exAwaitClose reads s until the server closes it or max passes, and
// reports whether it was closed, when, and how many frames came first.
func exAwaitClose(s *exSess, max time.Duration) (closed bool, at time.Time, frames int) {
	deadline := time.Now().Add(max)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false, time.Now(), frames
		}
		_, err := s.ReadFrame(left)
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				return false, time.Now(), frames
			}
			return true, time.Now(), frames
		}
		frames++
	}
}

// exGone is when a watch fired, and its event.
type exGone struct {
	ev zk.Event
	at time.Time
}

// exWatchAll sets an exists watch on path through one client per member
// (after a sync, so that each has the node) and returns channels that
// receive each watch's event and when it arrived.
func exWatchAll(t *testing.T, cs []*zk.Conn, path string) []<-chan exGone {
	t.Helper()
	var chs []<-chan exGone
	for i, c := range cs {
		if _, err := c.Sync(path); err != nil {
			t.Fatalf("member %d: sync: %v", i, err)
		}
		ok, _, w, err := c.ExistsW(path)
		if err != nil || !ok {
			t.Fatalf("member %d: existsW %s: %v, %v; want the node", i, path, ok, err)
		}
		ch := make(chan exGone, 1)
		go func() {
			ev := <-w
			ch <- exGone{ev, time.Now()}
		}()
		chs = append(chs, ch)
	}
	return chs
}

// exCheckGone waits until every member saw path deleted and checks each
// deletion happened no earlier than timeout after sent, and the first one
// (the expiry itself) no later than timeout + 2 ticks + slack after replied;
// the other members apply it when they catch up (later on a loaded machine).
func exCheckGone(t *testing.T, chs []<-chan exGone, path string, sent, replied time.Time, timeout time.Duration) {
	t.Helper()
	var first time.Time
	firstMember := -1
	for i, ch := range chs {
		select {
		case g := <-ch:
			if g.ev.Type != zk.EventNodeDeleted || g.ev.Path != path {
				t.Errorf("member %d: watch on %s fired with %+v, want NodeDeleted", i, path, g.ev)
				continue
			}
			what := fmt.Sprintf("member %d: %s deleted", i, path)
			t.Logf("%s %v after the session's last activity (timeout %v)", what, ms(g.at.Sub(replied)), timeout)
			if early := g.at.Sub(sent); early < timeout {
				t.Errorf("%s only %v after the session's last activity, before its timeout %v", what, ms(early), timeout)
			}
			if firstMember < 0 || g.at.Before(first) {
				first, firstMember = g.at, i
			}
		case <-time.After(time.Until(replied.Add(timeout + 2*exTick + exSlack + waitFor))):
			t.Errorf("member %d: %s never deleted", i, path)
		}
	}
	if firstMember >= 0 {
		exCheckWindow(t, fmt.Sprintf("the first deletion of %s (member %d)", path, firstMember), first, sent, replied, timeout)
	}
}

func exCheckWindow(t *testing.T, what string, at, sent, replied time.Time, timeout time.Duration) {
	t.Helper()
	early, late := at.Sub(sent), at.Sub(replied)
	t.Logf("%s %v after the session's last activity (timeout %v)", what, ms(late), timeout)
	if early < timeout {
		t.Errorf("%s only %v after the session's last activity, before its timeout %v", what, ms(early), timeout)
	}
	if late > timeout+2*exTick+exSlack {
		t.Errorf("%s %v after the session's last activity, later than its timeout %v + 2 ticks + %v", what, ms(late), timeout, exSlack)
	}
}

// exConcurrently runs the subtests at once (a t.Run per goroutine): they
// mostly wait for timeouts.
func exConcurrently(t *testing.T, subtests map[string]func(t *testing.T)) {
	var wg sync.WaitGroup
	for name, f := range subtests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, f)
		}()
	}
	wg.Wait()
}

// TestSessionTimeoutAcrossMembers runs on one 3-member ensemble (tickTime
// 1 s), at the same time:
//   - resume_*: a session created through a follower with 20000 ms, dropped
//     and resumed through another member (the leader, or the other
//     follower) with 4000 ms, then dropped again, expires after 4000 ms
//     (plus tick rounding) on every member, not after 20000; and the
//     reverse, created with 4000 ms and resumed elsewhere with 12000 ms, it
//     lives on for 12000 ms;
//   - idle_on_follower: see testIdleOnFollower;
//   - dropped_refused_elsewhere: see testDroppedRefusedElsewhere.
func TestSessionTimeoutAcrossMembers(t *testing.T) {
	e := zkensemble.Start(t, 3, zkensemble.Options{TickTime: exTick})
	l := e.Leader()
	e.WaitAllServing()
	fs := others(3, l)
	cs := perMember(t, e)
	exConcurrently(t, map[string]func(t *testing.T){
		"resume_20000_to_4000_via_leader": func(t *testing.T) {
			testResumeElsewhere(t, e.For(t), cs, fs[0], l, 20000, 4000, "/adopt-leader")
		},
		"resume_20000_to_4000_via_other_follower": func(t *testing.T) {
			testResumeElsewhere(t, e.For(t), cs, fs[0], fs[1], 20000, 4000, "/adopt-follower")
		},
		"resume_4000_to_12000_via_other_follower": func(t *testing.T) {
			testResumeElsewhere(t, e.For(t), cs, fs[1], fs[0], 4000, 12000, "/adopt-longer")
		},
		"idle_on_follower":          func(t *testing.T) { testIdleOnFollower(t, e.For(t), cs, l, fs) },
		"dropped_refused_elsewhere": func(t *testing.T) { testDroppedRefusedElsewhere(t, e.For(t), cs, l, fs) },
	})
}

func testResumeElsewhere(t *testing.T, e *zkensemble.Ensemble, cs []*zk.Conn, from, to int, created, resumed int32, path string) {
	a := exNewSession(t, e, from, created)
	a.exEphemeral(t, path)
	gone := exWatchAll(t, cs, path)
	a.Close()
	// Members report their sessions' activity to the leader every half
	// tick, each with the timeout of the connection it saw; ZooKeeper's
	// leader takes the last report it gets. A resume elsewhere within half
	// a tick of the create can thus be overridden by the report of the
	// create with the old timeout, arriving later (ZooKeeper 3.8 then
	// expires the session after 20 s in the 20000 ms case, measured). Wait
	// that out: the resume is what is tested.
	time.Sleep(time.Until(a.replied.Add(exTick + exTick/2)))
	b := exResume(t, e, to, resumed, a)
	b.Close()
	t.Logf("session %#x created through member %d with %d ms, resumed through member %d with %d ms",
		a.resp.SessionID, from, created, to, resumed)
	exCheckGone(t, gone, path, b.sent, b.replied, time.Duration(resumed)*time.Millisecond)
	exResumeRefused(t, e, from, "resume after expiry", resumed, a)
}

// testIdleOnFollower: a raw client on a follower creates an
// ephemeral and then sends nothing, its connection open. The session
// expires on time: the ephemeral vanishes on every member, the follower
// closes the idle connection (not before the timeout), and a resume through
// another member right after that close, and again later through a third,
// is refused.
//
// ZooKeeper closes idle connections on a 10 s grid of its own
// (zookeeper.nio.sessionlessCnxnTimeout) as well, which now and then closes
// one after the timeout but before the session's rounded deadline; the
// resume right after is then rightly accepted. Once is tolerated.
func testIdleOnFollower(t *testing.T, e *zkensemble.Ensemble, cs []*zk.Conn, l int, fs []int) {
	const timeout = 4000
	a := exNewSession(t, e, fs[0], timeout)
	a.exEphemeral(t, "/idle")
	gone := exWatchAll(t, cs, "/idle")

	last := a
	resumeVia := []int{fs[1], l, fs[1]}
	for round := 0; ; round++ {
		closed, at, frames := exAwaitClose(last, waitFor)
		if !closed {
			t.Fatalf("member %d: idle connection still open %v after the session's last activity", last.member, ms(at.Sub(last.replied)))
		}
		exCheckWindow(t, fmt.Sprintf("member %d: idle connection closed", last.member), at, last.sent, last.replied, timeout*time.Millisecond)
		if frames > 0 {
			t.Errorf("member %d: idle connection received %d frames before it was closed; want none", last.member, frames)
		}
		via := resumeVia[round]
		r, err := exHandshake(t, e, via, timeout, a.resp.SessionID, a.resp.Passwd)
		if err == nil && r.resp.SessionID == a.resp.SessionID {
			t.Logf("member %d: resume right after the idle connection was closed accepted: %s", via, exShow(r.resp))
			if round > 0 {
				t.Fatalf("idle session resumed %d times through other members, each time right after its idle connection was closed: "+
					"connections are closed before their session expires, and the session lives on", round+1)
			}
			last = r
			continue
		}
		exRefused(t, "resume right after the idle connection was closed", r, err)
		break
	}
	exCheckGone(t, gone, "/idle", last.sent, last.replied, timeout*time.Millisecond)
	exResumeRefused(t, e, l, "resume after expiry", timeout, a)
}

// testDroppedRefusedElsewhere: a session created through a
// follower whose client closes its connection cannot be resumed through
// another member once its deadline (last activity + timeout + a tick, and
// the half tick of the follower's report to the leader) has passed, even
// if the expiry has not been processed yet; its ephemeral goes everywhere.
func testDroppedRefusedElsewhere(t *testing.T, e *zkensemble.Ensemble, cs []*zk.Conn, l int, fs []int) {
	const timeout = 4000
	a := exNewSession(t, e, fs[0], timeout)
	a.exEphemeral(t, "/dropped")
	gone := exWatchAll(t, cs, "/dropped")
	a.Close()
	time.Sleep(time.Until(a.replied.Add(timeout*time.Millisecond + exTick + exTick/2 + 200*time.Millisecond)))
	for _, via := range []int{fs[1], l} {
		exResumeRefused(t, e, via, "resume after the deadline", timeout, a)
	}
	exCheckGone(t, gone, "/dropped", a.sent, a.replied, timeout*time.Millisecond)
}
