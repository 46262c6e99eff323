package diff

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// Opcodes and error codes used here, spelled out independently of gozk's
// proto package.
const (
	cfCreate          int32 = 1
	cfDelete          int32 = 2
	cfExists          int32 = 3
	cfSetData         int32 = 5
	cfGetChildren     int32 = 8
	cfCheck           int32 = 13
	cfMulti           int32 = 14
	cfCreate2         int32 = 15
	cfCreateContainer int32 = 19
	cfCreateTTL       int32 = 21
	cfError           int32 = -1
)

var cfOpNames = map[int32]string{
	cfCreate: "create", cfDelete: "delete", cfSetData: "setData", cfCheck: "check",
	cfCreate2: "create2", cfCreateContainer: "createContainer", cfCreateTTL: "createTTL", cfError: "error",
}

func cfOpName(op int32) string {
	if s, ok := cfOpNames[op]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", op)
}

var cfErrNames = map[int32]string{
	0: "OK", -2: "RUNTIMEINCONSISTENCY", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED",
	-8: "BADARGUMENTS", -101: "NONODE", -102: "NOAUTH", -108: "NOCHILDRENFOREPHEMERALS",
	-110: "NODEEXISTS", -111: "NOTEMPTY", -112: "SESSIONEXPIRED", -114: "INVALIDACL",
}

func cfErrName(e int32) string {
	if s, ok := cfErrNames[e]; ok {
		return s
	}
	return fmt.Sprintf("err(%d)", e)
}

// createFlagsConfig: no fsync (durability is not compared); the reaper runs
// every second, as zktest sets by default.
func createFlagsConfig(extended bool) map[string]string {
	return map[string]string{
		"extendedTypesEnabled":            fmt.Sprint(extended),
		"znode.container.checkIntervalMs": "1000",
		"forceSync":                       "no",
	}
}

// cfWrap is how a case's create is framed.
type cfWrap int

const (
	cfAlone       cfWrap = iota
	cfInMulti            // the create alone in a multi
	cfInMultiSet         // the create, then a setData of the case's parent, in a multi
	cfInMultiLast        // a setData of the case's parent, then the create
	cfAfterFailed        // a check of a missing node (NONODE), then the create
)

func (w cfWrap) String() string {
	return [...]string{"alone", "multi", "multi+setData", "setData+multi", "failing+multi"}[w]
}

type cfCase struct {
	op    int32
	flags int32
	ttl   int64 // on the wire only for createTTL
	wrap  cfWrap
}

func (c cfCase) String() string {
	s := fmt.Sprintf("%s,flags=%d", cfOpName(c.op), c.flags)
	if c.op == cfCreateTTL {
		s += fmt.Sprintf(",ttl=%d", c.ttl)
	}
	return s + "," + c.wrap.String()
}

// zkCrashes reports whether ZooKeeper 3.8 dies on the case (see
// TestCreateFlags): it is then not sent to ZooKeeper.
func (c cfCase) zkCrashes() bool {
	return c.op == cfCreateTTL && c.wrap == cfAlone && c.flags >= 0 && c.flags <= 4 && c.ttl < 0
}

// mayMakeTTL reports whether the case may create a TTL node, whose ttl (1000
// ms) bounds how long the case may take before its node is observed.
func (c cfCase) mayMakeTTL() bool { return c.flags == 5 || c.flags == 6 || c.op == cfCreateTTL }

func createFlagsCases() []cfCase {
	var cases []cfCase
	for _, op := range []int32{cfCreate, cfCreate2, cfCreateContainer, cfCreateTTL} {
		for _, flags := range []int32{0, 1, 2, 3, 4, 5, 6, 7, -1} {
			ttls := []int64{-1}
			if op == cfCreateTTL {
				ttls = []int64{-1, 0, 1000}
			}
			for _, ttl := range ttls {
				for _, w := range []cfWrap{cfAlone, cfInMulti, cfInMultiSet, cfInMultiLast, cfAfterFailed} {
					cases = append(cases, cfCase{op: op, flags: flags, ttl: ttl, wrap: w})
				}
			}
		}
	}
	return cases
}

