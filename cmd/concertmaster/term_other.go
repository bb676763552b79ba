//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// withoutEcho cannot turn echo off here: it reports that f is not a terminal, so the password is
// read as a line (pipe it in, or use --password-stdin).
func withoutEcho(*os.File, func() error) (bool, error) { return false, nil }
