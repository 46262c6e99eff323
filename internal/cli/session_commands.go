package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gozk/gozk/internal/client"
	"github.com/gozk/gozk/internal/proto"
)

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
