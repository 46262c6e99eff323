package e2e

// Session expiry and resumption, driven with raw connections so that the
// test decides exactly when a client talks to the server (go-zookeeper
// pings by itself). What ZooKeeper 3.8 does (measured with
// GOZK_TEST_SERVER=zookeeper), and these tests assert:
//
//   - A session expires when nothing arrived for it for its timeout, rounded
//     up to the next tick (ExpiryQueue.roundToNextInterval: deadline =
//     (lastActivity+timeout)/tick*tick + tick), whether or not its
//     connection is still open. The expiry deletes its ephemerals (watches
//     fire), closes its connection without sending anything on it, and from
//     then on a ConnectRequest with its id is answered with protocolVersion
//     0, timeOut 0, sessionId 0 and a zeroed 16-byte password (plus the
//     readOnly byte false when the client sent one: 37 bytes) and the
//     connection is closed.
//   - A resume (a ConnectRequest with the id and the right password) of a
//     live session is activity, and touches the session with the timeout
//     negotiated for the new connection: from then on that is the
//     session's timeout, shorter or longer than the one it had.
//   - A wrong password, an expired session and an id that never existed
//     get the same answer. A wrong password is no activity of the session,
//     but it does close the connection the session is on
//     (processConnectRequest closes the session's connection before
//     reopenSession checks the password); the session itself lives on.
//   - Resuming a session that is still connected elsewhere closes the other
//     connection at once without a word; the session, its ephemerals and
//     its (new) timeout carry on on the new connection, the watches of the
//     old connection do not.
//
// Two ZooKeeper details the tests allow for:
//   - Besides session expiry, NIOServerCnxnFactory closes connections silent
//     for their session timeout on a grid of its own
//     (zookeeper.nio.sessionlessCnxnTimeout, 10 s), which once in a while
//     closes an idle connection after the timeout but before the session's
//     rounded deadline; a resume right then is accepted.
//   - A resume that arrives while the expired session's closeSession is
//     being processed may be closed without an answer (the close goes to
//     whichever connection is registered for the session by then); such
//     attempts are retried (resumeRefused).

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// Timing of the expiry tests: a small tick so that the rounding is small,
// and short timeouts so that the tests run in seconds.
const (
	expTick = 500 * time.Millisecond
	// expSlack is added to every upper bound: scheduling, the close
	// going through the server's pipeline, the notification's way back.
	expSlack = 2 * time.Second
)

// expiryConfig allows session timeouts of 2000..20000 ms with a 500 ms tick.
var expiryConfig = map[string]string{"tickTime": "500", "minSessionTimeout": "2000", "maxSessionTimeout": "20000"}

