// Package server accepts ZooKeeper client connections and serves them: the
// handshake and sessions, a per-session FIFO pipeline in which reads are answered
// from the in-memory state and writes are proposed to the replicated log and
// answered once applied, watch delivery, and the four-letter words.
//
// Ordering. Each connection has three goroutines: a reader that decodes requests
// and proposes writes as soon as they arrive (so a session's writes are pipelined
// into the log in order), a processor that answers requests strictly in arrival
// order (a read runs only after every earlier write of its session was applied),
// and a writer that flushes the connection's outbox. Apply runs on the log's
// goroutine: it changes the state under the write lock, queues watch events to
// the outboxes of the watching connections, and only then hands the result to
// the waiting request, so a client always sees a watch event before the reply of
// the write that caused it.
package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gozk/gozk/internal/acl"
	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replication"
	"github.com/gozk/gozk/internal/session"
	"github.com/gozk/gozk/internal/wait"
	"github.com/gozk/gozk/internal/watch"
)

// Options configures a Server.
type Options struct {
	ID                     uint64 // myid; 0 for a standalone server
	Addr                   string // client listen address
	TickTime               time.Duration
	MinSessionTimeout      time.Duration
	MaxSessionTimeout      time.Duration
	MaxClientCnxns         int // per IP; 0 = unlimited
	MaxBuffer              int // jute.maxbuffer: the largest client frame
	FourLetterWords        map[string]bool
	ExtendedTypes          bool
	ContainerCheckInterval time.Duration
	ContainerMaxPerMinute  int
	SuperDigest            string
	ExistsSkipsACL         bool // exists without a READ check (ZooKeeper before 3.8.4/3.9.2)
	MaxOutstanding         int  // per connection
	// HandshakeTimeout bounds how long a new connection may take to send its
	// ConnectRequest (ZooKeeper's sessionless connection timeout, 10 s).
	HandshakeTimeout    time.Duration
	DataDir, DataLogDir string
	// ConfigDump is printed by the conf four-letter word, one "key=value" a line.
	ConfigDump []string
	Logger     *slog.Logger
	// Raft configures the durable log; nil keeps the state in memory only
	// (tests).
	Raft *replication.RaftConfig
}

func (o *Options) setDefaults() {
	if o.TickTime <= 0 {
		o.TickTime = 2 * time.Second
	}
	if o.MinSessionTimeout <= 0 {
		o.MinSessionTimeout = 2 * o.TickTime
	}
	if o.MaxSessionTimeout <= 0 {
		o.MaxSessionTimeout = 20 * o.TickTime
	}
	if o.MaxBuffer <= 0 {
		o.MaxBuffer = jute.DefaultMaxBuffer
	}
	if o.ContainerCheckInterval <= 0 {
		o.ContainerCheckInterval = time.Minute
	}
	if o.ContainerMaxPerMinute <= 0 {
		o.ContainerMaxPerMinute = 10000
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.MaxOutstanding <= 0 {
		o.MaxOutstanding = 1000
	}
	if o.FourLetterWords == nil {
		o.FourLetterWords = map[string]bool{"srvr": true}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server is one gozk server's client side and state.
type Server struct {
	opts Options
	log  *slog.Logger

	mu    sync.RWMutex // guards fsm against concurrent Apply
	fsm   *fsm.FSM
	watch *watch.Manager
	repl  replication.Log
	// leader is whether this server expires sessions and removes containers;
	// leaderID is the known leader (0: none, the server is LOOKING). Both are
	// set by LeaderChanged.
	leader   atomic.Bool
	leaderID atomic.Uint64
	// touched collects the sessions heard from since the last report to the
	// leader (followers and observers only).
	touchedMu sync.Mutex
	touched   map[int64]struct{}

	tracker *session.Tracker
	ids     *session.IDs
	waits   wait.Registry[fsm.Result] // writes of this server's clients, by request id
	reqIDs  atomic.Uint64

	connsMu   sync.RWMutex
	conns     map[uint64]*conn
	bySession map[int64]*conn
	perIP     map[string]int
	connIDs   atomic.Uint64

	ln      net.Listener
	started time.Time
	stats   stats
	stopc   chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once
}

// New returns a Server. With opts.Raft it opens the durable log, restoring the
// state from disk; otherwise the state lives in memory only.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		fsm:       fsm.New(opts.ExtendedTypes),
		watch:     watch.New(),
		tracker:   session.NewTracker(opts.TickTime),
		ids:       session.NewIDs(max(opts.ID, 1), time.Now()), // a standalone ZooKeeper uses server id 1
		conns:     make(map[uint64]*conn),
		bySession: make(map[int64]*conn),
		perIP:     make(map[string]int),
		stopc:     make(chan struct{}),
		started:   time.Now(),
	}
	// Request ids must not repeat across restarts: entries of an earlier run
	// are applied again at start-up and must not complete new requests.
	s.reqIDs.Store(uint64(time.Now().UnixNano()))
	s.stats.resetLatency()
	s.touched = make(map[int64]struct{})
	if opts.Raft == nil {
		s.leader.Store(true)
		s.leaderID.Store(1)
		s.repl = replication.NewLocal(s)
		return s, nil
	}
	r, err := replication.StartRaft(*opts.Raft, s)
	if err != nil {
		return nil, err
	}
	s.repl = r
	return s, nil
}

// Listen binds the client address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound client address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close. It starts the session expiry and
// container sweeper loops.
func (s *Server) Serve() error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.log.Info("serving clients", "addr", s.ln.Addr().String(), "tickTime", s.opts.TickTime,
		"minSessionTimeout", s.opts.MinSessionTimeout, "maxSessionTimeout", s.opts.MaxSessionTimeout)
	s.wg.Add(3)
	go s.expireLoop()
	go s.containerLoop()
	go s.watchStorage()
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stopc:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("server: accept: %w", err)
			}
			// EMFILE and friends: back off and keep serving the connections we have.
			backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "err", err, "backoff", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.accept(nc)
	}
}

