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

// javaDate formats milliseconds since the epoch as java.util.Date.toString()
// does in the local time zone: "Wed Nov 25 16:25:48 UTC 2026".
func javaDate(ms int64, loc *time.Location) string {
	t := time.UnixMilli(ms).In(loc)
	zone, off := t.Zone()
	if zone == "" || zone[0] == '+' || zone[0] == '-' {
		// Java names zones without an abbreviation GMT+hh:mm.
		sign := '+'
		if off < 0 {
			sign, off = '-', -off
		}
		zone = fmt.Sprintf("GMT%c%02d:%02d", sign, off/3600, off%3600/60)
		if off == 0 {
			zone = "GMT"
		}
	}
	return t.Format("Mon Jan 02 15:04:05 ") + zone + " " + strconv.Itoa(t.Year())
}

// printStat prints a Stat as StatPrinter does.
func printStat(w io.Writer, s proto.Stat, loc *time.Location) {
	fmt.Fprintf(w, "cZxid = 0x%x\n", uint64(s.Czxid))
	fmt.Fprintf(w, "ctime = %s\n", javaDate(s.Ctime, loc))
	fmt.Fprintf(w, "mZxid = 0x%x\n", uint64(s.Mzxid))
	fmt.Fprintf(w, "mtime = %s\n", javaDate(s.Mtime, loc))
	fmt.Fprintf(w, "pZxid = 0x%x\n", uint64(s.Pzxid))
	fmt.Fprintf(w, "cversion = %d\n", s.Cversion)
	fmt.Fprintf(w, "dataVersion = %d\n", s.Version)
	fmt.Fprintf(w, "aclVersion = %d\n", s.Aversion)
	fmt.Fprintf(w, "ephemeralOwner = 0x%x\n", uint64(s.EphemeralOwner))
	fmt.Fprintf(w, "dataLength = %d\n", s.DataLength)
	fmt.Fprintf(w, "numChildren = %d\n", s.NumChildren)
}

// formatChildren formats names as LsCommand does: sorted, "[a, b]".
func formatChildren(names []string) string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	return "[" + strings.Join(s, ", ") + "]"
}

