package sweep

import (
	"testing"

	"github.com/mlrun/mlrun/internal/patterntest"
)

func TestIsDecimalNumberIsTheNumberRegexp(t *testing.T) {
	patterntest.SameAsRegexp(t, `^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$`, isDecimalNumber, "1", "-1.", "+.5e", ".5E-", "2e+1")
}

func TestIsMetricKeyIsTheMetricKeyRegexp(t *testing.T) {
	patterntest.SameAsRegexp(t, `^[A-Za-z0-9_\-./ ]+$`, isMetricKey)
}
