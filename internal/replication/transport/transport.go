package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is another server of the ensemble.
type Peer struct {
	ID   uint64
	Addr string // host:port of the peer's quorum port
}

// Handler receives what arrives from peers. Its methods are called on the
// goroutine of one inbound connection: calls for one sender are never
// concurrent and come in the order that sender sent, calls for different
// senders may run at the same time. A method that blocks stops reading from
// that sender only. The handler must not call Close from within a callback.
type Handler interface {
	// Receive delivers one message. The payload belongs to the handler.
	Receive(from uint64, kind byte, payload []byte)
	// PeerLost reports that the inbound connection from peer id ended other
	// than by this transport closing it: EOF, reset, read error, oversized
	// frame. It is not called when a new connection from the same peer
	// replaces the old one, nor during Close.
	PeerLost(id uint64, err error)
}

// Config configures a Transport. Zero values take the defaults below.
type Config struct {
	ID         uint64 // this server's id, non-zero
	ListenAddr string // host:port to accept peers on
	Peers      []Peer // the other servers; excludes this one
	// ClusterID must be the same on both ends (a hash of the server list),
	// else the acceptor refuses the connection and logs why.
	ClusterID uint64
	// MaxQueueBytes bounds each peer's outbound queue, counting 5 bytes of
	// header per message (default 64 MiB).
	MaxQueueBytes int
	// MaxFrame is the largest payload sent or received (default 512 MiB).
	MaxFrame int
	// DialTimeout bounds a dial and its handshake (default 5 s).
	DialTimeout time.Duration
	// HandshakeTimeout is how long an inbound connection may take to send
	// its hello (default 5 s).
	HandshakeTimeout time.Duration
	// WriteTimeout is how long a write may make no progress before the
	// connection is dropped and dialled again (default 30 s).
	WriteTimeout time.Duration
	Logger       *slog.Logger // default slog.Default()
}

// Defaults.
const (
	DefaultMaxQueueBytes    = 64 << 20
	DefaultMaxFrame         = 512 << 20
	DefaultDialTimeout      = 5 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultWriteTimeout     = 30 * time.Second

	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// Transport is one server's end of the peer network.
type Transport struct {
	cfg    Config
	h      Handler
	log    *slog.Logger
	ln     net.Listener
	peers  map[uint64]*peer
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	started   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once

	mu      sync.Mutex
	inbound map[*inConn]struct{} // every accepted connection still open
	current map[uint64]*inConn   // the established inbound connection per peer

	rejectLog limiter
}

// New validates cfg and binds cfg.ListenAddr; nothing is dialled or accepted
// before Start.
func New(cfg Config, h Handler) (*Transport, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("transport: listening on quorum address %s: %w", cfg.ListenAddr, err)
	}
	return newTransport(cfg, h, ln), nil
}

func (c *Config) fill() error {
	if c.ID == 0 {
		return errors.New("transport: server id must not be 0")
	}
	seen := make(map[uint64]bool, len(c.Peers))
	for _, p := range c.Peers {
		switch {
		case p.ID == 0:
			return fmt.Errorf("transport: peer %s has id 0", p.Addr)
		case p.ID == c.ID:
			return fmt.Errorf("transport: peer list includes this server's own id %d", p.ID)
		case seen[p.ID]:
			return fmt.Errorf("transport: peer id %d listed twice", p.ID)
		case p.Addr == "":
			return fmt.Errorf("transport: peer %d has no address", p.ID)
		}
		seen[p.ID] = true
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if int64(c.MaxFrame) > math.MaxUint32 {
		return fmt.Errorf("transport: MaxFrame %d exceeds the 32-bit frame length", c.MaxFrame)
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// newTransport builds a transport on a listener already bound; cfg is filled.
func newTransport(cfg Config, h Handler, ln net.Listener) *Transport {
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:     cfg,
		h:       h,
		log:     cfg.Logger.With("component", "transport", "id", cfg.ID),
		ln:      ln,
		peers:   make(map[uint64]*peer, len(cfg.Peers)),
		ctx:     ctx,
		cancel:  cancel,
		inbound: make(map[*inConn]struct{}),
		current: make(map[uint64]*inConn),
	}
	t.rejectLog.every, t.rejectLog.burst = time.Minute, 5
	for _, p := range cfg.Peers {
		t.peers[p.ID] = newPeer(p)
	}
	return t
}

// Start runs the accept loop and one sender per peer. Messages sent before
// Start wait in their queues.
func (t *Transport) Start() {
	if t.closed.Load() || t.started.Swap(true) {
		return
	}
	t.wg.Add(1)
	go t.acceptLoop()
	for _, p := range t.peers {
		t.wg.Add(1)
		go t.runSender(p)
	}
}

// Send queues a message for peer to and never blocks. The payload must not be
// modified afterwards. It returns false when to is not a peer, the transport
// is closed, the payload exceeds MaxFrame (the message is then not queued), or
// the queue was over MaxQueueBytes: then the oldest queued messages were
// dropped to make room, and this message is queued. A message larger than
// MaxQueueBytes is queued alone, after everything else was dropped.
func (t *Transport) Send(to uint64, kind byte, payload []byte) bool {
	p := t.peers[to]
	if p == nil || t.closed.Load() {
		return false
	}
	if len(payload) > t.cfg.MaxFrame {
		t.log.Warn("message larger than MaxFrame not sent", "peer", to, "kind", kind, "bytes", len(payload), "max_frame", t.cfg.MaxFrame)
		return false
	}
	ok, report, dropped := p.enqueue(message{kind: kind, payload: payload}, t.cfg.MaxQueueBytes)
	if report {
		t.log.Warn("outbound queue full; dropped the oldest messages", "peer", to, "dropped", dropped, "max_queue_bytes", t.cfg.MaxQueueBytes)
	}
	return ok
}

// Connected reports whether the outbound connection to peer to is up.
func (t *Transport) Connected(to uint64) bool {
	p := t.peers[to]
	return p != nil && p.connected.Load()
}

// Addr is the address the transport listens on.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// Close closes the listener and every connection and waits for all of the
// transport's goroutines, including handler callbacks in progress. Queued
// messages are discarded. Close may be called more than once.
func (t *Transport) Close() {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.cancel()
		t.ln.Close()
		t.mu.Lock()
		for c := range t.inbound {
			c.closeByUs()
		}
		t.mu.Unlock()
		for _, p := range t.peers {
			p.discard()
		}
	})
	t.wg.Wait()
}

// limiter lets at most burst log lines through per key in each window of
// length every, and counts what it held back.
type limiter struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	keys  map[string]*limitState
}

type limitState struct {
	start  time.Time // of the current window
	passed int       // lines let through in it
	held   int       // lines held back since the last one let through
}

// allow reports whether to log now, and how many lines for key were held
// back since the last one let through.
func (l *limiter) allow(key string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[string]*limitState)
	}
	st := l.keys[key]
	if st == nil {
		if len(l.keys) >= 1024 { // forget idle keys rather than grow without bound
			for k, v := range l.keys {
				if now.Sub(v.start) >= l.every {
					delete(l.keys, k)
				}
			}
		}
		st = &limitState{start: now}
		l.keys[key] = st
	}
	if now.Sub(st.start) >= l.every {
		st.start, st.passed = now, 0
	}
	if st.passed >= l.burst {
		st.held++
		return false, 0
	}
	st.passed++
	held := st.held
	st.held = 0
	return true, held
}