func msDur(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// rawSess is a raw client connection and its session. sent and replied
// bracket the last thing it sent: the server's last activity for the
// session lies between them.
type rawSess struct {
	*zktest.Raw
	resp          zktest.ConnectResponse
	sent, replied time.Time
	xid           int32
}

// rawSession opens a new session with the given timeout and fails unless the
// server grants exactly that timeout.
func rawSession(t *testing.T, addr string, timeoutMs int32) *rawSess {
	t.Helper()
	s, resp, err := rawResume(t, addr, timeoutMs, 0, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if resp.SessionID == 0 || resp.TimeOut != timeoutMs || len(resp.Passwd) != 16 {
		t.Fatalf("new session asking for %d ms: %s", timeoutMs, showResp(resp))
	}
	return s
}

// rawResume dials and sends a ConnectRequest for sid/passwd (0/nil: a new
// session) and returns the connection and the answer.
func rawResume(t *testing.T, addr string, timeoutMs int32, sid int64, passwd []byte) (*rawSess, zktest.ConnectResponse, error) {
	t.Helper()
	s := &rawSess{Raw: zktest.DialRaw(t, addr)}
	s.sent = time.Now()
	resp, err := s.Handshake(timeoutMs, sid, passwd, true)
	s.replied = time.Now()
	s.resp = resp
	return s, resp, err
}

// mustResume resumes sid and fails unless the server accepts with the
// requested timeout and the same password.
func mustResume(t *testing.T, addr string, timeoutMs int32, old *rawSess) *rawSess {
	t.Helper()
	s, resp, err := rawResume(t, addr, timeoutMs, old.resp.SessionID, old.resp.Passwd)
	if err != nil {
		t.Fatalf("resume %#x: %v", old.resp.SessionID, err)
	}
	if resp.SessionID != old.resp.SessionID || resp.TimeOut != timeoutMs || !bytes.Equal(resp.Passwd, old.resp.Passwd) {
		t.Fatalf("resume %#x asking for %d ms: %s; want the session back with timeOut %d and its password",
			old.resp.SessionID, timeoutMs, showResp(resp), timeoutMs)
	}
	return s
}

// ephemeral creates an ephemeral node through the raw session.
func (s *rawSess) ephemeral(t *testing.T, path string) {
	t.Helper()
	s.xid++
	s.sent = time.Now()
	code, _ := rawCreate(t, s.Raw, s.xid, path, 1)
	s.replied = time.Now()
	if code != 0 {
		t.Fatalf("raw create %s: error %d", path, code)
	}
}

// ping sends a ping and waits for its answer.
func (s *rawSess) ping(t *testing.T) {
	t.Helper()
	s.sent = time.Now()
	h, _, err := s.Request(-2, 11, nil)
	s.replied = time.Now()
	if err != nil || h.Err != 0 {
		t.Fatalf("ping: %+v, %v", h, err)
	}
}

func showResp(r zktest.ConnectResponse) string {
	ro := "absent"
	if r.ReadOnly != nil {
		ro = fmt.Sprint(*r.ReadOnly)
	}
	pw := fmt.Sprintf("%d bytes", len(r.Passwd))
	if len(r.Passwd) > 0 && bytes.Equal(r.Passwd, make([]byte, len(r.Passwd))) {
		pw += ", all zero"
	}
	return fmt.Sprintf("{protocolVersion %d, timeOut %d, sessionId %#x, passwd %s, readOnly %s, size %d}",
		r.ProtocolVersion, r.TimeOut, r.SessionID, pw, ro, r.Size)
}

// wantRefused checks ZooKeeper's answer to the resume of a dead session (or
// one with a wrong password): protocolVersion 0, timeOut 0, sessionId 0, a
// zeroed 16-byte password, readOnly false (the client sent the byte), and
// then the server closes the connection.
func wantRefused(t *testing.T, what string, s *rawSess, resp zktest.ConnectResponse, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: no ConnectResponse: %v", what, err)
		return
	}
	if resp.ProtocolVersion != 0 || resp.TimeOut != 0 || resp.SessionID != 0 || !bytes.Equal(resp.Passwd, make([]byte, 16)) ||
		resp.ReadOnly == nil || *resp.ReadOnly || resp.Size != 37 {
		t.Errorf("%s: %s; want {protocolVersion 0, timeOut 0, sessionId 0, passwd 16 bytes, all zero, readOnly false, size 37}", what, showResp(resp))
	}
	if c := awaitClose(s.Raw, waitFor); !c.closed || len(c.frames) > 0 {
		t.Errorf("%s: after the answer: %s; want the connection closed with nothing more", what, c)
	}
}

// resumeRefused resumes sid/passwd and checks it is refused (wantRefused).
//
// A resume that arrives while the server is closing the expired session
// may be closed without an answer by ZooKeeper: processing the session's
// closeSession closes whatever connection is registered for the session at
// that moment, and a resume registers itself before it is answered. Such an
// attempt (closed without a ConnectResponse) is retried, twice at most,
// after a moment; the answer then must be the refusal.
func resumeRefused(t *testing.T, what, addr string, timeoutMs int32, sid int64, passwd []byte) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		r, resp, err := rawResume(t, addr, timeoutMs, sid, passwd)
		if err != nil && attempt < 3 {
			t.Logf("%s: closed without an answer (%v), as ZooKeeper does to a resume racing the close of the session; again", what, err)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		wantRefused(t, what, r, resp, err)
		return
	}
}

// closeResult is what a connection received until the server closed it.
type closeResult struct {
	closed bool      // false: still open at the deadline
	at     time.Time // when the close (or the deadline) was seen
	frames []string  // frames received before, as "xid=N err=N"
}

func (c closeResult) String() string {
	if !c.closed {
		return fmt.Sprintf("still open, after %d frames %v", len(c.frames), c.frames)
	}
	return fmt.Sprintf("closed after %d frames %v", len(c.frames), c.frames)
}

