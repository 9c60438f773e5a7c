//go:build unix

package executor

import (
	"os"
	"syscall"
)

// terminate asks a task to stop: SIGTERM to its process only (an mlrun
// process then ends its run KILLED and stops its own children).
func terminate(p *os.Process) {
	p.Signal(syscall.SIGTERM)
}

// kill ends a task that outlived its grace period: SIGKILL to its whole
// process group when it runs in its own (see groupAttr), else to it.
func kill(p *os.Process, group bool) {
	if !group || syscall.Kill(-p.Pid, syscall.SIGKILL) != nil {
		p.Kill()
	}
}
