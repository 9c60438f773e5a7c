package server

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// The token-by-token log-batch reader accepts exactly what encoding/json
// (through the lenient wire types) accepts, into the same message.
func TestLogBatchBodyDecodesAsEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{}`,
		`{"run_id": "abc", "metrics": [], "params": null, "tags": []}`,
		`{"run_id": "abc", "metrics": [{"key": "m", "value": 1.5, "timestamp": 17, "step": 3}]}`,
		`{"run_id": "abc", "metrics": [{"key": "m", "value": "NaN", "timestamp": "17", "step": "3"}, {"key": "n", "value": "-Infinity", "timestamp": 1e3}]}`,
		`{"RUN_ID": "abc", "Metrics": [{"KEY": "m", "Value": 2, "TIMESTAMP": 1}], "extra": {"a": [1, {"b": null}]}}`,
		`{"run_id": 12, "params": [{"key": "p", "value": "x"}, {"key": 7, "value": 0.5, "other": true}], "tags": [{"key": "t", "value": "\u00e9\"\\n"}]}`,
		`{"run_id": "abc", "metrics": [{"key": "m", "value": null, "timestamp": null}]}`,
		`{"run_id": "a", "run_id": "b"}`,
		` {"run_id": "abc"} `,
	} {
		var want, got logBatchReq
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("encoding/json refuses %s: %v", body, err)
		}
		if err := got.decodeBody([]byte(strings.TrimSpace(body))); err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if !sameBatch(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", body, got, want)
		}
	}
}

// sameBatch compares two messages, NaN equal to NaN and an empty list
// equal to none.
func sameBatch(a, b logBatchReq) bool {
	sameKV := func(x, y []KeyValue) bool { return len(x) == len(y) && (len(x) == 0 || reflect.DeepEqual(x, y)) }
	if a.RunID != b.RunID || len(a.Metrics) != len(b.Metrics) || !sameKV(a.Params, b.Params) || !sameKV(a.Tags, b.Tags) {
		return false
	}
	for i := range a.Metrics {
		x, y := a.Metrics[i], b.Metrics[i]
		if x.Key != y.Key || x.Step != y.Step || (x.Value == nil) != (y.Value == nil) || (x.Timestamp == nil) != (y.Timestamp == nil) {
			return false
		}
		if x.Value != nil && float64(*x.Value) != float64(*y.Value) && !(math.IsNaN(float64(*x.Value)) && math.IsNaN(float64(*y.Value))) {
			return false
		}
		if x.Timestamp != nil && *x.Timestamp != *y.Timestamp {
			return false
		}
	}
	return true
}

// What encoding/json refuses, the reader refuses with a 400 naming the
// field, never a panic or a 500.
func TestLogBatchBodyRefusesBadJSON(t *testing.T) {
	for body, want := range map[string]string{
		`{"run_id": "abc", "metrics": [{"key": "m", "value": true, "timestamp": 1}]}`: "'value'",
		`{"run_id": "abc", "metrics": [{"key": "m", "value": 1, "timestamp": 1.5}]}`:  "'timestamp'",
		`{"run_id": "abc", "metrics": [{"key": "m", "value": 1, "step": "x"}]}`:       "'step'",
		`{"run_id": "abc", "metrics": [{"key": ["m"], "value": 1}]}`:                  "'key'",
		`{"run_id": "abc", "metrics": {"key": "m"}}`:                                  "'metrics'",
		`{"run_id": "abc", "metrics": [3]}`:                                           "'metrics[0]'",
		`{"run_id": {"a": 1}}`:                                                        "'run_id'",
		`{"run_id": "abc", "metrics": [{"key": "m", "value": 1`:                       "not valid JSON",
		`{"run_id": "abc"} {"run_id": "x"}`:                                           "not valid JSON",
		`{"run_id": "abc",}`:                                                          "not valid JSON",
		`[1, 2]`:                                                                      "not valid JSON",
	} {
		var want2 logBatchReq
		if json.Unmarshal([]byte(body), &want2) == nil {
			t.Errorf("encoding/json accepts %s; the case is wrong", body)
		}
		var q logBatchReq
		err := q.decodeBody([]byte(body))
		if err == nil || errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want INVALID_PARAMETER_VALUE mentioning %s", body, err, want)
		}
	}
}