// awaitClose reads frames until the server closes the connection or max
// passes.
func awaitClose(r *zktest.Raw, max time.Duration) closeResult {
	deadline := time.Now().Add(max)
	var res closeResult
	for {
		left := time.Until(deadline)
		if left <= 0 {
			res.at = time.Now()
			return res
		}
		p, err := r.ReadFrame(left)
		if err != nil {
			res.at = time.Now()
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				return res
			}
			res.closed = true
			return res
		}
		d := zktest.Dec{B: p}
		xid, _, code := d.Int(), d.Long(), d.Int()
		res.frames = append(res.frames, fmt.Sprintf("xid=%d err=%d", xid, code))
	}
}

// closeWatch reads the connection in the background until the server closes
// it (or max passes).
func closeWatch(r *zktest.Raw, max time.Duration) <-chan closeResult {
	ch := make(chan closeResult, 1)
	go func() { ch <- awaitClose(r, max) }()
	return ch
}

// gone is the time a watch on an ephemeral fired, and its event.
type gone struct {
	ev zk.Event
	at time.Time
}

// watchGone sets an exists watch on path (which must exist) through c and
// reports when it fires.
func watchGone(t *testing.T, c *zk.Conn, path string) <-chan gone {
	t.Helper()
	ok, _, w, err := c.ExistsW(path)
	if err != nil || !ok {
		t.Fatalf("existsW %s: %v, %v; want an existing node", path, ok, err)
	}
	ch := make(chan gone, 1)
	go func() {
		ev := <-w
		ch <- gone{ev, time.Now()}
	}()
	return ch
}

// waitGone waits for the watch of watchGone and checks it saw path deleted.
func waitGone(t *testing.T, ch <-chan gone, path string) time.Time {
	t.Helper()
	select {
	case g := <-ch:
		if g.ev.Type != zk.EventNodeDeleted || g.ev.Path != path {
			t.Fatalf("watch on %s: %+v, want NodeDeleted", path, g.ev)
		}
		return g.at
	case <-time.After(waitFor + 20*time.Second):
		t.Fatalf("%s never deleted (waited %v)", path, waitFor+20*time.Second)
	}
	return time.Time{}
}

// checkWindow checks that something seen at `at` happened no earlier than
// timeout after sent (when the session's last activity was sent) and no
// later than timeout + 2 ticks + slack after replied (when it was answered).
func checkWindow(t *testing.T, what string, at, sent, replied time.Time, timeout time.Duration) {
	t.Helper()
	early, late := at.Sub(sent), at.Sub(replied)
	max := timeout + 2*expTick + expSlack
	t.Logf("%s %v after the last activity (timeout %v, tick %v)", what, late.Round(time.Millisecond), timeout, expTick)
	if early < timeout {
		t.Errorf("%s only %v after the session's last activity, before its timeout %v", what, early.Round(time.Millisecond), timeout)
	}
	if late > max {
		t.Errorf("%s %v after the session's last activity, later than timeout %v + 2 ticks + %v slack", what, late.Round(time.Millisecond), timeout, expSlack)
	}
}

