package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parse reads a zoo.cfg from r, applies defaults and validates the result.
// It reads no myid file, so an ensemble configuration fails validation with
// ErrMyID; use Load, or Decode, set MyID and call Validate.
func Parse(r io.Reader) (*Config, error) {
	c, err := Decode(r)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Decode reads a zoo.cfg from r and applies defaults without validating the
// result as a whole. Errors about single values (not a number, not a
// boolean, a malformed server line) are reported here, with their line.
func Decode(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("config: reading: %w", err)
	}
	props, err := readProperties(string(data))
	if err != nil {
		return nil, err
	}

	// Trim keys and values as QuorumPeerConfig does, map aliases to one
	// spelling, and keep the last of duplicate keys, as java.util.Properties
	// does. Settings are then applied in file order so that the first bad
	// line is the one reported.
	last := make(map[string]int, len(props))
	for i := range props {
		props[i].key = canonicalKey(strings.TrimSpace(props[i].key))
		props[i].value = strings.TrimSpace(props[i].value)
		last[props[i].key] = i
	}
	d := &decoder{c: Default(), minSession: -1, maxSession: -1}
	d.c.DataDir = ""
	d.c.lines = make(map[string]int)
	for i, p := range props {
		if last[p.key] != i {
			continue
		}
		d.key, d.value, d.line = p.key, p.value, p.line
		if err := d.apply(); err != nil {
			return nil, err
		}
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return d.c, nil
}

// decoder applies properties to a Config.
type decoder struct {
	c                      *Config
	key, value             string
	line                   int
	minSession, maxSession int // ms; -1 means "2 and 20 ticks"
	extraSet               bool
}

func (d *decoder) fail(sentinel error, format string, args ...any) error {
	return &Error{Line: d.line, Key: d.key, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}

func (d *decoder) warn(format string, args ...any) {
	prefix := d.key + ": "
	if d.line > 0 {
		prefix = "line " + strconv.Itoa(d.line) + ": " + prefix
	}
	d.c.Warnings = append(d.c.Warnings, prefix+fmt.Sprintf(format, args...))
}

// intValue parses the value as Java's Integer.parseInt does: an optional sign and
// decimal digits that fit in 32 bits.
func (d *decoder) intValue() (int, error) {
	n, err := strconv.ParseInt(d.value, 10, 32)
	if err != nil {
		return 0, d.numError(err)
	}
	return int(n), nil
}

// longValue is intValue for Java's Long.parseLong.
func (d *decoder) longValue() (int64, error) {
	n, err := strconv.ParseInt(d.value, 10, 64)
	if err != nil {
		return 0, d.numError(err)
	}
	return n, nil
}

func (d *decoder) numError(err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return d.fail(ErrInvalidValue, "%s is out of range", quote(d.value))
	}
	return d.fail(ErrInvalidValue, "%s is not a number", quote(d.value))
}

// boolValue accepts true/false (QuorumPeerConfig.parseBoolean, case-insensitive)
// and yes/no (the spelling of forceSync), and rejects anything else.
func (d *decoder) boolValue() (bool, error) {
	switch strings.ToLower(d.value) {
	case "true", "yes":
		return true, nil
	case "false", "no":
		return false, nil
	}
	return false, d.fail(ErrInvalidValue, "%s is not a boolean (true, false, yes or no)", quote(d.value))
}

func (d *decoder) port() (int, error) {
	n, err := d.intValue()
	if err == nil && (n < 0 || n > 65535) {
		err = d.fail(ErrInvalidValue, "%s is out of range 0-65535", quote(d.value))
	}
	return n, err
}

func (d *decoder) millis() (time.Duration, error) {
	n, err := d.intValue()
	return time.Duration(n) * time.Millisecond, err
}

// A handler applies one key. Handlers for keys ZooKeeper reads as system
// properties are also found under "zookeeper."+key (canonicalKey).
type handler func(d *decoder) error

var handlers map[string]handler

// sysProps are the keys ZooKeeper reads as Java system properties. In
// zoo.cfg ZooKeeper prefixes unknown keys with "zookeeper.", so both
// "forceSync" and "zookeeper.forceSync" are accepted here.
var sysProps = []string{
	"snapCount", "preAllocSize", "forceSync", "4lw.commands.whitelist",
	"extendedTypesEnabled", "znode.container.checkIntervalMs", "znode.container.maxPerMinute",
	"DigestAuthenticationProvider.superDigest", "jute.maxbuffer", "jute.maxbuffer.extrasize",
	"globalOutstandingLimit", "admin.enableServer", "admin.serverPort", "skipACL",
}

func init() { sysProps = append(sysProps, throttleSysProps...) }

func canonicalKey(key string) string {
	if rest, ok := strings.CutPrefix(key, "zookeeper."); ok && slices.Contains(sysProps, rest) {
		return rest
	}
	return key
}

func init() {
	handlers = map[string]handler{
		"tickTime":   func(d *decoder) (err error) { d.c.TickTime, err = d.millis(); return },
		"initLimit":  func(d *decoder) (err error) { d.c.InitLimit, err = d.intValue(); return },
		"syncLimit":  func(d *decoder) (err error) { d.c.SyncLimit, err = d.intValue(); return },
		"dataDir":    func(d *decoder) error { d.c.DataDir = d.value; return nil },
		"dataLogDir": func(d *decoder) error { d.c.DataLogDir = d.value; return nil },
		"clientPort": func(d *decoder) (err error) { d.c.ClientPort, err = d.port(); return },
		"clientPortAddress": func(d *decoder) error {
			// InetAddress.getByName accepts a bracketed IPv6 literal.
			v := d.value
			if len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']' {
				v = v[1 : len(v)-1]
			}
			d.c.ClientPortAddress = v
			return nil
		},
		"maxClientCnxns":    func(d *decoder) (err error) { d.c.MaxClientCnxns, err = d.intValue(); return },
		"minSessionTimeout": func(d *decoder) (err error) { d.minSession, err = d.sessionTimeout(); return },
		"maxSessionTimeout": func(d *decoder) (err error) { d.maxSession, err = d.sessionTimeout(); return },
		"snapCount": func(d *decoder) error {
			n, err := d.intValue()
			if err == nil && n < MinSnapCount {
				d.warn("%s is less than %d; using %d", quote(d.value), MinSnapCount, MinSnapCount)
				n = MinSnapCount
			}
			d.c.SnapCount = n
			return err
		},
		"preAllocSize": func(d *decoder) error {
			kib, err := d.longValue()
			if err != nil {
				return err
			}
			if kib < 0 || kib > math.MaxInt64/1024 {
				return d.fail(ErrInvalidValue, "%s is out of range (KiB, 0 or more)", quote(d.value))
			}
			d.c.PreAllocSize = kib * 1024
			return nil
		},
		// ZooKeeper (FileTxnLog) syncs unless the value is exactly "no", so
		// "false" would still sync there; here false means false.
		"forceSync": func(d *decoder) (err error) { d.c.ForceSync, err = d.boolValue(); return },
		"autopurge.snapRetainCount": func(d *decoder) error {
			n, err := d.intValue()
			if err == nil && n < DefaultSnapRetainCount {
				d.warn("%s is less than %d; using %d", quote(d.value), DefaultSnapRetainCount, DefaultSnapRetainCount)
				n = DefaultSnapRetainCount
			}
			d.c.AutopurgeSnapRetainCount = n
			return err
		},
		"autopurge.purgeInterval": func(d *decoder) error {
			n, err := d.intValue()
			if n < 0 {
				n = 0 // ZooKeeper schedules no purge for any value <= 0
			}
			d.c.AutopurgePurgeInterval = n
			return err
		},
		"4lw.commands.whitelist":          (*decoder).whitelist,
		"extendedTypesEnabled":            func(d *decoder) (err error) { d.c.ExtendedTypesEnabled, err = d.boolValue(); return },
		"gozk.existsChecksACL":            func(d *decoder) (err error) { d.c.ExistsChecksACL, err = d.boolValue(); return },
		"znode.container.checkIntervalMs": func(d *decoder) (err error) { d.c.ContainerCheckInterval, err = d.millis(); return },
		"znode.container.maxPerMinute":    func(d *decoder) (err error) { d.c.ContainerMaxPerMinute, err = d.intValue(); return },
		"DigestAuthenticationProvider.superDigest": func(d *decoder) error {
			d.c.SuperDigest = d.value
			return nil
		},
		"jute.maxbuffer": func(d *decoder) (err error) { d.c.JuteMaxBuffer, err = d.intValue(); return },
		"jute.maxbuffer.extrasize": func(d *decoder) error {
			n, err := d.intValue()
			d.c.JuteMaxBufferExtra, d.extraSet = n, true
			return err
		},
		"globalOutstandingLimit": func(d *decoder) (err error) { d.c.GlobalOutstandingLimit, err = d.intValue(); return },
		"standaloneEnabled":      func(d *decoder) (err error) { d.c.StandaloneEnabled, err = d.boolValue(); return },
		"admin.enableServer":     func(d *decoder) (err error) { d.c.AdminEnableServer, err = d.boolValue(); return },
		"admin.serverPort":       func(d *decoder) (err error) { d.c.AdminServerPort, err = d.port(); return },

		"electionAlg": func(d *decoder) error {
			n, err := d.intValue()
			if err == nil && n != 3 {
				return d.fail(ErrInvalidValue, "%s is not supported: only 3 is", quote(d.value))
			}
			return err
		},
		"peerType": func(d *decoder) error {
			switch strings.ToLower(d.value) {
			case "observer", "participant":
				d.warn("ignored: the server.N lines decide whether this server observes")
				return nil
			}
			return d.fail(ErrInvalidValue, "%s is not a peer type (observer or participant)", quote(d.value))
		},
		"dynamicConfigFile": func(d *decoder) error {
			return d.fail(ErrUnsupported, "%s: dynamic configuration files are not supported; list server.N in this file", quote(d.value))
		},
	}
	// Keys ZooKeeper knows whose features gozk does not have: checked as
	// ZooKeeper checks them, then ignored with a warning.
	ignore := func(check func(d *decoder) error) handler {
		return func(d *decoder) error {
			if check != nil {
				if err := check(d); err != nil {
					return err
				}
			}
			d.warn("accepted but ignored")
			return nil
		}
	}
	checkBool := func(d *decoder) error { _, err := d.boolValue(); return err }
	checkInt := func(d *decoder) error { _, err := d.intValue(); return err }
	checkLong := func(d *decoder) error { _, err := d.longValue(); return err }
	for _, k := range []string{
		"localSessionsEnabled", "localSessionsUpgradingEnabled", "quorumListenOnAllIPs", "syncEnabled",
		"reconfigEnabled", "sslQuorum", "portUnification", "sslQuorumReloadCertFiles",
		"quorum.auth.enableSasl", "quorum.auth.serverRequireSasl", "quorum.auth.learnerRequireSasl",
		"jvm.pause.monitor", "multiAddress.enabled", "multiAddress.reachabilityCheckEnabled", "skipACL",
	} {
		handlers[k] = ignore(checkBool)
	}
	for _, k := range []string{
		"secureClientPort", "observerMasterPort", "clientPortListenBacklog", "connectToLearnerMasterLimit",
		"quorum.cnxn.threads.size", "multiAddress.reachabilityCheckTimeoutMs",
	} {
		handlers[k] = ignore(checkInt)
	}
	for _, k := range []string{"jvm.pause.info-threshold.ms", "jvm.pause.warn-threshold.ms", "jvm.pause.sleep.time.ms"} {
		handlers[k] = ignore(checkLong)
	}
	for _, k := range []string{
		"secureClientPortAddress", "quorum.auth.learner.saslLoginContext", "quorum.auth.server.saslLoginContext",
		"quorum.auth.kerberos.servicePrincipal", "metricsProvider.className", "oraclePath",
	} {
		handlers[k] = ignore(nil)
	}
	for k, h := range throttleHandlers() {
		handlers[k] = h
	}
}

// ignoredPrefixes are families of keys ZooKeeper or its plugins read that
// gozk accepts and ignores.
var ignoredPrefixes = []string{"metricsProvider.", "ssl.", "authProvider.", "admin.", "quorum.", "multiAddress.", "jvm.pause."}

func (d *decoder) apply() error {
	d.c.lines[d.key] = d.line
	if h, ok := handlers[d.key]; ok {
		return h(d)
	}
	switch {
	case strings.HasPrefix(d.key, "server."):
		return d.server()
	case strings.HasPrefix(d.key, "group.") || strings.HasPrefix(d.key, "weight."):
		return d.fail(ErrUnsupported, "hierarchical quorums (group.N, weight.N) are not supported")
	}
	for _, p := range ignoredPrefixes {
		if strings.HasPrefix(d.key, p) {
			d.warn("accepted but ignored")
			return nil
		}
	}
	d.warn("unknown key, ignored (ZooKeeper would set the system property zookeeper.%s)", d.key)
	return nil
}

func (d *decoder) sessionTimeout() (int, error) {
	n, err := d.intValue()
	if err == nil && n < -1 {
		err = d.fail(ErrInvalidValue, "%s must not be negative (-1 means the default)", quote(d.value))
	}
	return n, err
}

// whitelist applies 4lw.commands.whitelist as FourLetterCommands.isEnabled
// does: a comma-separated list of words, each trimmed; "*" enables every
// known word; "srvr" is always enabled. Names are case-sensitive. ZooKeeper
// keeps unknown words (they never match); they are dropped with a warning.
func (d *decoder) whitelist() error {
	words := map[string]bool{"srvr": true}
	for _, w := range strings.Split(d.value, ",") {
		w = strings.TrimSpace(w)
		switch {
		case w == "":
		case w == "*":
			for _, k := range FourLetterWordNames() {
				words[k] = true
			}
		case isFourLetterWord(w):
			words[w] = true
		case isFourLetterWord(strings.ToLower(w)):
			d.warn("%s is not a four-letter word (names are case-sensitive: did you mean %s?); ignored", quote(w), quote(strings.ToLower(w)))
		default:
			d.warn("%s is not a four-letter word; ignored", quote(w))
		}
		if w == "*" {
			break // ZooKeeper stops reading the list at "*"
		}
	}
	d.c.FourLetterWords = words
	return nil
}

func (d *decoder) server() error {
	idText := strings.TrimPrefix(d.key, "server.")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return d.fail(ErrInvalidServer, "%s is not a server id", quote(idText))
	}
	if id < 1 || id > MaxServerID {
		return d.fail(ErrInvalidServer, "server id %d is out of range 1-%d", id, MaxServerID)
	}
	for _, s := range d.c.Servers {
		if s.ID == uint64(id) {
			return d.fail(ErrInvalidServer, "server id %d is listed twice (line %d)", id, d.c.line(serverKey(s.ID)))
		}
	}
	s, warning, serr := parseServer(uint64(id), d.value)
	if serr != nil {
		serr.Line, serr.Key = d.line, d.key
		return serr
	}
	if warning != "" {
		d.warn("%s", warning)
	}
	d.c.Servers = append(d.c.Servers, s)
	d.c.lines[serverKey(s.ID)] = d.line
	return nil
}

