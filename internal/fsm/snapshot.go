package fsm

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"

	"github.com/gozk/gozk/internal/jute"
	"github.com/gozk/gozk/internal/proto"
	"github.com/gozk/gozk/internal/tree"
)

// Snapshot format (all integers big-endian, Jute encoding):
//
//	magic    "GOZKSNAP"
//	version  int (1)
//	header   extended bool, epoch long, counter long, zxid long
//	sessions int count, then per session: id long, timeout int, passwd buffer,
//	         last connection long, last write sequence long
//	nodes    long count, then per node: path string, data buffer, acl vector,
//	         czxid, mzxid, pzxid, ctime, mtime long, version, cversion, aversion
//	         int, ephemeralOwner long
//	trailer  CRC-32C (Castagnoli) of every byte before it, 4 bytes
//
// Nodes come in no particular order; Read links them by path.

var snapMagic = []byte("GOZKSNAP")

const snapVersion = 1

// ErrBadSnapshot is returned for a snapshot that is truncated, corrupt or of an
// unknown version.
var ErrBadSnapshot = errors.New("fsm: bad snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot is a consistent point-in-time image of the state machine, written
// while Apply goes on.
type Snapshot struct {
	extended             bool
	epoch, counter, zxid int64
	sessions             []Session
	view                 *tree.View
}

// BeginSnapshot captures the state. The caller must hold its state lock (no
// Apply running) for the duration of the call only, then write the snapshot
// and Close it.
func (f *FSM) BeginSnapshot() *Snapshot {
	s := &Snapshot{extended: f.tree.Extended(), epoch: f.epoch, counter: f.counter, zxid: f.zxid}
	s.sessions = make([]Session, 0, len(f.sessions))
	for _, ss := range f.sessions {
		s.sessions = append(s.sessions, *ss)
	}
	s.view = f.tree.BeginSnapshot()
	return s
}

// Zxid returns the zxid of the last entry in the snapshot.
func (s *Snapshot) Zxid() int64 { return s.zxid }

// Nodes returns the number of nodes in the snapshot.
func (s *Snapshot) Nodes() int { return s.view.Len() }

// Close releases the snapshot (ending copy-on-write in the tree).
func (s *Snapshot) Close() { s.view.Close() }

// WriteTo writes the snapshot to w.
func (s *Snapshot) WriteTo(out io.Writer) (int64, error) {
	crc := crc32.New(castagnoli)
	cw := &countWriter{w: io.MultiWriter(out, crc)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	w := jute.NewWriter(make([]byte, 0, 4096))
	flush := func() error {
		_, err := bw.Write(w.Bytes())
		w.Reset()
		return err
	}
	bw.Write(snapMagic)
	w.Int(snapVersion)
	w.Bool(s.extended)
	w.Long(s.epoch)
	w.Long(s.counter)
	w.Long(s.zxid)
	w.Int(int32(len(s.sessions)))
	for _, ss := range s.sessions {
		w.Long(ss.ID)
		w.Int(ss.Timeout)
		w.Buffer(ss.Passwd)
		w.Long(int64(ss.LastConn))
		w.Long(int64(ss.LastSeq))
	}
	w.Long(int64(s.view.Len()))
	if err := flush(); err != nil {
		return cw.n, err
	}
	err := s.view.Each(func(path string, n *tree.Node) error {
		w.String(path)
		w.Buffer(n.Data)
		w.Int(int32(len(n.ACL)))
		for i := range n.ACL {
			n.ACL[i].Encode(w)
		}
		w.Long(n.Czxid)
		w.Long(n.Mzxid)
		w.Long(n.Pzxid)
		w.Long(n.Ctime)
		w.Long(n.Mtime)
		w.Int(n.Version)
		w.Int(n.Cversion)
		w.Int(n.Aversion)
		w.Long(n.EphemeralOwner)
		if w.Len() >= 64<<10 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return cw.n, fmt.Errorf("fsm: writing snapshot: %w", err)
	}
	var sum [4]byte
	v := crc.Sum32()
	sum[0], sum[1], sum[2], sum[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	n, err := out.Write(sum[:])
	return cw.n + int64(n), err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadSnapshot rebuilds a state machine from a snapshot produced by WriteTo.
func ReadSnapshot(r io.Reader) (*FSM, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("fsm: reading snapshot: %w", err)
	}
	return DecodeSnapshot(b)
}

// DecodeSnapshot rebuilds a state machine from snapshot bytes, verifying the
// checksum first.
func DecodeSnapshot(b []byte) (*FSM, error) {
	if len(b) < len(snapMagic)+4 || string(b[:len(snapMagic)]) != string(snapMagic) {
		return nil, fmt.Errorf("%w: no snapshot header", ErrBadSnapshot)
	}
	body, sum := b[:len(b)-4], b[len(b)-4:]
	want := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (have %08x, computed %08x)", ErrBadSnapshot, want, got)
	}
	r := jute.NewReader(body[len(snapMagic):])
	if v := r.Int(); v != snapVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadSnapshot, v)
	}
	extended := r.Bool()
	f := &FSM{sessions: make(map[int64]*Session)}
	f.epoch, f.counter, f.zxid = r.Long(), r.Long(), r.Long()
	ns := r.VectorLen(32)
	for i := 0; i < ns && r.Err() == nil; i++ {
		s := &Session{ID: r.Long(), Timeout: r.Int(), Passwd: r.Buffer(), LastConn: uint64(r.Long()), LastSeq: uint64(r.Long())}
		f.sessions[s.ID] = s
	}
	count := r.Long()
	if count < 0 || count > int64(r.Len()) {
		return nil, fmt.Errorf("%w: node count %d", ErrBadSnapshot, count)
	}
	bld := tree.NewBuilder(extended)
	for i := int64(0); i < count && r.Err() == nil; i++ {
		path := r.String()
		n := &tree.Node{Data: r.Buffer()}
		na := r.VectorLen(12)
		if na > 0 {
			n.ACL = make([]proto.ACL, na)
			for j := range n.ACL {
				n.ACL[j].Decode(r)
			}
		}
		n.Czxid, n.Mzxid, n.Pzxid, n.Ctime, n.Mtime = r.Long(), r.Long(), r.Long(), r.Long(), r.Long()
		n.Version, n.Cversion, n.Aversion = r.Int(), r.Int(), r.Int()
		n.EphemeralOwner = r.Long()
		if r.Err() == nil {
			if !wellFormedPath(path) {
				return nil, fmt.Errorf("%w: malformed node path %q", ErrBadSnapshot, path)
			}
			if err := bld.Put(path, n); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, r.Len())
	}
	t, err := bld.Finish()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	f.tree = t
	f.rebuildQuotas()
	return f, nil
}

// wellFormedPath reports whether path can be a node of a tree: "/", or "/"
// followed by non-empty names separated by single slashes. The tree links a
// node to the parent tree.Parent names and walks from a parent to
// tree.Join(parent, name); for any other path the two disagree. A snapshot
// holding a node "", found by FuzzDecodeSnapshot, used to decode into a tree
// where "/" was its own child "", so that the first walk of the tree (Digest,
// the hash four-letter word, a quota rebuild) recursed until the stack
// overflowed: a fatal error that no recover catches. A node "a" made "/" list a
// child "a" whose path "/a" held no node, and a walk dereferenced nil. Every
// path Apply creates passes tree.ValidatePath, which is stricter; this checks
// only the structure the tree relies on, so that no snapshot an older version
// wrote is refused for its characters.
func wellFormedPath(path string) bool {
	if path == "/" {
		return true
	}
	if path == "" || path[0] != '/' || path[len(path)-1] == '/' {
		return false
	}
	return !strings.Contains(path, "//")
}
