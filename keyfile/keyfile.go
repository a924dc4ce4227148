// Package keyfile checks the files that hold the hub's secrets — the token
// signing key, the hub secret, Kafka passwords — before they are used: a
// secret that every local user may read is no secret, so the hub refuses to
// start on one rather than run with it.
package keyfile

import (
	"fmt"
	"os"
)

// CheckPrivate returns an error when path is readable, writable or
// executable by users other than its owner and group (mode bits 0o007),
// naming the mode and the fix.
func CheckPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o007 != 0 {
		return fmt.Errorf("key file %s has mode %04o, which lets every local user read it; chmod 600 %s", path, perm, path)
	}
	return nil
}
