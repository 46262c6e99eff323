package robustness

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
)

// The register workload: a few keys, each a register holding a value and
// its version. Clients read a key (getData) and write it back with the
// version they read (setData, a compare-and-set on the version); some of
// their reads are preceded by a sync, which makes them linearizable reads
// (gozk's sync waits for a raft read index). The writes and the synced
// reads must form a linearizable history of registers (porcupine); the
// plain reads need not, but take part in the session checks.

const (
	casKeys    = 3
	casClients = 4
)

// casOp is one recorded register operation.
type casOp struct {
	Client int    `json:"client"`
	Key    string `json:"key"`
	// Kind is "read" (plain getData), "sread" (sync then getData) or "cas".
	Kind string `json:"kind"`
	// Session is the client's session id when the call was made, After
	// when it returned; they differ when the session expired meanwhile.
	Session int64 `json:"session"`
	After   int64 `json:"after"`
	Call    int64 `json:"call"`
	Return  int64 `json:"return"`
	// Reads: what was read. A cas: the version it expects and the value it
	// writes; on success the new version and the write's zxid.
	Value   int64 `json:"value"`
	Version int32 `json:"version"`
	Mzxid   int64 `json:"mzxid"`
	Expect  int32 `json:"expect,omitempty"`
	// Result of a cas: "ok", "badversion" or "unknown" (the write may or
	// may not have happened); of a read: "ok" (failed reads are not kept).
	Result string `json:"result"`
	Err    string `json:"err,omitempty"`
	// Final marks the synced reads of the final state.
	Final bool `json:"final,omitempty"`
}

type casWorkload struct {
	r    *run
	keys []string
	seed []uint64

	mu  sync.Mutex
	ops []casOp
}

func newCAS(r *run, c *zk.Conn) *casWorkload {
	w := &casWorkload{r: r}
	mustCreate(r.t, c, r.root+"/cas", nil)
	for k := range casKeys {
		key := fmt.Sprintf("%s/cas/k%d", r.root, k)
		mustCreate(r.t, c, key, []byte("0"))
		w.keys = append(w.keys, key)
	}
	for range casClients {
		w.seed = append(w.seed, r.rng.Uint64())
	}
	return w
}

func (w *casWorkload) add(op casOp) {
	w.mu.Lock()
	w.ops = append(w.ops, op)
	w.mu.Unlock()
}

func (w *casWorkload) start() {
	for i := range casClients {
		c := w.r.connect(fmt.Sprintf("cas client %d", i))
		w.r.goWork(func() { w.client(i, c) })
	}
}

func (w *casWorkload) client(id int, c *zk.Conn) {
	rng := rand.New(rand.NewPCG(w.seed[id], uint64(id)))
	defer c.Close()
	n := int64(0)
	for w.r.pause(time.Duration(rng.IntN(4)) * time.Millisecond) {
		key := w.keys[rng.IntN(len(w.keys))]
		if rng.IntN(5) == 0 {
			w.syncRead(c, id, key, false)
			continue
		}
		op := casOp{Client: id, Key: key, Kind: "read", Session: c.SessionID(), Call: w.r.now()}
		d, st, err := c.Get(key)
		op.Return, op.After = w.r.now(), c.SessionID()
		if err != nil {
			continue
		}
		v, perr := strconv.ParseInt(string(d), 10, 64)
		if perr != nil {
			w.r.violation("cas: %s holds %q, not a number", key, d)
			continue
		}
		op.Value, op.Version, op.Mzxid, op.Result = v, st.Version, st.Mzxid, "ok"
		w.add(op)

		n++
		nv := int64(id+1)<<40 | n
		cas := casOp{Client: id, Key: key, Kind: "cas", Session: c.SessionID(), Expect: st.Version, Value: nv, Call: w.r.now()}
		st2, err := c.Set(key, []byte(strconv.FormatInt(nv, 10)), st.Version)
		cas.Return, cas.After = w.r.now(), c.SessionID()
		switch {
		case err == nil:
			cas.Result, cas.Version, cas.Mzxid = "ok", st2.Version, st2.Mzxid
		case errorsIs(err, zk.ErrBadVersion):
			cas.Result = "badversion"
		default:
			cas.Result, cas.Err = "unknown", err.Error()
		}
		w.add(cas)
	}
}