// sleepUntil sleeps until t.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// concurrently runs the subtests at the same time (each t.Run in its own
// goroutine) and returns when all are done. They mostly wait for timeouts,
// so running them at once keeps the test short regardless of -parallel.
func concurrently(t *testing.T, subtests map[string]func(t *testing.T)) {
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

// TestIdleSessionExpires: a client that creates an ephemeral and then sends
// nothing, with its connection open, loses its session after the timeout
// (rounded up to a tick): the ephemeral is deleted, a watcher sees it, the
// server closes the idle connection (not before the timeout, and sending
// nothing on it), and the session cannot be resumed.
func TestIdleSessionExpires(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	const timeout = 4000
	a := rawSession(t, s.Addr, timeout)
	a.ephemeral(t, "/idle")
	deleted := watchGone(t, watcher, "/idle")
	closed := closeWatch(a.Raw, waitFor)

	at := waitGone(t, deleted, "/idle")
	checkWindow(t, "ephemeral of the idle session deleted", at, a.sent, a.replied, msDur(timeout))

	c := <-closed
	if !c.closed {
		t.Fatalf("idle connection of the expired session: %s %v after its last activity; want closed by the server",
			c, c.at.Sub(a.replied).Round(time.Millisecond))
	}
	checkWindow(t, "idle connection closed", c.at, a.sent, a.replied, msDur(timeout))
	if len(c.frames) > 0 {
		t.Errorf("idle connection received %v before it was closed; want nothing", c.frames)
	}

	resumeRefused(t, "resume after expiry", s.Addr, timeout, a.resp.SessionID, a.resp.Passwd)
	if exists(t, watcher, "/idle") {
		t.Error("ephemeral of the expired session exists again")
	}
}

// TestIdleSessionExpiresWhileReconnecting: a client that resumes its
// session as soon as the server closes its idle connection, and sends
// nothing else, does not keep the session alive: the server expires it on
// time and refuses the resume.
//
// ZooKeeper closes an idle connection when its session expires, or earlier
// when its connection expiry runs first: NIOServerCnxnFactory expires
// connections silent for their session timeout on a grid of
// zookeeper.nio.sessionlessCnxnTimeout (10 s), so once in a while (about
// tick/20 s of the time) the connection closes after the timeout but before
// the session's rounded deadline, and a resume at that moment is rightly
// accepted (and is activity). Twice in a row is too unlikely to matter.
func TestIdleSessionExpiresWhileReconnecting(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	const timeout = 4000
	a := rawSession(t, s.Addr, timeout)
	a.ephemeral(t, "/idle")
	deleted := watchGone(t, watcher, "/idle")
	last := a
	for accepted := 0; ; {
		c := awaitClose(last.Raw, waitFor)
		if !c.closed {
			t.Fatalf("idle connection: %s; want closed by the server", c)
		}
		checkWindow(t, "idle connection closed", c.at, last.sent, last.replied, msDur(timeout))
		// The client resumes at once, as a client library would.
		r, resp, err := rawResume(t, s.Addr, timeout, a.resp.SessionID, a.resp.Passwd)
		if err == nil && resp.SessionID == a.resp.SessionID {
			accepted++
			t.Logf("resume right after the server closed the idle connection accepted: %s", showResp(resp))
			if accepted > 1 {
				t.Fatalf("idle session resumed %d times, each time right after the server closed its idle connection: "+
					"the server closes idle connections before their session expires, and the session lives on", accepted)
			}
			last = r
			continue
		}
		if err != nil {
			resumeRefused(t, "resume right after the server closed the idle connection", s.Addr, timeout, a.resp.SessionID, a.resp.Passwd)
		} else {
			wantRefused(t, "resume right after the server closed the idle connection", r, resp, err)
		}
		break
	}
	at := waitGone(t, deleted, "/idle")
	checkWindow(t, "ephemeral of the idle session deleted", at, last.sent, last.replied, msDur(timeout))
}

// TestResumeAfterDeadlineRefused: a client that closes its connection and
// comes back after its session's deadline (last activity + timeout rounded
// up to a tick, plus a little) is refused and its ephemeral is gone, even if
// the server's expiry sweep has not run yet; one that comes back before the
// timeout gets its session.
func TestResumeAfterDeadlineRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	const timeout = 4000
	concurrently(t, map[string]func(t *testing.T){
		"after": func(t *testing.T) {
			a := rawSession(t, s.Addr, timeout)
			a.ephemeral(t, "/late")
			deleted := watchGone(t, watcher, "/late")
			a.Close()
			// The latest deadline ZooKeeper's rounding allows, and a little.
			sleepUntil(a.replied.Add(msDur(timeout) + expTick + 100*time.Millisecond))
			resumeRefused(t, "resume after the deadline", s.Addr, timeout, a.resp.SessionID, a.resp.Passwd)
			at := waitGone(t, deleted, "/late")
			checkWindow(t, "ephemeral deleted", at, a.sent, a.replied, msDur(timeout))
		},
		"before": func(t *testing.T) {
			a := rawSession(t, s.Addr, timeout)
			a.ephemeral(t, "/early")
			a.Close()
			sleepUntil(a.sent.Add(msDur(timeout) - 1000*time.Millisecond))
			b := mustResume(t, s.Addr, timeout, a)
			var e zktest.Enc
			e.String("/early")
			e.Bool(false)
			h, _, err := b.Request(1, 3, e.Bytes())
			if err != nil || h.Err != 0 {
				t.Fatalf("exists /early on the resumed session: %+v, %v", h, err)
			}
		},
	})
}

