package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults, as Apache ZooKeeper 3.9 applies them when a key is absent.
const (
	DefaultTickTime               = 3000 * time.Millisecond // ZooKeeperServer.DEFAULT_TICK_TIME; zoo_sample.cfg sets 2000 explicitly
	DefaultInitLimit              = 10                      // ZooKeeper has none (it refuses a quorum without one); zoo_sample.cfg's value
	DefaultSyncLimit              = 5                       // likewise
	DefaultDataDir                = "./data"                // Default() only; a file must set dataDir
	DefaultClientPort             = 2181                    // ZooKeeper opens no plain port without clientPort; gozk uses the well-known one
	DefaultMaxClientCnxns         = 60                      // per client IP
	DefaultSnapCount              = 100000                  // ZooKeeperServer.DEFAULT_SNAP_COUNT
	MinSnapCount                  = 2                       // ZooKeeperServer.getSnapCount resets smaller values to 2
	DefaultPreAllocSize           = 65536 * 1024            // FilePadding: 64 MiB, in bytes (the file gives KiB)
	DefaultSnapRetainCount        = 3                       // also the minimum (QuorumPeerConfig.MIN_SNAP_RETAIN_COUNT)
	DefaultContainerCheckInterval = time.Minute             // ContainerManager: znode.container.checkIntervalMs
	DefaultContainerMaxPerMinute  = 10000                   // ContainerManager: znode.container.maxPerMinute
	DefaultJuteMaxBuffer          = 0xfffff                 // BinaryInputArchive: jute.maxbuffer
	MinJuteMaxBufferExtra         = 1024                    // BinaryInputArchive raises smaller extrasize values to 1024
	DefaultGlobalOutstandingLimit = 1000                    // ZooKeeperServer.DEFAULT_GLOBAL_OUTSTANDING_LIMIT
	DefaultAdminServerPort        = 8080                    // JettyAdminServer.DEFAULT_PORT
	MaxServerID                   = 255                     // zookeeperAdmin: "a value between 1 and 255"
	MaxExtendedServerID           = 254                     // EphemeralType.MAX_EXTENDED_SERVER_ID, with extendedTypesEnabled
)

// Config is a server's configuration: zoo.cfg plus the myid file.
type Config struct {
	TickTime  time.Duration // tickTime, in ms in the file
	InitLimit int           // initLimit, in ticks
	SyncLimit int           // syncLimit, in ticks

	DataDir    string // dataDir; relative paths are relative to the working directory
	DataLogDir string // dataLogDir; empty means DataDir (Parse fills it in), see LogDir

	ClientPort        int    // clientPort; 0 picks a free port
	ClientPortAddress string // clientPortAddress; "" means all interfaces
	MaxClientCnxns    int    // maxClientCnxns, per client IP; 0 (or less) means unlimited

	MinSessionTimeout time.Duration // minSessionTimeout (ms in the file, -1 = default): default 2 ticks
	MaxSessionTimeout time.Duration // maxSessionTimeout (ms in the file, -1 = default): default 20 ticks

	SnapCount    int   // snapCount: transactions between snapshots
	PreAllocSize int64 // preAllocSize: KiB in the file, bytes here
	ForceSync    bool  // forceSync: fsync the log before acknowledging

	AutopurgeSnapRetainCount int // autopurge.snapRetainCount, at least 3
	AutopurgePurgeInterval   int // autopurge.purgeInterval, hours; 0 means off

	// FourLetterWords is the set of enabled four-letter words
	// (4lw.commands.whitelist). "srvr" is always in it, as in ZooKeeper.
	FourLetterWords map[string]bool

	ExtendedTypesEnabled bool // extendedTypesEnabled: TTL nodes

	// ExistsChecksACL (gozk.existsChecksACL, default true) makes exists need
	// READ on an existing node, as ZooKeeper does since 3.8.4 and 3.9.2
	// (ZOOKEEPER-2590); false restores the older behaviour, which some
	// clients (Curator's creatingParentsIfNeeded before 5.8) rely on.
	ExistsChecksACL bool

	ContainerCheckInterval time.Duration // znode.container.checkIntervalMs
	ContainerMaxPerMinute  int           // znode.container.maxPerMinute

	// SuperDigest is "user:base64(sha1(user:password))"; a session that adds
	// digest auth matching it becomes super user. Empty means none.
	SuperDigest string

	// JuteMaxBuffer caps a client frame (jute.maxbuffer); ZooKeeper closes a
	// connection that announces a longer one.
	JuteMaxBuffer int
	// JuteMaxBufferExtra is the slack added to JuteMaxBuffer when checking a
	// single buffer or string inside a record (jute.maxbuffer.extrasize).
	// ZooKeeper's default is the value of jute.maxbuffer, and values under
	// 1024 count as 1024 (BinaryInputArchive).
	JuteMaxBufferExtra int

	GlobalOutstandingLimit int // globalOutstandingLimit: requests in flight before throttling

	ConnectionThrottle ConnectionThrottle // connection_throttle_*: new sessions per unit of time

	Servers []Server // server.N lines
	MyID    uint64   // from dataDir/myid; 0 when unknown

	StandaloneEnabled bool // standaloneEnabled

	// AdminEnableServer (admin.enableServer) turns on the HTTP admin server.
	// ZooKeeper 3.9 enables it unless set to false (newer releases disable
	// it); gozk defaults to false.
	AdminEnableServer bool
	AdminServerPort   int // admin.serverPort

	// Warnings lists keys that were accepted but are ignored, unknown keys
	// (ZooKeeper turns them into system properties), and values that were
	// adjusted as ZooKeeper adjusts them.
	Warnings []string

	// lines maps each key read from a file (canonical spelling; server lines
	// as "server.<id>") to its line, so that Validate can point at it.
	lines map[string]int
}

