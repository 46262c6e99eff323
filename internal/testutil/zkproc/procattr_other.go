//go:build !linux

package zkproc

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