// cfObs is what one server did with one case, rendered for comparison.
type cfObs struct {
	parent     string   // the case's parent node
	reply      string   // reply header error and body shape
	conn       string   // whether the connection survived the request
	parentStat string   // the parent's Stat after the case
	nodes      []string // children of the parent after the case, in order
	created    []string // their full paths
	fateA      []string // per created node: after a reaper pass
	fateB      []string // per created node: child create/delete, then after a reaper pass
	note       string
}

func (o *cfObs) render() []string {
	lines := []string{"reply: " + o.reply, "connection: " + o.conn}
	if o.parentStat != "" {
		lines = append(lines, "parent: "+o.parentStat)
	}
	if len(o.nodes) == 0 {
		lines = append(lines, "nodes: none")
	}
	for i, n := range o.nodes {
		lines = append(lines, "node "+n)
		if i < len(o.fateA) {
			lines = append(lines, "  after a reaper pass: "+o.fateA[i])
		}
		if i < len(o.fateB) {
			lines = append(lines, "  "+o.fateB[i])
		}
	}
	return lines
}

// cfSession is a raw client session.
type cfSession struct {
	addr string
	r    *zktest.Raw
	sid  int64
	xid  int32
}

func cfDial(addr string) (*cfSession, error) {
	s := &cfSession{addr: addr}
	return s, s.connect()
}

func (s *cfSession) connect() error {
	if s.r != nil {
		s.r.Close()
	}
	r, err := zktest.RawDial(s.addr)
	if err != nil {
		return err
	}
	cr, err := r.Handshake(30000, 0, nil, true)
	if err != nil {
		r.Close()
		return fmt.Errorf("handshake: %w", err)
	}
	if cr.SessionID == 0 {
		r.Close()
		return errors.New("handshake: no session")
	}
	s.r, s.sid = r, cr.SessionID
	return nil
}

func (s *cfSession) close() {
	if s.r != nil {
		s.r.Close()
	}
}

func (s *cfSession) call(op int32, body []byte) (zktest.ReplyHeader, []byte, error) {
	s.xid++
	return s.r.Request(s.xid, op, body)
}

// alive checks that the connection still answers a normal request; if not,
// it reconnects with a new session.
func (s *cfSession) alive() (string, error) {
	h, _, err := s.call(cfExists, cfPathWatch("/"))
	if err == nil && h.Err == 0 {
		return "open", nil
	}
	state := "closed"
	if err == nil {
		state = "answers exists(/) with " + cfErrName(h.Err)
	}
	return state, s.connect()
}

func cfPathWatch(path string) []byte {
	var e zktest.Enc
	e.String(path)
	e.Bool(false)
	return e.Bytes()
}

func cfCreateBody(path string, data []byte, flags int32, ttl *int64) []byte {
	var e zktest.Enc
	e.String(path)
	e.Buffer(data)
	e.Int(1) // one ACL: world:anyone, all permissions
	e.Int(31)
	e.String("world")
	e.String("anyone")
	e.Int(flags)
	if ttl != nil {
		e.Long(*ttl)
	}
	return e.Bytes()
}

// cfPathVersionBody is a DeleteRequest or a CheckVersionRequest (version -1).
func cfPathVersionBody(path string) []byte {
	var e zktest.Enc
	e.String(path)
	e.Int(-1)
	return e.Bytes()
}

func cfSetDataBody(path string, data []byte) []byte {
	var e zktest.Enc
	e.String(path)
	e.Buffer(data)
	e.Int(-1)
	return e.Bytes()
}

type cfSubOp struct {
	op   int32
	body []byte
}

func cfMultiBody(ops ...cfSubOp) []byte {
	var e zktest.Enc
	for _, o := range ops {
		e.Int(o.op)
		e.Bool(false)
		e.Int(-1)
		e.Raw(o.body)
	}
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
	return e.Bytes()
}

// cfStat is a decoded Stat.
type cfStat struct {
	czxid, mzxid, ctime, mtime  int64
	version, cversion, aversion int32
	owner                       int64
	dataLength, numChildren     int32
	pzxid                       int64
}

func cfDecodeStat(d *zktest.Dec) cfStat {
	var s cfStat
	s.czxid, s.mzxid, s.ctime, s.mtime = d.Long(), d.Long(), d.Long(), d.Long()
	s.version, s.cversion, s.aversion = d.Int(), d.Int(), d.Int()
	s.owner = d.Long()
	s.dataLength, s.numChildren = d.Int(), d.Int()
	s.pzxid = d.Long()
	return s
}

