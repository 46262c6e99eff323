package diskfault

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of the given size (mount's syntax: "8m") on a
// fresh temporary directory and returns it. The test is skipped when it does
// not run as root or the mount fails; the tmpfs is unmounted when the test
// ends, also on failure. Servers using it must be started after this call, so
// that their cleanups (which kill them) run before the unmount.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("diskfault: needs root to mount a tmpfs")
	}
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skipf("diskfault: no mount command: %v", err)
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("diskfault: cannot mount a tmpfs on %s (%v): %s", dir, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if err := unmount(dir); err != nil {
			t.Errorf("diskfault: %v", err)
		}
	})
	return dir
}

// unmount unmounts dir, retrying while it is busy (a process that was just
// killed may still hold files open for a moment), then lazily as a last resort.
func unmount(dir string) error {
	var last error
	for i := 0; i < 50; i++ {
		out, err := exec.Command("umount", dir).CombinedOutput()
		if err == nil {
			return nil
		}
		last = fmt.Errorf("umount %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%v; umount -l: %w: %s", last, err, strings.TrimSpace(string(out)))
	}
	return fmt.Errorf("%v (detached with umount -l)", last)
}

// remountTmpfs changes the size of the tmpfs mounted on dir.
func remountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("diskfault: remount %s with size=%s: %v: %s", dir, size, err, strings.TrimSpace(string(out)))
	}
}
