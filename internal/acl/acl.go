// Package acl implements ZooKeeper's ACL rules as pure functions: permission checks, auth schemes, digests and the super user.
//
// Identities are proto.ID values {Scheme, ID}. Every connection holds an
// "ip" identity (IPIdentity) and gains more through addauth (Authenticate).
// A node's ACL is a list of proto.ACL{Perms, ID}; Check decides whether a
// session's identities grant a permission, and Fixup turns the ACL a client
// sends with create or setACL into the one stored.
//
// The schemes, as in Apache ZooKeeper 3.9 with its default providers
// (ProviderRegistry registers "ip" and "digest"; "x509" and "sasl" only with
// TLS or SASL configured, which gozk does not support):
//
//	world   "anyone" only; matches every session
//	auth    in Fixup only: stands for the session's authenticated identities
//	digest  "user:base64(sha1(user:password))", matched exactly
//	ip      an IPv4 or IPv6 address, optionally "/bits", matched as a prefix
//	super   never in an ACL; a session holding it passes every check
//	x509    matched exactly by Check, refused by Fixup
//	sasl    matched exactly (and by the id "super") by Check, refused by Fixup
package acl

import (
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gozk/gozk/internal/proto"
)

// Scheme names.
const (
	SchemeWorld  = "world"
	SchemeAuth   = "auth"
	SchemeDigest = "digest"
	SchemeIP     = "ip"
	SchemeSuper  = "super"
	SchemeX509   = "x509"
	SchemeSASL   = "sasl"
)

// Digest returns the digest identity of user and password, as
// DigestAuthenticationProvider.generateDigest("user:password").
func Digest(user, password string) string {
	return GenerateDigest(user + ":" + password)
}

// GenerateDigest is DigestAuthenticationProvider.generateDigest: the text up
// to the first ':' (all of it if there is none), then ':', then
// base64(sha1(idPassword)) of the whole text.
func GenerateDigest(idPassword string) string {
	user, _, _ := strings.Cut(idPassword, ":")
	sum := sha1.Sum([]byte(idPassword))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Authenticate handles an addauth packet and returns the identities the
// session gains. The server answers an error with AUTHFAILED and closes the
// connection, as ZooKeeper does.
//
//   - "digest": any bytes are accepted (ZooKeeper does not check for the
//     colon); the identity is GenerateDigest of the text, preceded by
//     {super, ""} when it equals superDigest.
//   - "ip": succeeds and adds nothing. ZooKeeper adds the connection's own
//     address, which the session already holds (IPIdentity), and its
//     identities form a set.
//   - any other scheme ("world", "super", "auth", "x509", "sasl", unknown)
//     has no provider: proto.ErrAuthFailed.
func Authenticate(scheme string, auth []byte, superDigest string) ([]proto.ID, error) {
	switch scheme {
	case SchemeDigest:
		id := GenerateDigest(javaString(auth))
		if superDigest != "" && id == superDigest {
			return []proto.ID{{Scheme: SchemeSuper, ID: ""}, {Scheme: SchemeDigest, ID: id}}, nil
		}
		return []proto.ID{{Scheme: SchemeDigest, ID: id}}, nil
	case SchemeIP:
		return nil, nil
	}
	return nil, proto.ErrAuthFailed
}

// javaString mirrors new String(bytes) with UTF-8: invalid sequences become
// U+FFFD before the text is hashed. (Go replaces each invalid byte where
// Java replaces each maximal invalid subsequence; real clients send UTF-8.)
func javaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string([]rune(string(b)))
}

// AddIDs adds ids to a session's identities, skipping those it holds already:
// ZooKeeper keeps them in a set (ServerCnxn.authInfo).
func AddIDs(have []proto.ID, ids ...proto.ID) []proto.ID {
	for _, id := range ids {
		if !slices.Contains(have, id) {
			have = append(have, id)
		}
	}
	return have
}

// IsSuper reports whether the identities include the super user.
func IsSuper(ids []proto.ID) bool {
	for _, id := range ids {
		if id.Scheme == SchemeSuper {
			return true
		}
	}
	return false
}

