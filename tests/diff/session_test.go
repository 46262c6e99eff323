package diff

// TestSessionLifecycle compares the life of sessions on Apache ZooKeeper and
// gozk: each scenario runs on both servers at the same time, with raw
// connections (so that the test decides exactly when a client talks), and
// renders what it saw as a transcript; the transcripts must be equal.
//
// What a transcript holds, normalized so that two correct servers agree:
//   - ConnectResponses: timeOut, whether the session id and the password are
//     the ones of the session resumed (or new, or zero), the readOnly byte
//     and the size; after a refusal, whether the server closed the
//     connection and what it sent before;
//   - the error codes of requests, and watch notifications;
//   - when a connection was closed by the server and when an ephemeral
//     vanished (its exists watch fired), as a bucket relative to the
//     session's timeout T after its last activity: "before T",
//     "within T+2 ticks" (plus lcSlack for scheduling), "later", or
//     "never" when nothing happened by then plus a few seconds;
//   - for the tick rounding scenario (tickTime 1000, timeouts 2000, 2500 and
//     3000 ms), whether each expiry fell in (T, T+1 tick] after the last
//     activity, and whether the expiries of sessions whose last activities
//     were spread over a tick all fell on one tick grid (ZooKeeper's
//     ExpiryQueue expires whole buckets at multiples of tickTime).
//
// ZooKeeper closes a connection that resumes a session while the session's
// closeSession is being processed, without an answer (the close goes to
// whichever connection is registered for the session by then). A resume
// closed without an answer is retried twice after a moment; that is not
// recorded.
//
// Run it with
//
//	go test ./tests/diff -run TestSessionLifecycle -v
//	go test ./tests/diff -run TestSessionLifecycle -diff.against=zookeeper  # ZooKeeper against itself

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// lcSlack is added to the upper bound of the "within T+2 ticks" bucket.
const lcSlack = 1500 * time.Millisecond

// lcWait is how long past the upper bound of that bucket a scenario waits
// for a close or a deletion before it records "never".
const lcWait = 5 * time.Second

// lcPair is a ZooKeeper and the server compared with it, with the same
// configuration.
type lcPair struct {
	tick     time.Duration
	ref, got *zktest.Server
	gotName  string
}

func lcStartPair(t *testing.T, tick time.Duration, cfg map[string]string) *lcPair {
	t.Helper()
	p := &lcPair{tick: tick, ref: zktest.StartZooKeeper(t, cfg), gotName: "gozk"}
	if *flagOther == zktest.KindZooKeeper {
		p.got, p.gotName = zktest.StartZooKeeper(t, cfg), "zookeeper#2"
	} else {
		p.got = zktest.StartGozk(t, cfg)
	}
	return p
}

// lcRun is one scenario on one server. Its methods record transcript lines;
// a failure of the test machinery (not of the server's behaviour) aborts the
// scenario with an "aborted:" line.
type lcRun struct {
	t       *testing.T
	name    string
	addr    string
	tick    time.Duration
	mu      sync.Mutex
	lines   []string
	conns   []*zktest.Raw
	watcher *zk.Conn
}

func (r *lcRun) rec(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// abort records why the scenario cannot go on and ends its goroutine.
func (r *lcRun) abort(format string, args ...any) {
	r.rec("aborted: "+format, args...)
	runtime.Goexit()
}

func (r *lcRun) closeAll() {
	for _, c := range r.conns {
		c.Close()
	}
}

// lcSess is a raw connection with a session; sent and replied bracket the
// last thing sent on it, so the server's last activity of the session lies
// between them.
type lcSess struct {
	*zktest.Raw
	resp          zktest.ConnectResponse
	sent, replied time.Time
	xid           int32
}

// handshake dials and sends a ConnectRequest. A connection closed without
// an answer is retried twice (see the package comment); err is the last
// attempt's error.
func (r *lcRun) handshake(timeoutMs int32, sid int64, passwd []byte) (*lcSess, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var raw *zktest.Raw
		raw, err = zktest.RawDial(r.addr)
		if err != nil {
			r.abort("dial: %v", err)
		}
		r.conns = append(r.conns, raw)
		s := &lcSess{Raw: raw, sent: time.Now()}
		s.resp, err = raw.Handshake(timeoutMs, sid, passwd, true)
		s.replied = time.Now()
		if err == nil {
			return s, nil
		}
		r.t.Logf("%s: ConnectRequest for %#x closed without an answer (%v); again", r.name, sid, err)
		raw.Close()
		time.Sleep(200 * time.Millisecond)
	}
	return nil, err
}

