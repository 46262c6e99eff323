package config

import (
	"fmt"
	"strconv"
	"strings"
)

// parseServer parses the value of a server.N line, following
// QuorumPeer.QuorumServer.initializeWithAddressString:
//
//	host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort[;secureClientPart]]
//
// IPv6 hosts are written in brackets ("[::1]:2888:3888"). The returned error
// wraps ErrInvalidServer or ErrUnsupported; warning is non-empty for a part
// that is accepted but ignored. Errors carry Detail and Err; the caller adds
// the key and line.
func parseServer(id uint64, value string) (s Server, warning string, err *Error) {
	bad := func(format string, args ...any) *Error {
		return &Error{Detail: quote(value) + " " + fmt.Sprintf(format, args...), Err: ErrInvalidServer}
	}
	s.ID = id
	parts := javaSplit(value, ";")
	if len(parts) > 3 {
		return s, "", bad("has more than three ';'-separated parts")
	}
	if len(parts) == 0 {
		// Only separators (";", ";;"): javaSplit drops every empty part, as
		// Java's split does, and parts[0] used to panic (found by FuzzParse).
		return s, "", bad(serverForm)
	}
	serverPart := strings.TrimSpace(parts[0])
	if strings.Contains(serverPart, "|") {
		return s, "", &Error{Detail: quote(value) + ": multiple addresses per server are not supported", Err: ErrUnsupported}
	}
	hp, msg := hostAndPort(serverPart)
	if msg != "" {
		return s, "", bad("%s", msg)
	}
	if len(hp) < 3 || len(hp) > 4 {
		return s, "", bad(serverForm)
	}
	s.Host = strings.TrimSpace(hp[0])
	if s.Host == "" {
		return s, "", bad("has an empty host")
	}
	if s.QuorumPort, msg = parsePort("a quorum port", hp[1], 1); msg != "" {
		return s, "", bad("%s", msg)
	}
	if s.ElectionPort, msg = parsePort("an election port", hp[2], 1); msg != "" {
		return s, "", bad("%s", msg)
	}
	if s.QuorumPort == s.ElectionPort {
		return s, "", bad("has the same quorum and election port %d; they must be different", s.QuorumPort)
	}
	if len(hp) == 4 {
		switch strings.ToLower(strings.TrimSpace(hp[3])) {
		case "observer":
			s.Observer = true
		case "participant":
		default:
			return s, "", bad("has unknown peer type %s (observer or participant)", quote(hp[3]))
		}
	}
	if len(parts) >= 2 {
		if client := strings.TrimSpace(parts[1]); client != "" {
			cp, msg := hostAndPort(client)
			if msg != "" {
				return s, "", bad("%s", msg)
			}
			// A client part of only colons (":", "::") splits into no parts
			// at all, and cp[len(cp)-1] used to panic with index -1 (found by
			// FuzzParse: "server.1=h:1:2;:"); ZooKeeper fails on it too.
			if len(cp) == 0 || len(cp) > 2 {
				return s, "", bad("has a client part %s that is not [host:]port", quote(client))
			}
			if len(cp) == 2 {
				s.ClientHost = strings.TrimSpace(cp[0])
			}
			if s.ClientPort, msg = parsePort("a client port", cp[len(cp)-1], 0); msg != "" {
				return s, "", bad("%s", msg)
			}
		}
	}
	if len(parts) == 3 && strings.TrimSpace(parts[2]) != "" {
		warning = fmt.Sprintf("secure client address %s ignored: TLS is not supported", quote(parts[2]))
	}
	return s, warning, nil
}

// serverForm is the error detail for a server line of the wrong shape.
const serverForm = "does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]"

// parsePort parses a port as Integer.parseInt and checks it is in min..65535.
func parsePort(what, text string, min int) (int, string) {
	text = strings.TrimSpace(text)
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return 0, fmt.Sprintf("has %s %s that is not a number", what, quote(text))
	}
	if n < int64(min) || n > 65535 {
		return 0, fmt.Sprintf("has %s %d out of range %d-65535", what, n, min)
	}
	return int(n), ""
}

// hostAndPort splits s at ':' as ConfigUtils.getHostAndPort does, with a
// leading "[...]" taken whole as an IPv6 host. It returns a message when s
// is malformed.
func hostAndPort(s string) ([]string, string) {
	if !strings.HasPrefix(s, "[") {
		return javaSplit(s, ":"), ""
	}
	i := strings.IndexByte(s, ']')
	if i < 0 {
		return nil, fmt.Sprintf("has %s, which starts with '[' but has no matching ']'", quote(s))
	}
	if i+1 == len(s) {
		return []string{s[1:i]}, ""
	}
	if s[i+1] != ':' || i+2 == len(s) {
		return nil, fmt.Sprintf("has %s, which has no port after ']:'", quote(s))
	}
	return append([]string{s[1:i]}, javaSplit(s[i+2:], ":")...), ""
}

// javaSplit is Java's String.split with a literal separator and no limit:
// trailing empty strings are dropped, and a string without the separator is
// returned whole.
func javaSplit(s, sep string) []string {
	if !strings.Contains(s, sep) {
		return []string{s}
	}
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
