package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gozk/gozk/internal/client"
	"github.com/gozk/gozk/internal/proto"
)

// command is one of zkCli's CliCommands.
type command struct {
	usage string
	opts  optSpec
	run   func(sh *shell, p *parsed) error
}

var commands map[string]*command

func init() {
	commands = map[string]*command{
		"addWatch": {"[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
			optSpec{"m": true}, (*shell).addWatch},
		"addauth":              {"scheme auth", optSpec{}, (*shell).addAuth},
		"close":                {"", nil, (*shell).closeCmd},
		"config":               {"[-c] [-w] [-s]", optSpec{"c": false, "w": false, "s": false}, (*shell).config},
		"create":               {"[-s] [-e] [-c] [-t ttl] path [data] [acl]", optSpec{"e": false, "s": false, "c": false, "t": true}, (*shell).create},
		"delete":               {"[-v version] path", optSpec{"v": true}, (*shell).deleteCmd},
		"deleteall":            {"path [-b batch size]", optSpec{"b": true}, (*shell).deleteAll},
		"get":                  {"[-s] [-w] path", optSpec{"s": false, "w": false}, (*shell).get},
		"getAcl":               {"[-s] path", optSpec{"s": false}, (*shell).getACL},
		"getAllChildrenNumber": {"path", optSpec{}, (*shell).getAllChildrenNumber},
		"getEphemerals":        {"path", optSpec{}, (*shell).getEphemerals},
		"ls":                   {"[-s] [-w] [-R] path", optSpec{"?": false, "s": false, "w": false, "R": false}, (*shell).ls},
		"removewatches":        {"path [-c|-d|-a] [-l]", optSpec{"c": false, "d": false, "a": false, "l": false}, (*shell).removeWatches},
		"set":                  {"[-s] [-v version] path data", optSpec{"s": false, "v": true}, (*shell).set},
		"setAcl":               {"[-s] [-v version] [-R] path acl", optSpec{"s": false, "v": true, "R": false}, (*shell).setACL},
		"stat":                 {"[-w] path", optSpec{"w": false}, (*shell).stat},
		"sync":                 {"path", optSpec{}, (*shell).sync},
		"version":              {"", optSpec{}, (*shell).version},
		"whoami":               {"", nil, (*shell).whoami},
	}
}

// usageError is a CliParseException carrying the command's usage.
func usageError(name string) error {
	return failf("%s %s", name, commands[name].usage)
}

// wrap turns a client error on path into zkCli's message.
func wrap(err error, path string) error {
	return &cliError{msg: errorMessage(err, path), code: exitError}
}

// parseVersion parses a -v value as Integer.parseInt does.
func parseVersion(p *parsed) (int32, error) {
	if !p.has("v") {
		return -1, nil
	}
	v, err := strconv.ParseInt(p.opts["v"], 10, 32)
	if err != nil {
		return 0, failf("For input string: %q", p.opts["v"])
	}
	return int32(v), nil
}

// retainCompatibility handles the deprecated "cmd path watch" form of get, ls
// and stat: a third argument means -w.
func (sh *shell) retainCompatibility(p *parsed, form, instead string) {
	if len(p.args) > 2 {
		fmt.Fprintf(sh.errw, "'%s' has been deprecated. Please use '%s' instead.\n", form, instead)
		p.opts["w"] = ""
		p.args = p.args[:2]
	}
}

