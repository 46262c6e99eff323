package crash

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// outcome is what a client learned about one write.
type outcome int

const (
	// unknown: no answer, or a client-side error (connection lost, no
	// server, session expired, closing). The write may or may not have been
	// applied.
	unknown outcome = iota
	// acked: the server answered success. The write must survive a crash.
	acked
	// failed: the server answered with an error of the data model (node
	// exists, no node, bad version, ...). The write was not applied.
	failed
)

func (o outcome) String() string {
	switch o {
	case acked:
		return "acknowledged"
	case failed:
		return "failed"
	}
	return "unknown outcome"
}

// definiteErrors are errors only a server sends after deciding a request,
// so the request certainly did not change anything.
var definiteErrors = []error{
	zk.ErrNodeExists, zk.ErrNoNode, zk.ErrBadVersion, zk.ErrNoAuth, zk.ErrInvalidACL,
	zk.ErrNotEmpty, zk.ErrNoChildrenForEphemerals, zk.ErrBadArguments, zk.ErrAPIError,
}

// classify maps a client error to the outcome it tells.
func classify(err error) outcome {
	if err == nil {
		return acked
	}
	for _, d := range definiteErrors {
		if errors.Is(err, d) {
			return failed
		}
	}
	return unknown
}

// createOp is one create of a persistent node.
type createOp struct {
	data string
	out  outcome
	err  error
}

// multiOp is one multi that creates three nodes at once.
type multiOp struct {
	names [3]string
	data  [3]string
	out   outcome
	err   error
}

// setOp is one unconditional setData on a shared node.
type setOp struct {
	data    string
	out     outcome
	version int32 // the version the server returned, when acked
	err     error
}

// sharedNode is a node created before the round with known data, then
// overwritten by the writers.
type sharedNode struct {
	initial string
	sets    []*setOp
}

// nodeState is what a read of a node returned.
type nodeState struct {
	data    string
	version int32
}

// history records every write attempted under one parent node during one
// round, with its outcome. Writers call its methods concurrently.
type history struct {
	mu      sync.Mutex
	parent  string
	creates map[string]*createOp // child name → create
	multis  []*multiOp
	member  map[string]*multiOp // child name → the multi that creates it
	shared  map[string]*sharedNode
}

func newHistory(parent string) *history {
	return &history{
		parent:  parent,
		creates: map[string]*createOp{},
		member:  map[string]*multiOp{},
		shared:  map[string]*sharedNode{},
	}
}

// addShared records a shared node that was created (acknowledged) with data.
func (h *history) addShared(name, data string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shared[name] = &sharedNode{initial: data}
}

// beginCreate records a create before it is sent.
func (h *history) beginCreate(name, data string) *createOp {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.creates[name]; dup {
		panic("crash: create of " + name + " attempted twice")
	}
	op := &createOp{data: data}
	h.creates[name] = op
	return op
}

// beginMulti records a three-node multi before it is sent.
func (h *history) beginMulti(names, data [3]string) *multiOp {
	h.mu.Lock()
	defer h.mu.Unlock()
	op := &multiOp{names: names, data: data}
	h.multis = append(h.multis, op)
	for _, n := range names {
		if _, dup := h.member[n]; dup {
			panic("crash: multi create of " + n + " attempted twice")
		}
		h.member[n] = op
	}
	return op
}

// beginSet records a setData before it is sent.
func (h *history) beginSet(name, data string) *setOp {
	h.mu.Lock()
	defer h.mu.Unlock()
	op := &setOp{data: data}
	h.shared[name].sets = append(h.shared[name].sets, op)
	return op
}

// finish records the outcome of a write once its call returned.
func (h *history) finishCreate(op *createOp, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.out, op.err = classify(err), err
}

func (h *history) finishMulti(op *multiOp, res []zk.MultiResponse, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.out, op.err = classify(err), err
	if err != nil {
		return
	}
	// A multi that the server rejected answers with a result per op, at
	// least one of them an error; nothing was applied.
	for _, r := range res {
		if r.Error != nil {
			op.out, op.err = failed, r.Error
			return
		}
	}
	if len(res) != len(op.names) {
		op.out, op.err = unknown, fmt.Errorf("multi returned %d results for %d ops", len(res), len(op.names))
	}
}

func (h *history) finishSet(op *setOp, st *zk.Stat, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.out, op.err = classify(err), err
	if op.out == acked {
		op.version = st.Version
	}
}

// counts summarizes the history for the test log.
func (h *history) counts() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var c [3][3]int // [kind][outcome]
	for _, op := range h.creates {
		c[0][op.out]++
	}
	for _, op := range h.multis {
		c[1][op.out]++
	}
	for _, s := range h.shared {
		for _, op := range s.sets {
			c[2][op.out]++
		}
	}
	f := func(k int) string {
		return fmt.Sprintf("%d acked/%d unknown/%d failed", c[k][acked], c[k][unknown], c[k][failed])
	}
	return fmt.Sprintf("creates %s; multis %s; setData %s", f(0), f(1), f(2))
}

