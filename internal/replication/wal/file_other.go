//go:build !linux

package wal

// Sync flushes the file to stable storage (fsync).
func (f *osFile) Sync() error { return f.File.Sync() }

// Allocate extends the file sparsely: preallocation is implemented for Linux only.
func (f *osFile) Allocate(off, n int64) error { return f.growTo(off + n) }
