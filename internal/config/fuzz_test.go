package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is an *Error
// of one of the sentinel kinds, and that what it accepts is valid.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zookeeper\nclientPort=2181\n",
		"dataDir=/d\nserver.1=a:2888:3888\nserver.2=b:2888:3888:observer;127.0.0.1:2181\n",
		"dataDir=/d\nserver.1=[::1]:2888:3888;[::1]:2181\n",
		"dataDir=/d\n4lw.commands.whitelist=*\nminSessionTimeout=-1\n",
		"a\\\n  b=c\\u0041\n# x\n! y\r\nk : v\f\n",
		"dataDir=/d\njute.maxbuffer=10\njute.maxbuffer.extrasize=1\nsnapCount=0\n",
		"dataDir=/d\nclientPortAddress=::1\nclientPort=0\n",
		"dataDir=/d\nDigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=\n",
		"server.1=\\u",
	} {
		f.Add([]byte(seed))
	}
	sentinels := []error{ErrSyntax, ErrInvalidValue, ErrMissing, ErrInvalidServer, ErrMyID, ErrUnsupported}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data))
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not an *Error", err)
			}
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("error %v matches no sentinel", err)
			}
			if c != nil {
				t.Fatalf("Parse returned a config with error %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		if c.TickTime <= 0 || c.DataDir == "" || c.LogDir() == "" || c.MinSessionTimeout > c.MaxSessionTimeout ||
			c.ClientPort < 0 || c.ClientPort > 65535 || !c.FourLetterWords["srvr"] || c.JuteMaxBufferExtra < 1024 {
			t.Fatalf("invalid config accepted: %+v", c)
		}
		for i, s := range c.Servers {
			if s.ID < 1 || s.ID > MaxServerID || (i > 0 && c.Servers[i-1].ID >= s.ID) {
				t.Fatalf("servers not unique, sorted and in range: %+v", c.Servers)
			}
		}
	})
}
