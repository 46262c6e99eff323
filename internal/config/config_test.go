package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	want := &Config{
		TickTime:                 3000 * time.Millisecond,
		InitLimit:                10,
		SyncLimit:                5,
		DataDir:                  "./data",
		ClientPort:               2181,
		MaxClientCnxns:           60,
		MinSessionTimeout:        6 * time.Second,
		MaxSessionTimeout:        60 * time.Second,
		SnapCount:                100000,
		PreAllocSize:             64 << 20,
		ForceSync:                true,
		AutopurgeSnapRetainCount: 3,
		FourLetterWords:          map[string]bool{"srvr": true},
		ContainerCheckInterval:   60 * time.Second,
		ContainerMaxPerMinute:    10000,
		JuteMaxBuffer:            0xfffff,
		JuteMaxBufferExtra:       0xfffff,
		GlobalOutstandingLimit:   1000,
		// BlueThrottle's defaults: disabled.
		ConnectionThrottle: ConnectionThrottle{FillTime: time.Millisecond, FillCount: 1, FreezeTime: -time.Millisecond, DropIncrease: 0.02, DropDecrease: 0.002},
		StandaloneEnabled:  true,
		ExistsChecksACL:    true,
		AdminServerPort:    8080,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	if !c.Standalone() || c.ClientAddr() != ":2181" || c.LogDir() != "./data" {
		t.Errorf("Default(): Standalone %v, ClientAddr %q, LogDir %q", c.Standalone(), c.ClientAddr(), c.LogDir())
	}
}

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return c
}

