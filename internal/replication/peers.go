package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/gozk/gozk/internal/replication/transport"
)

// newNetwork connects this member to its peers. The rest of this file is what
// travels between members besides raft's own messages, and how a member
// notices that the leader is gone.
func (r *Raft) newNetwork() (Network, error) {
	if r.cfg.NewNetwork != nil {
		return r.cfg.NewNetwork(r)
	}
	t, err := transport.New(transport.Config{
		ID: r.cfg.ID, ListenAddr: r.cfg.ListenAddr, Peers: r.cfg.Peers, ClusterID: r.cfg.ClusterID, Logger: r.cfg.Logger,
	}, r)
	if err != nil {
		return nil, err
	}
	t.Start()
	return t, nil
}

// send hands raft's messages to the transport. A snapshot message is sent by
// sendSnapshot on a goroutine of its own: reading and encoding a large
// snapshot must not hold up the Ready loop (ticks, heartbeats, appends).
func (r *Raft) send(msgs []raftpb.Message) {
	for i := range msgs {
		m := &msgs[i]
		if m.Type == raftpb.MsgSnap {
			go r.sendSnapshot(*m)
			continue
		}
		b, err := m.Marshal()
		if err != nil {
			r.log.Error("cannot marshal raft message", "err", err)
			continue
		}
		if !r.net.Send(m.To, kindRaft, b) {
			r.node.ReportUnreachable(m.To)
		}
	}
}

// sendSnapshot sends a snapshot message with the snapshot file's payload
// attached (the in-memory raft storage keeps only the metadata), and tells
// raft how it went. Raft sends a member one snapshot at a time.
func (r *Raft) sendSnapshot(m raftpb.Message) {
	status := raft.SnapshotFailure
	defer func() { r.node.ReportSnapshot(m.To, status) }()
	payload, err := r.snapshotPayload(m.Snapshot.Metadata.Index)
	if err != nil {
		r.log.Warn("cannot send snapshot", "to", m.To, "index", m.Snapshot.Metadata.Index, "err", err)
		return
	}
	m.Snapshot.Data = payload
	b, err := m.Marshal()
	if err != nil {
		r.log.Error("cannot marshal raft snapshot message", "to", m.To, "err", err)
		return
	}
	r.log.Info("sending a snapshot", "to", m.To, "index", m.Snapshot.Metadata.Index, "bytes", len(b))
	if !r.net.Send(m.To, kindRaft, b) {
		r.node.ReportUnreachable(m.To)
		return
	}
	status = raft.SnapshotFinish
}

// Receive implements transport.Handler.
func (r *Raft) Receive(from uint64, kind byte, payload []byte) {
	switch kind {
	case kindRaft:
		var m raftpb.Message
		if err := m.Unmarshal(payload); err != nil {
			r.log.Warn("dropping undecodable raft message", "from", from, "err", err)
			return
		}
		if from == r.leader.Load() {
			r.heardLeader.Store(time.Now().UnixNano())
		}
		if m.Type == raftpb.MsgHeartbeat {
			// A member that lost its data (restarted with an empty data
			// directory) is told a commit index beyond its log by a leader
			// that still remembers its old progress; raft would panic. It
			// waits instead until the leader, told of its log (kindLastIdx),
			// gives way to a new term that starts its progress afresh.
			if last, err := r.storage.LastIndex(); err == nil && m.Commit > last {
				m.Commit = last
			}
		}
		// A forwarded proposal (MsgProp) waits inside raft while this member
		// knows no leader; it must not block the connection it came on, or the
		// messages behind it (a new leader's heartbeats) would never arrive. A
		// dropped proposal is allowed: its sender times out.
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.TickInterval)
		err := r.node.Step(ctx, m)
		cancel()
		if err != nil && !errors.Is(err, raft.ErrStopped) {
			r.log.Debug("raft step failed", "from", from, "type", m.Type.String(), "err", err)
		}
	case kindLastIdx:
		if len(payload) == 8 {
			r.checkFollower(from, binary.BigEndian.Uint64(payload))
		}
	case kindSessions:
		ids := make([]int64, 0, len(payload)/8)
		for i := 0; i+8 <= len(payload); i += 8 {
			ids = append(ids, int64(binary.BigEndian.Uint64(payload[i:])))
		}
		r.sm.Touched(ids)
	case kindRevalidate:
		r.answerRevalidate(from, payload)
	case kindRevalidated:
		r.revalidated(payload)
	}
}