// cfStatLen is the encoded size of a Stat.
const cfStatLen = 68

// render shows the Stat without the fields that differ between any two
// servers: zxids are shown as relations, and so are the times of a node just
// created (withTimes; a later change may or may not fall in the same
// millisecond).
func (s cfStat) render(sid int64, withTimes bool) string {
	var owner string
	switch {
	case s.owner == 0:
		owner = "0"
	case s.owner == sid:
		owner = "session"
	case s.owner == math.MinInt64:
		owner = "container(0x8000000000000000)"
	case uint64(s.owner)>>56 == 0xff:
		owner = fmt.Sprintf("ttl(%d)", s.owner&0x000000ffffffffff)
	default:
		owner = fmt.Sprintf("other(%#x)", uint64(s.owner))
	}
	r := fmt.Sprintf("{owner=%s dataLength=%d numChildren=%d version=%d cversion=%d aversion=%d czxid=mzxid:%v pzxid>=mzxid:%v",
		owner, s.dataLength, s.numChildren, s.version, s.cversion, s.aversion, s.czxid == s.mzxid, s.pzxid >= s.mzxid)
	if withTimes {
		r += fmt.Sprintf(" ctime=mtime:%v ctime>0:%v", s.ctime == s.mtime, s.ctime > 0)
	}
	return r + "}"
}

// cfRelPath shows a created path relative to the case's parent, its sequence
// suffix set apart.
func cfRelPath(parent, p string) string {
	rel, ok := strings.CutPrefix(p, parent+"/")
	if !ok {
		return fmt.Sprintf("%q (not under the case's parent)", p)
	}
	if len(rel) > 10 {
		suffix := rel[len(rel)-10:]
		if strings.Trim(suffix, "0123456789") == "" {
			return fmt.Sprintf("%s+seq(%s)", rel[:len(rel)-10], suffix)
		}
	}
	return rel
}

