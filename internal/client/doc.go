// Package client is a small ZooKeeper client over gozk's own protocol records.
//
// Dial opens a session on the first reachable server of a list, after the
// ConnectRequest/ConnectResponse handshake (with the optional readOnly byte).
// A Conn then pipelines requests: callers encode their request and hand it to
// one writer goroutine, which registers it under its xid and writes it; one
// reader goroutine reads every frame (bounded by jute.ReadFrame's limit),
// matches replies to requests by xid, and turns notifications into Events.
// The writer pings when it has sent nothing for a third of the negotiated
// session timeout; the reader gives up on a server silent for two thirds of it.
//
// Errors returned by the server are proto.Err values, so
// errors.Is(err, proto.ErrNoNode) works. A lost or closed connection yields
// proto.ErrConnectionLoss (ErrClosed wraps it). There is no automatic
// reconnect: once the connection is gone the Conn is done, and a new Dial
// starts a new session (or resumes one with WithSession).
//
// Watches follow the Java client's rules. A watch set with watch=true (or an
// AddWatch with a nil Watcher) reports to the default watcher: the Events
// channel and the function given with WithWatcher. The ...W variants take a
// per-path Watcher instead. Session events (type None) go to the default
// watcher and to every registered watcher. RemoveWatches removes the local
// registrations the server removed and reports them with DataWatchRemoved,
// ChildWatchRemoved or PersistentWatchRemoved events. Watchers run one at a
// time, in order, on a goroutine of their own, never on the reader.
package client
