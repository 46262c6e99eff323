package snap

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// file is what Save needs of the temporary file it writes.
type file interface {
	io.Writer
	io.WriterAt
	// Sync makes the written data durable (fsync).
	Sync() error
	Close() error
}

// fileSystem is the seam for everything that changes the directory or must be
// durable: the operating system's in production, a recording or fault-injecting
// wrapper in tests. Reads go to the operating system directly.
type fileSystem interface {
	// Create creates a new file for writing; it fails if name exists.
	Create(name string) (file, error)
	Rename(oldname, newname string) error
	Remove(name string) error
	// SyncDir makes the directory's entries (creations, renames, removals)
	// durable.
	SyncDir(dir string) error
}

type osFS struct{}

func (osFS) Create(name string) (file, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
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

// removeIfExists removes name, ignoring its absence.
func removeIfExists(fsys fileSystem, name string) error {
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