// A minimal file ZooKeeper starts with (it needs dataDir and, to listen,
// clientPort). ZooKeeper 3.8 run on it reports tickTime=3000,
// minSessionTimeout=6000, maxSessionTimeout=60000 and maxClientCnxns=60 (4lw conf).
func TestParseMinimalFileMatchesZooKeeperDefaults(t *testing.T) {
	c := mustParse(t, "dataDir=/var/lib/zk\nclientPort=2181\n")
	want := Default()
	want.DataDir, want.DataLogDir = "/var/lib/zk", "/var/lib/zk"
	want.lines = map[string]int{"dataDir": 1, "clientPort": 2}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseValues(t *testing.T) {
	const base = "dataDir=/d\n"
	tests := []struct {
		name  string
		text  string
		check func(c *Config) bool
	}{
		{"zoo_sample.cfg", "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zookeeper\nclientPort=2181\n#maxClientCnxns=60\n#autopurge.snapRetainCount=3\n", func(c *Config) bool {
			return c.TickTime == 2*time.Second && c.MinSessionTimeout == 4*time.Second && c.MaxSessionTimeout == 40*time.Second &&
				c.DataDir == "/tmp/zookeeper" && c.DataLogDir == "/tmp/zookeeper" && len(c.Warnings) == 0
		}},
		{"session bounds follow tickTime", base + "tickTime=100", func(c *Config) bool {
			return c.MinSessionTimeout == 200*time.Millisecond && c.MaxSessionTimeout == 2*time.Second
		}},
		{"session bounds -1 means default", base + "tickTime=100\nminSessionTimeout=-1\nmaxSessionTimeout=-1", func(c *Config) bool {
			return c.MinSessionTimeout == 200*time.Millisecond && c.MaxSessionTimeout == 2*time.Second
		}},
		{"session bounds set", base + "minSessionTimeout=1000\nmaxSessionTimeout=90000", func(c *Config) bool {
			return c.MinSessionTimeout == time.Second && c.MaxSessionTimeout == 90*time.Second
		}},
		{"min session 0 allowed", base + "minSessionTimeout=0", func(c *Config) bool { return c.MinSessionTimeout == 0 }},
		{"equal bounds allowed", base + "minSessionTimeout=5000\nmaxSessionTimeout=5000", func(c *Config) bool { return c.MaxSessionTimeout == 5*time.Second }},
		{"dataLogDir", base + "dataLogDir=/l", func(c *Config) bool { return c.DataLogDir == "/l" && c.LogDir() == "/l" }},
		{"clientPortAddress", base + "clientPort=2191\nclientPortAddress=127.0.0.1", func(c *Config) bool { return c.ClientAddr() == "127.0.0.1:2191" }},
		{"clientPortAddress IPv6", base + "clientPort=2191\nclientPortAddress=::1", func(c *Config) bool { return c.ClientAddr() == "[::1]:2191" }},
		{"clientPortAddress bracketed IPv6", base + "clientPort=2191\nclientPortAddress=[::1]", func(c *Config) bool { return c.ClientAddr() == "[::1]:2191" }},
		{"clientPort 0 picks a free port", base + "clientPort=0", func(c *Config) bool { return c.ClientAddr() == ":0" }},
		{"maxClientCnxns 0", base + "maxClientCnxns=0", func(c *Config) bool { return c.MaxClientCnxns == 0 }},
		{"numbers with sign and leading zeros, as Integer.parseInt", base + "maxClientCnxns=+007", func(c *Config) bool { return c.MaxClientCnxns == 7 }},
		{"snapCount", base + "snapCount=5000", func(c *Config) bool { return c.SnapCount == 5000 }},
		{"snapCount below 2 is raised to 2", base + "snapCount=1", func(c *Config) bool { return c.SnapCount == 2 && len(c.Warnings) == 1 }},
		{"zookeeper.snapCount alias", base + "zookeeper.snapCount=7", func(c *Config) bool { return c.SnapCount == 7 }},
		{"preAllocSize KiB to bytes", base + "preAllocSize=1024", func(c *Config) bool { return c.PreAllocSize == 1<<20 }},
		{"forceSync no", base + "forceSync=no", func(c *Config) bool { return !c.ForceSync }},
		{"forceSync yes", base + "forceSync=yes", func(c *Config) bool { return c.ForceSync }},
		{"forceSync false", base + "forceSync=False", func(c *Config) bool { return !c.ForceSync }},
		{"zookeeper.forceSync", base + "zookeeper.forceSync=no", func(c *Config) bool { return !c.ForceSync }},
		{"autopurge", base + "autopurge.snapRetainCount=10\nautopurge.purgeInterval=24", func(c *Config) bool {
			return c.AutopurgeSnapRetainCount == 10 && c.AutopurgePurgeInterval == 24
		}},
		{"snapRetainCount below 3 is raised to 3", base + "autopurge.snapRetainCount=1", func(c *Config) bool {
			return c.AutopurgeSnapRetainCount == 3 && len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "autopurge.snapRetainCount")
		}},
		{"negative purgeInterval is off", base + "autopurge.purgeInterval=-5", func(c *Config) bool { return c.AutopurgePurgeInterval == 0 }},
		{"extendedTypesEnabled", base + "extendedTypesEnabled=true", func(c *Config) bool { return c.ExtendedTypesEnabled }},
		{"zookeeper.extendedTypesEnabled", base + "zookeeper.extendedTypesEnabled=TRUE", func(c *Config) bool { return c.ExtendedTypesEnabled }},
		{"container settings", base + "znode.container.checkIntervalMs=1000\nznode.container.maxPerMinute=5", func(c *Config) bool {
			return c.ContainerCheckInterval == time.Second && c.ContainerMaxPerMinute == 5
		}},
		{"superDigest", base + "DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=", func(c *Config) bool {
			return c.SuperDigest == "super:lK75jTNcA+U9vtVEw5vB51mj/w4="
		}},
		{"zookeeper.DigestAuthenticationProvider.superDigest", base + "zookeeper.DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=", func(c *Config) bool {
			return c.SuperDigest == "super:lK75jTNcA+U9vtVEw5vB51mj/w4="
		}},
		{"jute.maxbuffer sets the extra size too", base + "jute.maxbuffer=4194304", func(c *Config) bool {
			return c.JuteMaxBuffer == 4194304 && c.JuteMaxBufferExtra == 4194304
		}},
		{"jute.maxbuffer.extrasize", base + "jute.maxbuffer.extrasize=2048", func(c *Config) bool {
			return c.JuteMaxBuffer == 0xfffff && c.JuteMaxBufferExtra == 2048
		}},
		{"small extrasize is raised to 1024", base + "jute.maxbuffer.extrasize=10", func(c *Config) bool { return c.JuteMaxBufferExtra == 1024 }},
		{"small jute.maxbuffer gives extrasize 1024", base + "jute.maxbuffer=100", func(c *Config) bool {
			return c.JuteMaxBuffer == 100 && c.JuteMaxBufferExtra == 1024
		}},
		{"globalOutstandingLimit", base + "globalOutstandingLimit=5", func(c *Config) bool { return c.GlobalOutstandingLimit == 5 }},
		{"connection throttle as zoo.cfg sets ZooKeeper's system properties", base +
			"connection_throttle_tokens=100\nzookeeper.connection_throttle_fill_time=250\nconnection_throttle_fill_count=10\n" +
			"connection_throttle_freeze_time=1000\nconnection_throttle_drop_increase=0.05\nconnection_throttle_drop_decrease=0.01\nconnection_throttle_decrease_ratio=0.25",
			func(c *Config) bool {
				return c.ConnectionThrottle == ConnectionThrottle{Tokens: 100, FillTime: 250 * time.Millisecond, FillCount: 10,
					FreezeTime: time.Second, DropIncrease: 0.05, DropDecrease: 0.01, DecreaseRatio: 0.25}
			}},
		{"connection throttle by its documented names", base + "connectionMaxTokens=7\nconnectionTokenFillTime=2000",
			func(c *Config) bool {
				return c.ConnectionThrottle.Tokens == 7 && c.ConnectionThrottle.FillTime == 2*time.Second && len(c.Warnings) == 0
			}},
		{"admin server", base + "admin.enableServer=true\nadmin.serverPort=9090", func(c *Config) bool {
			return c.AdminEnableServer && c.AdminServerPort == 9090
		}},
		{"admin server off", base + "admin.enableServer=false", func(c *Config) bool { return !c.AdminEnableServer }},
		{"duplicate keys: last wins", base + "tickTime=1000\ntickTime=500", func(c *Config) bool { return c.TickTime == 500*time.Millisecond }},
		{"duplicate keys: an earlier bad value is overridden", base + "tickTime=abc\ntickTime=500", func(c *Config) bool { return c.TickTime == 500*time.Millisecond }},
		{"aliases share a key: last wins", base + "forceSync=no\nzookeeper.forceSync=yes", func(c *Config) bool { return c.ForceSync }},
		{"surrounding blanks trimmed", "  dataDir  =  /d  \n tickTime : 1000 \t", func(c *Config) bool {
			return c.DataDir == "/d" && c.TickTime == time.Second
		}},
		{"electionAlg 3 accepted", base + "electionAlg=3", func(c *Config) bool { return len(c.Warnings) == 0 }},
		{"a single participant line is standalone", base + "server.1=localhost:2888:3888", func(c *Config) bool {
			return c.Standalone() && len(c.Servers) == 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.text)
			if !tt.check(c) {
				t.Errorf("Parse(%q) = %+v", tt.text, c)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		err  error  // sentinel
		msg  string // the whole message
	}{
		{"tickTime not a number", "dataDir=/d\ntickTime=abc", ErrInvalidValue, `config: line 2: tickTime: "abc" is not a number`},
		{"tickTime empty", "dataDir=/d\ntickTime=", ErrInvalidValue, `config: line 2: tickTime: "" is not a number`},
		{"tickTime with unit", "dataDir=/d\ntickTime=2s", ErrInvalidValue, `config: line 2: tickTime: "2s" is not a number`},
		{"tickTime overflow", "dataDir=/d\ntickTime=99999999999", ErrInvalidValue, `config: line 2: tickTime: "99999999999" is out of range`},
		{"tickTime zero", "dataDir=/d\ntickTime=0", ErrInvalidValue, `config: line 2: tickTime: "0" must be positive`},
		{"tickTime negative", "tickTime=-5\ndataDir=/d", ErrInvalidValue, `config: line 1: tickTime: "-5" must be positive`},
		{"dataDir missing", "tickTime=2000\nclientPort=2181", ErrMissing, `config: dataDir: is not set`},
		{"dataDir empty", "dataDir=", ErrMissing, `config: line 1: dataDir: is not set`},
		{"clientPort not a number", "dataDir=/d\nclientPort=x", ErrInvalidValue, `config: line 2: clientPort: "x" is not a number`},
		{"clientPort too big", "dataDir=/d\nclientPort=65536", ErrInvalidValue, `config: line 2: clientPort: "65536" is out of range 0-65535`},
		{"clientPort negative", "dataDir=/d\nclientPort=-1", ErrInvalidValue, `config: line 2: clientPort: "-1" is out of range 0-65535`},
		{"clientPortAddress without clientPort", "dataDir=/d\nclientPortAddress=127.0.0.1", ErrMissing,
			`config: line 2: clientPortAddress: clientPortAddress is set but clientPort is not set`},
		{"min above max", "dataDir=/d\nminSessionTimeout=5000\nmaxSessionTimeout=4000", ErrInvalidValue,
			`config: line 2: minSessionTimeout: "5000" must not be larger than maxSessionTimeout (4000)`},
		{"min above default max", "dataDir=/d\ntickTime=100\nminSessionTimeout=5000", ErrInvalidValue,
			`config: line 3: minSessionTimeout: "5000" must not be larger than maxSessionTimeout (2000)`},
		{"session timeout below -1", "dataDir=/d\nmaxSessionTimeout=-2", ErrInvalidValue,
			`config: line 2: maxSessionTimeout: "-2" must not be negative (-1 means the default)`},
		{"maxClientCnxns", "dataDir=/d\nmaxClientCnxns=lots", ErrInvalidValue, `config: line 2: maxClientCnxns: "lots" is not a number`},
		{"initLimit", "dataDir=/d\ninitLimit=1.5", ErrInvalidValue, `config: line 2: initLimit: "1.5" is not a number`},
		{"syncLimit", "dataDir=/d\nsyncLimit=five", ErrInvalidValue, `config: line 2: syncLimit: "five" is not a number`},
		{"forceSync", "dataDir=/d\nforceSync=maybe", ErrInvalidValue, `config: line 2: forceSync: "maybe" is not a boolean (true, false, yes or no)`},
		{"zookeeper.forceSync reported under its canonical key", "dataDir=/d\nzookeeper.forceSync=1", ErrInvalidValue,
			`config: line 2: forceSync: "1" is not a boolean (true, false, yes or no)`},
		{"standaloneEnabled", "dataDir=/d\nstandaloneEnabled=on", ErrInvalidValue, `config: line 2: standaloneEnabled: "on" is not a boolean (true, false, yes or no)`},
		{"preAllocSize", "dataDir=/d\npreAllocSize=64M", ErrInvalidValue, `config: line 2: preAllocSize: "64M" is not a number`},
		{"preAllocSize negative", "dataDir=/d\npreAllocSize=-1", ErrInvalidValue, `config: line 2: preAllocSize: "-1" is out of range (KiB, 0 or more)`},
		{"preAllocSize overflows bytes", "dataDir=/d\npreAllocSize=9223372036854775807", ErrInvalidValue,
			`config: line 2: preAllocSize: "9223372036854775807" is out of range (KiB, 0 or more)`},
		{"snapCount", "dataDir=/d\nsnapCount=1e5", ErrInvalidValue, `config: line 2: snapCount: "1e5" is not a number`},
		{"container interval zero", "dataDir=/d\nznode.container.checkIntervalMs=0", ErrInvalidValue,
			`config: line 2: znode.container.checkIntervalMs: "0" must be positive`},
		{"container max zero", "dataDir=/d\nznode.container.maxPerMinute=0", ErrInvalidValue,
			`config: line 2: znode.container.maxPerMinute: "0" must be positive`},
		{"jute.maxbuffer zero", "dataDir=/d\njute.maxbuffer=0", ErrInvalidValue, `config: line 2: jute.maxbuffer: "0" must be positive`},
		{"jute.maxbuffer not a number", "dataDir=/d\njute.maxbuffer=1MB", ErrInvalidValue, `config: line 2: jute.maxbuffer: "1MB" is not a number`},
		{"globalOutstandingLimit zero", "dataDir=/d\nglobalOutstandingLimit=0", ErrInvalidValue, `config: line 2: globalOutstandingLimit: "0" must be positive`},
		{"connection throttle fill time zero", "dataDir=/d\nconnection_throttle_fill_time=0", ErrInvalidValue, `config: line 2: connection_throttle_fill_time: "0" must be positive`},
		{"connection throttle drop above 1", "dataDir=/d\nconnection_throttle_drop_increase=1.5", ErrInvalidValue, `config: line 2: connection_throttle_drop_increase: "1.5" is out of range 0-1`},
		{"admin.serverPort", "dataDir=/d\nadmin.serverPort=99999", ErrInvalidValue, `config: line 2: admin.serverPort: "99999" is out of range 0-65535`},
		{"superDigest without colon", "dataDir=/d\nDigestAuthenticationProvider.superDigest=abc", ErrInvalidValue,
			`config: line 2: DigestAuthenticationProvider.superDigest: "abc" is not of the form user:base64(sha1(user:password))`},
		{"superDigest with a password", "dataDir=/d\nDigestAuthenticationProvider.superDigest=super:secret", ErrInvalidValue,
			`config: line 2: DigestAuthenticationProvider.superDigest: "super:secret" is not of the form user:base64(sha1(user:password)) (the part after the first ':' must be a base64 SHA-1 hash, not a password)`},
		{"electionAlg other than 3", "dataDir=/d\nelectionAlg=1", ErrInvalidValue, `config: line 2: electionAlg: "1" is not supported: only 3 is`},
		{"peerType", "dataDir=/d\npeerType=leader", ErrInvalidValue, `config: line 2: peerType: "leader" is not a peer type (observer or participant)`},
		{"ignored key still checked as ZooKeeper checks it", "dataDir=/d\nlocalSessionsEnabled=perhaps", ErrInvalidValue,
			`config: line 2: localSessionsEnabled: "perhaps" is not a boolean (true, false, yes or no)`},
		{"ignored int key checked", "dataDir=/d\nsecureClientPort=tls", ErrInvalidValue, `config: line 2: secureClientPort: "tls" is not a number`},
		{"dynamicConfigFile", "dataDir=/d\ndynamicConfigFile=/etc/zoo.cfg.dynamic", ErrUnsupported,
			`config: line 2: dynamicConfigFile: "/etc/zoo.cfg.dynamic": dynamic configuration files are not supported; list server.N in this file`},
		{"hierarchical quorums", "dataDir=/d\ngroup.1=1:2:3", ErrUnsupported, `config: line 2: group.1: hierarchical quorums (group.N, weight.N) are not supported`},
		{"malformed unicode escape", "dataDir=/d\n\ntickTime=\\u00zz", ErrSyntax, `config: line 3: malformed \uxxxx encoding`},
		{"first bad line is reported", "dataDir=/d\nsyncLimit=x\ninitLimit=y", ErrInvalidValue, `config: line 2: syncLimit: "x" is not a number`},
		{"the last duplicate is the one checked", "dataDir=/d\ntickTime=1000\ntickTime=abc", ErrInvalidValue, `config: line 3: tickTime: "abc" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.text))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.text, c)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v is not %v", err, tt.err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not an *Error", err)
			}
			if err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"none", "dataDir=/d", nil},
		{"unknown key", "dataDir=/d\nfoo.bar=1", []string{"line 2: foo.bar: unknown key, ignored (ZooKeeper would set the system property zookeeper.foo.bar)"}},
		{"known but ignored", "dataDir=/d\nlocalSessionsEnabled=true\nmetricsProvider.className=x\nssl.keyStore.location=/k",
			[]string{"line 2: localSessionsEnabled: accepted but ignored", "line 3: metricsProvider.className: accepted but ignored", "line 4: ssl.keyStore.location: accepted but ignored"}},
		{"relative dataDir", "dataDir=data", []string{`dataDir: "data" is a relative path, resolved against the working directory`}},
		{"unknown four-letter words", "dataDir=/d\n4lw.commands.whitelist=ruok, bogus, Stat",
			[]string{`line 2: 4lw.commands.whitelist: "bogus" is not a four-letter word; ignored`,
				`line 2: 4lw.commands.whitelist: "Stat" is not a four-letter word (names are case-sensitive: did you mean "stat"?); ignored`}},
		{"two participants", "dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2",
			[]string{"server: no server failure will be tolerated; you need at least 3 servers"}},
		{"four participants", "dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2",
			[]string{"server: non-optimal configuration: consider an odd number of servers"}},
		{"one participant", "dataDir=/d\nserver.1=a:1:2",
			[]string{"server: only one server specified; running standalone (ignoring the server line)"}},
		{"secure client part", "dataDir=/d\nserver.1=a:1:2;2181;2281",
			[]string{`line 2: server.1: secure client address "2281" ignored: TLS is not supported`,
				"server: only one server specified; running standalone (ignoring the server line)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Warnings, tt.want) {
				t.Errorf("Warnings\n got %q\nwant %q", c.Warnings, tt.want)
			}
		})
	}
}

// FourLetterCommands.isEnabled: comma-separated, trimmed, case-sensitive,
// "*" enables every known word, srvr is always enabled. Checked against
// ZooKeeper 3.8 with "4lw.commands.whitelist=conf, RUOK, bogus": conf and
// srvr answered, ruok answered "ruok is not executed because it is not in
// the whitelist."
func TestFourLetterWords(t *testing.T) {
	all := map[string]bool{}
	for _, w := range FourLetterWordNames() {
		all[w] = true
	}
	tests := []struct {
		value string
		want  map[string]bool
	}{
		{"", map[string]bool{"srvr": true}},
		{"ruok", map[string]bool{"srvr": true, "ruok": true}},
		{" ruok , stat ,,mntr ", map[string]bool{"srvr": true, "ruok": true, "stat": true, "mntr": true}},
		{"RUOK", map[string]bool{"srvr": true}},
		{"bogus", map[string]bool{"srvr": true}},
		{"*", all},
		{"ruok,*", all},
		{" * ", all},
		{"srvr", map[string]bool{"srvr": true}},
	}
	for _, tt := range tests {
		c := mustParse(t, "dataDir=/d\n4lw.commands.whitelist="+tt.value)
		if !reflect.DeepEqual(c.FourLetterWords, tt.want) {
			t.Errorf("whitelist %q: got %v, want %v", tt.value, c.FourLetterWords, tt.want)
		}
	}
	if len(all) != 18 {
		t.Errorf("FourLetterWordNames has %d words, want 18", len(all))
	}
	c := mustParse(t, "dataDir=/d\nzookeeper.4lw.commands.whitelist=ruok")
	if !c.FourLetterWords["ruok"] {
		t.Errorf("zookeeper.4lw.commands.whitelist not applied: %v", c.FourLetterWords)
	}
}

func TestServerLines(t *testing.T) {
	tests := []struct {
		value string
		want  Server
	}{
		{"zk1:2888:3888", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
		{"zk1:2888:3888:participant", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
		{"zk1:2888:3888:observer", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, Observer: true}},
		{"zk1:2888:3888:OBSERVER", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, Observer: true}},
		{"zk1:2888:3888;2181", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, ClientPort: 2181}},
		{"zk1:2888:3888;10.0.0.1:2181", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, ClientHost: "10.0.0.1", ClientPort: 2181}},
		{"zk1:2888:3888:observer;0.0.0.0:2181", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888, Observer: true, ClientHost: "0.0.0.0", ClientPort: 2181}},
		{"zk1:2888:3888;", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
		{"zk1:2888:3888:", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}}, // Java's split drops the trailing empty part
		{"[::1]:2888:3888", Server{ID: 1, Host: "::1", QuorumPort: 2888, ElectionPort: 3888}},
		{"[fe80::1]:2888:3888:observer;[::1]:2181", Server{ID: 1, Host: "fe80::1", QuorumPort: 2888, ElectionPort: 3888, Observer: true, ClientHost: "::1", ClientPort: 2181}},
		{" zk1 : 2888 : 3888 ", Server{ID: 1, Host: "zk1", QuorumPort: 2888, ElectionPort: 3888}},
	}
	for _, tt := range tests {
		c, err := Decode(strings.NewReader("dataDir=/d\nserver.1=" + tt.value))
		if err != nil {
			t.Errorf("server.1=%s: %v", tt.value, err)
			continue
		}
		if len(c.Servers) != 1 || c.Servers[0] != tt.want {
			t.Errorf("server.1=%s: got %+v, want %+v", tt.value, c.Servers, tt.want)
		}
	}
}

func TestServerLineErrors(t *testing.T) {
	tests := []struct {
		line string
		err  error
		msg  string
	}{
		{"server.1=zk1:2888", ErrInvalidServer, `config: line 2: server.1: "zk1:2888" does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`},
		{"server.1=zk1", ErrInvalidServer, `config: line 2: server.1: "zk1" does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`},
		{"server.1=zk1:1:2:observer:x", ErrInvalidServer, `config: line 2: server.1: "zk1:1:2:observer:x" does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`},
		{"server.1=", ErrInvalidServer, `config: line 2: server.1: "" does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`},
		{"server.1=zk1:x:3888", ErrInvalidServer, `config: line 2: server.1: "zk1:x:3888" has a quorum port "x" that is not a number`},
		{"server.1=zk1:2888:y", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:y" has an election port "y" that is not a number`},
		{"server.1=zk1:0:3888", ErrInvalidServer, `config: line 2: server.1: "zk1:0:3888" has a quorum port 0 out of range 1-65535`},
		{"server.1=zk1:2888:70000", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:70000" has an election port 70000 out of range 1-65535`},
		{"server.1=zk1:2888:2888", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:2888" has the same quorum and election port 2888; they must be different`},
		{"server.1=:2888:3888", ErrInvalidServer, `config: line 2: server.1: ":2888:3888" has an empty host`},
		{"server.1=zk1:2888:3888:leader", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:3888:leader" has unknown peer type "leader" (observer or participant)`},
		{"server.1=zk1:2888:3888;a:b:2181", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:3888;a:b:2181" has a client part "a:b:2181" that is not [host:]port`},
		{"server.1=zk1:2888:3888;port", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:3888;port" has a client port "port" that is not a number`},
		// Found by FuzzParse: parts that split into nothing used to panic.
		{"server.1=zk1:2888:3888;:", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:3888;:" has a client part ":" that is not [host:]port`},
		{"server.1=zk1:2888:3888;::", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:3888;::" has a client part "::" that is not [host:]port`},
		{"server.1=;", ErrInvalidServer, `config: line 2: server.1: ";" does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`},
		{"server.1=;;", ErrInvalidServer, `config: line 2: server.1: ";;" does not have the form host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`},
		{"server.1=zk1:2888:3888;a;b;c", ErrInvalidServer, `config: line 2: server.1: "zk1:2888:3888;a;b;c" has more than three ';'-separated parts`},
		{"server.1=[::1:2888:3888", ErrInvalidServer, `config: line 2: server.1: "[::1:2888:3888" has "[::1:2888:3888", which starts with '[' but has no matching ']'`},
		{"server.1=[::1]:", ErrInvalidServer, `config: line 2: server.1: "[::1]:" has "[::1]:", which has no port after ']:'`},
		{"server.1=a:1:2|b:1:2", ErrUnsupported, `config: line 2: server.1: "a:1:2|b:1:2": multiple addresses per server are not supported`},
		{"server.x=a:1:2", ErrInvalidServer, `config: line 2: server.x: "x" is not a server id`},
		{"server.1.2=a:1:2", ErrInvalidServer, `config: line 2: server.1.2: "1.2" is not a server id`},
		{"server.0=a:1:2", ErrInvalidServer, `config: line 2: server.0: server id 0 is out of range 1-255`},
		{"server.256=a:1:2", ErrInvalidServer, `config: line 2: server.256: server id 256 is out of range 1-255`},
		{"server.1=a:1:2\nserver.01=b:1:2", ErrInvalidServer, `config: line 3: server.01: server id 1 is listed twice (line 2)`},
	}
	for _, tt := range tests {
		text := "dataDir=/d\n" + tt.line
		_, err := Parse(strings.NewReader(text))
		if !errors.Is(err, tt.err) {
			t.Errorf("%q: error %v is not %v", tt.line, err, tt.err)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("%q: error\n got %s\nwant %s", tt.line, err, tt.msg)
		}
	}
}

func TestEnsembleRules(t *testing.T) {
	three := "dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2;2182\n"
	tests := []struct {
		name       string
		text       string
		myid       uint64
		err        error // nil: valid
		standalone bool
		msg        string
	}{
		{"standalone, no servers", "dataDir=/d", 0, nil, true, ""},
		{"one participant is standalone, no myid needed", "dataDir=/d\nserver.1=a:1:2", 0, nil, true, ""},
		{"three servers need myid", three, 0, ErrMyID, false, "config: myid: myid file is missing (an ensemble needs dataDir/myid)"},
		{"myid must be listed", three, 4, ErrMyID, false, "config: myid: my id 4 is not in the server list"},
		{"three servers with myid", three, 2, nil, false, ""},
		{"standaloneEnabled=false, one participant is an ensemble", "dataDir=/d\nstandaloneEnabled=false\nserver.1=a:1:2", 1, nil, false, ""},
		{"standaloneEnabled=false without participants", "dataDir=/d\nstandaloneEnabled=false", 0, ErrInvalidServer, false,
			"config: line 2: standaloneEnabled: standaloneEnabled = false then number of participants should be >0"},
		{"observers only", "dataDir=/d\nserver.1=a:1:2:observer", 0, ErrInvalidServer, false,
			"config: line 2: server.1: Observers w/o participants is an invalid configuration"},
		{"one participant and an observer", "dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2:observer", 0, ErrInvalidServer, false,
			"config: line 2: server.1: Observers w/o quorum is an invalid configuration"},
		{"two participants and an observer", "dataDir=/d\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer", 3, nil, false, ""},
		{"initLimit 0 in an ensemble", three + "initLimit=0", 1, ErrInvalidValue, false, `config: line 5: initLimit: "0" must be positive in an ensemble`},
		{"syncLimit 0 in an ensemble", three + "syncLimit=0", 1, ErrInvalidValue, false, `config: line 5: syncLimit: "0" must be positive in an ensemble`},
		{"initLimit 0 is fine standalone", "dataDir=/d\ninitLimit=0", 0, nil, true, ""},
		{"client port agrees", three + "clientPort=2182", 3, nil, false, ""},
		{"client port disagrees", three + "clientPort=2181", 3, ErrInvalidServer, false,
			"config: line 4: server.3: client address :2182 differs from clientPort/clientPortAddress :2181"},
		{"client address disagrees", "dataDir=/d\nclientPort=2181\nclientPortAddress=10.0.0.2\nserver.1=a:1:2;10.0.0.1:2181\nserver.2=b:1:2\nserver.3=c:1:2", 1, ErrInvalidServer, false,
			"config: line 4: server.1: client address 10.0.0.1:2181 differs from clientPort/clientPortAddress 10.0.0.2:2181"},
		{"myid above 254 with TTL", "dataDir=/d\nextendedTypesEnabled=true\nserver.1=a:1:2\nserver.255=b:1:2\nserver.3=c:1:2", 255, ErrMyID, false,
			"config: myid: server id 255 is larger than 254, the most extendedTypesEnabled allows"},
		{"myid 255 without TTL", "dataDir=/d\nserver.1=a:1:2\nserver.255=b:1:2\nserver.3=c:1:2", 255, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(strings.NewReader(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			c.MyID = tt.myid
			err = c.Validate()
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if c.Standalone() != tt.standalone {
					t.Errorf("Standalone() = %v, want %v", c.Standalone(), tt.standalone)
				}
				return
			}
			if !errors.Is(err, tt.err) || err.Error() != tt.msg {
				t.Errorf("Validate error\n got %v\nwant %s (%v)", err, tt.msg, tt.err)
			}
		})
	}
}

func TestClientAddrFromServerLine(t *testing.T) {
	tests := []struct {
		text string
		myid uint64
		want string
	}{
		{"dataDir=/d\nclientPort=2181", 0, ":2181"},
		{"dataDir=/d\nserver.1=a:1:2;2190\nserver.2=b:1:2;127.0.0.2:2191\nserver.3=c:1:2", 1, ":2190"},
		{"dataDir=/d\nserver.1=a:1:2;2190\nserver.2=b:1:2;127.0.0.2:2191\nserver.3=c:1:2", 2, "127.0.0.2:2191"},
		{"dataDir=/d\nclientPort=2000\nserver.1=a:1:2;2190\nserver.2=b:1:2;127.0.0.2:2191\nserver.3=c:1:2", 3, ":2000"},
		{"dataDir=/d\nserver.1=[::1]:1:2;[::1]:2190\nserver.2=b:1:2\nserver.3=c:1:2", 1, "[::1]:2190"},
	}
	for _, tt := range tests {
		c, err := Decode(strings.NewReader(tt.text))
		if err != nil {
			t.Fatal(err)
		}
		c.MyID = tt.myid
		if err := c.Validate(); err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		if got := c.ClientAddr(); got != tt.want {
			t.Errorf("%q myid %d: ClientAddr() = %q, want %q", tt.text, tt.myid, got, tt.want)
		}
	}
}

// Validate on configurations built in code rather than parsed.
func TestValidateBuilt(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		key    string
	}{
		{"tickTime", func(c *Config) { c.TickTime = 0 }, "tickTime"},
		{"dataDir", func(c *Config) { c.DataDir = "" }, "dataDir"},
		{"clientPort", func(c *Config) { c.ClientPort = 70000 }, "clientPort"},
		{"minSessionTimeout negative", func(c *Config) { c.MinSessionTimeout = -time.Second }, "minSessionTimeout"},
		{"min above max", func(c *Config) { c.MinSessionTimeout = time.Hour }, "minSessionTimeout"},
		{"snapCount", func(c *Config) { c.SnapCount = 1 }, "snapCount"},
		{"preAllocSize", func(c *Config) { c.PreAllocSize = -1 }, "preAllocSize"},
		{"snapRetainCount", func(c *Config) { c.AutopurgeSnapRetainCount = 2 }, "autopurge.snapRetainCount"},
		{"purgeInterval", func(c *Config) { c.AutopurgePurgeInterval = -1 }, "autopurge.purgeInterval"},
		{"extrasize", func(c *Config) { c.JuteMaxBufferExtra = 1023 }, "jute.maxbuffer.extrasize"},
		{"four-letter word", func(c *Config) { c.FourLetterWords = map[string]bool{"RUOK": true} }, "4lw.commands.whitelist"},
		{"server id 0", func(c *Config) { c.Servers = []Server{{ID: 0, Host: "a", QuorumPort: 1, ElectionPort: 2}} }, "server.0"},
		{"duplicate server", func(c *Config) {
			s := Server{ID: 1, Host: "a", QuorumPort: 1, ElectionPort: 2}
			c.Servers = []Server{s, s}
		}, "server.1"},
		{"empty host", func(c *Config) { c.Servers = []Server{{ID: 1, QuorumPort: 1, ElectionPort: 2}} }, "server.1"},
		{"same ports", func(c *Config) { c.Servers = []Server{{ID: 1, Host: "a", QuorumPort: 1, ElectionPort: 1}} }, "server.1"},
		{"admin port", func(c *Config) { c.AdminServerPort = -1 }, "admin.serverPort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.modify(c)
			err := c.Validate()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want an *Error", err)
			}
			if ce.Key != tt.key || !strings.Contains(err.Error(), tt.key+": ") {
				t.Errorf("Validate() = %v, want key %s", err, tt.key)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Key: "tickTime", Detail: `"abc" is not a number`}, `config: tickTime: "abc" is not a number`},
		{Error{Line: 3, Key: "tickTime", Detail: `"abc" is not a number`}, `config: line 3: tickTime: "abc" is not a number`},
		{Error{File: "zoo.cfg", Line: 3, Key: "tickTime", Detail: `"abc" is not a number`}, `config: zoo.cfg:3: tickTime: "abc" is not a number`},
		{Error{File: "zoo.cfg", Key: "dataDir", Detail: "is not set"}, `config: zoo.cfg: dataDir: is not set`},
		{Error{Line: 2, Detail: "bad"}, `config: line 2: bad`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}
