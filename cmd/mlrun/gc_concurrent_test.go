package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/storeuri"
	"github.com/mlrun/mlrun/tracking"
)

// `mlrun gc` processes, run one after another while this process creates,
// deletes and restores runs in the same store, all succeed, never report a
// locked database, and remove no run that is not deleted.
func TestGCProcessesWhileAnotherProcessWrites(t *testing.T) {
	for _, se := range storeEnvs {
		t.Run(se.name, func(t *testing.T) { testGCWhileWriting(t, se.env(t)) })
	}
}

func testGCWhileWriting(t *testing.T, e *env) {
	ctx := context.Background()
	var uri, dest string
	for _, kv := range e.vars {
		if v, ok := strings.CutPrefix(kv, "MLRUN_TRACKING_URI="); ok {
			uri = v
		}
		if v, ok := strings.CutPrefix(kv, "MLRUN_ARTIFACTS_DESTINATION="); ok {
			dest = v
		}
	}
	reg := storeuri.New()
	loc, err := reg.Parse(uri, dest)
	if err != nil {
		t.Fatal(err)
	}
	st, err := reg.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// The writer goes on until it has made n runs and 6 gc processes have
	// finished, so that several of them overlap its writes.
	const n, minRounds = 90, 6
	var gcs atomic.Int32
	var live []string
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; werr == nil && (i < n || gcs.Load() < minRounds); i++ {
			info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: tracking.DefaultExperimentID})
			if err != nil {
				werr = err
				return
			}
			switch i % 3 {
			case 0:
				live = append(live, info.ID)
			case 1:
				werr = st.DeleteRun(ctx, info.ID)
			case 2:
				if werr = st.DeleteRun(ctx, info.ID); werr != nil {
					return
				}
				err := st.RestoreRun(ctx, info.ID)
				if err == nil {
					live = append(live, info.ID)
				} else if errs.Code(err) != errs.NotFound { // a gc may purge it in between
					werr = err
				}
			}
		}
	}()
	dir := t.TempDir()
	for running := true; running; gcs.Add(1) {
		select {
		case <-done:
			running = false
		default:
		}
		r := e.run(dir, "gc")
		if r.code != 0 || strings.Contains(r.stdout+r.stderr, "locked") {
			t.Errorf("mlrun gc while another process writes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			<-done
			break
		}
	}
	if werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	for _, id := range live {
		if _, err := st.GetRun(ctx, id); err != nil {
			t.Errorf("live run %s: %v", id, err)
		}
	}
	if left, err := st.DeletedRuns(ctx, 0); err != nil || len(left) != 0 {
		t.Errorf("deleted runs left after the last gc: %v, %v", left, err)
	}
	t.Logf("%d gc processes, %d live runs", gcs.Load(), len(live))
}
