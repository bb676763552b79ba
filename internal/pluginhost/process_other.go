//go:build !unix

package pluginhost

import (
	"os/exec"
	"syscall"
)

// processSysProcAttr has nothing to set where there are no process groups.
func processSysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills the process (force); without process groups and SIGTERM, a gentle stop is only the
// close of its stdin.
func signalGroup(cmd *exec.Cmd, force bool) error {
	if !force {
		return nil
	}
	return cmd.Process.Kill()
}
