package schedule

import (
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/patterntest"
)

func TestValidNameIsTheNameRegexp(t *testing.T) {
	patterntest.SameAsRegexp(t, `^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`, validName)
	for n, want := range map[int]bool{1: true, 99: true, 100: true, 101: false} {
		if got := validName("a" + strings.Repeat("-", n-1)); got != want {
			t.Errorf("a name of %d characters: valid = %v, want %v", n, got, want)
		}
	}
}