// TestResumeAdoptsNewTimeout: the timeout negotiated by the connection that
// resumed a session is the session's timeout from then on, shorter or
// longer than the one it was created with, and the resume itself counts as
// activity.
func TestResumeAdoptsNewTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	concurrently(t, map[string]func(t *testing.T){
		"20000_to_4000": func(t *testing.T) {
			a := rawSession(t, s.Addr, 20000)
			a.ephemeral(t, "/shorter")
			deleted := watchGone(t, watcher, "/shorter")
			a.Close()
			b := mustResume(t, s.Addr, 4000, a)
			b.Close()
			at := waitGone(t, deleted, "/shorter")
			checkWindow(t, "ephemeral deleted", at, b.sent, b.replied, 4000*time.Millisecond)
		},
		"20000_to_4000_idle": func(t *testing.T) {
			a := rawSession(t, s.Addr, 20000)
			a.ephemeral(t, "/shorter-idle")
			deleted := watchGone(t, watcher, "/shorter-idle")
			a.Close()
			b := mustResume(t, s.Addr, 4000, a)
			closed := closeWatch(b.Raw, waitFor)
			at := waitGone(t, deleted, "/shorter-idle")
			checkWindow(t, "ephemeral deleted", at, b.sent, b.replied, 4000*time.Millisecond)
			c := <-closed
			if !c.closed || len(c.frames) > 0 {
				t.Fatalf("idle resumed connection: %s; want closed by the server with nothing sent", c)
			}
			checkWindow(t, "idle resumed connection closed", c.at, b.sent, b.replied, 4000*time.Millisecond)
		},
		"4000_to_12000": func(t *testing.T) {
			a := rawSession(t, s.Addr, 4000)
			a.ephemeral(t, "/longer")
			deleted := watchGone(t, watcher, "/longer")
			a.Close()
			b := mustResume(t, s.Addr, 12000, a)
			b.Close()
			select {
			case g := <-deleted:
				t.Fatalf("ephemeral deleted %v after the resume with 12000 ms (%+v)", g.at.Sub(b.replied).Round(time.Millisecond), g.ev)
			case <-time.After(time.Until(b.sent.Add(6000 * time.Millisecond))):
			}
			at := waitGone(t, deleted, "/longer")
			checkWindow(t, "ephemeral deleted", at, b.sent, b.replied, 12000*time.Millisecond)
		},
		"resume_restarts_clock": func(t *testing.T) {
			a := rawSession(t, s.Addr, 4000)
			a.ephemeral(t, "/restart")
			deleted := watchGone(t, watcher, "/restart")
			a.Close()
			sleepUntil(a.replied.Add(2500 * time.Millisecond))
			b := mustResume(t, s.Addr, 4000, a)
			b.Close()
			at := waitGone(t, deleted, "/restart")
			checkWindow(t, "ephemeral deleted", at, b.sent, b.replied, 4000*time.Millisecond)
		},
	})
}

