//go:build !linux

package zkensemble

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}
