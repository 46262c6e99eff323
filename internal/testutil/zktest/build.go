package zktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	dir  string // temporary directory holding the binary; removed by Main
	bin  string
	err  error
}

// GozkBinary returns the path of the gozk binary: $GOZK_BIN when set, otherwise
// ./cmd/gozk of the enclosing module, built once per test binary.
func GozkBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(EnvBin); bin != "" {
		return bin
	}
	build.once.Do(func() {
		build.bin, build.err = buildGozk()
	})
	if build.err != nil {
		t.Fatalf("zktest: %v", build.err)
	}
	return build.bin
}

func buildGozk() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "zktest-gozk-")
	if err != nil {
		return "", fmt.Errorf("build gozk: %w", err)
	}
	build.dir = dir
	bin := filepath.Join(dir, "gozk")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gozk")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/gozk: %w\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot walks up from the working directory to the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Main runs the tests and then removes the gozk binary built for them. Use it
// from TestMain: func TestMain(m *testing.M) { zktest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}
