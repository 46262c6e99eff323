package tree

import (
	"fmt"
	"strings"
)

// ValidatePath checks a znode path by ZooKeeper's rules (PathUtils.validatePath):
// absolute, no trailing slash except the root, no empty, "." or ".." segments, no
// NUL, control characters, surrogates, private-use or U+FFF0..U+FFFF characters
// (a character outside the Basic Multilingual Plane is a surrogate pair in Java,
// so it is invalid too). It returns nil or an error saying why.
func ValidatePath(path string) error {
	if path == "" {
		return fmt.Errorf("path length must be > 0")
	}
	if path[0] != '/' {
		return fmt.Errorf("path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return fmt.Errorf("path must not end with / character")
	}
	segStart := 1
	for i, c := range path {
		if i == 0 {
			continue
		}
		switch {
		case c == 0:
			return fmt.Errorf("invalid path %q: null character not allowed @%d", path, i)
		case c == '/':
			if i == segStart {
				return fmt.Errorf("invalid path %q: empty node name specified @%d", path, i)
			}
			if err := checkSegment(path, segStart, i); err != nil {
				return err
			}
			segStart = i + 1
		case c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			return fmt.Errorf("invalid path %q: invalid character @%d", path, i)
		}
	}
	return checkSegment(path, segStart, len(path))
}

func checkSegment(path string, start, end int) error {
	seg := path[start:end]
	if seg == "." || seg == ".." {
		return fmt.Errorf("invalid path %q: relative paths not allowed @%d", path, end-1)
	}
	return nil
}

// Parent returns the parent of a valid path ("/" for top-level nodes and for "/").
func Parent(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// Base returns the last segment of a path.
func Base(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}

// Join appends a child name to a parent path.
func Join(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
