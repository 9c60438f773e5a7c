package gc_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/gc"
	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/internal/sqlstore"
	"github.com/mlrun/mlrun/postgres"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// store is what these tests need of either SQL store: the contract, and
// the database handle to backdate a deletion.
type store interface {
	tracking.Store
	sqlstore.DB
}

// stores opens a fresh store of each kind.
var stores = []struct {
	name string
	open func(t *testing.T) store
}{
	{"sqlite", func(t *testing.T) store {
		dir := t.TempDir()
		s, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgresql", func(t *testing.T) store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), filepath.Join(t.TempDir(), "artifacts"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

func each(t *testing.T, f func(t *testing.T, st store)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { f(t, s.open(t)) })
	}
}

// newRun creates a run with an artifact of 100 bytes and returns its id
// and artifact directory.
func newRun(t *testing.T, st store) (string, string) {
	t.Helper()
	ctx := context.Background()
	info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: tracking.DefaultExperimentID,
		Params: []tracking.Param{{Key: "p", Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := artifact.DirFromURI(info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.bin"), make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	return info.ID, dir
}

func deleteRun(t *testing.T, st store, id string) {
	t.Helper()
	if err := st.DeleteRun(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

// exists reports whether the store still holds the run.
func exists(t *testing.T, st store, id string) bool {
	t.Helper()
	_, err := st.GetRun(context.Background(), id)
	if errs.Code(err) == errs.NotFound {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func dirExists(dir string) bool {
	_, err := os.Stat(dir)
	return err == nil
}

// collect runs gc and fails on an error.
func collect(t *testing.T, st store, o gc.Options) map[string]gc.Item {
	t.Helper()
	items, err := gc.Collect(context.Background(), st, artifact.SchemesFor(st), o)
	if err != nil {
		t.Fatalf("Collect(%+v): %v", o, err)
	}
	out := map[string]gc.Item{}
	for _, it := range items {
		out[it.RunID] = it
	}
	return out
}

// --older-than removes a run deleted long ago with its artifacts and keeps
// one deleted recently, and an active run.
func TestOlderThanRemovesOnlyOldDeletions(t *testing.T) {
	each(t, func(t *testing.T, st store) {
		now := time.Now()
		old, oldDir := newRun(t, st)
		recent, recentDir := newRun(t, st)
		live, liveDir := newRun(t, st)
		deleteRun(t, st, old)
		deleteRun(t, st, recent)
		// Backdate the old deletion by 40 days; the store records deletion
		// times itself, so only its database can say "long ago".
		q := `UPDATE runs SET deleted_time = ? WHERE run_id = ?`
		if st.Dialect() == "postgres" {
			q = `UPDATE runs SET deleted_time = $1 WHERE run_id = $2`
		}
		if _, err := st.DB().Exec(q, now.Add(-40*24*time.Hour).UnixMilli(), old); err != nil {
			t.Fatal(err)
		}

		dry := collect(t, st, gc.Options{OlderThan: 30 * 24 * time.Hour, Now: now, DryRun: true})
		if len(dry) != 1 || dry[old].Removed || dry[old].Bytes != 100 {
			t.Errorf("dry run = %+v, want only %s, not removed, 100 bytes", dry, old)
		}
		if !exists(t, st, old) || !dirExists(oldDir) {
			t.Errorf("the dry run removed %s", old)
		}

		got := collect(t, st, gc.Options{OlderThan: 30 * 24 * time.Hour, Now: now})
		if len(got) != 1 || !got[old].Removed || got[old].Bytes != 100 {
			t.Errorf("gc --older-than 30d = %+v, want only %s removed with 100 bytes", got, old)
		}
		if exists(t, st, old) || dirExists(oldDir) {
			t.Errorf("run %s deleted 40 days ago is still there (store or artifacts)", old)
		}
		for _, id := range []string{recent, live} {
			if !exists(t, st, id) {
				t.Errorf("run %s was removed", id)
			}
		}
		if !dirExists(recentDir) || !dirExists(liveDir) {
			t.Error("artifacts of a kept run were removed")
		}

		// Seen from 40 days on, the recent deletion is old too.
		got = collect(t, st, gc.Options{OlderThan: 30 * 24 * time.Hour, Now: now.Add(40 * 24 * time.Hour)})
		if len(got) != 1 || !got[recent].Removed || exists(t, st, recent) {
			t.Errorf("gc 40 days later = %+v, want %s removed", got, recent)
		}
		if !exists(t, st, live) {
			t.Error("the active run was removed")
		}
	})
}

// --run-ids removes the named deleted runs only, accepts a prefix, and
// refuses an active run.
func TestRunIDsRemovesOnlyTheNamedRuns(t *testing.T) {
	each(t, func(t *testing.T, st store) {
		a, _ := newRun(t, st)
		b, bDir := newRun(t, st)
		c, _ := newRun(t, st)
		deleteRun(t, st, a)
		deleteRun(t, st, b)
		got := collect(t, st, gc.Options{RunIDs: []string{a[:8]}})
		if len(got) != 1 || !got[a].Removed {
			t.Errorf("gc --run-ids %s = %+v, want %s removed", a[:8], got, a)
		}
		if exists(t, st, a) {
			t.Errorf("%s is still in the store", a)
		}
		if !exists(t, st, b) || !dirExists(bDir) {
			t.Errorf("%s, deleted but not named, was removed", b)
		}
		_, err := gc.Collect(context.Background(), st, artifact.SchemesFor(st), gc.Options{RunIDs: []string{b, c}})
		if errs.Code(err) != errs.Invalid {
			t.Errorf("gc of an active run: %v, want an invalid-argument error", err)
		}
		if !exists(t, st, b) || !exists(t, st, c) {
			t.Error("a refused gc removed a run")
		}
	})
}

// A deleted run that a registered model version points at is kept, with
// the reason, unless forced.
func TestRegisteredRunIsKeptUnlessForced(t *testing.T) {
	each(t, func(t *testing.T, st store) {
		ctx := context.Background()
		id, dir := newRun(t, st)
		if _, err := st.CreateRegisteredModel(ctx, "iris", "", nil); err != nil {
			t.Fatal(err)
		}
		run, err := st.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateModelVersion(ctx, "iris", run.Info.ArtifactURI+"/model.bin", id, "", nil); err != nil {
			t.Fatal(err)
		}
		deleteRun(t, st, id)
		got := collect(t, st, gc.Options{})
		if it := got[id]; it.Removed || it.Kept == "" {
			t.Errorf("gc of a registered run = %+v, want it kept with a reason", it)
		}
		if !exists(t, st, id) || !dirExists(dir) {
			t.Fatal("the registered run was removed")
		}
		got = collect(t, st, gc.Options{Force: true})
		if !got[id].Removed || exists(t, st, id) || dirExists(dir) {
			t.Errorf("gc --force = %+v, want the registered run removed", got[id])
		}
	})
}

// gc running again and again while another goroutine creates, deletes and
// restores runs removes no run that is not deleted, and neither side sees
// an error.
func TestSafeWhileOthersWrite(t *testing.T) {
	each(t, func(t *testing.T, st store) {
		ctx := context.Background()
		const n = 150
		var (
			live    []string // never deleted, or restored
			werr    error
			wg      sync.WaitGroup
			done    = make(chan struct{})
			removed = map[string]bool{}
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			for i := 0; i < n; i++ {
				info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: tracking.DefaultExperimentID})
				if err == nil {
					err = st.LogBatch(ctx, info.ID, []tracking.Metric{{Key: "m", Value: float64(i), Timestamp: 1}}, nil, nil)
				}
				if err != nil {
					werr = err
					return
				}
				switch i % 3 {
				case 0:
					live = append(live, info.ID)
				case 1:
					if err := st.DeleteRun(ctx, info.ID); err != nil {
						werr = err
						return
					}
				case 2: // deleted and restored at once: gc may purge it in between
					if err := st.DeleteRun(ctx, info.ID); err != nil {
						werr = err
						return
					}
					err := st.RestoreRun(ctx, info.ID)
					if err == nil {
						live = append(live, info.ID)
					} else if errs.Code(err) != errs.NotFound {
						werr = err
						return
					}
				}
			}
		}()
		rounds := 0
		for running := true; running; rounds++ {
			select {
			case <-done:
				running = false
			default:
			}
			items, err := gc.Collect(ctx, st, artifact.SchemesFor(st), gc.Options{})
			if err != nil {
				t.Errorf("gc while others write: %v", err)
				break
			}
			for _, it := range items {
				if it.Removed {
					removed[it.RunID] = true
				}
			}
		}
		wg.Wait()
		if werr != nil {
			t.Fatalf("writer: %v", werr)
		}
		for _, id := range live {
			if !exists(t, st, id) {
				t.Errorf("live run %s was removed", id)
			}
			if removed[id] {
				t.Errorf("gc reported live run %s removed", id)
			}
		}
		deleted, err := st.DeletedRuns(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(deleted) != 0 {
			t.Errorf("%d deleted runs left after the last gc round: %v", len(deleted), deleted)
		}
		if len(removed) == 0 {
			t.Error("gc removed nothing")
		}
		t.Logf("%d gc rounds, %d runs removed, %d live", rounds, len(removed), len(live))
	})
}