// ackedCount returns how many writes were acknowledged.
func (h *history) ackedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, op := range h.creates {
		if op.out == acked {
			n++
		}
	}
	for _, op := range h.multis {
		if op.out == acked {
			n++
		}
	}
	for _, s := range h.shared {
		for _, op := range s.sets {
			if op.out == acked {
				n++
			}
		}
	}
	return n
}

// check compares the children of the parent node read after a crash and
// restart with the history, and returns every inconsistency found: an
// acknowledged write that is missing, a node nobody tried to create, data
// that no write wrote, a version that went backwards, or a partially applied
// multi.
func (h *history) check(got map[string]nodeState) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	path := func(name string) string { return h.parent + "/" + name }

	for name := range got {
		_, c := h.creates[name]
		_, m := h.member[name]
		_, s := h.shared[name]
		if !c && !m && !s {
			add("%s exists (data %q) but was never written", path(name), got[name].data)
		}
	}

	for name, op := range h.creates {
		n, ok := got[name]
		switch {
		case op.out == acked && !ok:
			add("%s: acknowledged create is missing", path(name))
		case op.out == failed && ok:
			add("%s: exists although its create failed with %v", path(name), op.err)
		case ok && n.data != op.data:
			add("%s: data %q, created with %q", path(name), n.data, op.data)
		case ok && n.version != 0:
			add("%s: version %d, but nothing set its data", path(name), n.version)
		}
	}

	for _, op := range h.multis {
		var present []string
		for i, name := range op.names {
			n, ok := got[name]
			if !ok {
				continue
			}
			present = append(present, name)
			if n.data != op.data[i] {
				add("%s: data %q, created by a multi with %q", path(name), n.data, op.data[i])
			}
		}
		switch {
		case len(present) != 0 && len(present) != len(op.names):
			add("multi creating %s: partially applied, only %s exist (%v)", strings.Join(op.names[:], ", "), strings.Join(present, ", "), op.out)
		case op.out == acked && len(present) == 0:
			add("multi creating %s: acknowledged but none of its nodes exist", strings.Join(op.names[:], ", "))
		case op.out == failed && len(present) != 0:
			add("multi creating %s: failed with %v but its nodes exist", strings.Join(op.names[:], ", "), op.err)
		}
	}

	names := make([]string, 0, len(h.shared))
	for name := range h.shared {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		bad = append(bad, checkShared(path(name), h.shared[name], got[name], hasKey(got, name))...)
	}
	return bad
}

// unknownApplied counts the creates and multis whose outcome the client did
// not learn that the state read back shows applied.
func (h *history) unknownApplied(got map[string]nodeState) (applied, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, op := range h.creates {
		if op.out == unknown {
			total++
			if hasKey(got, name) {
				applied++
			}
		}
	}
	for _, op := range h.multis {
		if op.out == unknown {
			total++
			if hasKey(got, op.names[0]) {
				applied++
			}
		}
	}
	return applied, total
}

func hasKey(m map[string]nodeState, k string) bool { _, ok := m[k]; return ok }

// checkShared checks one shared node's final data and version against the
// setData calls made on it. Every applied setData adds one to the version,
// so the node's version counts the applied calls: it is at least the highest
// acknowledged version and at most the number of calls that may have been
// applied, and its data is the data of the call that produced that version:
// the acknowledged one that returned it, or else one whose outcome is unknown.
func checkShared(path string, s *sharedNode, n nodeState, exists bool) []string {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if !exists {
		return []string{path + ": acknowledged create of the shared node is missing"}
	}
	byVersion := map[int32]string{}
	ackedData := map[string]int32{}
	unknownData := map[string]bool{}
	var maxAcked int32
	possible := 0
	for _, op := range s.sets {
		switch op.out {
		case acked:
			possible++
			if prev, dup := byVersion[op.version]; dup {
				add("%s: two acknowledged setData returned version %d (data %q and %q)", path, op.version, prev, op.data)
			}
			byVersion[op.version] = op.data
			ackedData[op.data] = op.version
			if op.version > maxAcked {
				maxAcked = op.version
			}
		case unknown:
			possible++
			unknownData[op.data] = true
		}
	}
	switch {
	case n.version < maxAcked:
		add("%s: version %d is below the acknowledged version %d (lost setData; data %q)", path, n.version, maxAcked, n.data)
	case int(n.version) > possible:
		add("%s: version %d, but only %d setData calls may have been applied", path, n.version, possible)
	case n.version == 0:
		if n.data != s.initial {
			add("%s: version 0 with data %q, created with %q", path, n.data, s.initial)
		}
	default:
		if want, ok := byVersion[n.version]; ok {
			if n.data != want {
				add("%s: version %d has data %q, but the setData acknowledged with version %d wrote %q", path, n.version, n.data, n.version, want)
			}
		} else if v, ok := ackedData[n.data]; ok {
			add("%s: version %d has data %q, which an acknowledged setData wrote as version %d", path, n.version, n.data, v)
		} else if !unknownData[n.data] {
			add("%s: version %d has data %q, which no setData wrote", path, n.version, n.data)
		}
	}
	return bad
}
