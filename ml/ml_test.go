package ml

import (
	"strings"
	"testing"
)

// RandomState reads a seed as svm and tree take it: null, or a whole
// number from 0 to 4294967295.
func TestParamsRandomState(t *testing.T) {
	for _, tc := range []struct {
		value any
		want  int64 // -1: nil
		err   string
	}{
		{nil, -1, ""},
		{42, 42, ""},
		{int64(0), 0, ""},
		{42.0, 42, ""},
		{4294967295, 4294967295, ""},
		{4294967296, 0, "not 4294967296"},
		{-1, 0, "not -1"},
		{1.5, 0, "not 1.5"},
		{"7", 0, "not 7"},
	} {
		got, err := Params{"random_state": tc.value}.RandomState("random_state")
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), "hyperparameter random_state must be null or a whole number from 0 to 4294967295, "+tc.err) {
				t.Errorf("%v: error %v, want one ending %q", tc.value, err, tc.err)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.value, err)
		case tc.want == -1 && got != nil, tc.want >= 0 && (got == nil || *got != tc.want):
			t.Errorf("%v: got %v, want %d", tc.value, got, tc.want)
		}
	}
}
