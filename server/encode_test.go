package server

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// The appended runs/search answer is the JSON encoding/json gives for the
// same runs through the wire structs: same fields, same omissions, same
// values (non-finite doubles as strings, odd characters escaped).
func TestRunsPageEncodesAsEncodingJSON(t *testing.T) {
	f := newFixture(t, Options{ServeArtifacts: true})
	runs := []*tracking.Run{
		{Info: tracking.RunInfo{ID: "0123456789abcdef0123456789abcdef", ExperimentID: "0", Status: tracking.StatusRunning,
			StartTime: 1700000000000, ArtifactURI: "file://" + f.root + "/0/0123456789abcdef0123456789abcdef/artifacts", LifecycleStage: "active"}},
		{
			Info: tracking.RunInfo{ID: "fedcba9876543210fedcba9876543210", Name: "<b>&\"quoted\"\u2028\x01 é 😀 \xff", ExperimentID: "12", UserID: "u\\ser",
				Status: tracking.StatusFinished, StartTime: 1, EndTime: 2, ArtifactURI: "s3://bucket/x", LifecycleStage: "deleted"},
			Metrics: []tracking.Metric{{Key: "nan", Value: math.NaN()}, {Key: "inf", Value: math.Inf(1), Step: -3}, {Key: "-inf", Value: math.Inf(-1)},
				{Key: "small", Value: 1e-300, Timestamp: 9}, {Key: "big", Value: 1.7976931348623157e308}, {Key: "third", Value: 1.0 / 3}, {Key: "zero", Value: 0}},
			Params: []tracking.Param{{Key: "p", Value: ""}, {Key: "q", Value: "line\nbreak\ttab"}},
			Tags:   []tracking.Tag{{Key: "mlflow.runName", Value: "x"}},
		},
		{Info: tracking.RunInfo{ID: "a"}, Tags: []tracking.Tag{{Key: "only", Value: "tags"}}},
		// Dataset inputs are shown as inputs, not tags.
		{Info: tracking.RunInfo{ID: "b"}, Tags: []tracking.Tag{{Key: "k", Value: "v"},
			{Key: datasetInputTagPrefix + "0a1b2c3d", Value: `{"tags":[],"dataset":{"name":"d","digest":"1","source_type":"local","source":"x"}}`},
			{Key: legacyDatasetInputsTag, Value: `[{"tags":[],"dataset":{"name":"old","digest":"2","source_type":"local","source":"y"}}]`}}},
	}
	for _, next := range []string{"", "eyJvZmZzZXQiOiAxMDB9"} {
		var list []wRun
		for _, r := range runs {
			list = append(list, f.srv.run(r))
		}
		want := paged("runs", list, next)
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got := runsPage{s: f.srv, runs: runs, next: next}.appendJSON(nil)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("appended JSON is invalid: %v\n%s", err, got)
		}
		json.Unmarshal(wantJSON, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("appended:\n%s\nencoding/json:\n%s", got, wantJSON)
		}
	}
	if got := string(runsPage{s: f.srv}.appendJSON(nil)); got != `{"runs":[]}` {
		t.Errorf("no runs: %s", got)
	}
}
