package proto

import "github.com/gozk/gozk/internal/jute"

// Record is a Jute record with explicit encoding.
type Record interface {
	Encode(w *jute.Writer)
	Decode(r *jute.Reader)
}

// Stat is a znode's metadata, in wire order.
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// StatSize is the encoded size of a Stat.
const StatSize = 8*4 + 4*3 + 8 + 4*2 + 8

func (s *Stat) Encode(w *jute.Writer) {
	w.Long(s.Czxid)
	w.Long(s.Mzxid)
	w.Long(s.Ctime)
	w.Long(s.Mtime)
	w.Int(s.Version)
	w.Int(s.Cversion)
	w.Int(s.Aversion)
	w.Long(s.EphemeralOwner)
	w.Int(s.DataLength)
	w.Int(s.NumChildren)
	w.Long(s.Pzxid)
}

func (s *Stat) Decode(r *jute.Reader) {
	s.Czxid = r.Long()
	s.Mzxid = r.Long()
	s.Ctime = r.Long()
	s.Mtime = r.Long()
	s.Version = r.Int()
	s.Cversion = r.Int()
	s.Aversion = r.Int()
	s.EphemeralOwner = r.Long()
	s.DataLength = r.Int()
	s.NumChildren = r.Int()
	s.Pzxid = r.Long()
}

// ID is an authentication identity: a scheme and an id within it.
type ID struct {
	Scheme string
	ID     string
}

func (id *ID) Encode(w *jute.Writer) { w.String(id.Scheme); w.String(id.ID) }
func (id *ID) Decode(r *jute.Reader) { id.Scheme = r.String(); id.ID = r.String() }

// ACL grants Perms to the identities matched by ID.
type ACL struct {
	Perms int32
	ID    ID
}

func (a *ACL) Encode(w *jute.Writer) { w.Int(a.Perms); a.ID.Encode(w) }
func (a *ACL) Decode(r *jute.Reader) { a.Perms = r.Int(); a.ID.Decode(r) }

// Well-known ACLs (ZooDefs.Ids).
var (
	WorldAnyone   = ID{Scheme: "world", ID: "anyone"}
	AuthIDs       = ID{Scheme: "auth", ID: ""}
	OpenACLUnsafe = []ACL{{Perms: PermAll, ID: WorldAnyone}}
	CreatorAllACL = []ACL{{Perms: PermAll, ID: AuthIDs}}
	ReadACLUnsafe = []ACL{{Perms: PermRead, ID: WorldAnyone}}
)

func encodeACLs(w *jute.Writer, acls []ACL) {
	if acls == nil {
		w.Int(-1)
		return
	}
	w.Int(int32(len(acls)))
	for i := range acls {
		acls[i].Encode(w)
	}
}

func decodeACLs(r *jute.Reader) []ACL {
	n := r.VectorLen(12)
	if n < 0 {
		return nil
	}
	out := make([]ACL, n)
	for i := range out {
		out[i].Decode(r)
	}
	return out
}

// ConnectRequest opens or resumes a session. ReadOnly is optional on the wire:
// HasReadOnly records whether the client sent it.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

func (c *ConnectRequest) Encode(w *jute.Writer) {
	w.Int(c.ProtocolVersion)
	w.Long(c.LastZxidSeen)
	w.Int(c.TimeOut)
	w.Long(c.SessionID)
	w.Buffer(c.Passwd)
	if c.HasReadOnly {
		w.Bool(c.ReadOnly)
	}
}

func (c *ConnectRequest) Decode(r *jute.Reader) {
	c.ProtocolVersion = r.Int()
	c.LastZxidSeen = r.Long()
	c.TimeOut = r.Int()
	c.SessionID = r.Long()
	c.Passwd = r.Buffer()
	c.HasReadOnly = r.Err() == nil && r.Len() > 0
	if c.HasReadOnly {
		c.ReadOnly = r.Bool()
	}
}

// ConnectResponse answers a ConnectRequest; ReadOnly is sent only when the client
// sent it.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

func (c *ConnectResponse) Encode(w *jute.Writer) {
	w.Int(c.ProtocolVersion)
	w.Int(c.TimeOut)
	w.Long(c.SessionID)
	w.Buffer(c.Passwd)
	if c.HasReadOnly {
		w.Bool(c.ReadOnly)
	}
}

func (c *ConnectResponse) Decode(r *jute.Reader) {
	c.ProtocolVersion = r.Int()
	c.TimeOut = r.Int()
	c.SessionID = r.Long()
	c.Passwd = r.Buffer()
	c.HasReadOnly = r.Err() == nil && r.Len() > 0
	if c.HasReadOnly {
		c.ReadOnly = r.Bool()
	}
}

// RequestHeader precedes every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

func (h *RequestHeader) Encode(w *jute.Writer) { w.Int(h.Xid); w.Int(int32(h.Type)) }
func (h *RequestHeader) Decode(r *jute.Reader) { h.Xid = r.Int(); h.Type = OpCode(r.Int()) }

