//go:build !unix

package schedule

import (
	"os"
	"syscall"
)

// terminate stops a job; without signals it is killed at once.
func terminate(p *os.Process) { p.Kill() }

// kill stops a job at once.
func kill(p *os.Process) { p.Kill() }

// jobProcAttr returns no special attributes.
func jobProcAttr() *syscall.SysProcAttr { return nil }
