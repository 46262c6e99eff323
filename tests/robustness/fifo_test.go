package robustness

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// The FIFO workload: a raw session sends batches of creates pipelined on
// one connection (one TCP write, no waiting in between) and resumes its
// session on another member when the connection fails. ZooKeeper applies
// a session's requests in the order sent and answers them in that order:
// so the replies come in xid order with increasing zxids, each
// acknowledged create's zxid is its node's czxid, and of every batch the
// creates that took effect are a prefix, in order (a request lost with a
// connection is never followed by a later one of the same connection that
// took effect).

const (
	fifoClients = 2
	fifoBatch   = 8
)

type fifoBatchRec struct {
	Client  int     `json:"client"`
	Session int64   `json:"session"`
	Batch   int     `json:"batch"`
	Member  string  `json:"member"`
	Call    int64   `json:"call"`   // when the batch was written
	Return  int64   `json:"return"` // when its last reply (or the failure) came
	Acked   []int64 `json:"acked"`  // reply zxid of create i, 0 when no reply or an error
	Errs    []int32 `json:"errs"`
	Err     string  `json:"err,omitempty"`
}

type fifoWorkload struct {
	r      *run
	parent string
	seed   []uint64

	mu      sync.Mutex
	batches []fifoBatchRec
}

func newFIFO(r *run, c *zk.Conn) *fifoWorkload {
	w := &fifoWorkload{r: r, parent: r.root + "/fifo"}
	mustCreate(r.t, c, w.parent, nil)
	for range fifoClients {
		w.seed = append(w.seed, r.rng.Uint64())
	}
	return w
}

func (w *fifoWorkload) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.batches {
		n += len(b.Acked)
	}
	return n
}

func (w *fifoWorkload) start() {
	for i := range fifoClients {
		w.r.goWork(func() { w.client(i) })
	}
}

func (w *fifoWorkload) name(client, batch, i int) string {
	return fmt.Sprintf("%s/c%d-b%d-i%d", w.parent, client, batch, i)
}

func (w *fifoWorkload) client(id int) {
	rng := rand.New(rand.NewPCG(w.seed[id], 19))
	addrs := w.r.e.Addrs()
	sess := &rawSession{timeout: sessionTimeout}
	var c *rawConn
	defer func() {
		if c != nil {
			_ = c.write(request(c.nextXid(), -11, nil))
			_, _ = c.next(time.Second)
			c.close()
		}
	}()
	for batch := 0; w.r.pause(time.Duration(10+rng.IntN(40)) * time.Millisecond); {
		if c == nil {
			var err error
			c, err = dialRaw(addrs[rng.IntN(len(addrs))], sess)
			if err == errExpired {
				w.r.checkExpiry(fmt.Sprintf("fifo client %d", id), sess)
				sess = &rawSession{timeout: sessionTimeout}
				continue
			}
			if err != nil {
				c = nil
				continue
			}
		}
		rec := fifoBatchRec{Client: id, Session: sess.id, Batch: batch, Member: c.addr, Acked: make([]int64, fifoBatch), Errs: make([]int32, fifoBatch)}
		xids := make([]int32, fifoBatch)
		reqs := make([][]byte, fifoBatch)
		for i := range fifoBatch {
			xids[i] = c.nextXid()
			reqs[i] = request(xids[i], opCreate, createBody(w.name(id, batch, i), []byte(strconv.Itoa(i)), 0))
		}
		batch++
		rec.Call = w.r.now()
		err := c.write(reqs...)
		next := 0
		for err == nil && next < fifoBatch {
			var f frame
			f, err = c.next(sessionTimeout)
			if err != nil {
				break
			}
			if f.hdr.Xid == xidNotification {
				continue
			}
			if f.hdr.Xid != xids[next] {
				w.r.violation("fifo: session 0x%x on %s: reply with xid %d where %d (create %d of batch %d) was due",
					sess.id, c.addr, f.hdr.Xid, xids[next], next, rec.Batch)
				err = fmt.Errorf("reply out of order")
				break
			}
			rec.Errs[next] = f.hdr.Err
			if f.hdr.Err == 0 {
				rec.Acked[next] = f.hdr.Zxid
			}
			next++
		}
		rec.Return = w.r.now()
		if err != nil {
			rec.Err = err.Error()
			c.close()
			c = nil
		}
		w.mu.Lock()
		w.batches = append(w.batches, rec)
		w.mu.Unlock()
	}
}

func (w *fifoWorkload) check() {
	r := w.r
	w.mu.Lock()
	batches := w.batches
	w.mu.Unlock()
	r.writeJSON("fifo.json", batches)
	nodes := r.fin.under(w.parent)
	for _, b := range batches {
		where := fmt.Sprintf("fifo: session 0x%x, batch %d of client %d on %s", b.Session, b.Batch, b.Client, b.Member)
		var prevAck int64
		for i, z := range b.Acked {
			if z == 0 {
				if b.Errs[i] != 0 {
					r.note("%s: create %d answered error %d", where, i, b.Errs[i])
				}
				continue
			}
			if z <= prevAck {
				r.violation("%s: create %d acknowledged at zxid %s, not after the previous one at %s", where, i, hex(z), hex(prevAck))
			}
			prevAck = z
			n, ok := nodes[w.name(b.Client, b.Batch, i)]
			switch {
			case !ok:
				r.violation("%s: acknowledged create %d (zxid %s) is lost", where, i, hex(z))
			case n.Stat.Czxid != z:
				r.violation("%s: create %d acknowledged at zxid %s, but its node has czxid %s", where, i, hex(z), hex(n.Stat.Czxid))
			}
		}
		// The creates that took effect are a prefix, in order: one that
		// took effect follows only creates that took effect or were
		// answered with an error.
		var prevCz int64
		lost := -1 // the first create that neither took effect nor was refused
		for i := range fifoBatch {
			n, ok := nodes[w.name(b.Client, b.Batch, i)]
			if !ok {
				if lost < 0 && b.Errs[i] == 0 {
					lost = i
				}
				continue
			}
			if lost >= 0 {
				r.violation("%s: create %d took effect (czxid %s), but create %d, sent before it on the same connection, did not", where, i, hex(n.Stat.Czxid), lost)
			}
			if n.Stat.Czxid <= prevCz {
				r.violation("%s: create %d applied at %s, before an earlier create of the batch at %s", where, i, hex(n.Stat.Czxid), hex(prevCz))
			}
			prevCz = n.Stat.Czxid
		}
	}
	// Every node belongs to a batch that was sent.
	sent := map[string]bool{}
	for _, b := range batches {
		for i := range fifoBatch {
			sent[w.name(b.Client, b.Batch, i)] = true
		}
	}
	var stray []string
	for p := range nodes {
		if !sent[p] {
			stray = append(stray, p)
		}
	}
	sort.Strings(stray)
	if len(stray) > 0 {
		r.violation("fifo: nodes nobody created: %s", strings.Join(stray, ", "))
	}
	r.logf("fifo: %d batches of %d, %d nodes", len(batches), fifoBatch, len(nodes))
}