// syncRead records sync + getData as one linearizable read.
func (w *casWorkload) syncRead(c *zk.Conn, id int, key string, final bool) bool {
	op := casOp{Client: id, Key: key, Kind: "sread", Session: c.SessionID(), Call: w.r.now(), Final: final}
	if _, err := c.Sync(key); err != nil {
		return false
	}
	d, st, err := c.Get(key)
	op.Return, op.After = w.r.now(), c.SessionID()
	if err != nil {
		return false
	}
	v, perr := strconv.ParseInt(string(d), 10, 64)
	if perr != nil {
		w.r.violation("cas: %s holds %q, not a number", key, d)
		return false
	}
	op.Value, op.Version, op.Mzxid, op.Result = v, st.Version, st.Mzxid, "ok"
	w.add(op)
	return true
}

// finalReads reads every key through c (a client of one member) after a sync.
func (w *casWorkload) finalReads(c *zk.Conn, member int) {
	for _, key := range w.keys {
		if !w.syncRead(c, 100+member, key, true) {
			w.r.note("cas: final read of %s through member %d failed", key, member)
		}
	}
}

// The register model for porcupine, one partition per key.

type casState struct {
	Value   int64
	Version int32
}

type casInput struct {
	Kind   string // "read" or "cas"
	Expect int32
	Value  int64
}

type casOutput struct {
	Result  string // read: "ok"; cas: "ok", "badversion", "unknown"
	Value   int64
	Version int32
}

var casModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Metadata.(string)
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []any { return []any{casState{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(casState), input.(casInput), output.(casOutput)
		applied := casState{Value: in.Value, Version: in.Expect + 1}
		switch in.Kind {
		case "read":
			if out.Value == s.Value && out.Version == s.Version {
				return []any{s}
			}
			return nil
		}
		switch out.Result {
		case "ok":
			if s.Version == in.Expect && out.Version == in.Expect+1 {
				return []any{applied}
			}
			return nil
		case "badversion":
			if s.Version != in.Expect {
				return []any{s}
			}
			return nil
		default: // unknown: applied or not
			if s.Version == in.Expect {
				return []any{s, applied}
			}
			return []any{s}
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(casInput), output.(casOutput)
		if in.Kind == "read" {
			return fmt.Sprintf("read() -> %d@v%d", out.Value, out.Version)
		}
		if out.Result == "ok" {
			return fmt.Sprintf("cas(v%d, %d) -> ok v%d", in.Expect, in.Value, out.Version)
		}
		return fmt.Sprintf("cas(v%d, %d) -> %s", in.Expect, in.Value, out.Result)
	},
	DescribeState: func(state any) string {
		s := state.(casState)
		return fmt.Sprintf("%d@v%d", s.Value, s.Version)
	},
	DescribeOperationMetadata: func(info any) string { return info.(string) },
}

// casHistory turns the recorded operations into porcupine's, resolving the
// writes of unknown outcome first (resolveUnknown).
func casHistory(ops []casOp) (hist []porcupine.Operation, resolved, dropped, open int) {
	ops, resolved, dropped, open = resolveUnknown(ops)
	var end int64
	for _, op := range ops {
		end = max(end, op.Return)
	}
	for _, op := range ops {
		switch op.Kind {
		case "read":
			continue // plain reads may be stale: not linearizable
		case "sread":
			hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: casInput{Kind: "read"}, Call: op.Call,
				Output: casOutput{Result: "ok", Value: op.Value, Version: op.Version}, Return: op.Return, Metadata: op.Key})
		case "cas":
			ret := op.Return
			if op.Result == "unknown" {
				ret = end + 1 // may take effect any time after its call
			}
			hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: casInput{Kind: "cas", Expect: op.Expect, Value: op.Value}, Call: op.Call,
				Output: casOutput{Result: op.Result, Version: op.Version}, Return: ret, Metadata: op.Key})
		}
	}
	// Final readers are numbered 100+member; porcupine's visualization
	// wants dense client ids.
	ids := map[int]int{}
	for i := range hist {
		id, ok := ids[hist[i].ClientId]
		if !ok {
			id = len(ids)
			ids[hist[i].ClientId] = id
		}
		hist[i].ClientId = id
	}
	return hist, resolved, dropped, open
}

