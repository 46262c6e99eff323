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

// The lock workload: ZooKeeper's lock recipe. A client creates an
// ephemeral sequential child of the lock node; it holds the lock once its
// child is the lowest; a waiter watches its predecessor. A holder writes
// in its critical section with a multi that first checks its own child
// still exists (a holder whose session expired learns it there), and
// releases by deleting its child.
//
// Mutual exclusion is judged by zxids, not by clocks. A holder's grant zxid
// is the pzxid of the children list that showed its child lowest: at that
// zxid every lower child was gone. Each acknowledged guarded write has a
// zxid at which the holder's child still existed. A later child can be
// lowest only after the earlier one is deleted, so for holders in sequence
// order every guarded write of the earlier one precedes the later one's
// grant.

const lockClients = 3

type lockHold struct {
	Client  int     `json:"client"`
	Session int64   `json:"session"`
	Node    string  `json:"node"`
	Seq     int64   `json:"seq"`
	Grant   int64   `json:"grant"` // pzxid of the children read that granted it
	GrantAt int64   `json:"grant_at"`
	Writes  []int64 `json:"writes"` // zxids of the acknowledged guarded writes
	Lost    string  `json:"lost,omitempty"`
}

// lockOp is one recorded call of the lock clients.
type lockOp struct {
	Client int    `json:"client"`
	Op     string `json:"op"` // create, children, exists, write, delete
	Path   string `json:"path"`
	Call   int64  `json:"call"`
	Return int64  `json:"return"`
	Zxid   int64  `json:"zxid,omitempty"` // write: its zxid; children: the parent's pzxid
	Err    string `json:"err,omitempty"`
}

type lockWorkload struct {
	r    *run
	dir  string
	data string
	seed []uint64

	mu    sync.Mutex
	holds []lockHold
	log   []lockOp
}

func newLock(r *run, c *zk.Conn) *lockWorkload {
	w := &lockWorkload{r: r, dir: r.root + "/lock", data: r.root + "/lockdata"}
	mustCreate(r.t, c, w.dir, nil)
	mustCreate(r.t, c, w.data, nil)
	for range lockClients {
		w.seed = append(w.seed, r.rng.Uint64())
	}
	return w
}

func (w *lockWorkload) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.log)
}

func (w *lockWorkload) start() {
	for i := range lockClients {
		w.r.goWork(func() { w.client(i) })
	}
}

// op records a call made at call (the run's clock) that just returned.
func (w *lockWorkload) op(id int, op, path string, call int64, zxid int64, err error) {
	rec := lockOp{Client: id, Op: op, Path: path, Call: call, Return: w.r.now(), Zxid: zxid}
	if err != nil {
		rec.Err = err.Error()
	}
	w.mu.Lock()
	w.log = append(w.log, rec)
	w.mu.Unlock()
}

func (w *lockWorkload) client(id int) {
	rng := rand.New(rand.NewPCG(w.seed[id], 11))
	c := w.r.connect(fmt.Sprintf("lock client %d", id))
	if c == nil {
		return
	}
	defer func() { c.Close() }()
	for round := 0; w.r.pause(time.Duration(rng.IntN(50)) * time.Millisecond); round++ {
		sess := c.SessionID()
		call := w.r.now()
		node, err := c.CreateProtectedEphemeralSequential(w.dir+"/n-", []byte(fmt.Sprintf("c%d-%d", id, round)), worldAll)
		w.op(id, "create", node, call, 0, err)
		if err != nil {
			// Whether a child exists is unknown: start over with a new
			// session, which removes it (or its expiry will).
			c.Close()
			if c = w.r.connect(fmt.Sprintf("lock client %d", id)); c == nil {
				return
			}
			continue
		}
		h, ok := w.acquire(c, id, node)
		if !ok {
			c.Close()
			if c = w.r.connect(fmt.Sprintf("lock client %d", id)); c == nil {
				return
			}
			continue
		}
		h.Session = sess
		for k := 0; k < 1+rng.IntN(3); k++ {
			call := w.r.now()
			mr, err := c.Multi(
				&zk.CheckVersionRequest{Path: node, Version: 0},
				&zk.SetDataRequest{Path: w.data, Data: []byte(fmt.Sprintf("%s #%d", node, k)), Version: -1},
			)
			var z int64
			if err == nil {
				z = mr[1].Stat.Mzxid
			}
			w.op(id, "write", node, call, z, err)
			if err != nil {
				h.Lost = err.Error()
				break
			}
			h.Writes = append(h.Writes, z)
			time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
		}
		w.mu.Lock()
		w.holds = append(w.holds, h)
		w.mu.Unlock()
		call = w.r.now()
		err = c.Delete(node, -1)
		w.op(id, "delete", node, call, 0, err)
		if err != nil && err != zk.ErrNoNode {
			c.Close()
			if c = w.r.connect(fmt.Sprintf("lock client %d", id)); c == nil {
				return
			}
		}
	}
}

