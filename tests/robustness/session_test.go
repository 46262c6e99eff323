package robustness

import (
	"sort"
)

// Session guarantees, checked on the register clients' operations, by
// zxids. Within one session (the client moves between members, resuming
// it; a new session after an expiry starts afresh), ZooKeeper promises that
// a client never sees an older state than one it has seen: a server with
// less than the client's last zxid refuses it, and a session's requests are
// served in order. So, with M the highest zxid of anything the session saw
// (the mzxid of what it read, the zxid of its own acknowledged writes), a
// later read of a key must not miss an acknowledged write to that key with
// zxid <= M (monotonic reads across keys; read-your-writes when the write
// is the session's own), and per key the mzxid read never goes back.
//
// The order of a session's writes is checked by the FIFO workload.

type sessionStats struct {
	sessions, reads, ownWrites int
}

func (r *run) checkSessions() {
	st := checkSessionOps(r.cas.ops, r.violation)
	r.logf("sessions: %d sessions, %d reads, %d own writes checked", st.sessions, st.reads, st.ownWrites)
}

// checkSessionOps checks the register operations; report is called for
// each violation.
func checkSessionOps(ops []casOp, report func(format string, args ...any)) sessionStats {
	// Every acknowledged write's zxid, per key, in order.
	acked := map[string][]int64{}
	writer := map[int64]casOp{}
	for _, op := range ops {
		if op.Kind == "cas" && op.Result == "ok" && op.Mzxid != 0 {
			acked[op.Key] = append(acked[op.Key], op.Mzxid)
			writer[op.Mzxid] = op
		}
	}
	for k := range acked {
		sort.Slice(acked[k], func(i, j int) bool { return acked[k][i] < acked[k][j] })
	}
	// missed returns the first acknowledged write to key with
	// read < zxid <= seen.
	missed := func(key string, read, seen int64) int64 {
		ws := acked[key]
		i := sort.Search(len(ws), func(i int) bool { return ws[i] > read })
		if i < len(ws) && ws[i] <= seen {
			return ws[i]
		}
		return 0
	}

	type sessKey struct {
		client  int
		session int64
	}
	bySession := map[sessKey][]casOp{}
	var order []sessKey
	for _, op := range ops {
		if op.Final || op.Session == 0 || op.Session != op.After {
			continue
		}
		k := sessKey{op.Client, op.Session}
		if _, ok := bySession[k]; !ok {
			order = append(order, k)
		}
		bySession[k] = append(bySession[k], op)
	}
	var st sessionStats
	for _, k := range order {
		seq := bySession[k]
		sort.SliceStable(seq, func(i, j int) bool { return seq[i].Call < seq[j].Call })
		st.sessions++
		var seen int64
		var seenBy casOp
		perKey := map[string]casOp{}
		own := map[int64]bool{}
		for _, op := range seq {
			switch {
			case op.Kind == "cas" && op.Result == "ok":
				st.ownWrites++
				own[op.Mzxid] = true
				if op.Mzxid > seen {
					seen, seenBy = op.Mzxid, op
				}
				if p, ok := perKey[op.Key]; !ok || op.Mzxid > p.Mzxid {
					perKey[op.Key] = op
				}
			case op.Kind == "read" || op.Kind == "sread":
				st.reads++
				if p, ok := perKey[op.Key]; ok && op.Mzxid < p.Mzxid {
					report("session 0x%x (client %d): read of %s at %.3fs returned version %d (mzxid %s), older than version %d (mzxid %s) it saw at %.3fs (monotonic reads)",
						k.session, k.client, op.Key, float64(op.Call)/1e9, op.Version, hex(op.Mzxid), p.Version, hex(p.Mzxid), float64(p.Return)/1e9)
				} else if w := missed(op.Key, op.Mzxid, seen); w != 0 {
					kind := "monotonic reads"
					if own[w] {
						kind = "read your writes"
					}
					wop := writer[w]
					report("session 0x%x (client %d): read of %s at %.3fs returned version %d (mzxid %s), missing the write of version %d at zxid %s (client %d), though the session had seen zxid %s (%s of %s) (%s)",
						k.session, k.client, op.Key, float64(op.Call)/1e9, op.Version, hex(op.Mzxid), wop.Version, hex(w), wop.Client, hex(seen), seenBy.Kind, seenBy.Key, kind)
				}
				if op.Mzxid > seen {
					seen, seenBy = op.Mzxid, op
				}
				if p, ok := perKey[op.Key]; !ok || op.Mzxid > p.Mzxid {
					perKey[op.Key] = op
				}
			}
		}
	}
	return st
}
