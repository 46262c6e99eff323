package config

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
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

// FuzzReadProperties splits arbitrary text into properties. It must never
// panic, every error must be an ErrSyntax *Error with a line, and what it
// reads must survive a round trip: written back with java.util.Properties'
// escaping, one property a line, the text reads as the same keys and values
// in the same order.
func FuzzReadProperties(f *testing.F) {
	for _, seed := range []string{
		"a=b\nc : d\ne f\n",
		"  key\\ with\\ spaces = value with spaces  \n",
		"multi\\\n   line=x\\\n  y\r\nz\\u00e9=\\u0041\\uD83D\\uDE00\n",
		"# comment\n! comment\n\n=empty key\nnovalue\n",
		"tab\\tkey=\\n\\r\\f\\\\\\=\\:\\#\\!\n",
		"bad=\\u12",
		"lone=\\uD800x\ntrail=\\",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := readProperties(string(data))
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrSyntax) || ce.Line < 1 {
				t.Fatalf("error %#v is not a syntax *Error with a line", err)
			}
			return
		}
		var b strings.Builder
		for i, p := range props {
			if p.line < 1 || (i > 0 && p.line <= props[i-1].line) {
				t.Fatalf("property %d on line %d after line %d", i, p.line, props[max(i-1, 0)].line)
			}
			b.WriteString(escapeProperty(p.key, true))
			b.WriteByte('=')
			b.WriteString(escapeProperty(p.value, false))
			b.WriteByte('\n')
		}
		again, err := readProperties(b.String())
		if err != nil {
			t.Fatalf("written back as %q: %v", b.String(), err)
		}
		if len(again) != len(props) {
			t.Fatalf("%d properties read back from %q, want %d", len(again), b.String(), len(props))
		}
		for i := range props {
			if again[i].key != props[i].key || again[i].value != props[i].value || again[i].line != i+1 {
				t.Fatalf("property %d: %q=%q read back as %q=%q (line %d)", i, props[i].key, props[i].value, again[i].key, again[i].value, again[i].line)
			}
		}
	})
}

// escapeProperty escapes a key or value as java.util.Properties.store does
// (saveConvert), except that other than ASCII is written as it is, in UTF-8.
func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '=', ':', '#', '!':
			b.WriteByte('\\')
			b.WriteByte(c)
		case ' ':
			if key || i == 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzParseMyID parses arbitrary myid files: an id from 1 to 255, which
// parses back from its decimal form, or an ErrMyID.
func FuzzParseMyID(f *testing.F) {
	for _, seed := range []string{"1\n", " 255 \r\nextra", "0", "256", "-1", "+7", "007", "x", "", "99999999999999999999"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := ParseMyID(data)
		if err != nil {
			if !errors.Is(err, ErrMyID) || id != 0 {
				t.Fatalf("ParseMyID = %d, %v", id, err)
			}
			return
		}
		if id < 1 || id > MaxServerID {
			t.Fatalf("id %d accepted", id)
		}
		if again, err := ParseMyID([]byte(strconv.FormatUint(id, 10))); again != id || err != nil {
			t.Fatalf("id %d parses back as %d, %v", id, again, err)
		}
	})
}
