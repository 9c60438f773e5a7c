// Package depcheck lets a test assert what a package links: Allow lists
// everything outside the standard library a package may depend on (a store
// adapter links its domain packages and its driver, nothing of the ML
// stack), Forbid names parts of mlrun it must stay independent of.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/testenv"
)

// module is the prefix of mlrun's import paths.
const module = "github.com/mlrun/mlrun/"

// Allow fails t if the package in the current directory depends, directly
// or not, on a package outside the standard library that none of allowed
// matches. A pattern whose first element has a dot ("github.com/x/y") is
// an import path, any other ("tracking") is relative to mlrun's module; a
// trailing "/..." matches the package and every package below it. The
// package itself is always allowed. It runs `go list -deps`.
func Allow(t *testing.T, allowed ...string) {
	t.Helper()
	self := goList(t, "-f", "{{.ImportPath}}", ".")
	deps := goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	for _, dep := range deps {
		if dep == self[0] {
			continue
		}
		ok := false
		for _, a := range allowed {
			if first, _, _ := strings.Cut(a, "/"); !strings.Contains(first, ".") {
				a = module + a
			}
			if matches(dep, a) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("this package depends on %s, which is not in its allowlist", dep)
		}
	}
}

// Forbid fails t if the package in the current directory depends, directly
// or not, on any of the mlrun packages named, relative to the module:
// "steps" is that package alone, "ml/..." is ml and every package below
// it. It runs `go list -deps`.
func Forbid(t *testing.T, forbidden ...string) {
	t.Helper()
	for _, dep := range goList(t, "-deps", ".") {
		if !strings.HasPrefix(dep, module) {
			continue
		}
		for _, f := range forbidden {
			if matches(dep, module+f) {
				t.Errorf("this package depends on %s, which it must not", dep)
			}
		}
	}
}

// matches reports whether the import path p matches pattern, which may end
// in "/...".
func matches(p, pattern string) bool {
	tree, isTree := strings.CutSuffix(pattern, "/...")
	return p == pattern || isTree && (p == tree || strings.HasPrefix(p, tree+"/"))
}

// goList runs `go list args...` in the current directory and returns the
// non-empty lines of its output; without the go command the test ends
// through testenv.Missing.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command is not on PATH; cannot list dependencies")
	}
	out, err := exec.Command(goBin, append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Fields(string(out))
}
