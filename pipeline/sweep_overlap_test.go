package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/sweep"
	"github.com/mlrun/mlrun/tracking"
)

// sweepTrace records, across the trials of a sweep, when each trial's step
// runs and when its background work runs.
type sweepTrace struct {
	mu           sync.Mutex
	stepRunning  int // trials inside their step now
	maxSteps     int
	bgRunning    int // background works running now, all trials
	maxBG        int
	stepStarted  map[int]chan struct{} // closed when trial n's step starts
	overlapped   map[int]bool          // trial n's background work saw trial n+1's step start
	bgWorksTotal int
	last         int // the last trial's number: no trial follows it
}

// tracer is a step kind that records into a sweepTrace: its step takes a
// moment; its background work (several "plots") waits, up to a bound, for
// the next trial's step to start.
type tracer struct{ tr *sweepTrace }

func (tracer) Name() string             { return "tracer" }
func (tracer) Doc() string              { return "record steps and background work of a sweep (tests)" }
func (tracer) Outputs() []steps.Output  { return nil }
func (tracer) Check(steps.Values) error { return nil }
func (tracer) Inputs() []steps.Input {
	return []steps.Input{{Name: "n", Type: steps.Int, Doc: "the trial's number"}}
}

func (k tracer) Run(ctx context.Context, env *steps.Env, in steps.Values) (*steps.Result, error) {
	n, _ := in["n"].(int)
	tr := k.tr
	tr.mu.Lock()
	tr.stepRunning++
	tr.maxSteps = max(tr.maxSteps, tr.stepRunning)
	close(tr.start(n))
	tr.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	tr.mu.Lock()
	tr.stepRunning--
	tr.mu.Unlock()
	for p := range 4 {
		path, err := env.Log.ArtifactPath(fmt.Sprintf("plot%d.png", p))
		if err != nil {
			return nil, err
		}
		err = env.Background(filepath.Base(path), func() error {
			tr.mu.Lock()
			tr.bgRunning++
			tr.bgWorksTotal++
			tr.maxBG = max(tr.maxBG, tr.bgRunning)
			next := tr.start(n + 1)
			tr.mu.Unlock()
			defer func() {
				tr.mu.Lock()
				tr.bgRunning--
				tr.mu.Unlock()
			}()
			if p == 0 && n != tr.last {
				// The next trial's step starts while this one's plots
				// are still being drawn (the bound only stops a failing
				// test from hanging).
				select {
				case <-next:
					tr.mu.Lock()
					tr.overlapped[n] = true
					tr.mu.Unlock()
				case <-time.After(5 * time.Second):
				}
			}
			return os.WriteFile(path, []byte("a plot"), 0o644)
		})
		if err != nil {
			return nil, err
		}
	}
	return &steps.Result{}, nil
}

// start returns the channel closed when trial n's step starts; tr.mu is held.
func (tr *sweepTrace) start(n int) chan struct{} {
	c, ok := tr.stepStarted[n]
	if !ok {
		c = make(chan struct{})
		tr.stepStarted[n] = c
	}
	return c
}

// A sweep at -j 1 runs one trial's steps at a time, but the next trial
// starts while the previous one's plots are still being drawn; the plots
// of all trials share one processor-sized pool, and every trial's run
// ends FINISHED with all its plots written.
func TestSweepOverlapsATrialsPlotsWithTheNextTrial(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "MLproject"), []byte(`name: traces
entry_points:
  main:
    parameters:
      n: {type: int, default: 0}
    steps:
      - {name: trace, uses: tracer, with: {n: "${{ params.n }}"}}
`), 0o644)
	tr := &sweepTrace{stepStarted: map[int]chan struct{}{}, overlapped: map[int]bool{}, last: 6}
	kinds := steps.NewRegistry(tracer{tr})
	proj, err := project.Load(dir, kinds)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := proj.EntryPoint("main")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := sweep.Parse(ep, []project.KV{{Key: "n", Value: "1,2,3,4,5,6"}}, sweep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trials, err := sw.Trials()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, st := testRunner(t, kinds)
	r.NoCache = true
	out, err := r.RunSweep(ctx, SweepRequest{Request: Request{Project: proj}, Sweep: sw, Trials: trials, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range out.Results {
		if res.Status != tracking.StatusFinished {
			t.Fatalf("trial %d: %s %s", res.Trial.Index+1, res.Status, res.Error)
		}
		run, err := st.GetRun(ctx, res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Info.Status != tracking.StatusFinished {
			t.Errorf("trial %d's run is %s", res.Trial.Index+1, run.Info.Status)
		}
		adir, err := artifact.DirFromURI(run.Info.ArtifactURI)
		if err != nil {
			t.Fatal(err)
		}
		for p := range 4 {
			if data, err := os.ReadFile(filepath.Join(adir, fmt.Sprintf("plot%d.png", p))); err != nil || string(data) != "a plot" {
				t.Errorf("trial %d's plot%d.png: %q, %v", res.Trial.Index+1, p, data, err)
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.maxSteps != 1 {
		t.Errorf("%d trials ran their steps at once at -j 1", tr.maxSteps)
	}
	for n := 1; n < len(trials); n++ {
		if !tr.overlapped[n] {
			t.Errorf("trial %d's plots were done before trial %d started: no overlap", n, n+1)
		}
	}
	if limit := cap(newBackgroundSlots()); tr.maxBG > limit {
		t.Errorf("%d plots were drawn at once across trials, more than the %d processors", tr.maxBG, limit)
	}
	if tr.bgWorksTotal != 4*len(trials) {
		t.Errorf("%d background works ran, want %d", tr.bgWorksTotal, 4*len(trials))
	}
}
