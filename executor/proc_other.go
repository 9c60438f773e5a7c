//go:build !unix

package executor

import (
	"os"
	"syscall"
)

// terminate stops a task; without signals it is killed at once.
func terminate(p *os.Process) { p.Kill() }

// kill stops a task at once.
func kill(p *os.Process, group bool) { p.Kill() }

// groupAttr returns no special attributes.
func groupAttr() *syscall.SysProcAttr { return nil }