// PeerLost implements transport.Handler. When the leader's connection breaks
// (its process died: the kernel resets the socket), followers forget it and one
// of them campaigns at once instead of waiting out an election timeout. They
// campaign in turn, by rank of id, so as not to split the vote; PreVote keeps a
// follower that is merely cut off from disturbing a healthy leader.
func (r *Raft) PeerLost(id uint64, err error) {
	if id == 0 || id != r.leader.Load() {
		return
	}
	if r.learner.Load() {
		// An observer cannot elect anyone: it forgets the leader (and stops
		// serving) until the new one reaches it.
		r.log.Info("lost the leader's connection", "leader", id, "err", err)
		r.node.ForgetLeader(context.Background())
		return
	}
	r.log.Info("lost the leader's connection; electing a new leader now", "leader", id, "err", err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.node.ForgetLeader(ctx); err != nil {
		return
	}
	rank := 0
	for _, p := range r.cfg.Peers {
		if p.ID != id && p.ID < r.cfg.ID {
			rank++
		}
	}
	time.AfterFunc(time.Duration(rank)*campaignStagger, func() {
		if l := r.leader.Load(); l == 0 || l == id {
			r.node.Campaign(context.Background())
		}
	})
}

// checkFollower runs on the leader when a follower reports its last log index.
// A follower whose log ends before what the leader believes it has lost its
// data; raft never lowers a follower's match index within a term, so the
// leader hands over leadership: the next leader starts every follower's
// progress afresh and brings this one up to date by log or snapshot.
func (r *Raft) checkFollower(from, last uint64) {
	if !r.IsLeader() {
		return
	}
	st := r.node.Status()
	pr, ok := st.Progress[from]
	if !ok || pr.Match <= last {
		return
	}
	now := time.Now()
	r.handoverMu.Lock()
	defer r.handoverMu.Unlock()
	if now.Sub(r.lastHandover) < 5*time.Second {
		return
	}
	var best uint64
	var bestMatch uint64
	for id, p := range st.Progress {
		if id == r.cfg.ID || id == from || p.IsLearner {
			continue
		}
		if p.Match > bestMatch {
			best, bestMatch = id, p.Match
		}
	}
	if best == 0 {
		r.log.Warn("a member lost its log but no other voter can take over to resync it", "member", from)
		return
	}
	r.lastHandover = now
	r.log.Warn("a member lost its log (restarted empty?); handing leadership over so it can be resynced",
		"member", from, "itsLastIndex", last, "expected", pr.Match, "newLeader", best)
	r.node.TransferLeadership(context.Background(), r.cfg.ID, best)
}

// reportLastIndex tells the leader how far this member's log goes (see
// checkFollower).
func (r *Raft) reportLastIndex() {
	l := r.leader.Load()
	if r.net == nil || l == 0 || l == r.cfg.ID {
		return
	}
	last, err := r.storage.LastIndex()
	if err != nil {
		return
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], last)
	r.net.Send(l, kindLastIdx, b[:])
}

// checkLeaderSilence makes an observer forget a leader it has not heard from for
// an election timeout (raft learners never campaign, so nothing else would):
// like a ZooKeeper observer, it then stops serving until a leader reaches it.
func (r *Raft) checkLeaderSilence() {
	if !r.learner.Load() || r.leader.Load() == 0 {
		return
	}
	silence := time.Since(time.Unix(0, r.heardLeader.Load()))
	if silence > 2*time.Duration(r.cfg.ElectionTicks)*r.cfg.TickInterval {
		r.log.Info("no word from the leader; forgetting it", "leader", r.leader.Load(), "silence", silence)
		r.heardLeader.Store(time.Now().UnixNano())
		go r.node.ForgetLeader(context.Background())
	}
}

// reportEvery is how many ticks apart a follower reports its last index.
const reportEvery = 5

// campaignStagger separates the campaigns of followers that lost their leader
// together.
const campaignStagger = 30 * time.Millisecond

// ReportSessions sends the ids of sessions this member heard from to the
// leader.
func (r *Raft) ReportSessions(ids []int64) {
	l := r.leader.Load()
	if r.net == nil || l == 0 || l == r.cfg.ID {
		return
	}
	b := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(b[8*i:], uint64(id))
	}
	r.net.Send(l, kindSessions, b)
}
