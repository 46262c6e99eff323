package zktest

import (
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"
)

// errCodes maps go-zookeeper's error values back to ZooKeeper error codes.
var errCodes = map[error]int32{
	zk.ErrAPIError:                -100,
	zk.ErrNoNode:                  -101,
	zk.ErrNoAuth:                  -102,
	zk.ErrBadVersion:              -103,
	zk.ErrNoChildrenForEphemerals: -108,
	zk.ErrNodeExists:              -110,
	zk.ErrNotEmpty:                -111,
	zk.ErrSessionExpired:          -112,
	zk.ErrInvalidACL:              -114,
	zk.ErrAuthFailed:              -115,
	zk.ErrClosing:                 -116,
	zk.ErrNothing:                 -117,
	zk.ErrSessionMoved:            -118,
	zk.ErrReconfigDisabled:        -123,
	zk.ErrBadArguments:            -8,
}

// Code returns the ZooKeeper error code (KeeperException.Code) behind an
// error returned by go-zookeeper: 0 for nil, the server's code for errors
// that came from the server (including the "unknown error: N" ones
// go-zookeeper has no name for), and 1 for errors the client made up itself
// (connection closed, invalid path, ...).
func Code(err error) int32 {
	if err == nil {
		return 0
	}
	if c, ok := errCodes[err]; ok {
		return c
	}
	if s, ok := strings.CutPrefix(err.Error(), "unknown error: "); ok {
		if n, perr := strconv.Atoi(s); perr == nil {
			return int32(n)
		}
	}
	return 1
}