// acquire waits until node is the lowest child; false when it is gone or
// the client cannot tell.
func (w *lockWorkload) acquire(c *zk.Conn, id int, node string) (lockHold, bool) {
	mine := node[strings.LastIndexByte(node, '/')+1:]
	mySeq, _ := seqOf(mine)
	deadline := time.Now().Add(30 * time.Second)
	for !w.r.stopped() && time.Now().Before(deadline) {
		call := w.r.now()
		kids, st, err := c.Children(w.dir)
		var pz int64
		if err == nil {
			pz = st.Pzxid
		}
		w.op(id, "children", w.dir, call, pz, err)
		if err != nil {
			return lockHold{}, false
		}
		type kid struct {
			name string
			seq  int64
		}
		var ks []kid
		found := false
		for _, k := range kids {
			s, ok := seqOf(k)
			if !ok {
				continue
			}
			ks = append(ks, kid{k, s})
			found = found || k == mine
		}
		if !found {
			return lockHold{}, false // the session expired under us
		}
		sort.Slice(ks, func(i, j int) bool { return ks[i].seq < ks[j].seq })
		if ks[0].name == mine {
			return lockHold{Client: id, Node: node, Seq: mySeq, Grant: st.Pzxid, GrantAt: w.r.now()}, true
		}
		var pred string
		for _, k := range ks {
			if k.seq < mySeq {
				pred = k.name
			}
		}
		call = w.r.now()
		ok, _, ch, err := c.ExistsW(w.dir + "/" + pred)
		w.op(id, "exists", w.dir+"/"+pred, call, 0, err)
		if err != nil {
			return lockHold{}, false
		}
		if !ok {
			continue
		}
		select {
		case <-ch:
		case <-time.After(time.Second):
		case <-w.r.stop:
		}
	}
	// Give the child up.
	_ = c.Delete(node, -1)
	return lockHold{}, false
}

func (w *lockWorkload) check() {
	r := w.r
	holds := append([]lockHold(nil), w.holds...)
	r.writeJSON("lock.json", map[string]any{"holds": holds, "ops": w.log})
	sort.Slice(holds, func(i, j int) bool { return holds[i].Seq < holds[j].Seq })
	for i := 1; i < len(holds); i++ {
		a, b := holds[i-1], holds[i]
		if a.Seq == b.Seq {
			r.violation("lock: %s and %s granted with one sequence number", a.Node, b.Node)
			continue
		}
		if b.Grant <= a.Grant {
			r.violation("lock: %s (client %d) granted at zxid %s, not after %s (client %d) granted at %s", b.Node, b.Client, hex(b.Grant), a.Node, a.Client, hex(a.Grant))
		}
		for _, z := range a.Writes {
			if z >= b.Grant {
				r.violation("lock: two holders: %s (client %d) wrote at zxid %s while holding, but %s (client %d) was granted at %s",
					a.Node, a.Client, hex(z), b.Node, b.Client, hex(b.Grant))
			}
		}
	}
	writes := 0
	for _, h := range holds {
		writes += len(h.Writes)
	}
	r.logf("lock: %d holds, %d guarded writes", len(holds), writes)
	if len(holds) == 0 {
		r.note("lock: nobody held the lock")
	}
}
