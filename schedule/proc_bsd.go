//go:build unix && !linux

package schedule

import "syscall"

// jobProcAttr puts a job in its own process group, so that a signal meant
// for the scheduler reaches the job only through the scheduler's stop.
func jobProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
