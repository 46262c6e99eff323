package robustness

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// The sequential-create workload: many sessions create persistent
// sequential children of one parent, each with data naming the attempt.
// Afterwards: no sequence number was handed out twice, every acknowledged
// create is present with its own data, nothing is present that nobody
// created, no attempt was applied twice, and sequence numbers increase in
// czxid order.

const seqClients = 4

type seqOp struct {
	Client int    `json:"client"`
	Data   string `json:"data"`
	Call   int64  `json:"call"`
	Return int64  `json:"return"`
	Result string `json:"result"` // "ok", "failed" (definitely not created) or "unknown"
	Name   string `json:"name,omitempty"`
	Err    string `json:"err,omitempty"`
}

type seqWorkload struct {
	r      *run
	parent string
	seed   []uint64

	mu  sync.Mutex
	ops []seqOp
}

func newSeq(r *run, c *zk.Conn) *seqWorkload {
	w := &seqWorkload{r: r, parent: r.root + "/seq"}
	mustCreate(r.t, c, w.parent, nil)
	for range seqClients {
		w.seed = append(w.seed, r.rng.Uint64())
	}
	return w
}

func (w *seqWorkload) start() {
	for i := range seqClients {
		c := w.r.connect(fmt.Sprintf("seq client %d", i))
		w.r.goWork(func() { w.client(i, c) })
	}
}

func (w *seqWorkload) client(id int, c *zk.Conn) {
	rng := rand.New(rand.NewPCG(w.seed[id], 7))
	defer c.Close()
	for n := 0; w.r.pause(time.Duration(5+rng.IntN(20)) * time.Millisecond); n++ {
		op := seqOp{Client: id, Data: fmt.Sprintf("c%d-%d", id, n), Call: w.r.now()}
		name, err := c.Create(w.parent+"/n-", []byte(op.Data), zk.FlagSequence, worldAll)
		op.Return = w.r.now()
		switch {
		case err == nil:
			op.Result, op.Name = "ok", name
		case definite(err):
			op.Result, op.Err = "failed", err.Error()
		default:
			op.Result, op.Err = "unknown", err.Error()
		}
		w.mu.Lock()
		w.ops = append(w.ops, op)
		w.mu.Unlock()
	}
}

func (w *seqWorkload) check() {
	r := w.r
	r.writeJSON("seq.json", w.ops)
	nodes := r.fin.under(w.parent)
	attempts := map[string]seqOp{}
	byName := map[string]seqOp{}
	for _, op := range w.ops {
		attempts[op.Data] = op
		if op.Result != "ok" {
			continue
		}
		if prev, dup := byName[op.Name]; dup {
			r.violation("seq: %s acknowledged twice: to %s and to %s", op.Name, prev.Data, op.Data)
		}
		byName[op.Name] = op
	}
	byData := map[string]string{}
	type seqNode struct {
		name  string
		seq   int64
		czxid int64
	}
	var list []seqNode
	for name, n := range nodes {
		base := name[strings.LastIndexByte(name, '/')+1:]
		s, ok := seqOf(base)
		if !ok {
			r.violation("seq: %s is not a sequential name", name)
			continue
		}
		list = append(list, seqNode{name, s, n.Stat.Czxid})
		data := string(n.Data)
		if other, dup := byData[data]; dup {
			r.violation("seq: attempt %s created twice: %s and %s", data, other, name)
		}
		byData[data] = name
		op, ok := attempts[data]
		switch {
		case !ok:
			r.violation("seq: %s holds %q, which no client sent", name, data)
		case op.Result == "failed":
			r.violation("seq: %s exists, but its create (%s) failed with %s", name, data, op.Err)
		case op.Result == "ok" && op.Name != name:
			r.violation("seq: create %s was acknowledged as %s, but it is %s", data, op.Name, name)
		}
	}
	for name, op := range byName {
		if _, ok := nodes[name]; !ok {
			r.violation("seq: acknowledged create %s (%s, returned at %.3fs) is lost", name, op.Data, float64(op.Return)/1e9)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].czxid < list[j].czxid })
	for i := 1; i < len(list); i++ {
		if list[i].seq <= list[i-1].seq {
			r.violation("seq: %s (czxid %s) follows %s (czxid %s): sequence numbers not increasing in zxid order",
				list[i].name, hex(list[i].czxid), list[i-1].name, hex(list[i-1].czxid))
		}
	}
	seqs := make([]int64, len(list))
	for i, n := range list {
		seqs[i] = n.seq
	}
	slices.Sort(seqs)
	if len(slices.Compact(seqs)) != len(list) {
		r.violation("seq: a sequence number appears twice among %d nodes", len(list))
	}
	r.logf("seq: %d attempts, %d acknowledged, %d nodes", len(w.ops), len(byName), len(nodes))
}
