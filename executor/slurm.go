package executor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/timerslack"
	"github.com/mlrun/mlrun/tracking"
)

// Slurm submits batches with sbatch (one job; a job array for several
// runs, whose %N limit is Batch.Parallel), follows them with squeue and
// sacct, and cancels them with scancel. The commands are looked up on PATH
// and read SLURM_CONF like any Slurm client.
type Slurm struct {
	// Env is added to the environment of the Slurm commands (e.g. SLURM_CONF=...).
	Env []string
}

// Name is "slurm".
func (s *Slurm) Name() string { return "slurm" }

// Script returns the batch script that runs b: every value is shell-quoted,
// and an array task picks its run id by SLURM_ARRAY_TASK_ID.
func Script(b Batch) string {
	var w strings.Builder
	w.WriteString("#!/bin/sh\n# written by mlrun: runs one of the run ids below, chosen by the array index\nset --")
	for _, id := range b.RunIDs {
		w.WriteString(" " + ShellQuote(id))
	}
	w.WriteString("\nshift \"${SLURM_ARRAY_TASK_ID:-0}\"\n")
	for _, kv := range b.Env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&w, "export %s=%s\n", shellName(k), ShellQuote(v))
	}
	w.WriteString("exec")
	for _, a := range b.Command {
		w.WriteString(" " + ShellQuote(a))
	}
	w.WriteString(" \"$1\"\n")
	return w.String()
}

// shellName keeps only the characters a variable name may have.
func shellName(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SbatchArgs returns the arguments of sbatch for b, before the script's path.
func SbatchArgs(b Batch) []string {
	args := []string{"--parsable", "--job-name", b.Name, "--chdir", b.Dir}
	if len(b.RunIDs) > 1 {
		arr := fmt.Sprintf("0-%d", len(b.RunIDs)-1)
		if b.Parallel > 0 {
			arr += fmt.Sprintf("%%%d", b.Parallel)
		}
		args = append(args, "--array", arr,
			"--output", filepath.Join(b.Dir, "%A_%a.out"), "--error", filepath.Join(b.Dir, "%A_%a.err"))
	} else {
		args = append(args, "--output", filepath.Join(b.Dir, "%j.out"), "--error", filepath.Join(b.Dir, "%j.err"))
	}
	r := b.Resources
	if r.Partition != "" {
		args = append(args, "--partition", r.Partition)
	}
	if r.Time != "" {
		args = append(args, "--time", r.Time)
	}
	if r.Mem != "" {
		args = append(args, "--mem", r.Mem)
	}
	if r.CPUs > 0 {
		args = append(args, "--cpus-per-task", strconv.Itoa(r.CPUs))
	}
	if r.GPUs != "" {
		args = append(args, "--gpus", r.GPUs)
	}
	if r.Account != "" {
		args = append(args, "--account", r.Account)
	}
	return append(args, r.Args...)
}

// Submit writes the batch script into b.Dir and submits it with sbatch.
func (s *Slurm) Submit(ctx context.Context, b Batch) ([]Task, error) {
	if len(b.RunIDs) == 0 {
		return nil, fmt.Errorf("slurm: nothing to submit")
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the job directory: %w", err)
	}
	script := filepath.Join(b.Dir, "job.sh")
	if err := os.WriteFile(script, []byte(Script(b)), 0o755); err != nil {
		return nil, fmt.Errorf("write the batch script: %w", err)
	}
	out, err := s.run(ctx, "sbatch", append(SbatchArgs(b), script)...)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "sbatch refused the job: %v", err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return nil, fmt.Errorf("sbatch --parsable printed %q, not a job id", out)
	}
	tasks := make([]Task, len(b.RunIDs))
	for i, run := range b.RunIDs {
		tasks[i] = Task{RunID: run, JobID: id, Index: i}
		if len(b.RunIDs) == 1 {
			tasks[i].Index = -1
		}
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "job_id"), []byte(id+"\n"), 0o644); err != nil {
		return tasks, fmt.Errorf("record the job id: %w", err)
	}
	return tasks, nil
}