func (sh *shell) create(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("create")
	}
	hasE, hasS, hasC, hasT := p.has("e"), p.has("s"), p.has("c"), p.has("t")
	if hasC && (hasE || hasS) {
		return failf("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if hasT {
		v, err := strconv.ParseInt(p.opts["t"], 10, 64)
		if err != nil {
			return failf("-t argument must be a long value")
		}
		ttl = v
	}
	if hasT && hasE {
		return failf("TTLs cannot be used with Ephemeral znodes")
	}
	if hasT && hasC {
		return failf("TTLs cannot be used with Container znodes")
	}
	var mode proto.CreateMode
	switch {
	case hasE && hasS:
		mode = proto.ModeEphemeralSequential
	case hasE:
		mode = proto.ModeEphemeral
	case hasS && hasT:
		mode = proto.ModePersistentSequentialWithTTL
	case hasS:
		mode = proto.ModePersistentSequential
	case hasC:
		mode = proto.ModeContainer
	case hasT:
		mode = proto.ModePersistentWithTTL
	default:
		mode = proto.ModePersistent
	}
	if hasT && (ttl <= 0 || ttl > int64(client.MaxTTL/time.Millisecond)) {
		return failf("ttl must be positive and cannot be larger than: %d", int64(client.MaxTTL/time.Millisecond))
	}
	path := p.args[1]
	var data []byte
	if len(p.args) > 2 {
		data = []byte(p.args[2])
	}
	acl := proto.OpenACLUnsafe
	if len(p.args) > 3 {
		acl = parseACL(p.args[3], sh.errw)
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	var created string
	var err error
	if hasT {
		created, _, err = sh.conn.CreateTTL(ctx, path, data, acl, mode, time.Duration(ttl)*time.Millisecond)
	} else {
		created, err = sh.conn.Create(ctx, path, data, acl, mode)
	}
	if err != nil {
		switch {
		case errors.Is(err, proto.ErrEphemeralOnLocalSession):
			fmt.Fprintln(sh.errw, "Unable to create ephemeral node on a local session")
		case errors.Is(err, client.ErrEmptyACL):
			fmt.Fprintln(sh.errw, keeperMessage(proto.ErrInvalidACL, ""))
		case errors.Is(err, proto.ErrInvalidACL):
			fmt.Fprintln(sh.errw, keeperMessage(proto.ErrInvalidACL, path))
		}
		return wrap(err, path)
	}
	fmt.Fprintln(sh.errw, "Created "+created)
	return nil
}

func (sh *shell) ls(p *parsed) error {
	if p.has("?") {
		sh.lsHelp()
	}
	sh.retainCompatibility(p, "ls path [watch]", "ls [-w] path")
	if len(p.args) < 2 {
		return usageError("ls")
	}
	path := p.args[1]
	watch := p.has("w")
	ctx, cancel := sh.ctx()
	defer cancel()
	if p.has("R") {
		return sh.visitSubTree(path, watch, func(child string) error {
			fmt.Fprintln(sh.out, child)
			return nil
		})
	}
	// zkCli always asks with getChildren2, with -s or not.
	children, stat, err := sh.conn.Children2(ctx, path, watch)
	if err != nil {
		return wrap(err, path)
	}
	var b strings.Builder
	b.WriteString(formatChildren(children) + "\n")
	if p.has("s") {
		printStat(&b, stat, sh.loc)
	}
	io.WriteString(sh.out, b.String())
	return nil
}

// lsHelp is commons-cli's HelpFormatter output for "ls -?".
func (sh *shell) lsHelp() {
	io.WriteString(sh.out, "usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n")
}

// visitSubTree is ZKUtil.visitSubTreeDFS: it reports path, then each level of
// children in sorted order before descending into them.
func (sh *shell) visitSubTree(path string, watch bool, fn func(string) error) error {
	if err := client.ValidatePath(path); err != nil {
		return wrap(err, path)
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	if _, _, err := sh.conn.GetData(ctx, path, watch); err != nil {
		return wrap(err, path)
	}
	if err := fn(path); err != nil {
		return err
	}
	var visit func(p string) error
	visit = func(p string) error {
		ctx, cancel := sh.ctx()
		children, _, err := sh.conn.Children2(ctx, p, watch)
		cancel()
		if errors.Is(err, proto.ErrNoNode) {
			return nil
		}
		if err != nil {
			return wrap(err, p)
		}
		sort.Strings(children)
		prefix := p + "/"
		if p == "/" {
			prefix = "/"
		}
		for _, c := range children {
			if err := fn(prefix + c); err != nil {
				return err
			}
		}
		for _, c := range children {
			if err := visit(prefix + c); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(path)
}

func (sh *shell) get(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("get")
	}
	sh.retainCompatibility(p, "get path [watch]", "get [-s] [-w] path")
	path := p.args[1]
	ctx, cancel := sh.ctx()
	defer cancel()
	data, stat, err := sh.conn.GetData(ctx, path, p.has("w"))
	if err != nil {
		return wrap(err, path)
	}
	var b strings.Builder
	b.WriteString(javaData(data) + "\n")
	if p.has("s") {
		printStat(&b, stat, sh.loc)
	}
	io.WriteString(sh.out, b.String())
	return nil
}

func (sh *shell) set(p *parsed) error {
	if len(p.args) < 3 {
		return usageError("set")
	}
	path := p.args[1]
	version, err := parseVersion(p)
	if err != nil {
		return err
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	stat, err := sh.conn.SetData(ctx, path, []byte(p.args[2]), version)
	if err != nil {
		return wrap(err, path)
	}
	if p.has("s") {
		sh.printStat(stat)
	}
	return nil
}

func (sh *shell) stat(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("stat")
	}
	sh.retainCompatibility(p, "stat path [watch]", "stat [-w] path")
	path := p.args[1]
	ctx, cancel := sh.ctx()
	defer cancel()
	stat, ok, err := sh.conn.Exists(ctx, path, p.has("w"))
	if err != nil {
		return wrap(err, path)
	}
	if !ok {
		return wrap(proto.ErrNoNode, path)
	}
	sh.printStat(stat)
	return nil
}

func (sh *shell) deleteCmd(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("delete")
	}
	if len(p.args) > 2 {
		// "delete path version" is deprecated and its version ignored, as
		// zkCli does.
		fmt.Fprintln(sh.errw, "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
	}
	path := p.args[1]
	version, err := parseVersion(p)
	if err != nil {
		return err
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	if err := sh.conn.Delete(ctx, path, version); err != nil {
		return wrap(err, path)
	}
	return nil
}

func (sh *shell) deleteAll(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("deleteall")
	}
	batch := 1000
	if p.has("b") {
		v, err := strconv.ParseInt(p.opts["b"], 10, 32)
		if err != nil {
			return failf("-b argument must be an int value")
		}
		batch = int(v)
	}
	path := p.args[1]
	if err := client.ValidatePath(path); err != nil {
		return wrap(err, path)
	}
	// ZKUtil.deleteRecursive: list the tree breadth first, then delete it
	// from the leaves up in multis of batch deletes.
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		ctx, cancel := sh.ctx()
		children, err := sh.conn.Children(ctx, tree[i], false)
		cancel()
		if err != nil {
			return wrap(err, tree[i])
		}
		prefix := tree[i] + "/"
		if tree[i] == "/" {
			prefix = "/"
		}
		for _, c := range children {
			tree = append(tree, prefix+c)
		}
	}
	ok := true
	var ops []proto.MultiOp
	for i := len(tree) - 1; i >= 0; i-- {
		ops = append(ops, client.DeleteOp(tree[i], -1))
		if len(ops) == batch || i == 0 {
			ctx, cancel := sh.ctx()
			_, err := sh.conn.Multi(ctx, ops...)
			cancel()
			ops = nil
			if err != nil {
				ok = false
				break
			}
		}
	}
	if !ok {
		return failf("Failed to delete some node(s) in the subtree!")
	}
	return nil
}

// configNode is where ZooKeeper keeps the dynamic configuration.
const configNode = "/zookeeper/config"

// printStat writes a Stat as zkCli prints it.
func (sh *shell) printStat(stat proto.Stat) {
	var b strings.Builder
	printStat(&b, stat, sh.loc)
	io.WriteString(sh.out, b.String())
}