// TestWrongPasswordAndExpiredResume: a ConnectRequest with a wrong password,
// for an expired session or for an id that never existed gets the same
// answer (timeOut 0, sessionId 0, zero password) and the connection closed.
// A wrong password does not count as activity of the session, and does not
// harm it.
func TestWrongPasswordAndExpiredResume(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	const timeout = 4000
	concurrently(t, map[string]func(t *testing.T){
		"wrong_password_disconnected": func(t *testing.T) {
			a := rawSession(t, s.Addr, timeout)
			a.ephemeral(t, "/wrongpw")
			deleted := watchGone(t, watcher, "/wrongpw")
			a.Close()
			bad := bytes.Clone(a.resp.Passwd)
			bad[3] ^= 0x5a
			resumeRefused(t, "wrong password", s.Addr, timeout, a.resp.SessionID, bad)
			// Late in the session's life, a wrong password again: the
			// session must not be extended by it.
			sleepUntil(a.replied.Add(msDur(timeout) - 500*time.Millisecond))
			r, resp, err := rawResume(t, s.Addr, timeout, a.resp.SessionID, bad)
			late := r.sent
			wantRefused(t, "wrong password near the deadline", r, resp, err)
			at := waitGone(t, deleted, "/wrongpw")
			checkWindow(t, "ephemeral deleted", at, a.sent, a.replied, msDur(timeout))
			if at.After(late.Add(msDur(timeout))) {
				t.Errorf("ephemeral deleted %v after the wrong-password attempt: the attempt extended the session",
					at.Sub(late).Round(time.Millisecond))
			}
			resumeRefused(t, "right password after expiry", s.Addr, timeout, a.resp.SessionID, a.resp.Passwd)
		},
		"wrong_password_connected": func(t *testing.T) {
			// A long timeout: the connection must not be closed as idle.
			a := rawSession(t, s.Addr, 20000)
			a.ephemeral(t, "/wrongpw-connected")
			bad := bytes.Clone(a.resp.Passwd)
			bad[0] ^= 0xff
			oldClosed := closeWatch(a.Raw, 5*time.Second)
			resumeRefused(t, "wrong password", s.Addr, timeout, a.resp.SessionID, bad)
			// ZooKeeper closes the connection a session is on before it
			// checks the password of a ConnectRequest for that session
			// (ZooKeeperServer.processConnectRequest: closeSession, then
			// reopenSession), so even a wrong password disconnects it:
			// anyone who knows a session id can cut its client off. gozk
			// checks the password first and leaves the connection alone (a
			// deliberate difference, in the README). The session itself
			// is untouched either way.
			c := <-oldClosed
			if zktest.Kind() == zktest.KindZooKeeper {
				if !c.closed || len(c.frames) > 0 {
					t.Errorf("the session's connection after a wrong-password resume elsewhere: %s; want closed by the server with nothing sent (as ZooKeeper does)", c)
				}
			} else {
				if c.closed {
					t.Errorf("the session's connection after a wrong-password resume elsewhere: %s; want it left open", c)
				}
				a.ping(t)
			}
			if st := stat(t, watcher, "/wrongpw-connected"); st.EphemeralOwner != a.resp.SessionID {
				t.Fatalf("ephemeralOwner %#x after a wrong-password resume, want %#x", st.EphemeralOwner, a.resp.SessionID)
			}
			b := mustResume(t, s.Addr, timeout, a)
			b.ping(t)
		},
		"expired": func(t *testing.T) {
			a := rawSession(t, s.Addr, timeout)
			a.ephemeral(t, "/expired")
			deleted := watchGone(t, watcher, "/expired")
			a.Close()
			waitGone(t, deleted, "/expired")
			for i, pw := range [][]byte{a.resp.Passwd, make([]byte, 16), nil} {
				if pw == nil {
					pw = bytes.Clone(a.resp.Passwd)
					pw[15] ^= 1
				}
				resumeRefused(t, fmt.Sprintf("resume of the expired session (password %d)", i), s.Addr, timeout, a.resp.SessionID, pw)
			}
		},
		"unknown": func(t *testing.T) {
			a := rawSession(t, s.Addr, timeout)
			resumeRefused(t, "resume of an id that never existed", s.Addr, timeout, a.resp.SessionID+12345, a.resp.Passwd)
			a.ping(t)
		},
	})
}