// ReplyHeader precedes every reply and notification.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  Err
}

func (h *ReplyHeader) Encode(w *jute.Writer) { w.Int(h.Xid); w.Long(h.Zxid); w.Int(int32(h.Err)) }
func (h *ReplyHeader) Decode(r *jute.Reader) {
	h.Xid = r.Int()
	h.Zxid = r.Long()
	h.Err = Err(r.Int())
}

// MultiHeader precedes each operation of a multi request or response.
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  Err
}

func (h *MultiHeader) Encode(w *jute.Writer) {
	w.Int(int32(h.Type))
	w.Bool(h.Done)
	w.Int(int32(h.Err))
}
func (h *MultiHeader) Decode(r *jute.Reader) {
	h.Type = OpCode(r.Int())
	h.Done = r.Bool()
	h.Err = Err(r.Int())
}

// AuthPacket adds authentication to a connection.
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

func (a *AuthPacket) Encode(w *jute.Writer) { w.Int(a.Type); w.String(a.Scheme); w.Buffer(a.Auth) }
func (a *AuthPacket) Decode(r *jute.Reader) {
	a.Type = r.Int()
	a.Scheme = r.String()
	a.Auth = r.Buffer()
}

// PathRequest is every request that carries only a path: getACL, sync,
// getAllChildrenNumber, getEphemerals (prefix path).
type PathRequest struct{ Path string }

func (p *PathRequest) Encode(w *jute.Writer) { w.String(p.Path) }
func (p *PathRequest) Decode(r *jute.Reader) { p.Path = r.NonNullString() }

// PathWatchRequest is every request that carries a path and a watch flag: exists,
// getData, getChildren, getChildren2.
type PathWatchRequest struct {
	Path  string
	Watch bool
}

func (p *PathWatchRequest) Encode(w *jute.Writer) { w.String(p.Path); w.Bool(p.Watch) }
func (p *PathWatchRequest) Decode(r *jute.Reader) { p.Path = r.NonNullString(); p.Watch = r.Bool() }

// PathVersionRequest is a request that carries a path and an expected version:
// delete and check.
type PathVersionRequest struct {
	Path    string
	Version int32
}

func (p *PathVersionRequest) Encode(w *jute.Writer) { w.String(p.Path); w.Int(p.Version) }
func (p *PathVersionRequest) Decode(r *jute.Reader) { p.Path = r.NonNullString(); p.Version = r.Int() }

// CreateRequest creates a node; TTL is on the wire only for createTTL (HasTTL).
type CreateRequest struct {
	Path   string
	Data   []byte
	ACL    []ACL
	Flags  CreateMode
	TTL    int64
	HasTTL bool
}

func (c *CreateRequest) Encode(w *jute.Writer) {
	w.String(c.Path)
	w.Buffer(c.Data)
	encodeACLs(w, c.ACL)
	w.Int(int32(c.Flags))
	if c.HasTTL {
		w.Long(c.TTL)
	}
}

func (c *CreateRequest) Decode(r *jute.Reader) {
	c.Path = r.NonNullString()
	c.Data = r.Buffer()
	c.ACL = decodeACLs(r)
	c.Flags = CreateMode(r.Int())
	if c.HasTTL {
		c.TTL = r.Long()
	}
}

// SetDataRequest replaces a node's data.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

func (s *SetDataRequest) Encode(w *jute.Writer) { w.String(s.Path); w.Buffer(s.Data); w.Int(s.Version) }
func (s *SetDataRequest) Decode(r *jute.Reader) {
	s.Path = r.NonNullString()
	s.Data = r.Buffer()
	s.Version = r.Int()
}

// SetACLRequest replaces a node's ACL.
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (s *SetACLRequest) Encode(w *jute.Writer) {
	w.String(s.Path)
	encodeACLs(w, s.ACL)
	w.Int(s.Version)
}
func (s *SetACLRequest) Decode(r *jute.Reader) {
	s.Path = r.NonNullString()
	s.ACL = decodeACLs(r)
	s.Version = r.Int()
}

// WatchesRequest is checkWatches and removeWatches: a path and a WatcherType.
type WatchesRequest struct {
	Path string
	Type WatcherType
}

func (c *WatchesRequest) Encode(w *jute.Writer) { w.String(c.Path); w.Int(int32(c.Type)) }
func (c *WatchesRequest) Decode(r *jute.Reader) {
	c.Path = r.NonNullString()
	c.Type = WatcherType(r.Int())
}

// AddWatchRequest adds a persistent or persistent-recursive watch.
type AddWatchRequest struct {
	Path string
	Mode int32
}

func (a *AddWatchRequest) Encode(w *jute.Writer) { w.String(a.Path); w.Int(a.Mode) }
func (a *AddWatchRequest) Decode(r *jute.Reader) { a.Path = r.NonNullString(); a.Mode = r.Int() }