func (s *Server) accept(nc net.Conn) {
	ip := remoteIP(nc.RemoteAddr())
	s.connsMu.Lock()
	if max := s.opts.MaxClientCnxns; max > 0 && s.perIP[ip] >= max {
		s.connsMu.Unlock()
		s.log.Warn("too many connections; closing", "ip", ip, "max", max)
		nc.Close()
		return
	}
	s.perIP[ip]++
	c := newConn(s, nc, s.connIDs.Add(1), ip)
	s.conns[c.id] = c
	s.connsMu.Unlock()
	go c.serve()
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (s *Server) forget(c *conn) {
	s.connsMu.Lock()
	if _, ok := s.conns[c.id]; ok {
		delete(s.conns, c.id)
		if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
	}
	if sid := c.sessionID(); sid != 0 && s.bySession[sid] == c {
		delete(s.bySession, sid)
	}
	s.connsMu.Unlock()
	s.watch.RemoveWatcher(c.id)
}

// Close stops accepting, closes every connection and stops the log.
func (s *Server) Close() error {
	s.closeMu.Do(func() {
		close(s.stopc)
		if s.ln != nil {
			s.ln.Close()
		}
		s.connsMu.RLock()
		cs := make([]*conn, 0, len(s.conns))
		for _, c := range s.conns {
			cs = append(cs, c)
		}
		s.connsMu.RUnlock()
		for _, c := range cs {
			c.shutdown("server closing")
		}
		s.wg.Wait()
		s.repl.Stop()
	})
	return nil
}

// propose builds and submits an entry, returning the channel its result arrives
// on. before, if not nil, runs with the request id before the entry can apply.
// Raft holds a proposal while no leader is known; ctx (the connection's) bounds
// that wait, so a proposal of a closed connection is never submitted late.
func (s *Server) propose(ctx context.Context, e *fsm.Entry, before func(reqID uint64)) (uint64, <-chan fsm.Result, error) {
	e.Origin = s.opts.ID
	e.ReqID = s.reqIDs.Add(1)
	e.Time = time.Now().UnixMilli()
	if before != nil {
		before(e.ReqID)
	}
	ch := s.waits.Register(e.ReqID)
	if err := s.repl.Propose(ctx, e.Marshal()); err != nil {
		s.waits.Cancel(e.ReqID)
		return 0, nil, err
	}
	return e.ReqID, ch, nil
}

// proposeInternal submits an entry nobody waits for (session expiry, container
// removal); request id 0 routes its result nowhere.
func (s *Server) proposeInternal(e *fsm.Entry) error {
	e.Origin = s.opts.ID
	e.Time = time.Now().UnixMilli()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.TickTime)
	defer cancel()
	return s.repl.Propose(ctx, e.Marshal())
}

