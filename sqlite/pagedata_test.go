package sqlite_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// TestSearchReturnsRunDataExactly checks that SearchRuns, which reads a
// page's params, tags and metrics as JSON that SQLite builds, returns what
// GetRun (one row per value) does, bit for bit: strings with quotes,
// backslashes, control characters and non-ASCII text, and metrics of any
// float64 (infinities, NaN, subnormals, -0, random bit patterns), steps and
// timestamps.
func TestSearchReturnsRunDataExactly(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	rng := rand.New(rand.NewPCG(7, 8))
	odd := []string{"", `"`, `\`, `a"b\c`, "tab\there\nnew\x01\x1f", "é ü 中文 🙂", `\u0041`, "]],[[", `{"k": [1, 2]}`, "' OR 1=1 --"}
	floats := []float64{0, math.Copysign(0, -1), 0.1, 1e-320, math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 1e23, 0.30000000000000004, 123456789012345678}
	want := map[string]*tracking.Run{}
	for i := range 40 {
		var ps []tracking.Param
		var ts []tracking.Tag
		for j, v := range odd {
			if (i+j)%3 == 0 {
				ps = append(ps, tracking.Param{Key: "p" + strconv.Itoa(j), Value: v})
			} else {
				ts = append(ts, tracking.Tag{Key: "t" + strconv.Itoa(j), Value: v + strconv.Itoa(i)})
			}
		}
		info := mustCreateRun(t, s, tracking.NewRun{Name: "r" + strconv.Itoa(i), Params: ps, Tags: ts})
		var ms []tracking.Metric
		for j := range 6 {
			v := math.Float64frombits(rng.Uint64())
			if j == 0 {
				v = floats[i%len(floats)]
			}
			ms = append(ms, tracking.Metric{Key: "m" + strconv.Itoa(j), Value: v, Step: rng.Int64() - math.MaxInt64/2, Timestamp: rng.Int64()})
		}
		mustLog(t, s, info.ID, ms, nil, nil)
		r, err := s.GetRun(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		want[info.ID] = r
	}
	runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(want) {
		t.Fatalf("SearchRuns found %d runs, want %d", len(runs), len(want))
	}
	for _, got := range runs {
		w := want[got.Info.ID]
		if !reflect.DeepEqual(got.Params, w.Params) || !reflect.DeepEqual(got.Tags, w.Tags) {
			t.Errorf("run %s: params %q tags %q, want %q %q", got.Info.Name, got.Params, got.Tags, w.Params, w.Tags)
		}
		if len(got.Metrics) != len(w.Metrics) {
			t.Fatalf("run %s: %d metrics, want %d", got.Info.Name, len(got.Metrics), len(w.Metrics))
		}
		for i, m := range got.Metrics {
			wm := w.Metrics[i]
			same := math.Float64bits(m.Value) == math.Float64bits(wm.Value) || (math.IsNaN(m.Value) && math.IsNaN(wm.Value))
			if m.Key != wm.Key || m.Step != wm.Step || m.Timestamp != wm.Timestamp || !same {
				t.Errorf("run %s: metric %+v (bits %x), want %+v (bits %x)", got.Info.Name, m, math.Float64bits(m.Value), wm, math.Float64bits(wm.Value))
			}
		}
	}
}

// TestSearchSeesEveryWriteToARun follows one run through every write that
// changes its params, tags or latest metrics (create, log batch, a rename,
// deleting a tag, a newer and an older point, reaping, and the same writes
// once it has ended), and after each one checks that SearchRuns, which
// reads an ended run's summary row (and a running run's tables), returns
// what GetRun reads from the tables. A run gets its row when it ends. Then it drops every summary row, as a store
// filled by `mlrun db copy` has none, and checks the same again.
func TestSearchSeesEveryWriteToARun(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	other := mustCreateRun(t, s, tracking.NewRun{Name: "other", Params: []tracking.Param{{Key: "C", Value: "2"}}})
	mustLog(t, s, other.ID, []tracking.Metric{{Key: "acc", Value: 0.5}}, nil, nil)
	info := mustCreateRun(t, s, tracking.NewRun{Name: "first", Params: []tracking.Param{{Key: "C", Value: "1"}},
		Tags: []tracking.Tag{{Key: "team", Value: "a"}}, Host: "nowhere", PID: 1})
	same := func(step string) {
		t.Helper()
		runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range runs {
			want, err := s.GetRun(ctx, got.Info.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Params, want.Params) || !reflect.DeepEqual(got.Tags, want.Tags) || !reflect.DeepEqual(got.Metrics, want.Metrics) {
				t.Errorf("after %s, run %s is searched as\n%v %v %v\nbut is\n%v %v %v", step, got.Info.Name,
					got.Params, got.Tags, got.Metrics, want.Params, want.Tags, want.Metrics)
			}
		}
	}
	same("create")
	mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: 0.9, Step: 1}}, []tracking.Param{{Key: "max_iter", Value: "100"}}, []tracking.Tag{{Key: "team", Value: "b"}})
	same("a log batch of a metric, a param and a tag")
	mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: 0.95, Step: 2}, {Key: "loss", Value: 0.1}}, nil, nil)
	same("a newer point and a new metric")
	mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: 0.1, Step: 0}}, nil, nil)
	same("an older point")
	mustLog(t, s, info.ID, nil, []tracking.Param{{Key: "solver", Value: "lbfgs"}}, nil)
	same("a param alone")
	name := "renamed"
	if err := s.UpdateRun(ctx, info.ID, tracking.RunUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	same("a rename")
	if err := s.DeleteTag(ctx, info.ID, "team"); err != nil {
		t.Fatal(err)
	}
	same("deleting a tag")
	if _, err := s.ReapDeadRuns(ctx, "nowhere", func(int) bool { return false }, 0); err != nil {
		t.Fatal(err)
	}
	same("reaping the run")
	hasSummary(t, s, info.ID, true, "reaped")
	mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: 0.97, Step: 3}}, []tracking.Param{{Key: "late", Value: "1"}}, []tracking.Tag{{Key: "team", Value: "c"}})
	same("a log batch to an ended run")
	if err := s.DeleteTag(ctx, info.ID, "team"); err != nil {
		t.Fatal(err)
	}
	same("deleting a tag of an ended run")
	name = "renamed again"
	if err := s.UpdateRun(ctx, info.ID, tracking.RunUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	same("renaming an ended run")
	hasSummary(t, s, other.ID, false, "running")
	finished := tracking.StatusFinished
	if err := s.UpdateRun(ctx, other.ID, tracking.RunUpdate{Status: &finished}); err != nil {
		t.Fatal(err)
	}
	hasSummary(t, s, other.ID, true, "finished")
	same("finishing the other run")
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM run_summaries`); err != nil {
		t.Fatal(err)
	}
	same("dropping the summaries")
	mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: 0.99, Step: 3}}, nil, nil)
	same("a log batch to a run without a summary")
}

// hasSummary fails t unless run id has a row in run_summaries exactly when
// want says so.
func hasSummary(t *testing.T, s *sqlite.Store, id string, want bool, state string) {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM run_summaries WHERE run_id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if (n == 1) != want {
		t.Errorf("a %s run has %d summary rows; want a row: %v", state, n, want)
	}
}

// TestMigrationSummarizesExistingRuns opens a store as it was before
// run_summaries existed (migration 7 undone) and checks that opening it
// again writes each run's summary from its params, tags and latest metrics.
func TestMigrationSummarizesExistingRuns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		info := mustCreateRun(t, s, tracking.NewRun{Params: []tracking.Param{{Key: "C", Value: strconv.Itoa(i)}}})
		mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: float64(i) / 4}}, nil, []tracking.Tag{{Key: "team", Value: "x"}})
	}
	if _, err := s.DB().ExecContext(ctx, `DROP TABLE run_summaries; DELETE FROM schema_migrations WHERE version = 7`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts")); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var missing, stale int
	err = s.DB().QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM runs WHERE run_id NOT IN (SELECT run_id FROM run_summaries)),
		(SELECT COUNT(*) FROM run_summaries s WHERE s.metrics NOT LIKE '[["acc",0,%' OR s.tags NOT LIKE '%["team","x"]%' OR s.params NOT LIKE '[["C","_"]]')`).Scan(&missing, &stale)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || stale != 0 {
		t.Errorf("after the migration, %d runs have no summary and %d a wrong one", missing, stale)
	}
}
