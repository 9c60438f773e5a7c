//go:build !unix

package provenance

import "os"

// ProcessAlive reports whether a process with this pid exists on this host.
// Outside Unix it asks the system for the process, which fails when none
// exists.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