// SetWatches re-registers a client's watches after a reconnect. V2 (setWatches2)
// adds persistent and persistent-recursive watches.
type SetWatches struct {
	RelativeZxid      int64
	DataWatches       []string
	ExistWatches      []string
	ChildWatches      []string
	PersistentWatches []string
	RecursiveWatches  []string
	V2                bool
}

func (s *SetWatches) Encode(w *jute.Writer) {
	w.Long(s.RelativeZxid)
	w.Strings(s.DataWatches)
	w.Strings(s.ExistWatches)
	w.Strings(s.ChildWatches)
	if s.V2 {
		w.Strings(s.PersistentWatches)
		w.Strings(s.RecursiveWatches)
	}
}

func (s *SetWatches) Decode(r *jute.Reader) {
	s.RelativeZxid = r.Long()
	s.DataWatches = r.Strings()
	s.ExistWatches = r.Strings()
	s.ChildWatches = r.Strings()
	if s.V2 {
		s.PersistentWatches = r.Strings()
		s.RecursiveWatches = r.Strings()
	}
}

// WatcherEvent is a notification.
type WatcherEvent struct {
	Type  EventType
	State State
	Path  string
}

func (e *WatcherEvent) Encode(w *jute.Writer) {
	w.Int(int32(e.Type))
	w.Int(int32(e.State))
	w.String(e.Path)
}
func (e *WatcherEvent) Decode(r *jute.Reader) {
	e.Type = EventType(r.Int())
	e.State = State(r.Int())
	e.Path = r.String()
}

// PathResponse is createResponse and syncResponse.
type PathResponse struct{ Path string }

func (p *PathResponse) Encode(w *jute.Writer) { w.String(p.Path) }
func (p *PathResponse) Decode(r *jute.Reader) { p.Path = r.String() }

// Create2Response returns the created path and its Stat.
type Create2Response struct {
	Path string
	Stat Stat
}

func (c *Create2Response) Encode(w *jute.Writer) { w.String(c.Path); c.Stat.Encode(w) }
func (c *Create2Response) Decode(r *jute.Reader) { c.Path = r.String(); c.Stat.Decode(r) }

// StatResponse is exists, setData and setACL responses.
type StatResponse struct{ Stat Stat }

func (s *StatResponse) Encode(w *jute.Writer) { s.Stat.Encode(w) }
func (s *StatResponse) Decode(r *jute.Reader) { s.Stat.Decode(r) }

// GetDataResponse returns data and Stat.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (g *GetDataResponse) Encode(w *jute.Writer) { w.Buffer(g.Data); g.Stat.Encode(w) }
func (g *GetDataResponse) Decode(r *jute.Reader) { g.Data = r.Buffer(); g.Stat.Decode(r) }

// ChildrenResponse is getChildren (without Stat) and getChildren2 (WithStat).
type ChildrenResponse struct {
	Children []string
	Stat     Stat
	WithStat bool
}

func (c *ChildrenResponse) Encode(w *jute.Writer) {
	w.Strings(c.Children)
	if c.WithStat {
		c.Stat.Encode(w)
	}
}

func (c *ChildrenResponse) Decode(r *jute.Reader) {
	c.Children = r.Strings()
	if c.WithStat {
		c.Stat.Decode(r)
	}
}

// GetACLResponse returns a node's ACL and Stat.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (g *GetACLResponse) Encode(w *jute.Writer) { encodeACLs(w, g.ACL); g.Stat.Encode(w) }
func (g *GetACLResponse) Decode(r *jute.Reader) { g.ACL = decodeACLs(r); g.Stat.Decode(r) }

// IntResponse is getAllChildrenNumber's response (and ErrorResponse in multi).
type IntResponse struct{ Value int32 }

func (i *IntResponse) Encode(w *jute.Writer) { w.Int(i.Value) }
func (i *IntResponse) Decode(r *jute.Reader) { i.Value = r.Int() }

// StringsResponse is getEphemerals' and getChildren's list of names.
type StringsResponse struct{ Values []string }

func (s *StringsResponse) Encode(w *jute.Writer) { w.Strings(s.Values) }
func (s *StringsResponse) Decode(r *jute.Reader) { s.Values = r.Strings() }

// ClientInfo is one identity in a whoAmI response.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// WhoAmIResponse lists a connection's identities.
type WhoAmIResponse struct{ Infos []ClientInfo }

func (wr *WhoAmIResponse) Encode(w *jute.Writer) {
	w.Int(int32(len(wr.Infos)))
	for _, c := range wr.Infos {
		w.String(c.AuthScheme)
		w.String(c.User)
	}
}

func (wr *WhoAmIResponse) Decode(r *jute.Reader) {
	n := r.VectorLen(8)
	if n < 0 {
		wr.Infos = nil
		return
	}
	wr.Infos = make([]ClientInfo, n)
	for i := range wr.Infos {
		wr.Infos[i].AuthScheme = r.String()
		wr.Infos[i].User = r.String()
	}
}
