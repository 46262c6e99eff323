package robustness

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// The persistent-recursive-watch workload. Writers create children of a
// watched node and set the data of some of them once (so that the final
// state tells every change and its zxid: a child's czxid is its
// NodeCreated, the mzxid of a child at version 1 its NodeDataChanged).
// Watchers, on raw connections, addWatch the node in PERSISTENT_RECURSIVE
// mode and record every notification with its zxid. On connection loss a
// watcher resumes its session on another member and re-registers the watch
// with setWatches2; now and then it moves on purpose.
//
// What ZooKeeper guarantees, and what is checked: a persistent watch stays
// registered until removed; while a connection lasts, every change under
// the path after the watch was (re-)registered is delivered exactly once,
// in zxid order; a recursive watch gets NodeCreated, NodeDeleted and
// NodeDataChanged, never NodeChildrenChanged. On reconnect, setWatches
// re-registers persistent watches but, unlike one-shot watches, they
// trigger nothing for changes made while the client was away
// (DataTree.setWatches adds them only): those are lost, not coalesced. So
// per connection, with Z0 the zxid of the addWatch/setWatches2 reply (gozk
// answers with the zxid at which it registered the watch), the events
// delivered are exactly the changes with zxid in (Z0, Zend], where Zend is
// the last event's zxid; on the last connection, Zend is the zxid of a
// read made after the run, since ZooKeeper delivers a watch event before
// any reply that reflects the change. Over the whole session, events never
// repeat and never go back in zxid.

const (
	watchWriters  = 2
	watchWatchers = 3
)

type watchEvent struct {
	Type int32  `json:"type"`
	Path string `json:"path"`
	Zxid int64  `json:"zxid"`
}

// watchPeriod is one connection of a watcher's session.
type watchPeriod struct {
	Member string       `json:"member"`
	Z0     int64        `json:"z0"`  // zxid of the registration's reply
	Zend   int64        `json:"end"` // the final read's zxid on the last connection, else 0
	Events []watchEvent `json:"events"`
	Err    string       `json:"err,omitempty"`
}

type watchSession struct {
	Watcher int           `json:"watcher"`
	ID      int64         `json:"id"`
	Periods []watchPeriod `json:"periods"`
}

type watchWrite struct {
	Call   int64  `json:"call"`
	Return int64  `json:"return"`
	Path   string `json:"path"`
	Kind   string `json:"kind"` // "create" or "set"
	Data   string `json:"data"`
	Result string `json:"result"` // "ok", "failed", "unknown"
	Zxid   int64  `json:"zxid,omitempty"`
}

type watchWorkload struct {
	r    *run
	path string
	seed []uint64

	mu       sync.Mutex
	sessions []*watchSession
	writes   []watchWrite
	events   int
	finals   []chan struct{}
	finished []chan struct{}
}

func newWatch(r *run, c *zk.Conn) *watchWorkload {
	w := &watchWorkload{r: r, path: r.root + "/pw"}
	mustCreate(r.t, c, w.path, nil)
	for range watchWriters + watchWatchers {
		w.seed = append(w.seed, r.rng.Uint64())
	}
	return w
}

func (w *watchWorkload) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.writes) + w.events
}

func (w *watchWorkload) start() {
	for i := range watchWatchers {
		final, finished := make(chan struct{}), make(chan struct{})
		w.finals = append(w.finals, final)
		w.finished = append(w.finished, finished)
		go func() {
			defer close(finished)
			w.watcher(i, final)
		}()
	}
	for i := range watchWriters {
		c := w.r.connect(fmt.Sprintf("watch writer %d", i))
		w.r.goWork(func() { w.writer(i, c) })
	}
}

func (w *watchWorkload) writer(id int, c *zk.Conn) {
	rng := rand.New(rand.NewPCG(w.seed[id], 13))
	defer c.Close()
	var created []string
	for n := 0; w.r.pause(time.Duration(5+rng.IntN(20)) * time.Millisecond); n++ {
		if len(created) > 0 && rng.IntN(3) == 0 {
			// Set one created child, once: its mzxid then tells the zxid.
			k := rng.IntN(len(created))
			p := created[k]
			created = append(created[:k], created[k+1:]...)
			wr := watchWrite{Path: p, Kind: "set", Data: fmt.Sprintf("set %d", n), Call: w.r.now()}
			st, err := c.Set(p, []byte(wr.Data), 0)
			wr.Return = w.r.now()
			switch {
			case err == nil:
				wr.Result, wr.Zxid = "ok", st.Mzxid
			case definite(err):
				wr.Result = "failed"
			default:
				wr.Result = "unknown"
			}
			w.addWrite(wr)
			continue
		}
		p := fmt.Sprintf("%s/w%d-%d", w.path, id, n)
		wr := watchWrite{Path: p, Kind: "create", Data: "created", Call: w.r.now()}
		_, err := c.Create(p, []byte(wr.Data), 0, worldAll)
		wr.Return = w.r.now()
		switch {
		case err == nil:
			wr.Result = "ok"
			created = append(created, p)
		case definite(err):
			wr.Result = "failed"
		default:
			wr.Result = "unknown"
			created = append(created, p) // may exist; a set says
		}
		w.addWrite(wr)
	}
}

