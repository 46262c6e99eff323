package diskfault

import (
	"errors"
	"fmt"
	"time"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// opGetData is ZooKeeper's getData opcode.
const opGetData = 4

// opCreate is ZooKeeper's create opcode.
const opCreate = 1

// readOnlyCreate opens a read-only-accepting session and tries to create path
// through it, returning the reply's error code.
func readOnlyCreate(addr, path string) (int32, error) {
	r, err := zktest.RawDial(addr)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if _, err := readOnlyHandshake(r); err != nil {
		return 0, err
	}
	var q zktest.Enc
	q.String(path)
	q.Buffer([]byte("x"))
	q.Int(1) // one ACL: world:anyone, all permissions
	q.Int(31)
	q.String("world")
	q.String("anyone")
	q.Int(0) // persistent
	h, _, err := r.Request(1, opCreate, q.Bytes())
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	return h.Err, nil
}

// readOnlyGet opens a new session the way a client that accepts a read-only
// server does (ConnectRequest with readOnly=true) and reads path through it.
// It returns the readOnly flag of the ConnectResponse and the data.
func readOnlyGet(addr, path string) (readOnly bool, data []byte, err error) {
	r, err := zktest.RawDial(addr)
	if err != nil {
		return false, nil, err
	}
	defer r.Close()
	if readOnly, err = readOnlyHandshake(r); err != nil {
		return readOnly, nil, err
	}
	var q zktest.Enc
	q.String(path)
	q.Bool(false)
	h, body, err := r.Request(1, opGetData, q.Bytes())
	if err != nil {
		return readOnly, nil, fmt.Errorf("getData %s: %w", path, err)
	}
	if h.Err != 0 {
		return readOnly, nil, fmt.Errorf("getData %s: error %d", path, h.Err)
	}
	b := zktest.Dec{B: body}
	data = b.Buffer()
	return readOnly, data, b.Err
}

// readOnlyHandshake sends a ConnectRequest with readOnly=true and returns the
// ConnectResponse's readOnly flag.
func readOnlyHandshake(r *zktest.Raw) (readOnly bool, err error) {
	var e zktest.Enc
	e.Int(0)     // protocolVersion
	e.Long(0)    // lastZxidSeen
	e.Int(10000) // timeOut
	e.Long(0)    // sessionId
	e.Buffer(make([]byte, 16))
	e.Bool(true) // readOnly: a read-only server will do
	if err := r.WriteFrame(e.Bytes()); err != nil {
		return false, err
	}
	p, err := r.ReadFrame(10 * time.Second)
	if err != nil {
		return false, fmt.Errorf("no ConnectResponse: %w", err)
	}
	d := zktest.Dec{B: p}
	d.Int() // protocolVersion
	d.Int() // timeOut
	sid := d.Long()
	d.Buffer() // passwd
	if d.Len() > 0 {
		readOnly = d.Bool()
	}
	if d.Err != nil {
		return false, fmt.Errorf("decode ConnectResponse: %w", d.Err)
	}
	if sid == 0 {
		return readOnly, errors.New("ConnectResponse with session id 0")
	}
	return readOnly, nil
}
