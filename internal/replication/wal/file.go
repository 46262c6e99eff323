package wal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// file is what the WAL needs of an open segment. The hot path makes one WriteAt
// and at most one Sync per batch through it; tests wrap it to inject faults.
type file interface {
	WriteAt(p []byte, off int64) (int, error)
	// Sync makes written data durable (fdatasync where available).
	Sync() error
	// Allocate reserves [off, off+n) on disk and extends the file to cover it;
	// the reserved bytes read as zeros.
	Allocate(off, n int64) error
	Truncate(size int64) error
	Close() error
}

// fileSystem is the directory-level seam: the operating system's in production,
// a fault-injecting wrapper in tests.
type fileSystem interface {
	// Create creates a new file for reading and writing; it fails if name exists.
	Create(name string) (file, error)
	// OpenRW opens an existing file for reading and writing.
	OpenRW(name string) (file, error)
	Rename(oldname, newname string) error
	Remove(name string) error
	// SyncDir makes the directory's entries (creations, renames, removals) durable.
	SyncDir(dir string) error
}

type osFS struct{}

func (osFS) Create(name string) (file, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) OpenRW(name string) (file, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &osFile{f}, nil
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// osFile is a segment on the operating system's file system. Sync and Allocate
// are in the platform files.
type osFile struct{ *os.File }

// growTo extends f to size bytes by truncation (a sparse extension) when
// preallocation is not supported.
func (f *osFile) growTo(size int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() >= size {
		return nil
	}
	return f.File.Truncate(size)
}

// removeIfExists removes name, ignoring its absence.
func removeIfExists(fsys fileSystem, name string) error {
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// syncParent makes the creation of dir durable.
func syncParent(fsys fileSystem, dir string) error {
	return fsys.SyncDir(filepath.Dir(filepath.Clean(dir)))
}
