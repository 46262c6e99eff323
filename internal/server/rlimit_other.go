//go:build !linux

package server

func maxFDs() uint64 { return 0 }
