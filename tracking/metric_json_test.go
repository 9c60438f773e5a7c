package tracking

import (
	"encoding/json"
	"math"
	"testing"
)

// Regression: a run with a NaN or infinite metric (the MLflow client may
// log them) made `mlrun runs list -o json` fail with "unsupported value".
func TestMetricJSONNonFinite(t *testing.T) {
	in := []Metric{
		{Key: "nan", Value: math.NaN(), Timestamp: 1, Step: 2},
		{Key: "inf", Value: math.Inf(1)},
		{Key: "ninf", Value: math.Inf(-1)},
		{Key: "x", Value: 0.25, Timestamp: 3},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"key":"nan","value":"NaN","timestamp":1,"step":2},{"key":"inf","value":"Infinity","timestamp":0,"step":0},` +
		`{"key":"ninf","value":"-Infinity","timestamp":0,"step":0},{"key":"x","value":0.25,"timestamp":3,"step":0}]`
	if string(b) != want {
		t.Fatalf("marshal = %s\nwant %s", b, want)
	}
	var out []Metric
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(out[0].Value) || out[0].Step != 2 || !math.IsInf(out[1].Value, 1) || !math.IsInf(out[2].Value, -1) || out[3].Value != 0.25 {
		t.Fatalf("round trip = %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"key":"k","value":"abc"}`), &out[0]); err == nil {
		t.Fatal("a string value that is not NaN/Infinity was accepted")
	}
}