// cfRenderReply renders a reply's error and the shape of its body.
func cfRenderReply(c cfCase, parent string, sid int64, h zktest.ReplyHeader, body []byte) string {
	var b strings.Builder
	b.WriteString(cfErrName(h.Err))
	if h.Err != 0 {
		if len(body) > 0 {
			fmt.Fprintf(&b, " with a %d-byte body", len(body))
		}
		return b.String()
	}
	d := zktest.Dec{B: body}
	if c.wrap == cfAlone {
		// Alone, the shape shows in the length: a path, or a path and a Stat.
		p := d.String()
		b.WriteString(" " + cfRenderCreateBody(&d, parent, sid, p, d.Len() >= cfStatLen))
	} else {
		b.WriteString(" [")
		for i := 0; ; i++ {
			typ, done, e := d.Int(), d.Bool(), d.Int()
			if d.Err != nil {
				b.WriteString("truncated")
				break
			}
			if done {
				if typ != -1 || e != -1 {
					fmt.Fprintf(&b, " end header {%d, done, %d}", typ, e)
				}
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s(header err %s)", cfOpName(typ), cfErrName(e))
			switch typ {
			case cfCreate, cfCreate2:
				p := d.String()
				b.WriteString(cfRenderCreateBody(&d, parent, sid, p, typ == cfCreate2))
			case cfSetData:
				st := cfDecodeStat(&d)
				fmt.Fprintf(&b, "{stat=%s}", st.render(sid, false))
			case cfDelete, cfCheck:
				b.WriteString("{}")
			case cfError:
				fmt.Fprintf(&b, "{err=%s}", cfErrName(d.Int()))
			default:
				fmt.Fprintf(&b, "{unknown type; %d bytes left}", d.Len())
				d.B = nil
			}
			if d.Err != nil {
				b.WriteString(" truncated")
				break
			}
		}
		b.WriteString("]")
	}
	if d.Err != nil {
		fmt.Fprintf(&b, " (decode: %v)", d.Err)
	}
	if d.Len() > 0 {
		fmt.Fprintf(&b, " +%d bytes", d.Len())
	}
	return b.String()
}

// cfRenderCreateBody renders the rest of a CreateResponse (path p read
// already) or of a Create2Response (withStat).
func cfRenderCreateBody(d *zktest.Dec, parent string, sid int64, p string, withStat bool) string {
	if d.Err != nil {
		return "{truncated}"
	}
	if withStat {
		st := cfDecodeStat(d)
		return fmt.Sprintf("{path=%s stat=%s}", cfRelPath(parent, p), st.render(sid, true))
	}
	return fmt.Sprintf("{path=%s}", cfRelPath(parent, p))
}

// cfTarget runs every case against one server.
type cfTarget struct {
	name     string
	zk       bool // Apache ZooKeeper: the cases that kill it are not sent
	addr     string
	extended bool
	s        *cfSession
	obs      []*cfObs
	err      error // a failure that stopped the run
}

// run performs the whole sequence: the cases, a reaper pass, a child created
// and deleted under every node still there, another reaper pass.
func (tg *cfTarget) run(cases []cfCase) {
	var err error
	if tg.s, err = cfDial(tg.addr); err != nil {
		tg.err = err
		return
	}
	defer tg.s.close()
	if err := tg.mustCreate("/cf", 0); err != nil {
		tg.err = err
		return
	}
	tg.obs = make([]*cfObs, len(cases))
	for i, c := range cases {
		if tg.zk && c.zkCrashes() {
			// The expected outcome: refused, the parent untouched (a zero
			// Stat renders as a fresh node's).
			tg.obs[i] = &cfObs{parent: "-", reply: "BADARGUMENTS", conn: "open", parentStat: cfStat{}.render(0, false),
				note: "not sent to ZooKeeper 3.8, which dies on it (see zookeeper-crash); gozk must refuse it"}
			continue
		}
		o, err := tg.runCase(i, c)
		if err != nil {
			tg.err = fmt.Errorf("case %v: %w", c, err)
			return
		}
		tg.obs[i] = o
	}
	// Phase A: a reaper pass (with extended types, one that comes after every
	// case's TTL, 1000 ms, has passed).
	if err := tg.awaitReaper("a", tg.extended); err != nil {
		tg.err = err
		return
	}
	for _, o := range tg.obs {
		for _, p := range o.created {
			ok, err := tg.exists(p)
			if err != nil {
				tg.err = err
				return
			}
			o.fateA = append(o.fateA, map[bool]string{true: "present", false: "gone"}[ok])
		}
	}
	// Phase B: a child created and deleted under every node still there,
	// then a reaper pass.
	for _, o := range tg.obs {
		for j, p := range o.created {
			if o.fateA[j] != "present" {
				o.fateB = append(o.fateB, "")
				continue
			}
			h, _, err := tg.s.call(cfCreate, cfCreateBody(p+"/c", nil, 0, nil))
			if err != nil {
				tg.err = err
				return
			}
			f := "child create " + cfErrName(h.Err)
			if h.Err == 0 {
				h, _, err = tg.s.call(cfDelete, cfPathVersionBody(p+"/c"))
				if err != nil {
					tg.err = err
					return
				}
				f += ", child delete " + cfErrName(h.Err)
			}
			o.fateB = append(o.fateB, f)
		}
	}
	if err := tg.awaitReaper("b", false); err != nil {
		tg.err = err
		return
	}
	for _, o := range tg.obs {
		for j, p := range o.created {
			if o.fateB[j] == "" {
				o.fateB[j] = "(gone before)"
				continue
			}
			ok, err := tg.exists(p)
			if err != nil {
				tg.err = err
				return
			}
			o.fateB[j] += "; after a reaper pass: " + map[bool]string{true: "present", false: "gone"}[ok]
		}
	}
}

// runCase sends one case on a fresh parent and observes the outcome. A case
// that may create a TTL node is repeated (on a new parent) if it took so long
// that the node could have expired before it was observed.
func (tg *cfTarget) runCase(i int, c cfCase) (*cfObs, error) {
	for attempt := 0; ; attempt++ {
		parent := fmt.Sprintf("/cf/c%d", i)
		if attempt > 0 {
			parent += fmt.Sprintf("r%d", attempt)
		}
		if err := tg.mustCreate(parent, 0); err != nil {
			return nil, err
		}
		start := time.Now()
		o, err := tg.tryCase(c, parent)
		if err != nil {
			return nil, err
		}
		if !c.mayMakeTTL() || time.Since(start) < 700*time.Millisecond || attempt == 5 {
			return o, nil
		}
	}
}

func (tg *cfTarget) tryCase(c cfCase, parent string) (*cfObs, error) {
	o := &cfObs{parent: parent}
	var ttl *int64
	if c.op == cfCreateTTL {
		ttl = &c.ttl
	}
	create := cfCreateBody(parent+"/n", []byte("d"), c.flags, ttl)
	op, body := c.op, create
	switch c.wrap {
	case cfInMulti:
		op, body = cfMulti, cfMultiBody(cfSubOp{c.op, create})
	case cfInMultiSet:
		op, body = cfMulti, cfMultiBody(cfSubOp{c.op, create}, cfSubOp{cfSetData, cfSetDataBody(parent, []byte("p"))})
	case cfInMultiLast:
		op, body = cfMulti, cfMultiBody(cfSubOp{cfSetData, cfSetDataBody(parent, []byte("p"))}, cfSubOp{c.op, create})
	case cfAfterFailed:
		op, body = cfMulti, cfMultiBody(cfSubOp{cfCheck, cfPathVersionBody(parent + "/missing")}, cfSubOp{c.op, create})
	}
	sid := tg.s.sid
	h, rb, err := tg.s.call(op, body)
	if err != nil {
		o.reply = "no reply (" + cfNetErr(err) + ")"
	} else {
		o.reply = cfRenderReply(c, parent, sid, h, rb)
	}
	if o.conn, err = tg.s.alive(); err != nil {
		return nil, fmt.Errorf("reconnect: %w", err)
	}
	// The parent, and every child of it, whatever the reply said.
	h, rb, err = tg.s.call(cfExists, cfPathWatch(parent))
	if err != nil || h.Err != 0 {
		return nil, fmt.Errorf("exists %s: %v %s", parent, err, cfErrName(h.Err))
	}
	pd := zktest.Dec{B: rb}
	o.parentStat = cfDecodeStat(&pd).render(sid, false)
	h, rb, err = tg.s.call(cfGetChildren, cfPathWatch(parent))
	if err != nil || h.Err != 0 {
		return nil, fmt.Errorf("getChildren %s: %v %s", parent, err, cfErrName(h.Err))
	}
	d := zktest.Dec{B: rb}
	n := d.Int()
	var names []string
	for j := int32(0); j < n && d.Err == nil; j++ {
		names = append(names, d.String())
	}
	if d.Err != nil {
		return nil, fmt.Errorf("getChildren %s: %v", parent, d.Err)
	}
	slices.Sort(names)
	for _, name := range names {
		p := parent + "/" + name
		h, rb, err := tg.s.call(cfExists, cfPathWatch(p))
		if err != nil {
			return nil, err
		}
		line := cfRelPath(parent, p) + ": "
		if h.Err != 0 {
			line += "exists " + cfErrName(h.Err)
		} else {
			d := zktest.Dec{B: rb}
			line += cfDecodeStat(&d).render(sid, true)
		}
		o.nodes = append(o.nodes, line)
		o.created = append(o.created, p)
	}
	return o, nil
}

func cfNetErr(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "EOF"):
		return "connection closed"
	case strings.Contains(s, "reset"):
		return "connection reset"
	case strings.Contains(s, "timeout"):
		return "timeout"
	}
	return s
}