// Apply implements replication.StateMachine.
func (s *Server) Apply(term, index uint64, data []byte) {
	e, err := fsm.Unmarshal(data)
	if err != nil {
		// Every server must apply the same entries; one that cannot be decoded
		// means the log is corrupt, and going on would diverge.
		s.log.Error("cannot decode log entry; stopping", "index", index, "err", err)
		panic(fmt.Sprintf("server: undecodable log entry %d: %v", index, err))
	}
	var events []watch.Event
	s.mu.Lock()
	res := s.fsm.Apply(int64(term), e)
	for _, c := range res.Changes {
		events = s.watch.Trigger(c, events)
	}
	if len(events) > 0 {
		s.connsMu.RLock()
		for _, ev := range events {
			// Like ZooKeeper, deliver only to watchers that may read the node.
			if c := s.conns[ev.Watcher]; c != nil && acl.Check(ev.ACL, proto.PermRead, c.authIDs()) {
				c.sendEvent(res.Zxid, &ev.Event)
			}
		}
		s.connsMu.RUnlock()
	}
	s.mu.Unlock()

	switch e.Op {
	case proto.OpCreateSession:
		if s.leader.Load() {
			s.tracker.Add(e.Session, time.Duration(e.Timeout)*time.Millisecond, time.Now())
		}
	case fsm.OpSetSessionTimeout:
		if s.leader.Load() && res.Err == proto.ErrOK {
			s.tracker.SetTimeout(e.Session, time.Duration(e.Timeout)*time.Millisecond)
		}
	case proto.OpCloseSession:
		s.tracker.Remove(e.Session)
	}
	for _, id := range res.Closed {
		s.sessionClosed(id, e)
	}
	if e.Origin == s.opts.ID && e.ReqID != 0 {
		s.waits.Trigger(e.ReqID, res)
	}
}

// sessionClosed closes the connection still bound to a closed session, unless it
// is the one that asked for the close (it closes itself after replying).
func (s *Server) sessionClosed(id int64, e *fsm.Entry) {
	s.connsMu.RLock()
	c := s.bySession[id]
	s.connsMu.RUnlock()
	if c == nil {
		return
	}
	if e.Op == proto.OpCloseSession && e.Origin == s.opts.ID && e.ReqID != 0 && c.closingReq.Load() == e.ReqID {
		return
	}
	c.shutdown("session expired")
}

// expireLoop proposes closeSession for sessions past their timeout. Session
// deadlines fall on multiples of the tick, and the loop wakes four times a
// tick, on multiples of a quarter tick, so a session expires within a quarter
// tick of its deadline. Elsewhere than on the leader it reports the sessions
// heard from instead, so the leader never expires a session active here.
func (s *Server) expireLoop() {
	defer s.wg.Done()
	q := max(s.opts.TickTime/4, time.Millisecond)
	t := time.NewTimer(untilMultiple(time.Now(), q))
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case <-t.C:
		}
		now := time.Now()
		t.Reset(untilMultiple(now, q))
		if !s.leader.Load() {
			s.reportTouched()
			continue
		}
		for _, id := range s.tracker.Expired(now) {
			s.log.Info("session expired", "session", fmt.Sprintf("0x%x", id))
			if err := s.proposeInternal(&fsm.Entry{Op: proto.OpCloseSession, Session: id}); err != nil {
				s.log.Warn("cannot propose session expiry", "session", fmt.Sprintf("0x%x", id), "err", err)
			}
		}
	}
}

// untilMultiple is the time from now to the next multiple of q since the Unix
// epoch.
func untilMultiple(now time.Time, q time.Duration) time.Duration {
	ns := now.UnixNano()
	return time.Duration((ns/int64(q)+1)*int64(q) - ns)
}

// containerLoop removes empty containers and expired TTL nodes, as ZooKeeper's
// ContainerManager does; apply re-checks each candidate.
func (s *Server) containerLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.ContainerCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopc:
			return
		case now := <-t.C:
			if !s.leader.Load() {
				continue
			}
			for i, p := range s.containerCandidates(now.UnixMilli()) {
				if i >= s.opts.ContainerMaxPerMinute {
					break
				}
				if err := s.proposeInternal(&fsm.Entry{Op: proto.OpDeleteContainer, Req: &proto.PathRequest{Path: p}}); err != nil {
					s.log.Warn("cannot propose container removal", "path", p, "err", err)
				}
			}
		}
	}
}

func (s *Server) containerCandidates(nowMs int64) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.ContainerCandidates(nowMs)
}