func (w *watchWorkload) addWrite(wr watchWrite) {
	w.mu.Lock()
	w.writes = append(w.writes, wr)
	w.mu.Unlock()
}

// watcher keeps a session with a persistent recursive watch until final
// closes, then reads once more (sync + getData) on its last connection and
// ends the session.
func (w *watchWorkload) watcher(id int, final <-chan struct{}) {
	rng := rand.New(rand.NewPCG(w.seed[watchWriters+id], 17))
	addrs := w.r.e.Addrs()
	var sess *rawSession
	var ws *watchSession
	fresh := true
	for {
		select {
		case <-final:
			return
		default:
		}
		if sess == nil {
			sess = &rawSession{timeout: sessionTimeout}
			ws = &watchSession{Watcher: id}
			fresh = true
		}
		addr := addrs[rng.IntN(len(addrs))]
		c, err := dialRaw(addr, sess)
		if err == errExpired {
			w.r.checkExpiry(fmt.Sprintf("watcher %d", id), sess)
			sess = nil
			continue
		}
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		period := watchPeriod{Member: addr}
		var reg []byte
		if fresh {
			reg = request(1, opAddWatch, addWatchBody(w.path, addWatchPersistentRecursive))
		} else {
			reg = request(xidSetWatches, opSetWatches2, setWatches2Body(sess.lastZxid, []string{w.path}))
		}
		stay := time.Duration(2000+rng.IntN(6000)) * time.Millisecond
		done := w.serve(c, &period, reg, stay, final)
		c.close()
		if period.Z0 != 0 {
			w.mu.Lock()
			if fresh {
				ws.ID = sess.id
				w.sessions = append(w.sessions, ws)
			}
			ws.Periods = append(ws.Periods, period)
			w.mu.Unlock()
			fresh = false
		}
		if done {
			w.closeSession(sess, addrs)
			return
		}
	}
}

// serve registers the watch on c and records events until the connection
// fails, stay passes (the watcher moves to another member), or final
// closes (then it reads once more and reports true).
func (w *watchWorkload) serve(c *rawConn, p *watchPeriod, reg []byte, stay time.Duration, final <-chan struct{}) bool {
	record := func(f frame) bool {
		if f.hdr.Xid != xidNotification {
			return false
		}
		typ, path, err := watcherEvent(f.body)
		if err == nil {
			p.Events = append(p.Events, watchEvent{Type: typ, Path: path, Zxid: f.hdr.Zxid})
			w.mu.Lock()
			w.events++
			w.mu.Unlock()
		}
		return true
	}
	// await reads frames until the reply with xid, recording events.
	await := func(xid int32) (frame, error) {
		for {
			f, err := c.next(c.sess.timeout)
			if err != nil {
				return f, err
			}
			if record(f) {
				continue
			}
			if f.hdr.Xid == xid {
				return f, nil
			}
		}
	}
	if err := c.write(reg); err != nil {
		p.Err = err.Error()
		return false
	}
	d := zktestDecXid(reg)
	f, err := await(d)
	if err != nil {
		p.Err = err.Error()
		return false
	}
	if f.hdr.Err != 0 {
		p.Err = fmt.Sprintf("registration answered %d", f.hdr.Err)
		return false
	}
	p.Z0 = f.hdr.Zxid
	leave := time.After(stay)
	for {
		select {
		case <-final:
			// Sync, then read: every event up to the read's zxid has
			// arrived before its reply.
			sx := c.nextXid()
			gx := c.nextXid()
			if err := c.write(request(sx, opSync, pathBody(w.path)), request(gx, opGetData, pathWatchBody(w.path, false))); err != nil {
				p.Err = "final read: " + err.Error()
				return true
			}
			if _, err := await(sx); err != nil {
				p.Err = "final sync: " + err.Error()
				return true
			}
			f, err := await(gx)
			if err != nil || f.hdr.Err != 0 {
				p.Err = fmt.Sprintf("final read: %v (code %d)", err, f.hdr.Err)
				return true
			}
			p.Zend = f.hdr.Zxid
			return true
		case <-leave:
			return false
		case <-c.dead:
			// Drain what arrived before the failure.
			for {
				f, err := c.next(0)
				if err != nil {
					p.Err = err.Error()
					return false
				}
				record(f)
			}
		case f := <-c.frames:
			if f.hdr.Zxid > c.sess.lastZxid {
				c.sess.lastZxid = f.hdr.Zxid
			}
			record(f)
		}
	}
}

// zktestDecXid returns the xid of an encoded request.
func zktestDecXid(req []byte) int32 {
	return int32(uint32(req[0])<<24 | uint32(req[1])<<16 | uint32(req[2])<<8 | uint32(req[3]))
}

