package sqlite_test

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

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
