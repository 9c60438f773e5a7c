package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FormatFloat formats a float parameter value as MLflow logs one from
// Python, with repr: the shortest text that reads back as f, always with a
// ".0" or an exponent, in exponent form when the decimal exponent is below
// -4 or from 16 on (1.0, 0.5, 1000000.0, 0.0001, 1e-05, 1e+16, 1.5e+16;
// inf, -inf and nan as Python writes them). Every float param mlrun logs,
// given or default, of an entry point or of a step, goes through it.
func FormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // e.g. -1.2345e+06
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