// lcAnswer renders a ConnectResponse relative to the session it resumes (nil
// for a new session).
func lcAnswer(resp zktest.ConnectResponse, of *lcSess) string {
	sid := "other"
	switch {
	case resp.SessionID == 0:
		sid = "0"
	case of == nil:
		sid = "new"
	case resp.SessionID == of.resp.SessionID:
		sid = "same"
	}
	pw := "other"
	switch {
	case len(resp.Passwd) == 16 && bytes.Equal(resp.Passwd, make([]byte, 16)):
		pw = "zero"
	case of != nil && bytes.Equal(resp.Passwd, of.resp.Passwd):
		pw = "same"
	case of == nil && len(resp.Passwd) == 16:
		pw = "new"
	}
	ro := "absent"
	if resp.ReadOnly != nil {
		ro = fmt.Sprint(*resp.ReadOnly)
	}
	return fmt.Sprintf("protocolVersion=%d timeOut=%d sessionId=%s passwd=%s(%d bytes) readOnly=%s size=%d",
		resp.ProtocolVersion, resp.TimeOut, sid, pw, len(resp.Passwd), ro, resp.Size)
}

// newSession opens a session with the given timeout.
func (r *lcRun) newSession(label string, timeoutMs int32) *lcSess {
	s, err := r.handshake(timeoutMs, 0, nil)
	if err != nil {
		r.abort("%s: no answer: %v", label, err)
	}
	r.rec("%s: new session asking %d ms: %s", label, timeoutMs, lcAnswer(s.resp, nil))
	if s.resp.SessionID == 0 {
		r.abort("%s: no session", label)
	}
	return s
}

// resume sends a ConnectRequest for of's session with passwd (of's own
// when nil). A refusal is followed by what the connection sees next.
func (r *lcRun) resume(label string, timeoutMs int32, of *lcSess, passwd []byte) *lcSess {
	if passwd == nil {
		passwd = of.resp.Passwd
	}
	s, err := r.handshake(timeoutMs, of.resp.SessionID, passwd)
	if err != nil {
		r.rec("%s: resume asking %d ms: no answer three times: %v", label, timeoutMs, err)
		return nil
	}
	r.rec("%s: resume asking %d ms: %s", label, timeoutMs, lcAnswer(s.resp, of))
	if s.resp.SessionID == 0 {
		r.rec("%s: then %s", label, lcAwaitClose(s.Raw, 10*time.Second))
		return nil
	}
	return s
}

// ephemeral creates an ephemeral node through s.
func (r *lcRun) ephemeral(s *lcSess, path string) {
	var b zktest.Enc
	b.String(path)
	b.Buffer(nil)
	b.Int(1)
	b.Int(31)
	b.String("world")
	b.String("anyone")
	b.Int(1) // ephemeral
	s.xid++
	s.sent = time.Now()
	h, _, err := s.Request(s.xid, 1, b.Bytes())
	s.replied = time.Now()
	if err != nil {
		r.abort("create %s: %v", path, err)
	}
	r.rec("create %s ephemeral: err=%d", path, h.Err)
}

// ping sends a ping on s and records the notifications that came before
// its answer.
func (r *lcRun) ping(label string, s *lcSess) {
	var e zktest.Enc
	e.Int(-2)
	e.Int(11)
	s.sent = time.Now()
	if err := s.WriteFrame(e.Bytes()); err != nil {
		r.rec("%s: ping: %v", label, err)
		return
	}
	var notes []string
	for {
		p, err := s.ReadFrame(10 * time.Second)
		if err != nil {
			r.rec("%s: ping: no answer: %v", label, err)
			return
		}
		d := zktest.Dec{B: p}
		xid, _, code := d.Int(), d.Long(), d.Int()
		if xid == -2 {
			s.replied = time.Now()
			r.rec("%s: ping: err=%d, notifications before it %q", label, code, notes)
			return
		}
		if xid == -1 {
			typ, state, path := d.Int(), d.Int(), d.String()
			notes = append(notes, fmt.Sprintf("type=%d state=%d %s", typ, state, path))
		} else {
			notes = append(notes, fmt.Sprintf("xid=%d err=%d", xid, code))
		}
	}
}

