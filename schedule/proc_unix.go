//go:build unix

package schedule

import (
	"os"
	"syscall"
)

// terminate asks a job to stop: SIGTERM to the mlrun process only, which
// ends its run KILLED and stops its own children.
func terminate(p *os.Process) {
	p.Signal(syscall.SIGTERM)
}

// kill ends a job that outlived the grace period: SIGKILL to its whole
// process group (the job runs in its own group; see jobProcAttr).
func kill(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		p.Kill()
	}
}
