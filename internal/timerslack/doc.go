// Package timerslack gives a short-lived mlrun process a timer slack of
// 1 ms, from before the Go runtime starts, and starts the commands mlrun
// runs with the slack the process started with. Importing it sets the
// slack (cmd/mlrun imports it); Start is for the places that start other
// programs.
//
// Why: Linux may fire a thread's timer late by up to its timer slack (50 µs
// by default), to wake the CPU once for several timers. The Go runtime's
// monitor thread (sysmon) sleeps 20 µs at a time while goroutines are busy
// and blocking in system calls, which is all of a short mlrun command's
// life: an iris run made about 130 such sleeps, each a timer interrupt and
// two context switches, which cost far more on a virtual machine than the
// microseconds they wait. With 1 ms of slack it makes about 35: an iris
// run takes 0.87x the CPU time and 0.86x the wall time (80 alternated
// pairs). Threads inherit the slack of the thread that creates them, so
// it is set by a C constructor on the process's first thread, before the
// runtime creates the monitor.
//
// The long-lived commands (server, ui, serve, scheduler, as in
// cmd/mlrun's garbage collection policy) keep the slack they were started
// with: there, a request waiting 1 ms more for a thread matters more than
// the CPU. A program started with Start gets the slack mlrun was started
// with (a child process inherits the slack of the thread that forks it,
// and keeps it across exec), so the commands of a run time their sleeps
// as they would without mlrun.
//
// Only Linux with glibc has all of this; elsewhere the package does
// nothing and Start is exec.Cmd.Start.
package timerslack