// lcClose is what a connection received until the server closed it.
type lcClose struct {
	closed bool
	at     time.Time
	frames []string
}

func (c lcClose) String() string {
	if !c.closed {
		return fmt.Sprintf("still open, %d frames %q", len(c.frames), c.frames)
	}
	return fmt.Sprintf("closed by the server, %d frames before %q", len(c.frames), c.frames)
}

func lcAwaitClose(raw *zktest.Raw, max time.Duration) lcClose {
	deadline := time.Now().Add(max)
	var c lcClose
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.at = time.Now()
			return c
		}
		p, err := raw.ReadFrame(left)
		if err != nil {
			c.at = time.Now()
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				return c
			}
			c.closed = true
			return c
		}
		d := zktest.Dec{B: p}
		xid, _, code := d.Int(), d.Long(), d.Int()
		c.frames = append(c.frames, fmt.Sprintf("xid=%d err=%d", xid, code))
	}
}

// lcCloseWatch reads s in the background until the server closes it or max
// passes.
func lcCloseWatch(s *lcSess, max time.Duration) <-chan lcClose {
	ch := make(chan lcClose, 1)
	go func() { ch <- lcAwaitClose(s.Raw, max) }()
	return ch
}

// bucket renders when something happened relative to the session's timeout
// after its last activity (sent..replied).
func (r *lcRun) bucket(at time.Time, sent, replied time.Time, timeout time.Duration) string {
	d := at.Sub(replied).Round(time.Millisecond)
	r.t.Logf("%s: %v after the last activity (timeout %v)", r.name, d, timeout)
	switch {
	case at.Sub(sent) < timeout:
		return "before T"
	case at.Sub(replied) <= timeout+2*r.tick+lcSlack:
		return "within T+2 ticks"
	default:
		return "later"
	}
}

// maxWait is how long to wait for an expiry with this timeout.
func (r *lcRun) maxWait(from time.Time, timeout time.Duration) time.Duration {
	return time.Until(from.Add(timeout + 2*r.tick + lcSlack + lcWait))
}

// recClose records when the server closed s, relative to the session's
// last activity (of last).
func (r *lcRun) recClose(label string, ch <-chan lcClose, last *lcSess, timeout time.Duration) {
	c := <-ch
	if !c.closed {
		r.rec("%s: %s", label, c)
		return
	}
	r.rec("%s: %s, %s", label, c, r.bucket(c.at, last.sent, last.replied, timeout))
}

// lcGone is when an exists watch fired, and its event.
type lcGone struct {
	ev zk.Event
	at time.Time
}

func (r *lcRun) watchGone(path string) <-chan lcGone {
	if r.watcher == nil {
		c, _, err := zktest.Dial(r.t, r.addr, 10*time.Second)
		if err != nil {
			r.abort("watcher: %v", err)
		}
		r.watcher = c
	}
	ok, _, w, err := r.watcher.ExistsW(path)
	if err != nil || !ok {
		r.abort("existsW %s: %v, %v", path, ok, err)
	}
	ch := make(chan lcGone, 1)
	go func() {
		ev := <-w
		ch <- lcGone{ev, time.Now()}
	}()
	return ch
}

// recGone records when the watch on path fired, relative to the session's
// last activity (of last).
func (r *lcRun) recGone(path string, ch <-chan lcGone, last *lcSess, timeout time.Duration) time.Time {
	select {
	case g := <-ch:
		r.rec("%s: %v %s", path, g.ev.Type, r.bucket(g.at, last.sent, last.replied, timeout))
		return g.at
	case <-time.After(r.maxWait(last.replied, timeout)):
		r.rec("%s: never deleted (timeout %v)", path, timeout)
		return time.Time{}
	}
}

// exists records whether path exists and, if so, whether s owns it.
func (r *lcRun) exists(path string, owner *lcSess) {
	if r.watcher == nil {
		r.abort("exists before any watch")
	}
	ok, st, err := r.watcher.Exists(path)
	if err != nil {
		r.abort("exists %s: %v", path, err)
	}
	own := ""
	if ok {
		own = fmt.Sprintf(" owned by the session: %v", st.EphemeralOwner == owner.resp.SessionID)
	}
	r.rec("%s exists: %v%s", path, ok, own)
}

func lcSleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// Scenarios. Timeouts are in ms; the server's tick is r.tick.

// lcIdle: a session creates an ephemeral and goes silent with its
// connection open.
func lcIdle(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/idle")
	gone := r.watchGone("/idle")
	closed := lcCloseWatch(a, r.maxWait(time.Now(), 4*time.Second))
	r.recGone("/idle", gone, a, 4*time.Second)
	r.recClose("A's idle connection", closed, a, 4*time.Second)
	r.resume("A after expiry", 4000, a, nil)
}

// lcReconnecting: the client resumes at once whenever the server closes its
// idle connection. ZooKeeper may close it shortly before the session's
// deadline (its connection expiry runs on a 10 s grid), and then accept the
// resume; the transcript records whether the session ended within two such
// rounds.
func lcReconnecting(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/reconnecting")
	gone := r.watchGone("/reconnecting")
	last := a
	ended := false
	for round := 0; round < 3 && !ended; round++ {
		c := lcAwaitClose(last.Raw, r.maxWait(time.Now(), 4*time.Second))
		if !c.closed {
			r.rec("round %d: idle connection %s", round, c)
			break
		}
		b, err := r.handshake(4000, a.resp.SessionID, a.resp.Passwd)
		if err != nil {
			ended = true
			r.rec("resuming right after each close of the idle connection: session ended within 3 rounds: true")
			r.rec("the resume that found the session gone: no answer: %v", err)
			break
		}
		if b.resp.SessionID == 0 {
			ended = true
			r.rec("resuming right after each close of the idle connection: session ended within 3 rounds: true")
			r.rec("the resume that found the session gone: %s, then %s", lcAnswer(b.resp, a), lcAwaitClose(b.Raw, 10*time.Second))
			break
		}
		r.t.Logf("%s: round %d: resume right after the close accepted", r.name, round)
		last = b
	}
	if !ended {
		r.rec("resuming right after each close of the idle connection: session ended within 3 rounds: false")
	}
	r.recGone("/reconnecting", gone, last, 4*time.Second)
}

// lcAfterDeadline: the client closes its connection and resumes just after
// the latest deadline the rounding allows.
func lcAfterDeadline(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/late")
	gone := r.watchGone("/late")
	a.Close()
	lcSleepUntil(a.replied.Add(4*time.Second + r.tick + 100*time.Millisecond))
	r.resume("A after its deadline", 4000, a, nil)
	r.recGone("/late", gone, a, 4*time.Second)
}

// lcBeforeDeadline: the client closes its connection and resumes a second
// before its timeout runs out.
func lcBeforeDeadline(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/early")
	gone := r.watchGone("/early")
	a.Close()
	lcSleepUntil(a.sent.Add(3 * time.Second))
	b := r.resume("A before its deadline", 4000, a, nil)
	if b == nil {
		return
	}
	r.ping("A", b)
	b.Close()
	r.recGone("/early", gone, b, 4*time.Second)
}

// lcShorter: created with 20000, resumed with 4000, dropped (or kept open
// and idle).
func lcShorter(idle bool) func(r *lcRun) {
	path := "/shorter"
	if idle {
		path = "/shorter-idle"
	}
	return func(r *lcRun) {
		a := r.newSession("A", 20000)
		r.ephemeral(a, path)
		gone := r.watchGone(path)
		a.Close()
		b := r.resume("A", 4000, a, nil)
		if b == nil {
			return
		}
		var closed <-chan lcClose
		if idle {
			closed = lcCloseWatch(b, r.maxWait(time.Now(), 4*time.Second))
		} else {
			b.Close()
		}
		r.recGone(path, gone, b, 4*time.Second)
		if idle {
			r.recClose("A's idle resumed connection", closed, b, 4*time.Second)
		}
	}
}

// lcLonger: created with 4000, resumed with 12000, dropped.
func lcLonger(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/longer")
	gone := r.watchGone("/longer")
	a.Close()
	b := r.resume("A", 12000, a, nil)
	if b == nil {
		return
	}
	b.Close()
	r.recGone("/longer", gone, b, 12*time.Second)
}

// lcRestart: dropped, resumed with the same timeout after 2.5 s, dropped:
// the timeout runs from the resume.
func lcRestart(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/restart")
	gone := r.watchGone("/restart")
	a.Close()
	lcSleepUntil(a.replied.Add(2500 * time.Millisecond))
	b := r.resume("A", 4000, a, nil)
	if b == nil {
		return
	}
	b.Close()
	r.recGone("/restart", gone, b, 4*time.Second)
}