func (tg *cfTarget) mustCreate(path string, flags int32) error {
	h, _, err := tg.s.call(cfCreate, cfCreateBody(path, nil, flags, nil))
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if h.Err != 0 {
		return fmt.Errorf("create %s: %s", path, cfErrName(h.Err))
	}
	return nil
}

func (tg *cfTarget) exists(path string) (bool, error) {
	h, _, err := tg.s.call(cfExists, cfPathWatch(path))
	if err != nil {
		return false, fmt.Errorf("exists %s: %w", path, err)
	}
	switch h.Err {
	case 0:
		return true, nil
	case -101:
		return false, nil
	}
	return false, fmt.Errorf("exists %s: %s", path, cfErrName(h.Err))
}

// awaitReaper returns once a reaper pass has removed everything that was
// eligible when it was called. It creates a control node the reaper removes
// (a TTL node with ttl 1000 when ttl is set, which becomes eligible after
// every TTL node created before it; otherwise a container whose child is
// deleted) and waits until it is gone, then does the same with a container
// created after that: ZooKeeper's ContainerManager (and gozk's reaper)
// collect candidates at the start of a pass and remove them in order, so once
// the second control is gone the pass that removed the first has completed.
func (tg *cfTarget) awaitReaper(tag string, ttl bool) error {
	for k := 0; k < 2; k++ {
		p := fmt.Sprintf("/cf/control-%s%d", tag, k)
		if k == 0 && ttl {
			v := int64(1000)
			h, _, err := tg.s.call(cfCreateTTL, cfCreateBody(p, nil, 5, &v))
			if err != nil || h.Err != 0 {
				return fmt.Errorf("create control %s: %v %s", p, err, cfErrName(h.Err))
			}
		} else {
			if h, _, err := tg.s.call(cfCreateContainer, cfCreateBody(p, nil, 4, nil)); err != nil || h.Err != 0 {
				return fmt.Errorf("create control %s: %v %s", p, err, cfErrName(h.Err))
			}
			if err := tg.mustCreate(p+"/c", 0); err != nil {
				return err
			}
			if h, _, err := tg.s.call(cfDelete, cfPathVersionBody(p+"/c")); err != nil || h.Err != 0 {
				return fmt.Errorf("delete %s/c: %v %s", p, err, cfErrName(h.Err))
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := tg.exists(p)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("control %s not removed by the reaper within 20s", p)
			}
			time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
		}
	}
	return nil
}