// finish applies the defaults that depend on other keys and the checks
// QuorumPeerConfig.parseProperties makes on key combinations.
func (d *decoder) finish() error {
	c := d.c
	d.line, d.key, d.value = 0, "", ""
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
		d.key = "dataDir"
		d.warn("%s is a relative path, resolved against the working directory", quote(c.DataDir))
	}
	if _, ok := c.lines["clientPortAddress"]; ok {
		if _, ok := c.lines["clientPort"]; !ok {
			return &Error{Line: c.line("clientPortAddress"), Key: "clientPortAddress", Detail: "clientPortAddress is set but clientPort is not set", Err: ErrMissing}
		}
	}
	tickMs := int(c.TickTime / time.Millisecond)
	c.MinSessionTimeout = time.Duration(d.minSession) * time.Millisecond
	if d.minSession == -1 {
		c.MinSessionTimeout = time.Duration(2*tickMs) * time.Millisecond
	}
	c.MaxSessionTimeout = time.Duration(d.maxSession) * time.Millisecond
	if d.maxSession == -1 {
		c.MaxSessionTimeout = time.Duration(20*tickMs) * time.Millisecond
	}
	if !d.extraSet {
		c.JuteMaxBufferExtra = c.JuteMaxBuffer
	}
	if c.JuteMaxBufferExtra < MinJuteMaxBufferExtra {
		d.key = "jute.maxbuffer.extrasize"
		d.warn("%d is less than %d; using %d", c.JuteMaxBufferExtra, MinJuteMaxBufferExtra, MinJuteMaxBufferExtra)
		c.JuteMaxBufferExtra = MinJuteMaxBufferExtra
	}
	slices.SortFunc(c.Servers, func(a, b Server) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	// QuorumPeerConfig.parseDynamicConfig's warnings.
	d.key = "server"
	switch p := c.Participants(); {
	case p == 0:
	case p == 1 && c.StandaloneEnabled:
		d.warn("only one server specified; running standalone (ignoring the server line)")
	case p <= 2:
		d.warn("no server failure will be tolerated; you need at least 3 servers")
	case p%2 == 0:
		d.warn("non-optimal configuration: consider an odd number of servers")
	}
	return nil
}
