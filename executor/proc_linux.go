package executor

import "syscall"

// groupAttr puts a task in its own process group, so that a signal meant
// for this process (Ctrl-C in its terminal) reaches the task only through
// Cancel, and asks the kernel to send the task SIGTERM if this process
// dies without stopping it (kill -9). The kernel sends that signal when
// the OS thread that started the task exits; the Go runtime ends threads
// only when a goroutine locked to one exits, which this package never does.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
