package fsm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gozk/gozk/internal/tree"
)

// Quotas, as ZooKeeper keeps them. A client sets a quota on P by creating
// /zookeeper/quota/P/zookeeper_limits (and .../zookeeper_stats); from then on
// apply keeps the stats node's data at "count=N,bytes=M": the number of nodes in
// P's subtree (P included) and the sum of their data lengths. Like ZooKeeper
// without zookeeper.enforceQuota, gozk tracks quotas but does not refuse writes
// that exceed them. The stats node's version and zxids do not change when apply
// updates it, exactly as in ZooKeeper.

const (
	limitsNode = "zookeeper_limits"
	statsNode  = "zookeeper_stats"
)

// quotaRoot returns P for a path /zookeeper/quota/P/<name>, or "".
func quotaRoot(path, name string) string {
	rest, ok := strings.CutPrefix(path, tree.QuotaPath)
	if !ok || !strings.HasSuffix(rest, "/"+name) {
		return ""
	}
	p := strings.TrimSuffix(rest, "/"+name)
	if p == "" || p[0] != '/' {
		return ""
	}
	return p
}

// maxQuotaPrefix returns the longest quota root that is path or an ancestor of
// it ("" if none; the root "/" never counts, as in ZooKeeper).
func (f *FSM) maxQuotaPrefix(path string) string {
	best := ""
	for p := range f.quotas {
		if p != "/" && len(p) > len(best) && tree.HasPrefixPath(path, p) {
			best = p
		}
	}
	return best
}

func formatStats(count, bytes int64) []byte {
	return []byte(fmt.Sprintf("count=%d,bytes=%d", count, bytes))
}

// parseStats reads the count and bytes of a stats node's data.
func parseStats(b []byte) (count, bytes int64) {
	for _, kv := range strings.Split(string(b), ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(strings.SplitN(v, "=", 2)[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "count":
			count = n
		case "bytes":
			bytes = n
		}
	}
	return count, bytes
}

// setStats replaces a stats node's data in place (no version change), with undo.
func (a *applier) setStats(path string, data []byte) {
	t := a.f.tree
	n := t.Get(path)
	if n == nil {
		return
	}
	old := n.Data
	t.SetData(path, n, data)
	a.undo = append(a.undo, func() { t.SetData(path, n, old) })
}

// quotaAfterCreate updates quota bookkeeping for a node just created.
func (a *applier) quotaAfterCreate(path string, data []byte) {
	if p := quotaRoot(path, limitsNode); p != "" {
		a.setQuota(p, true)
	}
	if p := quotaRoot(path, statsNode); p != "" {
		var count, bytes int64
		t := a.f.tree
		if t.Get(p) != nil {
			t.WalkFrom(p, func(_ string, n *tree.Node) {
				count++
				bytes += int64(len(n.Data))
			})
		}
		a.setStats(path, formatStats(count, bytes))
	}
	a.quotaAdjust(path, 1, int64(len(data)))
}

// quotaAfterDelete updates quota bookkeeping for a node just deleted.
func (a *applier) quotaAfterDelete(path string, data []byte) {
	if p := quotaRoot(path, limitsNode); p != "" {
		a.setQuota(p, false)
	}
	a.quotaAdjust(path, -1, -int64(len(data)))
}

func (a *applier) setQuota(p string, on bool) {
	f := a.f
	_, had := f.quotas[p]
	if had == on {
		return
	}
	if on {
		f.quotas[p] = struct{}{}
		a.undo = append(a.undo, func() { delete(f.quotas, p) })
	} else {
		delete(f.quotas, p)
		a.undo = append(a.undo, func() { f.quotas[p] = struct{}{} })
	}
}

func (a *applier) quotaAdjust(path string, dCount, dBytes int64) {
	if len(a.f.quotas) == 0 || (dCount == 0 && dBytes == 0) {
		return
	}
	p := a.f.maxQuotaPrefix(path)
	if p == "" {
		return
	}
	sp := tree.QuotaPath + p + "/" + statsNode
	n := a.f.tree.Get(sp)
	if n == nil {
		return
	}
	count, bytes := parseStats(n.Data)
	a.setStats(sp, formatStats(count+dCount, bytes+dBytes))
}

// rebuildQuotas finds the quota roots of a restored tree.
func (f *FSM) rebuildQuotas() {
	f.quotas = make(map[string]struct{})
	if f.tree.Get(tree.QuotaPath) == nil {
		return
	}
	f.tree.WalkFrom(tree.QuotaPath, func(path string, _ *tree.Node) {
		if p := quotaRoot(path, limitsNode); p != "" {
			f.quotas[p] = struct{}{}
		}
	})
}
