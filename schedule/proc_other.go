//go:build !unix

package schedule

import (
	"os"
	"syscall"
)

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
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

// terminate stops a job; without signals it is killed at once.
func terminate(p *os.Process) { p.Kill() }

// kill stops a job at once.
func kill(p *os.Process) { p.Kill() }

// jobProcAttr returns no special attributes.
func jobProcAttr() *syscall.SysProcAttr { return nil }