// Server is one server.N line:
//
//	server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]
type Server struct {
	ID           uint64
	Host         string // without brackets for IPv6 literals
	QuorumPort   int
	ElectionPort int
	Observer     bool
	ClientHost   string // "" when only a client port is given: all interfaces
	ClientPort   int    // 0 when the line has no client part
}

// Default returns the configuration ZooKeeper would run with if every key were
// absent, except that DataDir is "./data" (a file must set dataDir) and
// ClientPort is 2181.
func Default() *Config {
	return &Config{
		TickTime:                 DefaultTickTime,
		InitLimit:                DefaultInitLimit,
		SyncLimit:                DefaultSyncLimit,
		DataDir:                  DefaultDataDir,
		ClientPort:               DefaultClientPort,
		MaxClientCnxns:           DefaultMaxClientCnxns,
		MinSessionTimeout:        2 * DefaultTickTime,
		MaxSessionTimeout:        20 * DefaultTickTime,
		SnapCount:                DefaultSnapCount,
		PreAllocSize:             DefaultPreAllocSize,
		ForceSync:                true,
		AutopurgeSnapRetainCount: DefaultSnapRetainCount,
		FourLetterWords:          map[string]bool{"srvr": true},
		ContainerCheckInterval:   DefaultContainerCheckInterval,
		ContainerMaxPerMinute:    DefaultContainerMaxPerMinute,
		JuteMaxBuffer:            DefaultJuteMaxBuffer,
		JuteMaxBufferExtra:       DefaultJuteMaxBuffer,
		GlobalOutstandingLimit:   DefaultGlobalOutstandingLimit,
		ConnectionThrottle:       defaultConnectionThrottle(),
		StandaloneEnabled:        true,
		ExistsChecksACL:          true,
		AdminServerPort:          DefaultAdminServerPort,
	}
}

// FourLetterWordNames returns every four-letter word ZooKeeper knows
// (FourLetterCommands), which "*" in 4lw.commands.whitelist enables.
func FourLetterWordNames() []string {
	return []string{
		"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
		"srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
	}
}

func isFourLetterWord(w string) bool { return slices.Contains(FourLetterWordNames(), w) }

// LogDir is where the transaction log goes: DataLogDir, or DataDir if unset.
func (c *Config) LogDir() string {
	if c.DataLogDir != "" {
		return c.DataLogDir
	}
	return c.DataDir
}

// ClientAddr is the host:port to listen on for clients. When this server's
// own server.N line has a client part, that wins, as in ZooKeeper
// (QuorumPeerConfig.setupClientPort).
func (c *Config) ClientAddr() string {
	if s, ok := c.Self(); ok && s.ClientPort != 0 {
		return net.JoinHostPort(s.ClientHost, strconv.Itoa(s.ClientPort))
	}
	return net.JoinHostPort(c.ClientPortAddress, strconv.Itoa(c.ClientPort))
}

// Self returns this server's own server.N line, if MyID names one.
func (c *Config) Self() (Server, bool) {
	if c.MyID == 0 {
		return Server{}, false
	}
	for _, s := range c.Servers {
		if s.ID == c.MyID {
			return s, true
		}
	}
	return Server{}, false
}

// Participants counts the voting servers (those not marked observer).
func (c *Config) Participants() int {
	n := 0
	for _, s := range c.Servers {
		if !s.Observer {
			n++
		}
	}
	return n
}

