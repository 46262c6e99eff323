package acl

import (
	"net/netip"
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

// NIOServerCnxn adds new Id("ip", addr.getHostAddress()); Java writes IPv6
// uncompressed and IPv4-mapped addresses as IPv4.
func TestIPIdentity(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"127.0.0.1:51234", "127.0.0.1"},
		{"10.0.0.7:1", "10.0.0.7"},
		{"[::1]:51234", "0:0:0:0:0:0:0:1"},
		{"[2001:db8::ff00:42:8329]:2181", "2001:db8:0:0:0:ff00:42:8329"},
		{"[::ffff:127.0.0.1]:2181", "127.0.0.1"},
		{"[fe80::1%eth0]:2181", "fe80:0:0:0:0:0:0:1%eth0"},
		{"[::]:1", "0:0:0:0:0:0:0:0"},
		{"127.0.0.1", "127.0.0.1"},
		{"::1", "0:0:0:0:0:0:0:1"},
		{"[::1]", "0:0:0:0:0:0:0:1"},
		{"pipe", "pipe"}, // not an IP address: kept as is
	}
	for _, tt := range tests {
		got := IPIdentity(tt.remote)
		if got != (proto.ID{Scheme: "ip", ID: tt.want}) {
			t.Errorf("IPIdentity(%q) = %v, want ip:%s", tt.remote, got, tt.want)
		}
	}
}

// IPAuthenticationProvider.matches (ZooKeeper 3.9.4+, which added IPv6).
// These cases, and 200,000 random ones, were compared with that class.
func TestIPMatches(t *testing.T) {
	tests := []struct {
		id, expr string
		want     bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.2", "127.0.0.1", false},
		{"127.0.0.1", "127.0.0.1/32", true},
		{"127.9.9.9", "127.0.0.0/8", true},
		{"128.0.0.1", "127.0.0.0/8", false},
		{"10.1.2.3", "0.0.0.0/0", true},
		{"10.1.2.3", "10.1.2.0/23", true},
		{"10.1.3.3", "10.1.2.0/23", true},
		{"10.1.4.3", "10.1.2.0/23", false},
		{"10.1.2.3", "10.1.2.3/", false},   // "" is not a number
		{"10.1.2.3", "10.1.2.3/+32", true}, // Integer.parseInt accepts a sign
		{"10.1.2.3", "10.1.2.3/33", false},
		{"10.1.2.3", "10.1.2.3/-1", false},
		{"10.1.2.3", "10.1.2.3/8/8", false},
		{"10.1.2.3", "010.1.2.3", true}, // decimal, leading zeros allowed
		{"10.1.2.3", "+10.1.2.3", true},
		{"10.1.2.3", "10.1.2.03", true},
		{"10.1.2.3", "10.1.2.256", false},
		{"10.1.2.3", "10.1.2", false},
		{"10.1.2.3", "10.1.2.3.4", false},
		{"10.1.2.3", "10..2.3", false},
		{"10.1.2.3", "0xa.1.2.3", false},
		{"10.1.2.3", "localhost", false},
		{"localhost", "localhost", false},
		{"0:0:0:0:0:0:0:1", "::1", true},
		{"::1", "0:0:0:0:0:0:0:1", true},
		{"0:0:0:0:0:0:0:1", "::1/128", true},
		{"0:0:0:0:0:0:0:2", "::1/127", false},
		{"0:0:0:0:0:0:0:2", "::/126", true},
		{"2001:db8:0:0:0:0:0:1", "2001:db8::/32", true},
		{"2001:db9:0:0:0:0:0:1", "2001:db8::/32", false},
		{"2001:db9:0:0:0:0:0:1", "2001:db8::/31", true},
		{"fe80:0:0:0:0:0:0:1", "FE80::/10", true},
		{"febf:0:0:0:0:0:0:1", "fe80::/10", true},
		{"fec0:0:0:0:0:0:0:1", "fe80::/10", false},
		{"fe80:0:0:0:0:0:0:1%eth0", "fe80::/10", false}, // a zone does not parse
		{"0:0:0:0:0:0:0:1", "::1/129", false},
		{"127.0.0.1", "::ffff:127.0.0.1", false}, // no dotted tails in IPv6
		{"127.0.0.1", "::/0", false},             // families must agree
		{"0:0:0:0:0:0:0:1", "0.0.0.0/0", false},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", true},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", false},
		{"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7::", true},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", false}, // "::" must stand for at least one group
		{"1:0:0:0:0:0:0:0", "1::", true},
		{"0:0:0:0:0:0:0:0", "::", true},
		{"0:0:0:0:0:0:0:1", ":::1", false},
		{"1:0:0:0:0:0:0:1", "1::0::1", false},
		{"0:0:0:0:0:0:0:ffff", "::-1", true}, // Integer.parseInt("-1", 16) is -1: 0xffff
		{"0:0:0:0:0:0:0:ff", "::+ff", true},
		{"0:0:0:0:0:0:0:ff", "::00ff", true},
		{"0:0:0:0:0:0:0:ff", "::000ff", false}, // more than four characters
		{"0:0:0:0:0:0:0:1", "::x", false},
	}
	for _, tt := range tests {
		if got := ipMatches(tt.id, tt.expr); got != tt.want {
			t.Errorf("ipMatches(%q, %q) = %v, want %v", tt.id, tt.expr, got, tt.want)
		}
	}
}

