package acl

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gozk/gozk/internal/proto"
)

// IPIdentity is the "ip" identity every connection holds, from its remote
// address ("host:port", "[v6]:port", or a bare address). The address is
// written as Java's InetAddress.getHostAddress writes it, since ZooKeeper
// shows it to clients (whoAmI): IPv4 dotted, IPv4-mapped IPv6 as IPv4, other
// IPv6 as eight uncompressed lower-case hex groups ("0:0:0:0:0:0:0:1"), with
// "%zone" if scoped (Java may show a numeric scope id where Go has the
// interface name).
func IPIdentity(remoteAddr string) proto.ID {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	} else if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return proto.ID{Scheme: SchemeIP, ID: javaHostAddress(host)}
}

func javaHostAddress(host string) string {
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	b := addr.As16()
	var s strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	if z := addr.Zone(); z != "" {
		s.WriteString("%" + z)
	}
	return s.String()
}

// ipMatches is IPAuthenticationProvider.matches(id, aclExpr): expr is an
// address with an optional "/bits"; both sides are masked to bits and must
// be of the same family.
func ipMatches(id, expr string) bool {
	aclAddr, bits, ok := parseIPExpr(expr)
	if !ok {
		return false
	}
	remote := addrBytes(id)
	if remote == nil || len(remote) != len(aclAddr) {
		return false
	}
	mask(aclAddr, bits)
	mask(remote, bits)
	return string(remote) == string(aclAddr)
}

// validIP is IPAuthenticationProvider.isValid.
func validIP(expr string) bool {
	_, _, ok := parseIPExpr(expr)
	return ok
}

// parseIPExpr splits "address[/bits]" (expr.split("/", 2)) and checks bits
// is a number from 0 to the address length in bits.
func parseIPExpr(expr string) (addr []byte, bits int, ok bool) {
	text, bitsText, hasBits := strings.Cut(expr, "/")
	addr = addrBytes(text)
	if addr == nil {
		return nil, 0, false
	}
	bits = len(addr) * 8
	if hasBits {
		n, ok := javaParseInt(bitsText, 10)
		if !ok || n < 0 || int(n) > len(addr)*8 {
			return nil, 0, false
		}
		bits = int(n)
	}
	return addr, bits, true
}

// mask clears every bit of b after the first bits.
func mask(b []byte, bits int) {
	for i := range b {
		switch {
		case (i+1)*8 <= bits:
		case i*8 >= bits:
			b[i] = 0
		default:
			b[i] &= ^byte(0xff >> (bits - i*8))
		}
	}
}

// addrBytes is IPAuthenticationProvider.addr2Bytes: any ':' makes it IPv6,
// else any '.' makes it IPv4; nil if it does not parse.
func addrBytes(s string) []byte {
	switch {
	case strings.Contains(s, ":"):
		return v6Bytes(s)
	case strings.Contains(s, "."):
		return v4Bytes(s)
	}
	return nil
}

// v4Bytes: exactly four '.'-separated parts, each Integer.parseInt'd and in
// 0..255 (so "010" is 10 and "+1" is 1, as in ZooKeeper).
func v4Bytes(s string) []byte {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	b := make([]byte, 4)
	for i, p := range parts {
		v, ok := javaParseInt(p, 10)
		if !ok || v < 0 || v > 255 {
			return nil
		}
		b[i] = byte(v)
	}
	return b
}

// v6Bytes is IPAuthenticationProvider.parseV6addr (ZooKeeper 3.9.4+): at most
// one "::"; without it exactly eight groups, with it fewer than eight
// explicit groups; each group 1-4 characters parsed by Integer.parseInt(g, 16)
// (a sign is accepted; "-1" is 0xffff). Dotted IPv4 tails and zones are
// not accepted.
func v6Bytes(s string) []byte {
	halves := strings.Split(s, "::")
	var head, tail []string
	switch len(halves) {
	case 1:
		head = strings.Split(halves[0], ":")
		if len(head) != 8 {
			return nil
		}
	case 2:
		if halves[0] != "" {
			head = strings.Split(halves[0], ":")
		}
		if halves[1] != "" {
			tail = strings.Split(halves[1], ":")
		}
		if len(head)+len(tail) >= 8 {
			return nil
		}
	default:
		return nil
	}
	b := make([]byte, 16)
	if !v6Groups(b[:2*len(head)], head) || !v6Groups(b[16-2*len(tail):], tail) {
		return nil
	}
	return b
}

func v6Groups(dst []byte, groups []string) bool {
	for i, g := range groups {
		if g == "" || len(g) > 4 {
			return false
		}
		v, ok := javaParseInt(g, 16)
		if !ok {
			return false
		}
		dst[2*i] = byte(v >> 8)
		dst[2*i+1] = byte(v)
	}
	return true
}

// javaParseInt is Integer.parseInt(s, base) for ASCII text: an optional '+'
// or '-', then at least one digit, within 32 bits. (Java also accepts
// non-ASCII Unicode digits; they are refused here.)
func javaParseInt(s string, base int) (int32, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, base, 32)
	return int32(n), err == nil
}
