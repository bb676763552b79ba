//go:build !unix

package main

import "os"

// lockFile does nothing where flock is missing: concurrent renewals of one session may then sign it
// out (the server revokes a refresh token presented twice).
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
