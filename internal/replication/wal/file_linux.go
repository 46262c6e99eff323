package wal

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Sync flushes the file's data and the metadata needed to read it back
// (fdatasync), not its timestamps.
func (f *osFile) Sync() error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

// Allocate reserves blocks with fallocate(2), mode 0, so later writes into the
// range need no block allocation and fdatasync has little metadata to flush. File
// systems without fallocate get a sparse extension instead.
func (f *osFile) Allocate(off, n int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, off, n)
		switch {
		case err == nil:
			return nil
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			return f.growTo(off + n)
		default:
			return err
		}
	}
}
