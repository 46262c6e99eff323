package robustness

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// The final state: once the faults are over and every member serves, each
// member is read on its own, after a sync: every node under the run's
// root with its data and Stat. The members must agree exactly (ephemeral
// lock nodes aside: a leftover session may expire between two reads), and
// the checkers look up acknowledged writes in it.

type node struct {
	Data []byte
	Stat zk.Stat
}

type finalState struct {
	ref   map[string]node // member 0's tree
	dumps []map[string]node
}

// under returns the nodes strictly below prefix in the reference tree.
func (f *finalState) under(prefix string) map[string]node {
	out := map[string]node{}
	for p, n := range f.ref {
		if strings.HasPrefix(p, prefix+"/") {
			out[p] = n
		}
	}
	return out
}

func (r *run) final() {
	r.watch.finish()
	f := &finalState{}
	for i := range r.e.Members {
		c := r.connect(fmt.Sprintf("final read of member %d", i), i)
		if _, err := c.Sync(r.root); err != nil {
			r.t.Fatalf("final: sync through member %d: %v", i, err)
		}
		d, err := dumpTree(c, r.root)
		if err != nil {
			r.t.Fatalf("final: read of member %d: %v", i, err)
		}
		r.cas.finalReads(c, i)
		c.Close()
		f.dumps = append(f.dumps, d)
	}
	f.ref = f.dumps[0]
	r.fin = f
	lockPrefix := r.root + "/lock"
	for i := 1; i < len(f.dumps); i++ {
		var diffs []string
		paths := map[string]bool{}
		for p := range f.dumps[0] {
			paths[p] = true
		}
		for p := range f.dumps[i] {
			paths[p] = true
		}
		sorted := make([]string, 0, len(paths))
		for p := range paths {
			if p == lockPrefix || strings.HasPrefix(p, lockPrefix+"/") {
				continue
			}
			sorted = append(sorted, p)
		}
		sort.Strings(sorted)
		for _, p := range sorted {
			a, okA := f.dumps[0][p]
			b, okB := f.dumps[i][p]
			switch {
			case !okA:
				diffs = append(diffs, fmt.Sprintf("%s only on member %d", p, i))
			case !okB:
				diffs = append(diffs, fmt.Sprintf("%s missing on member %d", p, i))
			case !bytes.Equal(a.Data, b.Data) || a.Stat != b.Stat:
				diffs = append(diffs, fmt.Sprintf("%s differs: member 0 %q %+v, member %d %q %+v", p, a.Data, a.Stat, i, b.Data, b.Stat))
			}
		}
		if len(diffs) > 0 {
			if len(diffs) > 10 {
				diffs = append(diffs[:10], fmt.Sprintf("... %d more", len(diffs)-10))
			}
			r.violation("final: members 0 and %d differ after healing and sync:\n    %s", i, strings.Join(diffs, "\n    "))
		}
	}
	r.logf("final: %d members agree on %d nodes", len(f.dumps), len(f.ref))
}

// dumpTree reads every node under root (root included), with 16 reads in
// flight.
func dumpTree(c *zk.Conn, root string) (map[string]node, error) {
	out := map[string]node{}
	var mu sync.Mutex
	var firstErr error
	paths := []string{root}
	for len(paths) > 0 {
		var next []string
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for _, p := range paths {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				d, st, err := c.Get(p)
				var kids []string
				if err == nil && st.NumChildren > 0 {
					kids, _, err = c.Children(p)
				}
				mu.Lock()
				defer mu.Unlock()
				if err == zk.ErrNoNode && p != root {
					return // an ephemeral node of an expiring session
				}
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", p, err)
					}
					return
				}
				out[p] = node{Data: d, Stat: *st}
				for _, k := range kids {
					next = append(next, p+"/"+k)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
		paths = next
	}
	return out, nil
}