// BeginSnapshot implements replication.DurableStateMachine.
func (s *Server) BeginSnapshot() replication.Snapshotter {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.fsm.BeginSnapshot()
}

// Restore implements replication.DurableStateMachine: it replaces the whole
// state with a snapshot.
func (s *Server) Restore(payload []byte) error {
	f, err := fsm.DecodeSnapshot(payload)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.fsm = f
	s.mu.Unlock()
	if s.leader.Load() {
		s.trackAllSessions()
	}
	// Watches were set against the old state and no events describe the jump:
	// clients reconnect and re-register them with setWatches, which fires what
	// changed since the zxid they last saw.
	s.dropClients("state replaced by a snapshot from the leader")
	return nil
}

// LeaderChanged implements replication.DurableStateMachine. A new leader gives
// every session a full timeout before it may expire it; a server that is not
// the leader expires nothing.
func (s *Server) LeaderChanged(leader uint64, isLeader bool) {
	s.leader.Store(isLeader)
	old := s.leaderID.Swap(leader)
	if leader == 0 && old != 0 {
		// LOOKING: like a ZooKeeper server that lost its leader, drop every
		// client; they reconnect to a server that has one (sessions survive).
		go s.dropClients("lost the leader")
	}
	if isLeader {
		s.trackAllSessions()
	} else {
		s.tracker.Reset()
	}
}

// serving reports whether a leader is known (the server is not LOOKING) and the
// log committed before start-up has been applied.
func (s *Server) serving() bool {
	if s.leaderID.Load() == 0 {
		return false
	}
	return s.repl.Status().Replayed
}

// waitServing waits up to d for the server to serve, so that a client arriving
// just before an election ends (or the start-up replay) is not turned away.
func (s *Server) waitServing(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !s.serving() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-s.stopc:
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
	return true
}

// touch records client activity on a session: in the tracker on the leader, for
// the next report to the leader elsewhere.
func (s *Server) touch(id int64, now time.Time) {
	if id == 0 {
		return
	}
	if s.leader.Load() {
		s.tracker.Touch(id, now)
		return
	}
	s.touchedMu.Lock()
	s.touched[id] = struct{}{}
	s.touchedMu.Unlock()
}

// Touched implements replication.DurableStateMachine: a follower reports
// activity on these sessions.
func (s *Server) Touched(ids []int64) {
	if !s.leader.Load() {
		return
	}
	now := time.Now()
	for _, id := range ids {
		s.tracker.Touch(id, now)
	}
}

// reportTouched sends the sessions heard from since the last tick to the leader.
func (s *Server) reportTouched() {
	if s.leader.Load() {
		return
	}
	s.touchedMu.Lock()
	if len(s.touched) == 0 {
		s.touchedMu.Unlock()
		return
	}
	ids := make([]int64, 0, len(s.touched))
	for id := range s.touched {
		ids = append(ids, id)
	}
	clear(s.touched)
	s.touchedMu.Unlock()
	s.repl.ReportSessions(ids)
}

func (s *Server) trackAllSessions() {
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.fsm.EachSession(func(ss *fsm.Session) {
		s.tracker.Add(ss.ID, time.Duration(ss.Timeout)*time.Millisecond, now)
	})
}

// watchStorage reacts to a failure of the log's storage: writes whose outcome is
// unknown get their connections closed (the clients see a connection loss and
// reconnect); from then on writes are refused with NOTREADONLY and reads are
// still served.
func (s *Server) watchStorage() {
	defer s.wg.Done()
	select {
	case <-s.stopc:
		return
	case <-s.repl.Failed():
	}
	s.log.Error("the log can no longer be written: this server now serves reads only")
	for _, c := range s.snapshotConns() {
		c.shutdown("log storage failed")
	}
}

func (s *Server) dropClients(reason string) {
	for _, c := range s.snapshotConns() {
		if c.sessionID() != 0 {
			c.shutdown(reason)
		}
	}
}

func (s *Server) readOnly() bool {
	select {
	case <-s.repl.Failed():
		return true
	default:
		return false
	}
}

// newConnID returns a connection identity for write sequencing, unique across
// servers and restarts.
func newConnID() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	id := binary.LittleEndian.Uint64(b[:])
	if id == 0 {
		id = 1
	}
	return id
}

// newPassword returns a random session password.
func newPassword() []byte {
	b := make([]byte, proto.PasswordLen)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}
