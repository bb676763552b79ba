//go:build !linux

package pluginhost

// waitExited cannot wait for a process without reaping it here: exec.Cmd.Wait waits and reaps.
func waitExited(int) bool { return false }
