package replication

// Status is what a log tells of its member and its group: what the server
// needs to serve and the four-letter words, the AdminServer and metrics need
// to report.
type Status struct {
	ID       uint64 // this member
	Leader   uint64 // the known leader, 0 while there is none (LOOKING)
	IsLeader bool
	Learner  bool // a non-voting member (an observer)
	Voters   int  // voting members (ZooKeeper's quorum size)
	// Replayed: the entries committed before start-up have been applied, so
	// the state is not older than what clients have seen.
	Replayed bool
	// On the leader: learners (every other member), voting followers, voting
	// followers that have every committed entry, observers that have.
	Learners, Followers, SyncedFollowers, SyncedObservers int
}

// Status reports on this member; the leader also counts its followers.
func (r *Raft) Status() Status {
	st := Status{
		ID: r.cfg.ID, Leader: r.leader.Load(), Learner: r.learner.Load(), Voters: int(r.voters.Load()),
	}
	st.IsLeader = st.Leader == r.cfg.ID
	select {
	case <-r.replayed:
		st.Replayed = true
	default:
	}
	if c := r.followerCounts.Load(); st.IsLeader && c != nil {
		st.Learners, st.Followers, st.SyncedFollowers, st.SyncedObservers = c[0], c[1], c[2], c[3]
	}
	return st
}

// countFollowers refreshes, once a tick on the leader, the follower counts
// Status reports (so that Status never waits for the raft node).
func (r *Raft) countFollowers() {
	if !r.IsLeader() {
		r.followerCounts.Store(nil)
		return
	}
	var c [4]int
	c[0], c[1], c[2], c[3] = r.followers()
	r.followerCounts.Store(&c)
}

// followers returns, on the leader, the number of learners (followers and
// observers), of voting followers, of voting followers that have every
// committed entry, and of observers that have.
func (r *Raft) followers() (learners, followers, synced, syncedObservers int) {
	st := r.node.Status()
	for id, pr := range st.Progress {
		if id == r.cfg.ID {
			continue
		}
		learners++
		upToDate := pr.Match >= st.Commit
		switch {
		case pr.IsLearner && upToDate:
			syncedObservers++
		case !pr.IsLearner:
			followers++
			if upToDate {
				synced++
			}
		}
	}
	return learners, followers, synced, syncedObservers
}