// resolveUnknown decides the writes whose outcome the client could not
// know. Every write puts a value never written before, and a cas expecting
// version v+1 succeeds only for a client that read version v+1, that is
// the value written at v+1. So a write of unknown outcome happened if and
// only if some read (plain, synced or final) returned its value, provided
// every key has a final read: if it happened and nobody read its value,
// nothing was written after it and the final read returns it. One that
// happened gets its result ("ok", version expect+1) and returns by the
// first read that saw it; one that did not is dropped (a write that never
// took effect and whose caller learnt nothing leaves no trace). Without a
// final read of its key it stays open (porcupine then tries both).
func resolveUnknown(ops []casOp) (out []casOp, resolved, dropped, open int) {
	type kv struct {
		key string
		val int64
	}
	seen := map[kv]int64{} // first return of a read of the value
	finalRead := map[string]bool{}
	for _, op := range ops {
		if op.Kind == "cas" {
			continue
		}
		k := kv{op.Key, op.Value}
		if r, ok := seen[k]; !ok || op.Return < r {
			seen[k] = op.Return
		}
		if op.Final {
			finalRead[op.Key] = true
		}
	}
	for _, op := range ops {
		if op.Kind == "cas" && op.Result == "unknown" {
			if r, ok := seen[kv{op.Key, op.Value}]; ok {
				op.Result, op.Version = "ok", op.Expect+1
				op.Return = max(r, op.Call)
				resolved++
			} else if finalRead[op.Key] {
				dropped++
				continue
			} else {
				open++
			}
		}
		out = append(out, op)
	}
	return out, resolved, dropped, open
}

func (w *casWorkload) check() {
	r := w.r
	ops := slices.Clone(w.ops)
	r.writeJSON("cas.json", ops)
	hist, resolved, dropped, open := casHistory(ops)
	r.logf("cas: %d operations (%d in the linearizability check), unknown writes: %d happened, %d did not, %d open", len(ops), len(hist), resolved, dropped, open)
	checkVersions(r, ops)
	model := casModel.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, hist, 3*time.Minute)
	switch res {
	case porcupine.Ok:
	case porcupine.Unknown:
		r.note("cas: porcupine gave up after 3 minutes (history of %d operations): inconclusive", len(hist))
	default:
		html := filepath.Join(r.dir, "cas-porcupine.html")
		if err := porcupine.VisualizePath(model, info, html); err != nil {
			r.logf("cas: visualization: %v", err)
		}
		r.violation("cas: the register history is not linearizable (%d operations); visualization %s, history %s",
			len(hist), html, filepath.Join(r.dir, "cas.json"))
	}
}

// checkVersions checks that every observation of a key's version agrees on
// its value and zxid, whoever made it and through whichever member.
func checkVersions(r *run, ops []casOp) {
	type kver struct {
		key string
		ver int32
	}
	seen := map[kver]casOp{}
	for _, op := range ops {
		if op.Result != "ok" || (op.Kind == "cas" && op.Mzxid == 0) {
			continue
		}
		k := kver{op.Key, op.Version}
		prev, ok := seen[k]
		if !ok {
			seen[k] = op
			continue
		}
		if prev.Value != op.Value || prev.Mzxid != op.Mzxid {
			r.violation("cas: %s version %d seen as %d (mzxid %s, %s by client %d) and as %d (mzxid %s, %s by client %d)",
				op.Key, op.Version, prev.Value, hex(prev.Mzxid), prev.Kind, prev.Client, op.Value, hex(op.Mzxid), op.Kind, op.Client)
		}
	}
}

// errorsIs is errors.Is for go-zookeeper's sentinel errors.
func errorsIs(err, target error) bool {
	return err == target || (err != nil && err.Error() == target.Error())
}
