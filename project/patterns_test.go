package project

import (
	"regexp"
	"testing"

	"github.com/mlrun/mlrun/internal/patterntest"
)

func TestIsStepNameIsTheStepNameRegexp(t *testing.T) {
	patterntest.SameAsRegexp(t, `^[A-Za-z_][A-Za-z0-9_-]*$`, isStepName)
}

func TestShellSafeIsTheShellUnsafeRegexpNegated(t *testing.T) {
	unsafe := regexp.MustCompile(`[^A-Za-z0-9_@%+=:,./-]`)
	patterntest.SameAsRegexp(t, `^[A-Za-z0-9_@%+=:,./-]*$`, shellSafe)
	for _, s := range []string{"", "a b", "é", "\xff", "x=1,2"} {
		if shellSafe(s) == unsafe.MatchString(s) {
			t.Errorf("%q: shellSafe = %v, the unsafe regexp matches = %v", s, shellSafe(s), unsafe.MatchString(s))
		}
	}
}

func TestHasURISchemeIsTheURIRegexp(t *testing.T) {
	patterntest.SameAsRegexp(t, `^[A-Za-z][A-Za-z0-9+.-]*:`, hasURIScheme, "s3", "file:", "a+b.c-d")
}