func (w *watchWorkload) closeSession(sess *rawSession, addrs []string) {
	for _, a := range addrs {
		c, err := dialRaw(a, sess)
		if err != nil {
			continue
		}
		_ = c.write(request(1, -11, nil))
		_, _ = c.next(2 * time.Second)
		c.close()
		return
	}
}

// finish makes the watchers do their final read and waits for them.
func (w *watchWorkload) finish() {
	for _, f := range w.finals {
		close(f)
	}
	for _, f := range w.finished {
		select {
		case <-f:
		case <-time.After(time.Minute):
			w.r.t.Errorf("watch: a watcher did not finish within a minute")
		}
	}
}

func (w *watchWorkload) check() {
	r := w.r
	w.mu.Lock()
	sessions := w.sessions
	writes := w.writes
	w.mu.Unlock()
	r.writeJSON("watch.json", map[string]any{"sessions": sessions, "writes": writes})

	// The changes, from the final state.
	nodes := r.fin.under(w.path)
	type change struct {
		typ  int32
		path string
	}
	truth := map[int64]change{}
	var zxids []int64
	for p, n := range nodes {
		truth[n.Stat.Czxid] = change{evNodeCreated, p}
		zxids = append(zxids, n.Stat.Czxid)
		switch n.Stat.Version {
		case 0:
		case 1:
			truth[n.Stat.Mzxid] = change{evNodeDataChanged, p}
			zxids = append(zxids, n.Stat.Mzxid)
		default:
			r.violation("watch: %s has version %d, but it was set at most once", p, n.Stat.Version)
		}
	}
	sort.Slice(zxids, func(i, j int) bool { return zxids[i] < zxids[j] })
	// Acknowledged writes are there.
	for _, wr := range writes {
		if wr.Result != "ok" {
			continue
		}
		n, ok := nodes[wr.Path]
		switch {
		case !ok:
			r.violation("watch: acknowledged %s of %s is lost", wr.Kind, wr.Path)
		case wr.Kind == "set" && (n.Stat.Mzxid != wr.Zxid || string(n.Data) != wr.Data):
			r.violation("watch: acknowledged set of %s (zxid %s, %q) not in the final state (mzxid %s, %q)", wr.Path, hex(wr.Zxid), wr.Data, hex(n.Stat.Mzxid), n.Data)
		}
	}

	delivered := 0
	for _, s := range sessions {
		var last int64
		for pi, p := range s.Periods {
			got := map[int64]bool{}
			for _, ev := range p.Events {
				delivered++
				where := fmt.Sprintf("watch: session 0x%x (watcher %d), connection %d to %s", s.ID, s.Watcher, pi, p.Member)
				if ev.Zxid <= last {
					r.violation("%s: event %s %s at zxid %s after one at %s (repeated or out of order)", where, evName(ev.Type), ev.Path, hex(ev.Zxid), hex(last))
				}
				last = max(last, ev.Zxid)
				got[ev.Zxid] = true
				if ev.Type == evNodeChildrenChanged {
					r.violation("%s: NodeChildrenChanged %s on a persistent recursive watch", where, ev.Path)
					continue
				}
				c, ok := truth[ev.Zxid]
				if !ok || c.typ != ev.Type || c.path != ev.Path {
					r.violation("%s: event %s %s at zxid %s matches no change (the change at that zxid: %s %s)", where, evName(ev.Type), ev.Path, hex(ev.Zxid), evName(c.typ), c.path)
				}
				if ev.Zxid <= p.Z0 {
					r.violation("%s: event at zxid %s, before the watch was registered at %s", where, hex(ev.Zxid), hex(p.Z0))
				}
			}
			end := p.Zend
			if n := len(p.Events); n > 0 {
				end = max(end, p.Events[n-1].Zxid)
			}
			var missed []string
			for _, z := range zxids {
				if z > p.Z0 && z <= end && !got[z] {
					missed = append(missed, fmt.Sprintf("%s %s at %s", evName(truth[z].typ), truth[z].path, hex(z)))
				}
			}
			if len(missed) > 0 {
				if len(missed) > 5 {
					missed = append(missed[:5], fmt.Sprintf("... %d more", len(missed)-5))
				}
				r.violation("watch: session 0x%x (watcher %d), connection %d to %s registered at %s, delivered up to %s: missed %d changes: %s",
					s.ID, s.Watcher, pi, p.Member, hex(p.Z0), hex(end), len(missed), strings.Join(missed, "; "))
			}
		}
	}
	r.logf("watch: %d writes, %d changes, %d sessions, %d events delivered", len(writes), len(zxids), len(sessions), delivered)
}

func evName(t int32) string {
	switch t {
	case evNodeCreated:
		return "NodeCreated"
	case evNodeDeleted:
		return "NodeDeleted"
	case evNodeDataChanged:
		return "NodeDataChanged"
	case evNodeChildrenChanged:
		return "NodeChildrenChanged"
	case 0:
		return "none"
	}
	return fmt.Sprintf("event(%d)", t)
}
