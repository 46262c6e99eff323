package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	magic           = "GOZKPEER"
	protocolVersion = 1
	helloSize       = 8 + 4 + 8 + 8 + 8
	frameHeaderSize = 5
)

// Status bytes answered to a hello.
const (
	statusOK          byte = 0
	statusBadVersion  byte = 1
	statusWrongClust  byte = 2
	statusUnknownPeer byte = 3
	statusWrongServer byte = 4
)

// Errors reported by the transport.
var (
	// ErrFrameTooLarge ends a connection whose peer announced a frame above
	// MaxFrame.
	ErrFrameTooLarge = errors.New("transport: frame larger than MaxFrame")
	// ErrNotPeer is a connection that does not begin with the hello magic.
	ErrNotPeer = errors.New("transport: not a gozk peer (bad magic)")
	// ErrRefused is a hello the acceptor refused.
	ErrRefused = errors.New("transport: peer refused the connection")
)

type hello struct {
	version   uint32
	clusterID uint64
	from, to  uint64
}

func (h hello) marshal() []byte {
	b := make([]byte, helloSize)
	copy(b, magic)
	binary.BigEndian.PutUint32(b[8:], h.version)
	binary.BigEndian.PutUint64(b[12:], h.clusterID)
	binary.BigEndian.PutUint64(b[20:], h.from)
	binary.BigEndian.PutUint64(b[28:], h.to)
	return b
}

// unmarshalHello decodes a hello; b must hold helloSize bytes.
func unmarshalHello(b []byte) (hello, error) {
	if len(b) != helloSize {
		return hello{}, fmt.Errorf("transport: hello of %d bytes, want %d", len(b), helloSize)
	}
	if string(b[:8]) != magic {
		return hello{}, ErrNotPeer
	}
	return hello{
		version:   binary.BigEndian.Uint32(b[8:]),
		clusterID: binary.BigEndian.Uint64(b[12:]),
		from:      binary.BigEndian.Uint64(b[20:]),
		to:        binary.BigEndian.Uint64(b[28:]),
	}, nil
}

// statusText says why a hello was refused.
func statusText(s byte) string {
	switch s {
	case statusOK:
		return "accepted"
	case statusBadVersion:
		return "unsupported protocol version"
	case statusWrongClust:
		return "different cluster id (the servers' lists of servers differ)"
	case statusUnknownPeer:
		return "unknown peer id"
	case statusWrongServer:
		return "wrong server (the address belongs to another server id)"
	}
	return fmt.Sprintf("unknown status %d", s)
}

func putFrameHeader(b []byte, kind byte, n int) {
	binary.BigEndian.PutUint32(b, uint32(n))
	b[4] = kind
}
