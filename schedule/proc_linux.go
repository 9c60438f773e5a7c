package schedule

import "syscall"

// jobProcAttr puts a job in its own process group, so that a signal meant
// for the scheduler (Ctrl-C in its terminal) reaches the job only through
// the scheduler's orderly stop, and asks the kernel to send the job
// SIGTERM if the scheduler dies without stopping it (kill -9). The
// kernel sends that signal when the OS thread that started the job exits;
// the Go runtime ends threads only when a goroutine locked to one exits,
// which this package never does.
func jobProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
