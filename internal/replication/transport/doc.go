// Package transport carries opaque, typed messages between the servers of a
// gozk ensemble over TCP.
//
// # Usage
//
//	t, err := transport.New(transport.Config{
//		ID:         1,
//		ListenAddr: "10.0.0.1:2888",
//		Peers:      []transport.Peer{{ID: 2, Addr: "10.0.0.2:2888"}, {ID: 3, Addr: "10.0.0.3:2888"}},
//		ClusterID:  hashOfServerList,
//		Logger:     lg,
//	}, handler)
//	...
//	t.Start()
//	ok := t.Send(2, kind, payload) // never blocks; payload must not be modified afterwards
//	...
//	t.Close()
//
// # Connections
//
// Every server dials every peer and keeps that outbound connection for sending
// only; it accepts inbound connections from its peers and only reads from them.
// A message from A to B therefore always travels on the connection A dialled,
// so messages from one sender arrive in the order it sent them.
//
// One goroutine per peer owns the outbound connection. It dials, handshakes,
// then drains the peer's queue: every message queued when it looks is written
// into one buffered writer and flushed with one write (batching without a
// timer: a message sent to an idle peer goes out at once, TCP_NODELAY is on).
// When dialling or writing fails it drops the connection and dials again after
// an exponential backoff (10 ms doubling to 1 s, reset by a successful
// handshake). Messages queued meanwhile wait, up to MaxQueueBytes per peer
// (frame header included); beyond that the oldest are dropped first, and Send
// returns false to say so. A single message larger than MaxQueueBytes is kept
// alone. Besides its queue, a peer holds at most one batch being written
// (about 1 MiB, or one larger message), so a slow or dead peer costs bounded
// memory. A batch being written when the connection fails is lost: delivery
// is at most once, never duplicated, never reordered. There are no
// acknowledgements; the caller's protocol (raft) retransmits.
//
// The acceptor runs one goroutine per inbound connection: it reads the hello,
// checks it, answers, then reads frames and hands each one to
// Handler.Receive. A new inbound connection from a peer replaces the old one;
// the new one delivers nothing until the old one's goroutine has finished, so
// the handler never sees one sender's messages out of order or concurrently.
// When an established inbound connection ends for any reason other than this
// transport closing it (EOF, reset, a read error, an oversized frame),
// Handler.PeerLost reports it: a peer process that dies has its sockets closed
// or reset by its kernel, so its peers learn of it within milliseconds.
//
// # Wire format
//
// All integers are big-endian. The dialer opens with a 36-byte hello:
//
//	magic     [8]byte  "GOZKPEER"
//	version   uint32   1
//	clusterID uint64   Config.ClusterID of the dialer
//	from      uint64   the dialer's server id
//	to        uint64   the server id the dialer believes it reached
//
// The acceptor reads it under a deadline (HandshakeTimeout). A connection that
// does not begin with the magic is closed without an answer. Otherwise the
// acceptor answers with one status byte: 0 accepted, 1 unsupported version,
// 2 different cluster id, 3 unknown peer id, 4 wrong server (the acceptor's id
// is not "to"); on anything but 0 it closes the connection. Every refusal is
// logged by the acceptor with the remote address, and by the dialer.
//
// After an accepted hello the dialer sends frames and the acceptor sends
// nothing more:
//
//	length  uint32   payload length; above MaxFrame the connection is closed
//	kind    byte     opaque to the transport
//	payload [length]byte
package transport
