package ui

import (
	"regexp"
	"testing"

	"github.com/mlrun/mlrun/internal/patterntest"
)

func TestFinishedInIsTheDurationRegexp(t *testing.T) {
	re := regexp.MustCompile(`^finished in (\S+)$`)
	patterntest.SameAsRegexp(t, `^finished in (\S+)$`, func(s string) bool {
		d, ok := finishedIn(s)
		if m := re.FindStringSubmatch(s); ok && m[1] != d {
			t.Errorf("%q: duration %q, the regexp reads %q", s, d, m[1])
		}
		return ok
	}, "finished in ", "finished in 1", "finished in")
}