// States asks squeue about live tasks and sacct about ended ones; a task
// that neither knows has vanished and is FAILED.
func (s *Slurm) States(ctx context.Context, tasks []Task) ([]State, error) {
	jobs := map[string]bool{}
	var ids []string
	for _, t := range tasks {
		if !jobs[t.JobID] {
			jobs[t.JobID] = true
			ids = append(ids, t.JobID)
		}
	}
	known := map[string]State{}
	if len(ids) > 0 {
		// -r lists each pending array task on its own line (1234_5).
		out, err := s.run(ctx, "squeue", "-h", "-r", "-j", strings.Join(ids, ","), "-o", "%i|%T|%r")
		if err != nil && !strings.Contains(err.Error(), "Invalid job id") {
			return nil, fmt.Errorf("squeue: %w", err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(strings.TrimSpace(line), "|")
			if len(f) < 3 {
				continue
			}
			known[f[0]] = mapState(f[1], f[2])
		}
		out, err = s.run(ctx, "sacct", "-n", "-P", "-X", "-j", strings.Join(ids, ","), "-o", "JobID,State,ExitCode,Reason")
		if err != nil {
			return nil, fmt.Errorf("sacct: %w", err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(strings.TrimSpace(line), "|")
			if len(f) < 4 {
				continue
			}
			st := mapState(f[1], f[3])
			if st.Status.Terminal() && st.Reason == "" && st.Status != tracking.StatusFinished {
				st.Reason = "exit code " + f[2]
			}
			// squeue knows better while the job lives; sacct once it ended.
			if _, live := known[f[0]]; !live || st.Status.Terminal() {
				known[f[0]] = st
			}
		}
	}
	// sacct learns of ends through slurmdbd, a little later; scontrol
	// keeps ended jobs for MinJobAge.
	var missing []string
	seen := map[string]bool{}
	for _, t := range tasks {
		if _, ok := known[t.Ref()]; !ok && !seen[t.JobID] {
			seen[t.JobID] = true
			missing = append(missing, t.JobID)
		}
	}
	for _, id := range missing {
		out, err := s.run(ctx, "scontrol", "show", "job", "-o", id)
		if err != nil {
			continue // unknown to scontrol too: vanished
		}
		for ref, st := range parseScontrol(string(out)) {
			if _, ok := known[ref]; !ok {
				known[ref] = st
			}
		}
	}
	out := make([]State, len(tasks))
	for i, t := range tasks {
		st, ok := known[t.Ref()]
		if !ok {
			st = State{Status: tracking.StatusFailed, Raw: "VANISHED",
				Reason: "Slurm job " + t.Ref() + " is known neither to squeue nor to sacct"}
		}
		out[i] = st
	}
	return out, nil
}

// mapState maps a Slurm job state (and its reason) to a run status.
func mapState(raw, reason string) State {
	word := strings.Fields(raw)
	w := ""
	if len(word) > 0 {
		w = strings.TrimSuffix(word[0], "+")
	}
	if reason == "None" {
		reason = ""
	}
	st := State{Raw: w}
	switch w {
	case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED", "RESIZING":
		st.Status = tracking.StatusScheduled
	case "RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING":
		st.Status = tracking.StatusRunning
	case "COMPLETED":
		st.Status = tracking.StatusFinished
	case "CANCELLED":
		st.Status = tracking.StatusKilled
		st.Reason = "Slurm job cancelled"
		if strings.TrimSpace(raw) != w {
			st.Reason = "Slurm job " + strings.ToLower(strings.TrimSpace(raw))
		}
	case "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE":
		st.Status = tracking.StatusFailed
		st.Reason = "Slurm job " + w
		if reason != "" {
			st.Reason += " (" + reason + ")"
		}
	default:
		st.Status = tracking.StatusScheduled
	}
	return st
}

// Cancel runs scancel on the tasks' jobs (whole arrays at once).
func (s *Slurm) Cancel(ctx context.Context, tasks []Task) error {
	seen := map[string]bool{}
	var ids []string
	for _, t := range tasks {
		if !seen[t.JobID] {
			seen[t.JobID] = true
			ids = append(ids, t.JobID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.run(ctx, "scancel", ids...); err != nil {
		return fmt.Errorf("scancel: %w", err)
	}
	return nil
}

// Logs names the files sbatch writes the task's output to.
func (s *Slurm) Logs(dir string, t Task) Logs {
	return Logs{Stdout: filepath.Join(dir, t.Ref()+".out"), Stderr: filepath.Join(dir, t.Ref()+".err")}
}

func (s *Slurm) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), s.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := timerslack.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	out := stdout.Bytes()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("%s: %s", name, msg)
	}
	return out, nil
}

// parseScontrol reads `scontrol show job -o` (one job or array task per
// line) into states by task reference; a line for a range of pending
// array tasks (ArrayTaskId=2-5%2 or 2,4) gives each of them.
func parseScontrol(out string) map[string]State {
	states := map[string]State{}
	for _, line := range strings.Split(out, "\n") {
		f := map[string]string{}
		for _, w := range strings.Fields(line) {
			if k, v, ok := strings.Cut(w, "="); ok {
				if _, dup := f[k]; !dup {
					f[k] = v
				}
			}
		}
		if f["JobState"] == "" {
			continue
		}
		st := mapState(f["JobState"], f["Reason"])
		if st.Status.Terminal() && st.Status != tracking.StatusFinished && f["ExitCode"] != "" && st.Raw == "FAILED" {
			st.Reason += ", exit code " + f["ExitCode"]
		}
		arr, tasks := f["ArrayJobId"], f["ArrayTaskId"]
		if arr == "" || tasks == "" {
			states[f["JobId"]] = st
			continue
		}
		tasks, _, _ = strings.Cut(tasks, "%")
		for _, part := range strings.Split(tasks, ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil {
				continue
			}
			for i := a; i <= b; i++ {
				states[arr+"_"+strconv.Itoa(i)] = st
			}
		}
	}
	return states
}