// lcWrongPassword: wrong passwords for a disconnected session, one of them
// just before its deadline; then its password after expiry.
func lcWrongPassword(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/wrongpw")
	gone := r.watchGone("/wrongpw")
	a.Close()
	bad := bytes.Clone(a.resp.Passwd)
	bad[3] ^= 0x5a
	r.resume("A with a wrong password", 4000, a, bad)
	lcSleepUntil(a.replied.Add(3500 * time.Millisecond))
	late := time.Now()
	r.resume("A with a wrong password near its deadline", 4000, a, bad)
	at := r.recGone("/wrongpw", gone, a, 4*time.Second)
	if !at.IsZero() {
		r.rec("deleted before the late wrong-password attempt + T: %v", at.Before(late.Add(4*time.Second)))
	}
	r.resume("A with its password after expiry", 4000, a, nil)
}

// lcWrongPasswordConnected: a wrong password for a session connected
// elsewhere.
func lcWrongPasswordConnected(r *lcRun) {
	a := r.newSession("A", 20000)
	r.ephemeral(a, "/wrongpw-connected")
	r.watchGone("/wrongpw-connected")
	bad := bytes.Clone(a.resp.Passwd)
	bad[0] ^= 0xff
	// What becomes of A's connection differs on purpose: ZooKeeper closes it
	// before checking the password, gozk keeps it (tests/e2e
	// TestWrongPasswordAndExpiredResume checks each).
	r.resume("A with a wrong password", 4000, a, bad)
	r.exists("/wrongpw-connected", a)
	if b := r.resume("A with its password", 4000, a, nil); b != nil {
		r.ping("A", b)
	}
}

// lcExpired: resumes of an expired session with its password, a zero one
// and a wrong one, and of an id that never existed.
func lcExpired(r *lcRun) {
	a := r.newSession("A", 4000)
	r.ephemeral(a, "/expired")
	gone := r.watchGone("/expired")
	a.Close()
	r.recGone("/expired", gone, a, 4*time.Second)
	bad := bytes.Clone(a.resp.Passwd)
	bad[15] ^= 1
	r.resume("expired A with its password", 4000, a, nil)
	r.resume("expired A with a zero password", 4000, a, make([]byte, 16))
	r.resume("expired A with a wrong password", 4000, a, bad)
	unknown := &lcSess{resp: zktest.ConnectResponse{SessionID: a.resp.SessionID + 12345, Passwd: a.resp.Passwd}}
	r.resume("an id that never existed", 4000, unknown, nil)
}

// lcConnectedElsewhere: a session resumed (with a shorter timeout) while
// its first connection is open and has a watch.
func lcConnectedElsewhere(r *lcRun) {
	a := r.newSession("A", 20000)
	r.ephemeral(a, "/moved")
	var e zktest.Enc
	e.String("/watched")
	e.Bool(true)
	h, _, err := a.Request(100, 3, e.Bytes())
	if err != nil {
		r.abort("exists with a watch: %v", err)
	}
	r.rec("exists /watched with a watch on the first connection: err=%d", h.Err)
	gone := r.watchGone("/moved")
	closed := lcCloseWatch(a, 10*time.Second)
	b := r.resume("A elsewhere", 4000, a, nil)
	if b == nil {
		return
	}
	c := <-closed
	prompt := c.closed && c.at.Sub(b.sent) < 2*time.Second
	r.rec("A's first connection: %s, within 2 s of the resume: %v", c, prompt)
	r.exists("/moved", a)
	if _, err := r.watcher.Create("/watched", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		r.abort("create /watched: %v", err)
	}
	r.ping("A's new connection", b)
	b.Close()
	r.recGone("/moved", gone, b, 4*time.Second)
}

