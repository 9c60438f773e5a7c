//go:build unix && !linux

package executor

import "syscall"

// groupAttr puts a task in its own process group, so that a signal meant
// for this process reaches the task only through Cancel.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
