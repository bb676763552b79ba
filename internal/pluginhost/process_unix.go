//go:build unix

package pluginhost

import (
	"os/exec"
	"syscall"
)

// processSysProcAttr puts a plugin process in a process group of its own, so that stopping it stops
// the processes it started too.
func processSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends SIGKILL (force) or SIGTERM to cmd's process group.
func signalGroup(cmd *exec.Cmd, force bool) error {
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}
