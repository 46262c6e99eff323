package server

import (
	"time"

	"github.com/gozk/gozk/internal/acl"
	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/proto"
)

// The Server is its Replica's sink (replica.Sink): what apply produces for
// clients reaches their connections here.

// Notify queues a watch event to the watching connection, if it may read the
// node: like ZooKeeper, only watchers with READ on the node are told.
func (s *Server) Notify(watcher uint64, zxid int64, ev *proto.WatcherEvent, nodeACL []proto.ACL) {
	s.connsMu.RLock()
	c := s.conns[watcher]
	s.connsMu.RUnlock()
	if c != nil && acl.Check(nodeACL, proto.PermRead, c.authIDs()) {
		c.sendEvent(zxid, ev)
	}
}

// SessionsClosed closes the connections still bound to closed sessions, except
// the one that asked for the close (it closes itself after replying).
func (s *Server) SessionsClosed(e *fsm.Entry, ids []int64) {
	for _, id := range ids {
		s.connsMu.RLock()
		c := s.bySession[id]
		s.connsMu.RUnlock()
		if c == nil {
			continue
		}
		if e.Op == proto.OpCloseSession && e.Origin == s.opts.ID && e.ReqID != 0 && c.closingReq.Load() == e.ReqID {
			continue
		}
		c.shutdown("session expired")
	}
}

// Replaced drops every client when the state was replaced by a snapshot from
// the leader: their watches were set against the old state and no events
// describe the jump. They reconnect and re-register them with setWatches,
// which fires what changed since the zxid they last saw.
func (s *Server) Replaced() {
	s.dropClients("state replaced by a snapshot from the leader")
}

// WriteAhead: a write of one of this server's connections was discarded,
// because an earlier one was lost on its way to the leader; the connection
// proposes its pending writes again, in order.
func (s *Server) WriteAhead(e *fsm.Entry) {
	s.connsMu.RLock()
	c := s.bySession[e.Session]
	s.connsMu.RUnlock()
	if c == nil || c.writeConn != e.Conn {
		return
	}
	c.writes.stale.Store(true)
	go c.proposeAgain()
}

// LeaderChanged notes the known leader. Unlike a ZooKeeper server, which
// drops every client when it loses its leader, a server keeps its clients
// through an election: their writes that the old leader may have lost are
// proposed again to the new one (retry.go), so they do not notice. Only a
// server that stays without a leader for lookingGrace lets them go, to
// reconnect to one that has one (sessions survive).
func (s *Server) LeaderChanged(leader uint64, _ bool) {
	old := s.leaderID.Swap(leader)
	if leader == old {
		return
	}
	s.newEpoch()
	gen := s.leaderGen.Add(1)
	conns := s.snapshotConns()
	for _, c := range conns {
		c.writes.stale.Store(true)
	}
	if leader == 0 {
		time.AfterFunc(s.lookingGrace(), func() {
			if s.leaderID.Load() == 0 && s.leaderGen.Load() == gen {
				s.dropClients("no leader for " + s.lookingGrace().String())
			}
		})
		return
	}
	go func() {
		for _, c := range conns {
			c.proposeAgain()
		}
	}()
}
