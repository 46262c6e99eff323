package config

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// property is one key/value pair of a properties file and the line its
// logical line starts on.
type property struct {
	key, value string
	line       int
}

// readProperties splits text into properties following java.util.Properties.load:
//   - natural lines end with "\n", "\r" or "\r\n";
//   - leading white space (space, tab, form feed) of every natural line is dropped;
//   - a line whose first non-blank character is '#' or '!' is a comment, and
//     comments never continue onto the next line;
//   - a line ending in an odd number of backslashes continues on the next one
//     (the backslash and the next line's leading white space are dropped);
//   - the key ends at the first unescaped '=', ':' or white space; white space
//     and at most one '=' or ':' separate it from the value;
//   - escapes \t \n \r \f \uXXXX are decoded, any other escaped character
//     stands for itself ("\:" is ':', "\\" is '\').
//
// The one difference from Java: the bytes are read as UTF-8, where Java reads
// a stream as ISO-8859-1.
func readProperties(text string) ([]property, error) {
	var props []property
	lineNo := 0
	rest := text
	for len(rest) > 0 {
		// Read one logical line, possibly spanning several natural lines.
		var logical strings.Builder
		start := 0 // line number where the logical line starts; 0 if none yet
		for len(rest) > 0 {
			var natural string
			natural, rest = nextNaturalLine(rest)
			lineNo++
			natural = strings.TrimLeft(natural, " \t\f")
			if logical.Len() == 0 {
				// Still at the beginning of a logical line: blank lines and
				// comments are skipped (Java checks this even after a
				// continuation that has added nothing yet).
				if natural == "" || natural[0] == '#' || natural[0] == '!' {
					continue
				}
			} else if natural == "" {
				break // a continuation into a blank line ends the logical line
			}
			if start == 0 {
				start = lineNo
			}
			if trailingBackslashes(natural)%2 == 1 {
				logical.WriteString(natural[:len(natural)-1])
				continue
			}
			logical.WriteString(natural)
			break
		}
		if start == 0 {
			break // only blank lines and comments were left
		}
		key, value, err := splitProperty(logical.String())
		if err != nil {
			return nil, &Error{Line: start, Detail: err.Error(), Err: ErrSyntax}
		}
		props = append(props, property{key: key, value: value, line: start})
	}
	return props, nil
}

// nextNaturalLine returns the first line of s without its terminator, and the rest.
func nextNaturalLine(s string) (line, rest string) {
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, ""
	}
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return s[:i], s[i+2:]
	}
	return s[:i], s[i+1:]
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// splitProperty splits a logical line into its unescaped key and value.
func splitProperty(line string) (key, value string, err error) {
	keyEnd := len(line)
	valueStart := len(line)
	hasSep := false
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if escaped {
			escaped = false
			continue
		}
		if c == '\\' {
			escaped = true
			continue
		}
		if c == '=' || c == ':' {
			keyEnd, valueStart, hasSep = i, i+1, true
			break
		}
		if isPropSpace(c) {
			keyEnd, valueStart = i, i+1
			break
		}
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if isPropSpace(c) {
			valueStart++
			continue
		}
		if !hasSep && (c == '=' || c == ':') {
			hasSep = true
			valueStart++
			continue
		}
		break
	}
	if key, err = unescape(line[:keyEnd]); err != nil {
		return "", "", err
	}
	if value, err = unescape(line[valueStart:]); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// unescape decodes the backslash escapes of a properties key or value.
func unescape(s string) (string, error) {
	if !strings.ContainsRune(s, '\\') {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break // a lone trailing backslash is dropped, as in Java
		}
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			u, ok := hex4(s, i+1)
			if !ok {
				return "", errMalformedUnicode
			}
			i += 4
			r := rune(u)
			if utf16.IsSurrogate(r) {
				// Pair a high surrogate with an immediately following \uXXXX low one.
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if lo, ok := hex4(s, i+3); ok {
						if pair := utf16.DecodeRune(r, rune(lo)); pair != utf8.RuneError {
							r = pair
							i += 6
						}
					}
				}
			}
			b.WriteRune(r) // a lone surrogate becomes U+FFFD
		default:
			// Any other escaped byte stands for itself; copy a whole UTF-8
			// sequence so that "\é" stays "é".
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size - 1
		}
	}
	return b.String(), nil
}

type syntaxError string

func (e syntaxError) Error() string { return string(e) }

const errMalformedUnicode = syntaxError(`malformed \uxxxx encoding`)

// hex4 decodes exactly four hexadecimal digits at s[i:].
func hex4(s string, i int) (uint16, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var v uint16
	for _, c := range []byte(s[i : i+4]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}