// TestResumeWhileConnectedElsewhere: resuming a session that is connected
// on another connection moves it: the old connection is closed by the
// server without any reply, the session (with its ephemerals) carries on
// on the new one with the new timeout, and the watches of the old
// connection are gone with it.
func TestResumeWhileConnectedElsewhere(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	a := rawSession(t, s.Addr, 20000)
	a.ephemeral(t, "/moved")
	// A watch set by the old connection.
	var e zktest.Enc
	e.String("/watched")
	e.Bool(true)
	h, _, err := a.Request(100, 3, e.Bytes())
	if err != nil || h.Err != codeNoNode {
		t.Fatalf("exists /watched with a watch: %+v, %v", h, err)
	}
	deleted := watchGone(t, watcher, "/moved")
	oldClosed := closeWatch(a.Raw, waitFor)

	b := mustResume(t, s.Addr, 4000, a)
	c := <-oldClosed
	if !c.closed || len(c.frames) > 0 {
		t.Fatalf("old connection after its session was resumed elsewhere: %s; want closed by the server with nothing sent", c)
	}
	t.Logf("old connection closed %v after the resume was answered", c.at.Sub(b.replied).Round(time.Millisecond))
	if c.at.After(b.replied.Add(5 * time.Second)) {
		t.Errorf("old connection closed only %v after the resume", c.at.Sub(b.replied).Round(time.Millisecond))
	}

	// The session works on the new connection and still owns its ephemeral.
	if st := stat(t, watcher, "/moved"); st.EphemeralOwner != a.resp.SessionID {
		t.Fatalf("ephemeralOwner %#x, want %#x", st.EphemeralOwner, a.resp.SessionID)
	}
	create(t, watcher, "/watched", nil, 0)
	// The old connection's watch did not move: the new connection gets no
	// notification before the answer to its ping.
	var ev []string
	b.sent = time.Now()
	var ping zktest.Enc
	ping.Int(-2)
	ping.Int(11)
	must(t, "ping", b.WriteFrame(ping.Bytes()))
	for {
		p, err := b.ReadFrame(waitFor)
		must(t, "ping answer", err)
		d := zktest.Dec{B: p}
		xid := d.Int()
		if xid == -2 {
			break
		}
		ev = append(ev, fmt.Sprintf("xid=%d", xid))
	}
	b.replied = time.Now()
	if len(ev) > 0 {
		t.Errorf("new connection received %v: the old connection's watch moved with the session", ev)
	}

	// From now on the session's timeout is the new connection's 4000 ms.
	b.Close()
	at := waitGone(t, deleted, "/moved")
	checkWindow(t, "ephemeral deleted", at, b.sent, b.replied, 4000*time.Millisecond)
}

// TestSilentClientCannotResume (go-zookeeper): a client whose connection
// goes silent (the server hears nothing, and the client eventually drops
// the connection and cannot reconnect) and which may reconnect just after
// its session's deadline learns that its session expired; its ephemeral is
// deleted on time.
func TestSilentClientCannotResume(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	watcher, _ := zktest.Connect(t, s.Addr)
	var d zktest.Dialer
	const timeout = 4 * time.Second
	c, ev := zktest.ConnectSession(t, s.Addr, timeout, zk.WithDialer(d.Dial))
	sid := c.SessionID()
	create(t, c, "/silent", nil, zk.FlagEphemeral)
	deleted := watchGone(t, watcher, "/silent")
	// A round trip, so the server heard from the client just now.
	before := time.Now()
	_, _, err := c.Exists("/")
	must(t, "exists", err)
	d.Blackhole()
	silent := time.Now()
	sleepUntil(silent.Add(timeout + expTick + 100*time.Millisecond))
	d.Refuse(false)
	must(t, "expired", zktest.WaitState(ev, zk.StateExpired, waitFor))
	at := waitGone(t, deleted, "/silent")
	// The server last heard from the client between the exists and the
	// blackhole (go-zookeeper may have pinged in between).
	checkWindow(t, "ephemeral deleted", at, before, silent, timeout)
	must(t, "new session", zktest.WaitSession(ev, waitFor))
	if c.SessionID() == sid {
		t.Fatalf("client still on session %#x", sid)
	}
}

// TestReconnectChurnKeepsSession (go-zookeeper): a client whose connection
// is cut again and again, and which reconnects at once every time, keeps its
// session for many timeouts: each resume is activity.
func TestReconnectChurnKeepsSession(t *testing.T) {
	t.Parallel()
	s := startServer(t, expiryConfig)
	var d zktest.Dialer
	const timeout = 3 * time.Second
	c, ev := zktest.ConnectSession(t, s.Addr, timeout, zk.WithDialer(d.Dial))
	sid := c.SessionID()
	create(t, c, "/churn", nil, zk.FlagEphemeral)
	end := time.Now().Add(3 * timeout)
	for time.Now().Before(end) {
		time.Sleep(timeout / 3)
		d.CloseAll()
		must(t, "reconnect", zktest.WaitSession(ev, waitFor))
		if c.SessionID() != sid {
			t.Fatalf("session %#x after a reconnect, want %#x", c.SessionID(), sid)
		}
	}
	if st := stat(t, c, "/churn"); st.EphemeralOwner != sid {
		t.Fatalf("ephemeralOwner %#x, want %#x", st.EphemeralOwner, sid)
	}
}