// IPAuthenticationProvider.isValid.
func TestValidIP(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"127.0.0.1", true}, {"0.0.0.0/0", true}, {"10.0.0.0/8", true}, {"255.255.255.255/32", true},
		{"256.0.0.1", false}, {"1.2.3", false}, {"1.2.3.4/33", false}, {"1.2.3.4/x", false}, {"1.2.3.4/", false},
		{"-0.0.0.0", true}, {"", false}, {"/8", false}, {"host.example", false}, {"example", false},
		{"::1", true}, {"::", true}, {"::/0", true}, {"fe80::/10", true}, {"2001:db8::1/128", true},
		{"2001:db8::1/129", false}, {"::1%lo", false}, {"1:2:3:4:5:6:7", false}, {"1:2:3:4:5:6:7:8", true},
		{"1:2:3:4:5:6:7:8/64", true}, {"1::2::3", false}, {"[::1]", false}, {"::ffff:1.2.3.4", false},
		{"١٠.0.0.1", false}, // Java would read Arabic-Indic digits; only ASCII is accepted here
	}
	for _, tt := range tests {
		if got := validIP(tt.expr); got != tt.want {
			t.Errorf("validIP(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		in   []byte
		bits int
		want []byte
	}{
		{[]byte{0xff, 0xff, 0xff, 0xff}, 32, []byte{0xff, 0xff, 0xff, 0xff}},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 0, []byte{0, 0, 0, 0}},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 8, []byte{0xff, 0, 0, 0}},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 9, []byte{0xff, 0x80, 0, 0}},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 23, []byte{0xff, 0xff, 0xfe, 0}},
		{[]byte{0xff, 0xff, 0xff, 0xff}, 31, []byte{0xff, 0xff, 0xff, 0xfe}},
		{[]byte{0xff, 0xff}, 100, []byte{0xff, 0xff}},
	}
	for _, tt := range tests {
		b := append([]byte(nil), tt.in...)
		mask(b, tt.bits)
		if string(b) != string(tt.want) {
			t.Errorf("mask(%x, %d) = %x, want %x", tt.in, tt.bits, b, tt.want)
		}
	}
}

// FuzzIP checks that the ip rules never panic, that an invalid expression
// matches nothing, and that every IPIdentity matches itself and its
// netip-parsed form.
func FuzzIP(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.0/8", "::1", "fe80::/10", "1:2:3:4:5:6:7:8/64", "::-1", "1.2.3.4/+8", ":::", "%"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, id, expr string) {
		m := ipMatches(id, expr)
		if m && !validIP(expr) {
			t.Fatalf("ipMatches(%q, %q) with an invalid expression", id, expr)
		}
		if addr, err := netip.ParseAddr(id); err == nil && addr.Zone() == "" {
			ident := IPIdentity(id).ID
			if !ipMatches(ident, ident) || !ipMatches(ident, addr.Unmap().String()) {
				t.Fatalf("IPIdentity(%q) = %q does not match itself or %s", id, ident, addr.Unmap())
			}
		}
	})
}
