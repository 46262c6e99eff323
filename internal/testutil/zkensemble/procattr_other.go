//go:build !linux

package zkensemble

import (
	"os/exec"
	"time"
)

func setProcAttr(cmd *exec.Cmd) {}

// allThreadsStopped cannot look at threads here; it gives the signal a moment.
func allThreadsStopped(pid int) bool {
	time.Sleep(100 * time.Millisecond)
	return true
}
