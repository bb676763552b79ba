//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// withoutEcho runs read with the terminal f's echo turned off, and reports false, without running it,
// when f is not a terminal.
func withoutEcho(f *os.File, read func() error) (bool, error) {
	fd := int(f.Fd()) //nolint:gosec // a descriptor fits an int
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return false, nil //nolint:nilerr // not a terminal
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		return true, err
	}
	defer func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, old) }()
	return true, read()
}
