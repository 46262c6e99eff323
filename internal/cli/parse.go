package cli

import (
	"regexp"
	"strings"
)

// argsPattern splits a command line the way ZooKeeperMain.MyCommandOptions
// does: a token is a run of non-blank characters not starting with a quote,
// or a single- or double-quoted string (which may hold blanks). A quote that
// is never closed is skipped.
var argsPattern = regexp.MustCompile(`\s*([^"'\s]\S*|"[^"]*"|'[^']*')\s*`)

// splitLine breaks a command line into arguments and strips the quotes of a
// quoted argument.
func splitLine(line string) []string {
	var args []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		v := m[1]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		args = append(args, v)
	}
	return args
}

// optSpec describes a command's options: letter -> takes a value.
type optSpec map[string]bool

// parsed is a command line after option parsing: args holds the command name
// and the positional arguments, opts the options given (with the first value
// of those that take one).
type parsed struct {
	args []string
	opts map[string]string
}

func (p *parsed) has(o string) bool { _, ok := p.opts[o]; return ok }

// parseError is a command-line error, printed as commons-cli's
// ParseException.toString().
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

func unrecognized(tok string) error {
	return &parseError{"org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: " + tok}
}

func missingArg(o string) error {
	return &parseError{"org.apache.commons.cli.MissingArgumentException: Missing argument for option: " + o}
}

// isNegativeNumber reports whether s parses as a (negative) number, which
// commons-cli accepts as an option's value.
func isNegativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	dot := false
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}

// parseOptions parses args (args[0] is the command) as Apache commons-cli's
// DefaultParser does for the short options of spec: options may come anywhere,
// "--" ends them, "-" alone is an argument, letters may be grouped ("-es"), a
// value may be attached ("-v3", "-v=3") or follow ("-v 3", "-v -1"), and any
// other token starting with "-" is an unrecognized option. The first value of
// an option given twice wins.
func parseOptions(spec optSpec, args []string) (*parsed, error) {
	p := &parsed{opts: map[string]string{}}
	if len(args) == 0 {
		return p, nil
	}
	p.args = append(p.args, args[0])
	pending := "" // an option still waiting for its value
	skip := false
	handle := func(o string) error {
		if pending != "" {
			return missingArg(pending)
		}
		if _, ok := p.opts[o]; !ok {
			p.opts[o] = ""
		}
		if spec[o] {
			pending = o
		}
		return nil
	}
	value := func(o, v string) {
		if p.opts[o] == "" {
			p.opts[o] = v
		}
		pending = ""
	}
	for _, tok := range args[1:] {
		switch {
		case skip:
			p.args = append(p.args, tok)
		case tok == "--":
			skip = true
		case pending != "" && (!isShortOption(spec, tok) || isNegativeNumber(tok)):
			value(pending, stripQuotes(tok))
		case strings.HasPrefix(tok, "--"):
			return nil, unrecognized(tok)
		case strings.HasPrefix(tok, "-") && tok != "-":
			t := tok[1:]
			if name, v, eq := strings.Cut(t, "="); eq {
				if len(name) == 1 && spec[name] {
					if err := handle(name); err != nil {
						return nil, err
					}
					value(name, v)
					continue
				}
				return nil, unrecognized(tok)
			}
			if _, ok := spec[t]; ok {
				if err := handle(t); err != nil {
					return nil, err
				}
				continue
			}
			for j := 0; j < len(t); j++ {
				o := t[j : j+1]
				if _, ok := spec[o]; !ok {
					return nil, unrecognized(tok)
				}
				if err := handle(o); err != nil {
					return nil, err
				}
				if spec[o] && j+1 < len(t) {
					value(o, t[j+1:])
					break
				}
			}
		default:
			p.args = append(p.args, tok)
		}
	}
	if pending != "" {
		return nil, missingArg(pending)
	}
	return p, nil
}

// isShortOption reports whether tok names one of spec's options, alone or
// as the first of a group.
func isShortOption(spec optSpec, tok string) bool {
	if !strings.HasPrefix(tok, "-") || len(tok) == 1 {
		return false
	}
	name, _, _ := strings.Cut(tok[1:], "=")
	if _, ok := spec[name]; ok {
		return true
	}
	if name == "" {
		return false
	}
	_, ok := spec[name[:1]]
	return ok
}

// stripQuotes removes one pair of surrounding double quotes, as commons-cli
// does for option values.
func stripQuotes(s string) string {
	if len(s) > 1 && s[0] == '"' && s[len(s)-1] == '"' && !strings.Contains(s[1:len(s)-1], `"`) {
		return s[1 : len(s)-1]
	}
	return s
}
