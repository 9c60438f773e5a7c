//go:build unix

package provenance

import (
	"errors"
	"syscall"
)

// ProcessAlive reports whether a process with this pid exists on this host,
// by sending it signal 0; EPERM (it exists but belongs to another user)
// counts as alive.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
