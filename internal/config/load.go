package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Load parses the zoo.cfg at path. When the file lists servers it reads
// dataDir/myid (a relative dataDir is relative to the working directory, as
// in ZooKeeper), then validates the whole. Errors name the file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Decode(f)
	if err == nil && len(c.Servers) > 0 {
		err = c.readMyID()
	}
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.File == "" {
			ce.File = path
		}
		return nil, err
	}
	return c, nil
}

// MyIDFile is the name of the file in dataDir that holds the server's id.
const MyIDFile = "myid"

// readMyID reads dataDir/myid as QuorumPeerConfig.setupMyId does: a missing
// file is not an error here (Validate decides whether an id is needed); the
// first line must be a number. Surrounding white space is tolerated, which
// ZooKeeper does not.
func (c *Config) readMyID() error {
	path := filepath.Join(c.DataDir, MyIDFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &Error{File: path, Key: "myid", Detail: err.Error(), Err: fmt.Errorf("%w: %w", ErrMyID, err)}
	}
	id, err := ParseMyID(data)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return err
	}
	c.MyID = id
	return nil
}

// ParseMyID parses the contents of a myid file: a server id from 1 to 255 on
// the first line.
func ParseMyID(data []byte) (uint64, error) {
	first, _, _ := strings.Cut(string(data), "\n")
	first = strings.TrimSpace(first)
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, &Error{Key: "myid", Detail: fmt.Sprintf("serverid %s is not a number", quote(first)), Err: ErrMyID}
	}
	if n < 1 || n > MaxServerID {
		return 0, &Error{Key: "myid", Detail: fmt.Sprintf("serverid %d is out of range 1-%d", n, MaxServerID), Err: ErrMyID}
	}
	return uint64(n), nil
}
