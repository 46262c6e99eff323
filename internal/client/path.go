package client

import (
	"errors"
	"strconv"
	"unicode/utf16"
)

var (
	// ErrBadArgument is matched (with errors.Is) by every *ArgError: an
	// argument refused before anything is sent.
	ErrBadArgument = errors.New("client: invalid argument")
	// ErrBadPath is matched by the *ArgError of an invalid path.
	ErrBadPath = errors.New("client: invalid path")
)

// ArgError is an argument refused before it is sent, with the Java client's
// message (the IllegalArgumentException of PathUtils.validatePath or
// EphemeralType.validateTTL).
type ArgError struct {
	Msg  string
	Path bool // a path was refused
}

func (e *ArgError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrBadArgument) true, and errors.Is(err, ErrBadPath)
// true for a path.
func (e *ArgError) Is(target error) bool {
	return target == ErrBadArgument || (e.Path && target == ErrBadPath)
}

func pathError(msg string) error { return &ArgError{Msg: msg, Path: true} }

// ValidatePath checks a znode path as the Java client does, with the same
// messages; positions are counted in UTF-16 code units, as Java does.
func ValidatePath(path string) error {
	if len(path) == 0 {
		return pathError("Path length must be > 0")
	}
	if path[0] != '/' {
		return pathError("Path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return pathError("Path must not end with / character")
	}
	chars := utf16.Encode([]rune(path))
	reason := ""
	lastc := uint16('/')
	for i := 1; i < len(chars); lastc, i = chars[i], i+1 {
		c := chars[i]
		switch {
		case c == 0:
			reason = "null character not allowed @" + strconv.Itoa(i)
		case c == '/' && lastc == '/':
			reason = "empty node name specified @" + strconv.Itoa(i)
		case c == '.' && lastc == '.':
			if chars[i-2] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = "relative paths not allowed @" + strconv.Itoa(i)
			}
		case c == '.':
			if chars[i-1] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = "relative paths not allowed @" + strconv.Itoa(i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			reason = "invalid character @" + strconv.Itoa(i)
		}
		if reason != "" {
			return pathError("Invalid path string \"" + path + "\" caused by " + reason)
		}
	}
	return nil
}

// validateCreatePath checks the path of a create: a sequential node's path is
// checked with a digit appended, so "/a/" is a valid sequential prefix.
func validateCreatePath(path string, sequential bool) error {
	if sequential {
		return ValidatePath(path + "1")
	}
	return ValidatePath(path)
}
