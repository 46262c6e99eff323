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

	"github.com/gozk/gozk/internal/fsm"
	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/replica"
	"github.com/gozk/gozk/internal/replication"
	"github.com/gozk/gozk/internal/session"
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
	ContainerCheckInterval time.Duration
	ContainerMaxPerMinute  int
	SuperDigest            string
	ExistsSkipsACL         bool // exists without a READ check (ZooKeeper before 3.8.4/3.9.2)
	MaxOutstanding         int  // per connection
	// Throttle, if set, decides whether a new connection may proceed once
	// its ConnectRequest is read (ZooKeeper's connection_throttle_*).
	Throttle interface{ Allow() bool }
	// HandshakeTimeout bounds how long a new connection may take to send its
	// ConnectRequest (ZooKeeper's sessionless connection timeout, 10 s).
	HandshakeTimeout    time.Duration
	DataDir, DataLogDir string
	// ConfigDump is printed by the conf four-letter word, one "key=value" a line.
	ConfigDump []string
	Logger     *slog.Logger
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

// Server is one gozk server's client side: connections, sessions' handshakes,
// the request pipeline and the four-letter words. The state it serves is its
// Replica's; the writes it submits go to the log.
type Server struct {
	opts Options
	log  *slog.Logger

	rep  *replica.Replica
	repl replication.Log
	// leaderID is the known leader (0: none, the server is LOOKING), set by
	// LeaderChanged.
	leaderID  atomic.Uint64
	leaderGen atomic.Uint64 // counts leader changes
	// epoch is canceled at each leader change (epochCtx).
	epoch       atomic.Pointer[context.Context]
	epochCancel atomic.Pointer[context.CancelFunc]

	ids    *session.IDs
	reqIDs atomic.Uint64

	connsMu   sync.RWMutex
	conns     map[uint64]*conn
	bySession map[int64]*conn
	perIP     map[string]int
	connIDs   atomic.Uint64

	throttled throttledLog

	ln      net.Listener
	started time.Time
	stats   stats
	stopc   chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once
}

// New returns a Server for the state of rep, which is the state machine of
// log; it attaches itself to rep as the sink of what apply produces.
func New(opts Options, rep *replica.Replica, log replication.Log) *Server {
	opts.setDefaults()
	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		rep:       rep,
		repl:      log,
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
	s.newEpoch()
	rep.Attach(s, log)
	// The log may have found its leader before the sink was attached.
	s.leaderID.Store(log.Status().Leader)
	return s
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
	go func() {
		defer s.wg.Done()
		s.rep.Sessions().Run(s.stopc)
	}()
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
	s.rep.ForgetWatcher(c.id)
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
//
// With send false the entry is only prepared (ids, waiter), to be proposed
// later. On an error the waiter stays registered and the channel comes back
// with the error: the caller proposes the entry again later, or Forgets it.
func (s *Server) propose(ctx context.Context, e *fsm.Entry, before func(reqID uint64), send bool) (<-chan fsm.Result, error) {
	e.Origin = s.opts.ID
	e.ReqID = s.reqIDs.Add(1)
	e.Time = time.Now().UnixMilli()
	if before != nil {
		before(e.ReqID)
	}
	ch := s.rep.Expect(e.ReqID)
	if !send {
		return ch, nil
	}
	if err := s.repl.Propose(ctx, e.Marshal()); err != nil {
		return ch, err
	}
	return ch, nil
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
			if !s.rep.Sessions().IsLeader() {
				continue
			}
			var candidates []string
			s.rep.Read(func(v replica.View) { candidates = v.FSM.ContainerCandidates(now.UnixMilli()) })
			for i, p := range candidates {
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

// proposeInternal submits an entry nobody waits for (container removal);
// request id 0 routes its result nowhere.
func (s *Server) proposeInternal(e *fsm.Entry) error {
	e.Origin = s.opts.ID
	e.Time = time.Now().UnixMilli()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.TickTime)
	defer cancel()
	return s.repl.Propose(ctx, e.Marshal())
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
