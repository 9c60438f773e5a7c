package schema

import (
	"math"
	"testing"
)

// TestFormatFloatIsPythonRepr: the expected texts are what Python 3 prints
// for repr(float(x)).
func TestFormatFloatIsPythonRepr(t *testing.T) {
	tenth := 0.1 // a variable, so that 0.1 + 0.2 is float64 arithmetic, not an exact constant
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {0.5, "0.5"}, {-2.5, "-2.5"},
		{1e6, "1000000.0"}, {123456789012345.6, "123456789012345.6"}, {1e15, "1000000000000000.0"},
		{9999999999999998, "9999999999999998.0"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {1e22, "1e+22"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{0.0001, "0.0001"}, {0.00012345, "0.00012345"}, {1e-5, "1e-05"}, {1.5e-5, "1.5e-05"}, {5e-324, "5e-324"},
		{tenth + 0.2, "0.30000000000000004"}, {1.0 / 3, "0.3333333333333333"}, {100, "100.0"},
		{0.1, "0.1"}, {1e-3, "0.001"}, {1.5e-7, "1.5e-07"}, {1.2345e100, "1.2345e+100"}, {123456789.125, "123456789.125"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"},
	} {
		if got := FormatFloat(tc.f); got != tc.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}
