package fsm

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/gozk/gozk/internal/proto"
)

// TestRules runs the data-driven rule files in testdata/rules: each stanza is
// one entry (or read) and the state machine's answer: error, zxid, response,
// and the tree changes that fire watches. A new rule of ZooKeeper's data
// model is one more stanza. Regenerate after a deliberate change with
//
//	go test ./internal/fsm -run TestRules -rewrite
//
// and read the diff as you would a change of behaviour.
//
// Commands (arguments key=value):
//
//	session id=N [timeout=ms]          createSession
//	close id=N                         closeSession
//	create [s=N] path=P [data=D] [mode=M] [op=O] [ttl=T] [acl=scheme:id:perms]
//	delete [s=N] path=P [version=V]
//	set [s=N] path=P data=D [version=V]
//	check [s=N] path=P version=V
//	setacl [s=N] path=P acl=A [version=V]
//	multi [s=N]                        each input line is one of create/delete/set/check
//	reap path=P [time=ms]              deleteContainer (the container/TTL sweeper)
//	time ms=N                          the clock of the next entries
//	stat path=P / ls path=P / get path=P
//
// M is one of persistent ephemeral persistent_sequential ephemeral_sequential
// container ttl ttl_sequential, or a number (raw flags); O is create create2
// createContainer createTTL (default create2).
func TestRules(t *testing.T) {
	datadriven.Walk(t, "testdata/rules", func(t *testing.T, path string) {
		h := newHarness(t, true)
		h.apply(&Entry{Op: proto.OpCloseSession, Session: sess}) // start without the harness's session
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			h.t = t
			return runRule(h, d)
		})
	})
}

var modes = map[string]proto.CreateMode{
	"persistent": proto.ModePersistent, "ephemeral": proto.ModeEphemeral,
	"persistent_sequential": proto.ModePersistentSequential, "ephemeral_sequential": proto.ModeEphemeralSequential,
	"container": proto.ModeContainer, "ttl": proto.ModePersistentWithTTL, "ttl_sequential": proto.ModePersistentSequentialWithTTL,
}

var createOps = map[string]proto.OpCode{
	"create": proto.OpCreate, "create2": proto.OpCreate2, "createContainer": proto.OpCreateContainer, "createTTL": proto.OpCreateTTL,
}

var eventNames = map[proto.EventType]string{
	proto.EventNodeCreated: "NodeCreated", proto.EventNodeDeleted: "NodeDeleted",
	proto.EventNodeDataChanged: "NodeDataChanged", proto.EventNodeChildrenChanged: "NodeChildrenChanged",
}

// args are a stanza's arguments by key.
type args map[string]string

func parseArgs(d *datadriven.TestData) args {
	a := args{}
	for _, ca := range d.CmdArgs {
		a[ca.Key] = strings.Join(ca.Vals, ",")
	}
	return a
}

func parseLine(line string) (string, args) {
	f := strings.Fields(line)
	a := args{}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		a[k] = v
	}
	return f[0], a
}

func (a args) int(t *testing.T, k string, def int64) int64 {
	v, ok := a[k]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", k, v, err)
	}
	return n
}

func (a args) acl(t *testing.T) []proto.ACL {
	v, ok := a["acl"]
	if !ok {
		return proto.OpenACLUnsafe
	}
	var out []proto.ACL
	for _, one := range strings.Split(v, ",") {
		i, j := strings.IndexByte(one, ':'), strings.LastIndexByte(one, ':')
		if i < 0 || i == j {
			t.Fatalf("acl %q: want scheme:id:perms", one)
		}
		var perms int32
		for _, c := range one[j+1:] {
			perms |= map[rune]int32{'r': proto.PermRead, 'w': proto.PermWrite, 'c': proto.PermCreate, 'd': proto.PermDelete, 'a': proto.PermAdmin}[c]
		}
		out = append(out, proto.ACL{Perms: perms, ID: proto.ID{Scheme: one[:i], ID: one[i+1 : j]}})
	}
	return out
}

