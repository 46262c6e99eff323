package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors, matched with errors.Is against the *Error values that
// Parse, Load and Validate return.
var (
	// ErrSyntax: a line of the file cannot be read as a property.
	ErrSyntax = errors.New("config: syntax error")
	// ErrInvalidValue: a value is not a number, a boolean, or is out of range.
	ErrInvalidValue = errors.New("config: invalid value")
	// ErrMissing: a required setting is not set.
	ErrMissing = errors.New("config: missing setting")
	// ErrInvalidServer: a server.N line is malformed, or the ensemble it
	// describes is not one ZooKeeper would accept.
	ErrInvalidServer = errors.New("config: invalid server")
	// ErrMyID: the myid file is missing, unreadable, malformed, or names a
	// server that is not listed.
	ErrMyID = errors.New("config: invalid myid")
	// ErrUnsupported: a setting ZooKeeper accepts that gozk cannot honour and
	// must not silently ignore (dynamic config files, hierarchical quorums,
	// multiple addresses per server).
	ErrUnsupported = errors.New("config: unsupported setting")
)

// Error describes one bad setting. Its text reads
//
//	config: [FILE:][LINE: ]KEY: DETAIL
//
// for example `config: zoo.cfg:3: tickTime: "abc" is not a number`.
type Error struct {
	File   string // the file being loaded, if any
	Line   int    // 1-based line of the setting, 0 if it did not come from a line
	Key    string // the property key, "" for file-level problems
	Detail string // what is wrong, including the offending value when there is one
	Err    error  // one of the sentinel errors above, possibly wrapping a cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// quote renders a value the way errors show it.
func quote(v string) string { return strconv.Quote(v) }
