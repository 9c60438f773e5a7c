// Package executor hands runs that already exist in the tracking store (as
// SCHEDULED runs) to something that executes them, and follows them there.
//
// An Executor submits a Batch (the ids of one or more runs and the command
// that executes one of them on the machine that picks it up), reports each
// task's state, cancels, and says where each task's stdout and stderr are.
// Two implementations exist: Local runs each task as a child process on
// this machine, and Slurm submits a batch as one sbatch job (a job array
// when it holds several runs). Reconcile brings the tracking store up to
// date with what the executor reports, so that a run whose job ended
// without recording it (over its time limit, cancelled, vanished) ends with
// the right status and the reason in mlrun.error.
package executor

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// Executor runs batches of runs somewhere and follows them.
type Executor interface {
	// Name is the executor's name, recorded on runs as mlrun.executor.
	Name() string
	// Submit starts the batch and returns one Task per run, in order.
	Submit(ctx context.Context, b Batch) ([]Task, error)
	// States reports the state of each task, in order.
	States(ctx context.Context, tasks []Task) ([]State, error)
	// Cancel stops the tasks that have not ended.
	Cancel(ctx context.Context, tasks []Task) error
	// Logs says where a task's stdout and stderr are written; dir is the
	// batch's Dir.
	Logs(dir string, t Task) Logs
}

// Batch is what Submit runs: Command executes one run, whose id is
// appended as its last argument; one task per id in RunIDs. An empty id
// is not appended: on Local, that task's command creates its own run (a
// schedule's fire, `mlrun run ...`).
type Batch struct {
	Name    string   // a job name, for the cluster's listings
	Command []string // argv; the run id is appended
	// Func, for Local only, runs task i in this process instead of
	// Command, and returns how it ended (a local sweep's trials, whose
	// runs are created as they start: their RunIDs may be empty). ctx is
	// cancelled by Cancel.
	Func      func(ctx context.Context, i int) State
	RunIDs    []string
	Parallel  int    // at most this many tasks at once (0: no limit)
	Dir       string // a directory for scripts and logs, created (unless Output is set); a Local task's working directory
	Env       []string
	Resources Resources

	// For Local's Command tasks only (a scheduler's fires):
	BaseEnv []string      // the environment Env is added to; nil: this process's
	Output  io.Writer     // when set, stdout and stderr go here instead of the files Logs names
	Group   bool          // each task in its own process group, sent SIGTERM if this process dies (Linux); Cancel's SIGKILL reaches the whole group
	Grace   time.Duration // how long Cancel waits after SIGTERM before SIGKILL; default DefaultGrace
}

// Resources is what one task asks the cluster for (tracking.Resources,
// which schedules store too).
type Resources = tracking.Resources

// Task is one run handed to an executor.
type Task struct {
	RunID string `json:"run_id"`
	JobID string `json:"job_id"` // the executor's id of the task's job
	Index int    `json:"index"`  // the task's index in its job array; -1 when not in one
}

// Ref is the task's id as the executor spells it, e.g. 1234_5.
func (t Task) Ref() string {
	if t.Index < 0 {
		return t.JobID
	}
	return t.JobID + "_" + strconv.Itoa(t.Index)
}

// State is what an executor knows of a task.
type State struct {
	Status tracking.RunStatus // SCHEDULED, RUNNING, or a terminal status
	Raw    string             // the executor's own word, e.g. TIMEOUT
	Reason string             // why it ended, for mlrun.error; "" when it ended normally
}

// Logs names the files a task's output goes to.
type Logs struct {
	Stdout, Stderr string
}

// ShellQuote quotes s for a POSIX shell: the result is one word whose value is s.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