// Standalone reports whether the server runs alone rather than in an
// ensemble. As in ZooKeeper (QuorumPeerConfig.isDistributed), a single
// participant line still means standalone unless standaloneEnabled=false.
func (c *Config) Standalone() bool {
	return c.StandaloneEnabled && c.Participants() <= 1
}

// line returns the line key was read from, 0 if unknown.
func (c *Config) line(key string) int { return c.lines[key] }

func (c *Config) errorf(sentinel error, key, format string, args ...any) *Error {
	return &Error{Line: c.line(key), Key: key, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}

func serverKey(id uint64) string { return "server." + strconv.FormatUint(id, 10) }

// Validate checks the configuration as ZooKeeper does when it starts, and
// returns the first problem as an *Error.
func (c *Config) Validate() error {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	switch {
	case c.TickTime <= 0:
		return c.errorf(ErrInvalidValue, "tickTime", "%s must be positive", quote(ms(c.TickTime)))
	case c.DataDir == "":
		return c.errorf(ErrMissing, "dataDir", "is not set")
	case c.ClientPort < 0 || c.ClientPort > 65535:
		return c.errorf(ErrInvalidValue, "clientPort", "%s is out of range 0-65535", quote(strconv.Itoa(c.ClientPort)))
	case c.MinSessionTimeout < 0:
		return c.errorf(ErrInvalidValue, "minSessionTimeout", "%s must not be negative", quote(ms(c.MinSessionTimeout)))
	case c.MinSessionTimeout > c.MaxSessionTimeout:
		return c.errorf(ErrInvalidValue, "minSessionTimeout", "%s must not be larger than maxSessionTimeout (%s)",
			quote(ms(c.MinSessionTimeout)), ms(c.MaxSessionTimeout))
	case c.SnapCount < MinSnapCount:
		return c.errorf(ErrInvalidValue, "snapCount", "%s must be at least %d", quote(strconv.Itoa(c.SnapCount)), MinSnapCount)
	case c.PreAllocSize < 0:
		return c.errorf(ErrInvalidValue, "preAllocSize", "%s must not be negative", quote(strconv.FormatInt(c.PreAllocSize/1024, 10)))
	case c.AutopurgeSnapRetainCount < DefaultSnapRetainCount:
		return c.errorf(ErrInvalidValue, "autopurge.snapRetainCount", "%s must be at least %d",
			quote(strconv.Itoa(c.AutopurgeSnapRetainCount)), DefaultSnapRetainCount)
	case c.AutopurgePurgeInterval < 0:
		return c.errorf(ErrInvalidValue, "autopurge.purgeInterval", "%s must not be negative", quote(strconv.Itoa(c.AutopurgePurgeInterval)))
	case c.ContainerCheckInterval <= 0:
		return c.errorf(ErrInvalidValue, "znode.container.checkIntervalMs", "%s must be positive", quote(ms(c.ContainerCheckInterval)))
	case c.ContainerMaxPerMinute <= 0:
		return c.errorf(ErrInvalidValue, "znode.container.maxPerMinute", "%s must be positive", quote(strconv.Itoa(c.ContainerMaxPerMinute)))
	case c.JuteMaxBuffer <= 0:
		return c.errorf(ErrInvalidValue, "jute.maxbuffer", "%s must be positive", quote(strconv.Itoa(c.JuteMaxBuffer)))
	case c.JuteMaxBufferExtra < MinJuteMaxBufferExtra:
		return c.errorf(ErrInvalidValue, "jute.maxbuffer.extrasize", "%s must be at least %d",
			quote(strconv.Itoa(c.JuteMaxBufferExtra)), MinJuteMaxBufferExtra)
	case c.GlobalOutstandingLimit <= 0:
		return c.errorf(ErrInvalidValue, "globalOutstandingLimit", "%s must be positive", quote(strconv.Itoa(c.GlobalOutstandingLimit)))
	case c.AdminServerPort < 0 || c.AdminServerPort > 65535:
		return c.errorf(ErrInvalidValue, "admin.serverPort", "%s is out of range 0-65535", quote(strconv.Itoa(c.AdminServerPort)))
	}
	for w := range c.FourLetterWords {
		if !isFourLetterWord(w) {
			return c.errorf(ErrInvalidValue, "4lw.commands.whitelist", "%s is not a four-letter word", quote(w))
		}
	}
	if c.SuperDigest != "" {
		if err := checkSuperDigest(c.SuperDigest); err != "" {
			return c.errorf(ErrInvalidValue, "DigestAuthenticationProvider.superDigest", "%s %s", quote(c.SuperDigest), err)
		}
	}
	return c.validateEnsemble()
}

// checkSuperDigest returns why d is not "user:base64(sha1)", or "".
func checkSuperDigest(d string) string {
	i := strings.IndexByte(d, ':')
	if i < 0 {
		return "is not of the form user:base64(sha1(user:password))"
	}
	sum, err := base64.StdEncoding.DecodeString(d[i+1:])
	if err != nil || len(sum) != 20 {
		return "is not of the form user:base64(sha1(user:password)) (the part after the first ':' must be a base64 SHA-1 hash, not a password)"
	}
	return ""
}

// validateEnsemble applies QuorumPeerConfig.parseDynamicConfig and
// checkValidity to the server list and myid.
func (c *Config) validateEnsemble() error {
	seen := make(map[uint64]bool, len(c.Servers))
	for _, s := range c.Servers {
		key := serverKey(s.ID)
		switch {
		case s.ID < 1 || s.ID > MaxServerID:
			return c.errorf(ErrInvalidServer, key, "server id %d is out of range 1-%d", s.ID, MaxServerID)
		case seen[s.ID]:
			return c.errorf(ErrInvalidServer, key, "server id %d is listed twice", s.ID)
		case s.Host == "":
			return c.errorf(ErrInvalidServer, key, "host is empty")
		case s.QuorumPort < 1 || s.QuorumPort > 65535:
			return c.errorf(ErrInvalidServer, key, "quorum port %d is out of range 1-65535", s.QuorumPort)
		case s.ElectionPort < 1 || s.ElectionPort > 65535:
			return c.errorf(ErrInvalidServer, key, "election port %d is out of range 1-65535", s.ElectionPort)
		case s.QuorumPort == s.ElectionPort:
			return c.errorf(ErrInvalidServer, key, "quorum and election port must be different (both %d)", s.QuorumPort)
		case s.ClientPort < 0 || s.ClientPort > 65535:
			return c.errorf(ErrInvalidServer, key, "client port %d is out of range 0-65535", s.ClientPort)
		}
		seen[s.ID] = true
	}
	participants := c.Participants()
	observers := len(c.Servers) - participants
	switch {
	case participants == 0 && !c.StandaloneEnabled:
		return c.errorf(ErrInvalidServer, "standaloneEnabled", "standaloneEnabled = false then number of participants should be >0")
	case participants == 0 && observers > 0:
		return c.errorf(ErrInvalidServer, serverKey(c.Servers[0].ID), "Observers w/o participants is an invalid configuration")
	case participants == 1 && c.StandaloneEnabled && observers > 0:
		return c.errorf(ErrInvalidServer, serverKey(c.Servers[0].ID), "Observers w/o quorum is an invalid configuration")
	}
	if c.ExtendedTypesEnabled && c.MyID > MaxExtendedServerID {
		return &Error{Key: "myid", Detail: fmt.Sprintf("server id %d is larger than %d, the most extendedTypesEnabled allows", c.MyID, MaxExtendedServerID), Err: ErrMyID}
	}
	if c.Standalone() {
		return nil
	}
	switch {
	case c.InitLimit <= 0:
		return c.errorf(ErrInvalidValue, "initLimit", "%s must be positive in an ensemble", quote(strconv.Itoa(c.InitLimit)))
	case c.SyncLimit <= 0:
		return c.errorf(ErrInvalidValue, "syncLimit", "%s must be positive in an ensemble", quote(strconv.Itoa(c.SyncLimit)))
	case c.MyID == 0:
		return &Error{Key: "myid", Detail: "myid file is missing (an ensemble needs dataDir/myid)", Err: ErrMyID}
	}
	self, ok := c.Self()
	if !ok {
		return &Error{Key: "myid", Detail: fmt.Sprintf("my id %d is not in the server list", c.MyID), Err: ErrMyID}
	}
	// QuorumPeerConfig.setupClientPort: a clientPort in the static file must
	// agree with the client part of this server's line.
	if _, explicit := c.lines["clientPort"]; explicit && self.ClientPort != 0 {
		wildcard := c.ClientPortAddress == "" || c.ClientPortAddress == "0.0.0.0" || c.ClientPortAddress == "::"
		if c.ClientPort != self.ClientPort || (!wildcard && c.ClientPortAddress != self.ClientHost) {
			return c.errorf(ErrInvalidServer, serverKey(self.ID),
				"client address %s differs from clientPort/clientPortAddress %s",
				net.JoinHostPort(self.ClientHost, strconv.Itoa(self.ClientPort)),
				net.JoinHostPort(c.ClientPortAddress, strconv.Itoa(c.ClientPort)))
		}
	}
	return nil
}