// Check reports whether a session with identities ids may do perm on a node
// with ACL acls, as ZooKeeperServer.checkACL:
//   - an empty or nil ACL allows everything;
//   - an identity with scheme "super" allows everything;
//   - otherwise some entry must grant perm (Perms & perm != 0) and be
//     world:anyone, or match one of the identities of the same scheme.
func Check(acls []proto.ACL, perm int32, ids []proto.ID) bool {
	if len(acls) == 0 || IsSuper(ids) {
		return true
	}
	for _, a := range acls {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID.Scheme == SchemeWorld && a.ID.ID == "anyone" {
			return true
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && matches(a.ID.Scheme, id.ID, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

// matches is the scheme's AuthenticationProvider.matches(id, aclExpr).
// Schemes without a provider (world other than anyone, auth, super,
// unknown) never match.
func matches(scheme, id, expr string) bool {
	switch scheme {
	case SchemeDigest, SchemeX509:
		return id == expr
	case SchemeSASL:
		return id == "super" || id == expr // SASLAuthenticationProvider.matches
	case SchemeIP:
		return ipMatches(id, expr)
	}
	return false
}

// authenticated reports whether the scheme's provider isAuthenticated():
// such identities replace "auth" entries in Fixup. IPAuthenticationProvider
// says no; "super" has no provider and is skipped too.
func authenticated(scheme string) bool {
	switch scheme {
	case SchemeDigest, SchemeX509, SchemeSASL:
		return true
	}
	return false
}

// Fixup validates the ACL of a create or setACL and expands "auth" entries,
// as PrepRequestProcessor.fixupACL:
//   - exact duplicates are removed first, keeping the first of each
//     (removeDuplicates); an empty or nil list is proto.ErrInvalidACL;
//   - world:anyone is kept;
//   - an "auth" entry (whatever its id) becomes one entry with its perms for
//     each of authIDs whose scheme is an authenticated one (digest, x509,
//     sasl; not ip or super), in order; if there is none, proto.ErrInvalidACL;
//   - a digest or ip entry is kept if Valid, else proto.ErrInvalidACL;
//   - any other scheme, and world with another id, is proto.ErrInvalidACL.
//
// Entries produced by expansion are not de-duplicated again (ZooKeeper does
// not either).
func Fixup(acls []proto.ACL, authIDs []proto.ID) ([]proto.ACL, error) {
	uniq := make([]proto.ACL, 0, len(acls))
	for _, a := range acls {
		if !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	if len(uniq) == 0 {
		return nil, proto.ErrInvalidACL
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		switch {
		case a.ID.Scheme == SchemeWorld && a.ID.ID == "anyone":
			out = append(out, a)
		case a.ID.Scheme == SchemeAuth:
			found := false
			for _, id := range authIDs {
				if authenticated(id.Scheme) {
					found = true
					out = append(out, proto.ACL{Perms: a.Perms, ID: id})
				}
			}
			if !found {
				return nil, proto.ErrInvalidACL
			}
		case validID(a.ID):
			out = append(out, a)
		default:
			return nil, proto.ErrInvalidACL
		}
	}
	return out, nil
}

// Valid reports whether an entry may be stored as it is: world:anyone, a
// digest id of the form user:hash, or an ip address or CIDR. ("auth" entries
// are not storable; Fixup expands them.)
func Valid(a proto.ACL) bool {
	if a.ID.Scheme == SchemeWorld {
		return a.ID.ID == "anyone"
	}
	return validID(a.ID)
}

// validID is the provider's isValid for the schemes registered by default.
func validID(id proto.ID) bool {
	switch id.Scheme {
	case SchemeDigest:
		return validDigestID(id.ID)
	case SchemeIP:
		return validIP(id.ID)
	}
	return false
}

// validDigestID is DigestAuthenticationProvider.isValid: id.split(":") has
// exactly two parts. Java's split drops trailing empty strings, so "u:h:"
// is valid and "u:" is not; neither part is checked further.
func validDigestID(id string) bool {
	return strings.Count(strings.TrimRight(id, ":"), ":") == 1
}