// formatList formats a list as Java's List.toString does (unsorted).
func formatList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// permString is ZKUtil.getPermString: the letters of perms in the order cdrwa.
func permString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{proto.PermCreate, 'c'}, {proto.PermDelete, 'd'}, {proto.PermRead, 'r'}, {proto.PermWrite, 'w'}, {proto.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// juteString escapes a string as Jute's ToStringOutputArchive does.
func juteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, c := range s {
		switch c {
		case 0:
			b.WriteString("%00")
		case '\n':
			b.WriteString("%0A")
		case '\r':
			b.WriteString("%0D")
		case ',':
			b.WriteString("%2C")
		case '}':
			b.WriteString("%7D")
		case '%':
			b.WriteString("%25")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// formatACL formats one ACL entry as GetAclCommand does: the Id record's
// toString ("'world,'anyone" and a newline), ": " and the permissions.
func formatACL(a proto.ACL) string {
	return juteString(a.ID.Scheme) + "," + juteString(a.ID.ID) + "\n: " + permString(a.Perms)
}

// parseACL parses "scheme:id:perm[,scheme:id:perm...]" as AclParser does,
// reporting malformed entries and unknown permission letters on warn and
// skipping them.
func parseACL(s string, warn io.Writer) []proto.ACL {
	var out []proto.ACL
	for _, a := range strings.Split(s, ",") {
		first := strings.IndexByte(a, ':')
		last := strings.LastIndexByte(a, ':')
		if first == -1 || first == last {
			fmt.Fprintln(warn, a+" does not have the form scheme:id:perm")
			continue
		}
		var perms int32
		for _, c := range a[last+1:] {
			switch c {
			case 'r':
				perms |= proto.PermRead
			case 'w':
				perms |= proto.PermWrite
			case 'c':
				perms |= proto.PermCreate
			case 'd':
				perms |= proto.PermDelete
			case 'a':
				perms |= proto.PermAdmin
			default:
				fmt.Fprintf(warn, "Unknown perm type: %c\n", c)
			}
		}
		out = append(out, proto.ACL{Perms: perms, ID: proto.ID{Scheme: a[:first], ID: a[first+1 : last]}})
	}
	return out
}

// javaData decodes node data as new String(data, UTF_8) does (malformed bytes
// become U+FFFD); nil data prints as "null".
func javaData(b []byte) string {
	if b == nil {
		return "null"
	}
	return string([]rune(string(b)))
}

// codeMessage is KeeperException.getCodeMessage.
func codeMessage(code proto.Err) string {
	switch code {
	case proto.ErrOK:
		return "ok"
	case proto.ErrSystemError:
		return "SystemError"
	case proto.ErrRuntimeInconsistency:
		return "RuntimeInconsistency"
	case proto.ErrDataInconsistency:
		return "DataInconsistency"
	case proto.ErrConnectionLoss:
		return "ConnectionLoss"
	case proto.ErrMarshallingError:
		return "MarshallingError"
	case proto.ErrNewConfigNoQuorum:
		return "NewConfigNoQuorum"
	case proto.ErrReconfigInProgress:
		return "ReconfigInProgress"
	case proto.ErrUnimplemented:
		return "Unimplemented"
	case proto.ErrOperationTimeout:
		return "OperationTimeout"
	case proto.ErrBadArguments:
		return "BadArguments"
	case proto.ErrAPIError:
		return "APIError"
	case proto.ErrNoNode:
		return "NoNode"
	case proto.ErrNoAuth:
		return "NoAuth"
	case proto.ErrBadVersion:
		return "BadVersion"
	case proto.ErrNoChildrenForEphemerals:
		return "NoChildrenForEphemerals"
	case proto.ErrNodeExists:
		return "NodeExists"
	case proto.ErrInvalidACL:
		return "InvalidACL"
	case proto.ErrAuthFailed:
		return "AuthFailed"
	case proto.ErrNotEmpty:
		return "Directory not empty"
	case proto.ErrSessionExpired:
		return "Session expired"
	case proto.ErrInvalidCallback:
		return "Invalid callback"
	case proto.ErrSessionMoved:
		return "Session moved"
	case proto.ErrNotReadOnly:
		return "Not a read-only call"
	case proto.ErrEphemeralOnLocalSession:
		return "Ephemeral node on local session"
	case proto.ErrNoWatcher:
		return "No such watcher"
	case proto.ErrReconfigDisabled:
		return "Reconfig is disabled"
	case proto.ErrSessionClosedRequireSASL:
		return "Session closed because client failed to authenticate"
	case proto.ErrQuotaExceeded:
		return "Quota has exceeded"
	case proto.ErrThrottledOp:
		return "Op throttled due to high load"
	}
	return "Unknown error " + code.Error()
}

// keeperMessage is KeeperException.getMessage: "KeeperErrorCode = NoNode for /x"
// (without " for ..." when path is empty).
func keeperMessage(code proto.Err, path string) string {
	if path == "" {
		return "KeeperErrorCode = " + codeMessage(code)
	}
	return "KeeperErrorCode = " + codeMessage(code) + " for " + path
}

// errorMessage is the message zkCli prints for a failed call on path
// (CliWrapperException), or the message of a refused argument. path "" stands
// for a KeeperException without a path (printed "null" where zkCli
// concatenates it).
func errorMessage(err error, path string) string {
	var arg *client.ArgError
	if errors.As(err, &arg) {
		return arg.Msg
	}
	if errors.Is(err, client.ErrEmptyACL) {
		return "Acl is not valid : null"
	}
	var code proto.Err
	if !errors.As(err, &code) {
		return err.Error()
	}
	p := path
	if p == "" {
		p = "null"
	}
	switch code {
	case proto.ErrNoNode:
		return "Node does not exist: " + p
	case proto.ErrNoChildrenForEphemerals:
		return "Ephemerals cannot have children: " + p
	case proto.ErrNodeExists:
		return "Node already exists: " + p
	case proto.ErrNotEmpty:
		return "Node not empty: " + p
	case proto.ErrNotReadOnly:
		return "Not a read-only call: " + p
	case proto.ErrInvalidACL:
		return "Acl is not valid : " + p
	case proto.ErrNoAuth:
		return "Insufficient permission : " + p
	case proto.ErrBadArguments:
		return "Arguments are not valid : " + p
	case proto.ErrBadVersion:
		return "version No is not valid : " + p
	case proto.ErrReconfigInProgress:
		return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case proto.ErrNewConfigNoQuorum:
		return "No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced"
	case proto.ErrQuotaExceeded:
		return "Quota has exceeded : " + p
	}
	return keeperMessage(code, path)
}

// clientConfigString is ConfigUtils.getClientConfigStr: the config's version
// and the client addresses of its server.N entries.
func clientConfigString(data string) string {
	version := ""
	var addrs []string
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "version" {
			version = v
		}
		if !strings.HasPrefix(k, "server.") {
			continue
		}
		_, clientPart, ok := strings.Cut(v, ";")
		if !ok {
			continue
		}
		host, port, found := strings.Cut(clientPart, ":")
		if !found {
			host, port = "0.0.0.0", clientPart
		}
		addrs = append(addrs, host+":"+port)
	}
	return version + " " + strings.Join(addrs, ",")
}
