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

func (sh *shell) getACL(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("getAcl")
	}
	path := p.args[1]
	ctx, cancel := sh.ctx()
	defer cancel()
	acl, stat, err := sh.conn.GetACL(ctx, path)
	if err != nil {
		return wrap(err, path)
	}
	var b strings.Builder
	for _, a := range acl {
		b.WriteString(formatACL(a) + "\n")
	}
	if p.has("s") {
		printStat(&b, stat, sh.loc)
	}
	io.WriteString(sh.out, b.String())
	return nil
}

func (sh *shell) setACL(p *parsed) error {
	if len(p.args) < 3 {
		return usageError("setAcl")
	}
	path := p.args[1]
	acl := parseACL(p.args[2], sh.errw)
	version, err := parseVersion(p)
	if err != nil {
		return err
	}
	if p.has("R") {
		return sh.visitSubTree(path, false, func(node string) error {
			ctx, cancel := sh.ctx()
			defer cancel()
			if _, err := sh.conn.SetACL(ctx, node, acl, version); err != nil {
				// zkCli prints the exception's message without a newline.
				var code proto.Err
				if errors.As(err, &code) {
					io.WriteString(sh.out, keeperMessage(code, node))
				} else {
					io.WriteString(sh.out, errorMessage(err, node))
				}
			}
			return nil
		})
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	stat, err := sh.conn.SetACL(ctx, path, acl, version)
	if err != nil {
		return wrap(err, path)
	}
	if p.has("s") {
		sh.printStat(stat)
	}
	return nil
}

func (sh *shell) addAuth(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("addauth")
	}
	var auth []byte
	if len(p.args) >= 3 {
		auth = []byte(p.args[2])
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	err := sh.conn.AddAuth(ctx, p.args[1], auth)
	if err != nil && !errors.Is(err, proto.ErrAuthFailed) {
		// An AuthFailed is reported by its watch event, as in zkCli.
		var code proto.Err
		if errors.As(err, &code) {
			return failf("%s", keeperMessage(code, ""))
		}
		return failf("%s", err)
	}
	return nil
}

func (sh *shell) sync(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("sync")
	}
	path := p.args[1]
	if err := client.ValidatePath(path); err != nil {
		return wrap(err, path)
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	_, err := sh.conn.Sync(ctx, path)
	var code proto.Err
	switch {
	case err == nil:
		fmt.Fprintln(sh.out, "Sync is OK")
	case errors.As(err, &code):
		fmt.Fprintf(sh.out, "Sync has failed. rc=%d\n", int32(code))
	default:
		return failf("%s", err)
	}
	return nil
}

func (sh *shell) getEphemerals(p *parsed) error {
	prefix := "/"
	if len(p.args) >= 2 {
		prefix = p.args[1]
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	eph, err := sh.conn.GetEphemerals(ctx, prefix)
	if err != nil {
		return wrap(err, "")
	}
	fmt.Fprintln(sh.out, formatList(eph))
	return nil
}

func (sh *shell) getAllChildrenNumber(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("getAllChildrenNumber")
	}
	path := p.args[1]
	ctx, cancel := sh.ctx()
	defer cancel()
	n, err := sh.conn.GetAllChildrenNumber(ctx, path)
	if err != nil {
		return wrap(err, path)
	}
	fmt.Fprintln(sh.out, n)
	return nil
}

func (sh *shell) addWatch(p *parsed) error {
	if len(p.args) != 2 {
		return usageError("addWatch")
	}
	mode := proto.AddWatchPersistentRecursive
	if p.has("m") {
		switch strings.ToUpper(p.opts["m"]) {
		case "PERSISTENT":
			mode = proto.AddWatchPersistent
		case "PERSISTENT_RECURSIVE":
		default:
			return usageError("addWatch")
		}
	}
	path := p.args[1]
	ctx, cancel := sh.ctx()
	defer cancel()
	if err := sh.conn.AddWatch(ctx, path, mode, nil); err != nil {
		return wrap(err, path)
	}
	return nil
}

func (sh *shell) removeWatches(p *parsed) error {
	if len(p.args) < 2 {
		return usageError("removewatches")
	}
	path := p.args[1]
	t := proto.WatcherAny
	switch {
	case p.has("c"):
		t = proto.WatcherChildren
	case p.has("d"):
		t = proto.WatcherData
	}
	ctx, cancel := sh.ctx()
	defer cancel()
	if err := sh.conn.RemoveWatches(ctx, path, t, p.has("l")); err != nil {
		return wrap(err, path)
	}
	return nil
}

func (sh *shell) whoami(p *parsed) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	infos, err := sh.conn.WhoAmI(ctx)
	if err != nil {
		return wrap(err, "")
	}
	var b strings.Builder
	b.WriteString("Auth scheme: User\n")
	for _, i := range infos {
		b.WriteString(i.AuthScheme + ": " + i.User + "\n")
	}
	io.WriteString(sh.out, b.String())
	return nil
}

func (sh *shell) closeCmd(p *parsed) error {
	sh.closeConn(false)
	return nil
}

// configNode is where ZooKeeper keeps the dynamic configuration.
const configNode = "/zookeeper/config"

func (sh *shell) config(p *parsed) error {
	ctx, cancel := sh.ctx()
	defer cancel()
	data, stat, err := sh.conn.GetData(ctx, configNode, p.has("w"))
	if err != nil {
		if errors.Is(err, proto.ErrNoNode) || errors.Is(err, proto.ErrUnimplemented) {
			return failf("config is not supported by this server")
		}
		return wrap(err, configNode)
	}
	var b strings.Builder
	if p.has("c") {
		b.WriteString(clientConfigString(javaData(data)) + "\n")
	} else {
		b.WriteString(javaData(data) + "\n")
	}
	if p.has("s") {
		printStat(&b, stat, sh.loc)
	}
	io.WriteString(sh.out, b.String())
	return nil
}

func (sh *shell) version(p *parsed) error {
	if len(p.args) > 1 {
		return usageError("version")
	}
	fmt.Fprintln(sh.out, "ZooKeeper CLI version: gozk")
	return nil
}

// printStat writes a Stat as zkCli prints it.
func (sh *shell) printStat(stat proto.Stat) {
	var b strings.Builder
	printStat(&b, stat, sh.loc)
	io.WriteString(sh.out, b.String())
}
