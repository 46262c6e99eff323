package diskfault

import (
	"errors"
	"fmt"
	"time"

	"github.com/gozk/gozk/internal/testutil/zktest"
)

// opGetData is ZooKeeper's getData opcode.
const opGetData = 4

// readOnlyGet opens a new session the way a client that accepts a read-only
// server does (ConnectRequest with readOnly=true) and reads path through it.
// It returns the readOnly flag of the ConnectResponse and the data.
func readOnlyGet(addr, path string) (readOnly bool, data []byte, err error) {
	r, err := zktest.RawDial(addr)
	if err != nil {
		return false, nil, err
	}
	defer r.Close()
	var e zktest.Enc
	e.Int(0)     // protocolVersion
	e.Long(0)    // lastZxidSeen
	e.Int(10000) // timeOut
	e.Long(0)    // sessionId
	e.Buffer(make([]byte, 16))
	e.Bool(true) // readOnly: a read-only server will do
	if err := r.WriteFrame(e.Bytes()); err != nil {
		return false, nil, err
	}
	p, err := r.ReadFrame(10 * time.Second)
	if err != nil {
		return false, nil, fmt.Errorf("no ConnectResponse: %w", err)
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
		return false, nil, fmt.Errorf("decode ConnectResponse: %w", d.Err)
	}
	if sid == 0 {
		return readOnly, nil, errors.New("ConnectResponse with session id 0")
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