// request builds the record of a write command.
func request(t *testing.T, cmd string, a args) (proto.OpCode, proto.Record) {
	switch cmd {
	case "create":
		op := proto.OpCreate2
		if o, ok := a["op"]; ok {
			if op, ok = createOps[o]; !ok {
				t.Fatalf("unknown op %q", o)
			}
		}
		mode := proto.ModePersistent
		if m, ok := a["mode"]; ok {
			if mode, ok = modes[m]; !ok {
				mode = proto.CreateMode(a.int(t, "mode", 0))
			}
		}
		r := &proto.CreateRequest{Path: a["path"], Data: []byte(a["data"]), ACL: a.acl(t), Flags: mode}
		if op == proto.OpCreateTTL {
			r.HasTTL, r.TTL = true, a.int(t, "ttl", -1)
		}
		return op, r
	case "delete":
		return proto.OpDelete, &proto.PathVersionRequest{Path: a["path"], Version: int32(a.int(t, "version", -1))}
	case "check":
		return proto.OpCheck, &proto.PathVersionRequest{Path: a["path"], Version: int32(a.int(t, "version", -1))}
	case "set":
		return proto.OpSetData, &proto.SetDataRequest{Path: a["path"], Data: []byte(a["data"]), Version: int32(a.int(t, "version", -1))}
	case "setacl":
		return proto.OpSetACL, &proto.SetACLRequest{Path: a["path"], ACL: a.acl(t), Version: int32(a.int(t, "version", -1))}
	}
	t.Fatalf("unknown command %q", cmd)
	return 0, nil
}

func runRule(h *harness, d *datadriven.TestData) string {
	t := h.t
	a := parseArgs(d)
	s := a.int(t, "s", 1)
	switch d.Cmd {
	case "time":
		h.now = a.int(t, "ms", 0)
		return "ok\n"
	case "session":
		return result(h.apply(&Entry{Op: proto.OpCreateSession, Session: a.int(t, "id", 1), Timeout: int32(a.int(t, "timeout", 10000)), Passwd: []byte("pw")}))
	case "close":
		return result(h.apply(&Entry{Op: proto.OpCloseSession, Session: a.int(t, "id", 1)}))
	case "reap":
		return result(h.apply(&Entry{Op: proto.OpDeleteContainer, Time: a.int(t, "time", 0), Req: &proto.PathRequest{Path: a["path"]}}))
	case "multi":
		m := &proto.MultiRequest{}
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			cmd, la := parseLine(line)
			op, rec := request(t, cmd, la)
			m.Ops = append(m.Ops, proto.MultiOp{Type: op, Req: rec})
		}
		return result(h.apply(&Entry{Op: proto.OpMulti, Session: s, Req: m}))
	case "stat":
		r, e := h.f.Exists(a["path"], nil, false)
		if e != proto.ErrOK {
			return e.Error() + "\n"
		}
		return statLine(r.Stat) + "\n"
	case "get":
		r, e := h.f.GetData(a["path"], nil)
		if e != proto.ErrOK {
			return e.Error() + "\n"
		}
		return fmt.Sprintf("%q %s\n", r.Data, statLine(r.Stat))
	case "ls":
		r, e := h.f.Children(a["path"], nil, false)
		if e != proto.ErrOK {
			return e.Error() + "\n"
		}
		return strings.Join(r.Children, " ") + "\n"
	}
	op, rec := request(t, d.Cmd, a)
	return result(h.apply(&Entry{Op: op, Session: s, Req: rec}))
}

func statLine(st proto.Stat) string {
	return fmt.Sprintf("czxid=%#x mzxid=%#x pzxid=%#x version=%d cversion=%d aversion=%d owner=%#x len=%d children=%d",
		st.Czxid, st.Mzxid, st.Pzxid, st.Version, st.Cversion, st.Aversion, st.EphemeralOwner, st.DataLength, st.NumChildren)
}

// result renders an entry's outcome: error and zxid, the response, the
// changes that fire watches, and the sessions it closed.
func result(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s zxid=%#x\n", r.Err, r.Zxid)
	switch resp := r.Resp.(type) {
	case *proto.PathResponse:
		fmt.Fprintf(&b, "path %s\n", resp.Path)
	case *proto.Create2Response:
		fmt.Fprintf(&b, "path %s %s\n", resp.Path, statLine(resp.Stat))
	case *proto.StatResponse:
		fmt.Fprintf(&b, "stat %s\n", statLine(resp.Stat))
	case *proto.MultiResponse:
		for _, mr := range resp.Results {
			fmt.Fprintf(&b, "- %s", mr.Type)
			if mr.Type == proto.OpError {
				fmt.Fprintf(&b, " %s", mr.Err)
			}
			if mr.Path != "" {
				fmt.Fprintf(&b, " %s", mr.Path)
			}
			if mr.Type == proto.OpCreate2 || mr.Type == proto.OpSetData || mr.Type == proto.OpSetACL {
				fmt.Fprintf(&b, " %s", statLine(mr.Stat))
			}
			b.WriteString("\n")
		}
	}
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "change %s %s\n", eventNames[c.Type], c.Path)
	}
	if len(r.Closed) > 0 {
		fmt.Fprintf(&b, "closed %v\n", r.Closed)
	}
	return b.String()
}