// TestCreateFlags compares, between Apache ZooKeeper 3.8 and gozk, what a
// create request does for every combination of opcode (create, create2,
// createContainer, createTTL), flags (the seven create modes and two invalid
// values), ttl (for createTTL, the only opcode that carries one) and framing
// (alone; alone inside a multi; in a multi followed by a setData of its
// parent, or after one; in a multi after an operation that fails), with
// extendedTypesEnabled on and off. The requests are written by hand with the
// raw client, since no client library sends most of these combinations.
//
// For each case it compares the reply (error code and the shape of the
// body: for a multi, each result's type, error and fields), whether the
// connection survives, the node created (path, with the sequence suffix
// shown separately; ephemeralOwner as 0, "session" or the raw value;
// dataLength, numChildren, versions), and what the server then does with the
// node: whether a reaper pass removes it before it ever had a child (a TTL
// node), whether it takes a child, and whether a reaper pass removes it once
// that child is deleted (a container). ZooKeeper reports 0 as the
// ephemeralOwner of containers and TTL nodes, so their type shows only in
// that behaviour.
//
// Reaper passes are awaited without fixed sleeps: after the cases, a control
// node that the reaper removes (a TTL node created last, or a container whose
// last child was deleted last) is polled until it is gone, and then a second
// control created after that, so that the pass that saw the case nodes has
// finished too (see awaitReaper).
//
// With -diff.against=zookeeper both servers are ZooKeeper, which checks that
// the test itself is deterministic.
//
// One combination is not compared: createTTL alone with a valid non-TTL mode
// (0-4) and a negative ttl. ZooKeeper 3.8 accepts it in PrepRequestProcessor
// and then throws in DataTree.processTxn (EphemeralType.TTL.toEphemeralOwner),
// which kills its SyncThread: the JVM exits (status 2), and since the txn is
// already in its log, it exits the same way on every restart. gozk answers
// BADARGUMENTS instead, and the test checks that; the subtest zookeeper-crash
// shows what ZooKeeper does.
func TestCreateFlags(t *testing.T) {
	t.Run("zookeeper-crash", func(t *testing.T) {
		t.Parallel()
		testCreateTTLCrash(t)
	})
	for _, extended := range []bool{true, false} {
		t.Run(fmt.Sprintf("extendedTypesEnabled=%v", extended), func(t *testing.T) {
			t.Parallel()
			testCreateFlags(t, extended)
		})
	}
}

