//go:build !linux || !cgo

package timerslack

import "os/exec"

// Original returns 0: the timer slack is Linux's.
func Original() int { return 0 }

// Current returns 0: the timer slack is Linux's.
func Current() int { return 0 }

// LongLived reports false: nothing changes the timer slack here.
func LongLived(args []string) bool { return false }

// Start is cmd.Start.
func Start(cmd *exec.Cmd) error { return cmd.Start() }