// lcRounding: six sessions with timeouts 2000, 2500 and 3000 ms (tickTime
// 1000), whose last activities are spread over a tick, close their
// connections.
func lcRounding(r *lcRun) {
	timeouts := []int32{2000, 2500, 3000, 2000, 2500, 3000}
	sess := make([]*lcSess, len(timeouts))
	gone := make([]<-chan lcGone, len(timeouts))
	start := time.Now()
	for i, to := range timeouts {
		lcSleepUntil(start.Add(time.Duration(i) * r.tick / 6))
		sess[i] = r.newSession(fmt.Sprintf("S%d", i), to)
		p := fmt.Sprintf("/round%d", i)
		r.ephemeral(sess[i], p)
		sess[i].Close()
		gone[i] = r.watchGone(p)
	}
	var ats []time.Time
	for i, to := range timeouts {
		T := time.Duration(to) * time.Millisecond
		select {
		case g := <-gone[i]:
			in := g.at.Sub(sess[i].sent) > T && g.at.Sub(sess[i].replied) <= T+r.tick+300*time.Millisecond
			r.t.Logf("%s: S%d (%v) expired %v after its last activity", r.name, i, T, g.at.Sub(sess[i].replied).Round(time.Millisecond))
			r.rec("S%d (T=%v): %v, in (T, T+1 tick]: %v", i, T, g.ev.Type, in)
			ats = append(ats, g.at)
		case <-time.After(r.maxWait(sess[i].replied, T)):
			r.rec("S%d (T=%v): never deleted", i, T)
		}
	}
	if len(ats) < 2 {
		return
	}
	// Offsets of the expiries from the first one's tick grid, in
	// [-tick/2, tick/2).
	tick := float64(r.tick)
	var worst float64
	var offs []string
	for _, at := range ats {
		d := float64(at.Sub(ats[0]))
		off := d - tick*math.Floor(d/tick+0.5)
		worst = max(worst, math.Abs(off))
		offs = append(offs, time.Duration(off).Round(time.Millisecond).String())
	}
	r.t.Logf("%s: expiry offsets from one tick grid: %v", r.name, offs)
	r.rec("expiries on one tick grid (within 200 ms): %v", worst <= float64(200*time.Millisecond))
}

func TestSessionLifecycle(t *testing.T) {
	p500 := lcStartPair(t, 500*time.Millisecond, map[string]string{
		"tickTime": "500", "minSessionTimeout": "2000", "maxSessionTimeout": "20000", "forceSync": "no"})
	p1000 := lcStartPair(t, time.Second, map[string]string{"tickTime": "1000", "forceSync": "no"})
	scenarios := []struct {
		name string
		p    *lcPair
		f    func(*lcRun)
	}{
		{"idle", p500, lcIdle},
		{"idle_reconnecting", p500, lcReconnecting},
		{"resume_after_deadline", p500, lcAfterDeadline},
		{"resume_before_deadline", p500, lcBeforeDeadline},
		{"resume_20000_to_4000", p500, lcShorter(false)},
		{"resume_20000_to_4000_idle", p500, lcShorter(true)},
		{"resume_4000_to_12000", p500, lcLonger},
		{"resume_restarts_clock", p500, lcRestart},
		{"wrong_password", p500, lcWrongPassword},
		{"wrong_password_connected", p500, lcWrongPasswordConnected},
		{"expired_and_unknown", p500, lcExpired},
		{"connected_elsewhere", p500, lcConnectedElsewhere},
		{"tick_rounding", p1000, lcRounding},
	}
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		// The scenarios mostly wait for timeouts: run them all at once,
		// whatever -parallel says (a t.Run per goroutine).
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(sc.name, func(t *testing.T) { lcCompare(t, sc.p, sc.f) })
		}()
	}
	wg.Wait()
}

// lcCompare runs f on both servers of p at once and compares transcripts.
func lcCompare(t *testing.T, p *lcPair, f func(*lcRun)) {
	runs := []*lcRun{
		{t: t, name: "zookeeper", addr: p.ref.Addr, tick: p.tick},
		{t: t, name: p.gotName, addr: p.got.Addr, tick: p.tick},
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.closeAll()
			f(r)
		}()
	}
	wg.Wait()
	want, got := runs[0].lines, runs[1].lines
	t.Logf("zookeeper:\n  %s", strings.Join(want, "\n  "))
	if strings.Join(want, "\n") == strings.Join(got, "\n") {
		return
	}
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		w, g := "(none)", "(none)"
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w == g {
			fmt.Fprintf(&b, "  %-11s %s\n", "both", w)
			continue
		}
		fmt.Fprintf(&b, "! %-11s %s\n! %-11s %s\n", "zookeeper", w, runs[1].name, g)
	}
	t.Errorf("transcripts differ (! marks the lines that differ):\n%s", b.String())
}
