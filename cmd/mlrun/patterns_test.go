package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/patterntest"
)

func TestIsHexSHA256IsTheHashRegexp(t *testing.T) {
	patterntest.SameAsRegexp(t, `^[0-9a-f]{64}$`, isHexSHA256)
	for _, s := range []string{strings.Repeat("0", 64), strings.Repeat("f", 64), strings.Repeat("a", 63) + "g", strings.Repeat("0", 65), strings.Repeat("0", 63)} {
		if got, want := isHexSHA256(s), regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}