func testCreateFlags(t *testing.T, extended bool) {
	cfg := createFlagsConfig(extended)
	zkSrv := zktest.StartZooKeeper(t, cfg)
	ref := &cfTarget{name: "zookeeper", zk: true, addr: zkSrv.Addr, extended: extended}
	var got *cfTarget
	if *flagOther == zktest.KindZooKeeper {
		got = &cfTarget{name: "zookeeper#2", zk: true, addr: zktest.StartZooKeeper(t, cfg).Addr, extended: extended}
	} else {
		got = &cfTarget{name: "gozk", addr: zktest.StartGozk(t, cfg).Addr, extended: extended}
	}
	cases := createFlagsCases()
	var wg sync.WaitGroup
	for _, tg := range []*cfTarget{ref, got} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg.run(cases)
		}()
	}
	wg.Wait()
	for _, tg := range []*cfTarget{ref, got} {
		if tg.err != nil {
			t.Fatalf("%s: %v", tg.name, tg.err)
		}
	}
	for i, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			want, have := ref.obs[i], got.obs[i]
			wl, hl := want.render(), have.render()
			if testing.Verbose() {
				note := ""
				if want.note != "" {
					note = " (" + want.note + ")"
				}
				t.Logf("%v, ZooKeeper 3.8%s:\n  %s", c, note, strings.Join(wl, "\n  "))
			}
			if d := cfDiff(wl, hl); d != "" {
				t.Errorf("%v: %s differs from ZooKeeper 3.8 (- zookeeper, + %s):\n%s", c, got.name, got.name, d)
			}
		})
	}
}

// cfDiff renders a line diff of two short line lists ("" when equal).
func cfDiff(want, have []string) string {
	if strings.Join(want, "\n") == strings.Join(have, "\n") {
		return ""
	}
	var b strings.Builder
	for i := 0; i < max(len(want), len(have)); i++ {
		var w, h string
		if i < len(want) {
			w = want[i]
		}
		if i < len(have) {
			h = have[i]
		}
		if w == h {
			fmt.Fprintf(&b, "    %s\n", w)
			continue
		}
		if i < len(want) {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
		if i < len(have) {
			fmt.Fprintf(&b, "  + %s\n", h)
		}
	}
	return b.String()
}

// testCreateTTLCrash documents the one combination not compared: createTTL
// with a non-TTL mode and ttl -1 makes ZooKeeper 3.8 exit (its SyncThread
// dies on an IllegalArgumentException from EphemeralType.TTL.toEphemeralOwner
// while applying the txn), with extendedTypesEnabled on or off. gozk answers
// BADARGUMENTS and keeps serving.
func testCreateTTLCrash(t *testing.T) {
	for _, tc := range []struct {
		extended bool
		flags    int32
	}{{true, 0}, {false, 4}} {
		t.Run(fmt.Sprintf("extendedTypesEnabled=%v,flags=%d", tc.extended, tc.flags), func(t *testing.T) {
			t.Parallel()
			cfg := createFlagsConfig(tc.extended)
			ttl := int64(-1)
			body := cfCreateBody("/x", []byte("d"), tc.flags, &ttl)

			gz := zktest.StartGozk(t, cfg)
			s, err := cfDial(gz.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			h, _, err := s.call(cfCreateTTL, body)
			if err != nil || h.Err != -8 {
				t.Errorf("gozk: createTTL flags=%d ttl=-1: got %v %s, want BADARGUMENTS", tc.flags, err, cfErrName(h.Err))
			}
			if state, err := s.alive(); err != nil || state != "open" {
				t.Errorf("gozk: after createTTL flags=%d ttl=-1 the connection is %s (%v)", tc.flags, state, err)
			}
			if ok, err := (&cfTarget{s: s}).exists("/x"); ok || err != nil {
				t.Errorf("gozk: after createTTL flags=%d ttl=-1: exists /x = %v, %v; want no node", tc.flags, ok, err)
			}

			zkSrv := zktest.StartZooKeeper(t, cfg)
			z, err := cfDial(zkSrv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer z.close()
			h, _, reqErr := z.call(cfCreateTTL, body)
			if reqErr == nil {
				t.Fatalf("ZooKeeper answered createTTL flags=%d ttl=-1 with %s: it no longer crashes; make gozk answer the same and compare this case in testCreateFlags",
					tc.flags, cfErrName(h.Err))
			}
			// The server shuts down: its JVM exits.
			deadline := time.Now().Add(15 * time.Second)
			for zkSrv.Running() {
				if time.Now().After(deadline) {
					t.Fatalf("ZooKeeper closed the connection on createTTL flags=%d ttl=-1 but did not exit", tc.flags)
				}
				time.Sleep(50 * time.Millisecond) // polling interval
			}
			t.Logf("ZooKeeper 3.8: createTTL flags=%d ttl=-1 (extendedTypesEnabled=%v): no reply (%s), then the server exits",
				tc.flags, tc.extended, cfNetErr(reqErr))
		})
	}
}
