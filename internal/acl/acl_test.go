package acl

import (
	"reflect"
	"testing"

	"github.com/gozk/gozk/internal/proto"
)

// Golden digests printed by ZooKeeper 3.8.0's
//
//	java -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar \
//	    org.apache.zookeeper.server.auth.DigestAuthenticationProvider ARG...
//
// which prints "ARG->DIGEST" for each argument (generateDigest; SHA1 is the
// default zookeeper.DigestAuthenticationProvider.digestAlg).
var goldenDigests = []struct{ idPassword, digest string }{
	{"super:secret", "super:lK75jTNcA+U9vtVEw5vB51mj/w4="},
	{"bob:pw", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="},
	{"a:b:c", "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0="}, // user is the text before the first ':'
	{"nocolon", "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="},
	{"", ":2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
	{":pw", ":krPDEYdCl854cFNT6IXnoMv+VVA="},
	{"user:pässwörd", "user:Vx8H+a8Jh/huGaoHXWUnrKRcDDI="}, // hashed as UTF-8
}

func TestGenerateDigestGolden(t *testing.T) {
	for _, g := range goldenDigests {
		if got := GenerateDigest(g.idPassword); got != g.digest {
			t.Errorf("GenerateDigest(%q) = %q, want %q", g.idPassword, got, g.digest)
		}
	}
}

func TestDigest(t *testing.T) {
	tests := []struct{ user, password, want string }{
		{"super", "secret", "super:lK75jTNcA+U9vtVEw5vB51mj/w4="},
		{"bob", "pw", "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="},
		{"user", "pässwörd", "user:Vx8H+a8Jh/huGaoHXWUnrKRcDDI="},
		{"a", "b:c", "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0="}, // a password may hold ':'
		{"", "pw", ":krPDEYdCl854cFNT6IXnoMv+VVA="},
	}
	for _, tt := range tests {
		if got := Digest(tt.user, tt.password); got != tt.want {
			t.Errorf("Digest(%q, %q) = %q, want %q", tt.user, tt.password, got, tt.want)
		}
	}
}

const superDigest = "super:lK75jTNcA+U9vtVEw5vB51mj/w4="

// DigestAuthenticationProvider.handleAuthentication accepts any text (no
// check for ':'), adds {super, ""} first when the digest equals the
// configured superDigest; other schemes depend on a registered provider:
// IPAuthenticationProvider re-adds the connection's address; "world",
// "super", "auth" and unknown schemes have none, so ZooKeeperServer answers
// AUTHFAILED and closes the connection.
func TestAuthenticate(t *testing.T) {
	tests := []struct {
		scheme, auth, super string
		want                []proto.ID
		fail                bool
	}{
		{"digest", "bob:pw", superDigest, []proto.ID{{Scheme: "digest", ID: "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="}}, false},
		{"digest", "super:secret", superDigest, []proto.ID{{Scheme: "super", ID: ""}, {Scheme: "digest", ID: superDigest}}, false},
		{"digest", "super:secret", "", []proto.ID{{Scheme: "digest", ID: superDigest}}, false},
		{"digest", "super:wrong", superDigest, []proto.ID{{Scheme: "digest", ID: GenerateDigest("super:wrong")}}, false},
		{"digest", "nocolon", "", []proto.ID{{Scheme: "digest", ID: "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="}}, false},
		{"digest", "", "", []proto.ID{{Scheme: "digest", ID: ":2jmj7l5rSw0yVb/vlWAYkK/YBwk="}}, false},
		{"ip", "anything", "", nil, false},
		{"world", "anyone", "", nil, true},
		{"super", "", "", nil, true},
		{"auth", "", "", nil, true},
		{"sasl", "x", "", nil, true},
		{"x509", "x", "", nil, true},
		{"Digest", "bob:pw", "", nil, true}, // scheme names are case-sensitive
		{"", "", "", nil, true},
	}
	for _, tt := range tests {
		got, err := Authenticate(tt.scheme, []byte(tt.auth), tt.super)
		if tt.fail {
			if err != proto.ErrAuthFailed {
				t.Errorf("Authenticate(%q, %q) = %v, %v; want ErrAuthFailed", tt.scheme, tt.auth, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want %v", tt.scheme, tt.auth, got, err, tt.want)
		}
	}
}

func TestAuthenticateInvalidUTF8(t *testing.T) {
	// new String(bytes, UTF-8) turns the invalid byte into U+FFFD before hashing.
	got, err := Authenticate("digest", []byte("u:p\xff"), "")
	if err != nil || len(got) != 1 || got[0].ID != GenerateDigest("u:p\uFFFD") {
		t.Errorf("Authenticate(invalid UTF-8) = %v, %v", got, err)
	}
}

func TestAddIDs(t *testing.T) {
	ip := proto.ID{Scheme: "ip", ID: "127.0.0.1"}
	bob := proto.ID{Scheme: "digest", ID: Digest("bob", "pw")}
	got := AddIDs([]proto.ID{ip}, bob, ip, bob)
	if want := []proto.ID{ip, bob}; !reflect.DeepEqual(got, want) {
		t.Errorf("AddIDs = %v, want %v", got, want)
	}
}

var (
	worldAll  = proto.ACL{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}
	worldRead = proto.ACL{Perms: proto.PermRead, ID: proto.ID{Scheme: "world", ID: "anyone"}}
	bobID     = proto.ID{Scheme: "digest", ID: "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="}
	aliceID   = proto.ID{Scheme: "digest", ID: Digest("alice", "pw")}
	bobAll    = proto.ACL{Perms: proto.PermAll, ID: bobID}
	localIP   = proto.ID{Scheme: "ip", ID: "127.0.0.1"}
	superID   = proto.ID{Scheme: "super", ID: ""}
)

func acl(perms int32, scheme, id string) proto.ACL {
	return proto.ACL{Perms: perms, ID: proto.ID{Scheme: scheme, ID: id}}
}

// ZooKeeperServer.checkACL.
func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		acls []proto.ACL
		perm int32
		ids  []proto.ID
		want bool
	}{
		{"nil ACL allows all", nil, proto.PermAdmin, nil, true},
		{"empty ACL allows all", []proto.ACL{}, proto.PermWrite, nil, true},
		{"world:anyone", []proto.ACL{worldAll}, proto.PermDelete, nil, true},
		{"world:anyone read only: write denied", []proto.ACL{worldRead}, proto.PermWrite, []proto.ID{localIP}, false},
		{"world:anyone read only: read allowed", []proto.ACL{worldRead}, proto.PermRead, nil, true},
		{"world with another id matches nobody", []proto.ACL{acl(31, "world", "everyone")}, proto.PermRead, []proto.ID{{Scheme: "world", ID: "everyone"}}, false},
		{"perm 0 asked: no entry grants it", []proto.ACL{worldAll}, 0, nil, false},
		{"super passes everything", []proto.ACL{bobAll}, proto.PermAdmin, []proto.ID{localIP, superID}, true},
		{"super passes an ACL granting nothing", []proto.ACL{acl(0, "world", "anyone")}, proto.PermRead, []proto.ID{superID}, true},
		{"super with any id string", []proto.ACL{bobAll}, proto.PermRead, []proto.ID{{Scheme: "super", ID: "x"}}, true},
		{"digest exact", []proto.ACL{bobAll}, proto.PermWrite, []proto.ID{localIP, bobID}, true},
		{"digest other user", []proto.ACL{bobAll}, proto.PermWrite, []proto.ID{aliceID}, false},
		{"digest without the perm", []proto.ACL{acl(proto.PermRead, "digest", bobID.ID)}, proto.PermWrite, []proto.ID{bobID}, false},
		{"any entry may grant", []proto.ACL{acl(proto.PermRead, "digest", bobID.ID), acl(proto.PermWrite, "digest", aliceID.ID)}, proto.PermWrite, []proto.ID{aliceID}, true},
		{"scheme must match the id's", []proto.ACL{acl(31, "ip", "127.0.0.1")}, proto.PermRead, []proto.ID{{Scheme: "digest", ID: "127.0.0.1"}}, false},
		{"ip exact", []proto.ACL{acl(31, "ip", "127.0.0.1")}, proto.PermRead, []proto.ID{localIP}, true},
		{"ip CIDR", []proto.ACL{acl(31, "ip", "127.0.0.0/8")}, proto.PermRead, []proto.ID{{Scheme: "ip", ID: "127.1.2.3"}}, true},
		{"ip CIDR miss", []proto.ACL{acl(31, "ip", "10.0.0.0/8")}, proto.PermRead, []proto.ID{localIP}, false},
		{"ip IPv6", []proto.ACL{acl(31, "ip", "::1")}, proto.PermRead, []proto.ID{{Scheme: "ip", ID: "0:0:0:0:0:0:0:1"}}, true},
		{"ip IPv6 prefix", []proto.ACL{acl(31, "ip", "2001:db8::/32")}, proto.PermRead, []proto.ID{{Scheme: "ip", ID: "2001:db8:0:0:0:0:0:1"}}, true},
		{"ip families differ", []proto.ACL{acl(31, "ip", "::/0")}, proto.PermRead, []proto.ID{localIP}, false},
		{"x509 exact", []proto.ACL{acl(31, "x509", "CN=a")}, proto.PermRead, []proto.ID{{Scheme: "x509", ID: "CN=a"}}, true},
		{"sasl exact", []proto.ACL{acl(31, "sasl", "bob")}, proto.PermRead, []proto.ID{{Scheme: "sasl", ID: "bob"}}, true},
		{"sasl id super matches any sasl entry", []proto.ACL{acl(31, "sasl", "bob")}, proto.PermRead, []proto.ID{{Scheme: "sasl", ID: "super"}}, true},
		{"auth entry stored as is matches nobody", []proto.ACL{acl(31, "auth", "")}, proto.PermRead, []proto.ID{{Scheme: "auth", ID: ""}}, false},
		{"unknown scheme matches nobody", []proto.ACL{acl(31, "foo", "x")}, proto.PermRead, []proto.ID{{Scheme: "foo", ID: "x"}}, false},
		{"no identities", []proto.ACL{bobAll}, proto.PermRead, nil, false},
	}
	for _, tt := range tests {
		if got := Check(tt.acls, tt.perm, tt.ids); got != tt.want {
			t.Errorf("%s: Check(%v, %d, %v) = %v, want %v", tt.name, tt.acls, tt.perm, tt.ids, got, tt.want)
		}
	}
}

// PrepRequestProcessor.fixupACL, with ZooKeeper's default providers (ip,
// digest). These cases, and 100,000 random ones, were compared with
// ZooKeeper's own fixupACL and checkACL (3.8.0 jar, identical to 3.9.5 in
// those methods, with 3.9.5's IPAuthenticationProvider).
func TestFixup(t *testing.T) {
	authIDs := []proto.ID{localIP, bobID, superID}
	tests := []struct {
		name string
		acls []proto.ACL
		auth []proto.ID
		want []proto.ACL // nil: ErrInvalidACL
	}{
		{"nil", nil, authIDs, nil},
		{"empty", []proto.ACL{}, authIDs, nil},
		{"world:anyone", []proto.ACL{worldAll}, nil, []proto.ACL{worldAll}},
		{"world with another id", []proto.ACL{acl(31, "world", "everyone")}, nil, nil},
		{"world id is case-sensitive", []proto.ACL{acl(31, "world", "Anyone")}, nil, nil},
		{"scheme is case-sensitive", []proto.ACL{acl(31, "World", "anyone")}, nil, nil},
		{"auth expands to digest ids only (not ip, not super)", []proto.ACL{acl(5, "auth", "")}, authIDs, []proto.ACL{acl(5, "digest", bobID.ID)}},
		{"auth id text is ignored", []proto.ACL{acl(31, "auth", "whatever")}, authIDs, []proto.ACL{acl(31, "digest", bobID.ID)}},
		{"auth expands in session order", []proto.ACL{acl(31, "auth", "")}, []proto.ID{aliceID, localIP, bobID},
			[]proto.ACL{acl(31, "digest", aliceID.ID), acl(31, "digest", bobID.ID)}},
		{"auth without authenticated ids", []proto.ACL{acl(31, "auth", "")}, []proto.ID{localIP, superID}, nil},
		{"auth with no ids", []proto.ACL{acl(31, "auth", "")}, nil, nil},
		{"auth fails the whole list", []proto.ACL{worldRead, acl(31, "auth", "")}, []proto.ID{localIP}, nil},
		{"digest id", []proto.ACL{bobAll}, nil, []proto.ACL{bobAll}},
		{"digest: hash is not checked", []proto.ACL{acl(1, "digest", "u:not-base64")}, nil, []proto.ACL{acl(1, "digest", "u:not-base64")}},
		{"digest: trailing ':' dropped by Java's split", []proto.ACL{acl(1, "digest", "u:h:")}, nil, []proto.ACL{acl(1, "digest", "u:h:")}},
		{"digest: empty user", []proto.ACL{acl(1, "digest", ":h")}, nil, []proto.ACL{acl(1, "digest", ":h")}},
		{"digest: no hash", []proto.ACL{acl(1, "digest", "u:")}, nil, nil},
		{"digest: no colon", []proto.ACL{acl(1, "digest", "bob")}, nil, nil},
		{"digest: three parts", []proto.ACL{acl(1, "digest", "a:b:c")}, nil, nil},
		{"ip address", []proto.ACL{acl(31, "ip", "10.1.2.3")}, nil, []proto.ACL{acl(31, "ip", "10.1.2.3")}},
		{"ip CIDR", []proto.ACL{acl(31, "ip", "10.0.0.0/8")}, nil, []proto.ACL{acl(31, "ip", "10.0.0.0/8")}},
		{"ip IPv6 CIDR", []proto.ACL{acl(31, "ip", "fe80::/10")}, nil, []proto.ACL{acl(31, "ip", "fe80::/10")}},
		{"ip bad", []proto.ACL{acl(31, "ip", "10.0.0")}, nil, nil},
		{"ip hostname", []proto.ACL{acl(31, "ip", "localhost")}, nil, nil},
		{"ip bits too large", []proto.ACL{acl(31, "ip", "10.0.0.0/33")}, nil, nil},
		{"super cannot be set", []proto.ACL{acl(31, "super", "")}, authIDs, nil},
		{"x509 has no provider by default", []proto.ACL{acl(31, "x509", "CN=a")}, nil, nil},
		{"sasl has no provider by default", []proto.ACL{acl(31, "sasl", "bob")}, nil, nil},
		{"unknown scheme", []proto.ACL{acl(31, "foo", "bar")}, nil, nil},
		{"duplicates removed, first kept", []proto.ACL{worldRead, bobAll, worldRead, bobAll}, nil, []proto.ACL{worldRead, bobAll}},
		{"same id, different perms: both kept", []proto.ACL{worldRead, worldAll}, nil, []proto.ACL{worldRead, worldAll}},
		{"duplicates after expansion are kept", []proto.ACL{acl(31, "auth", ""), bobAll}, []proto.ID{bobID}, []proto.ACL{bobAll, bobAll}},
		{"perms are not checked", []proto.ACL{acl(0, "world", "anyone"), acl(-1, "ip", "1.2.3.4")}, nil, []proto.ACL{acl(0, "world", "anyone"), acl(-1, "ip", "1.2.3.4")}},
		{"CREATOR_ALL_ACL", proto.CreatorAllACL, []proto.ID{localIP, bobID}, []proto.ACL{bobAll}},
		{"OPEN_ACL_UNSAFE", proto.OpenACLUnsafe, nil, []proto.ACL{worldAll}},
	}
	for _, tt := range tests {
		got, err := Fixup(tt.acls, tt.auth)
		if tt.want == nil {
			if err != proto.ErrInvalidACL || got != nil {
				t.Errorf("%s: Fixup(%v, %v) = %v, %v; want ErrInvalidACL", tt.name, tt.acls, tt.auth, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Fixup(%v, %v) = %v, %v; want %v", tt.name, tt.acls, tt.auth, got, err, tt.want)
		}
	}
}

func TestFixupDoesNotModifyInput(t *testing.T) {
	in := []proto.ACL{worldRead, worldRead, acl(31, "auth", "")}
	orig := append([]proto.ACL(nil), in...)
	if _, err := Fixup(in, []proto.ID{bobID}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Errorf("input changed: %v", in)
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		a    proto.ACL
		want bool
	}{
		{worldAll, true},
		{acl(31, "world", "x"), false},
		{bobAll, true},
		{acl(31, "digest", "bob"), false},
		{acl(31, "ip", "127.0.0.1"), true},
		{acl(31, "ip", "::1/128"), true},
		{acl(31, "ip", "::1/129"), false},
		{acl(31, "auth", ""), false},
		{acl(31, "super", ""), false},
		{acl(31, "x509", "CN=a"), false},
		{acl(31, "", ""), false},
	}
	for _, tt := range tests {
		if got := Valid(tt.a); got != tt.want {
			t.Errorf("Valid(%v) = %v, want %v", tt.a, got, tt.want)
		}
	}
}
