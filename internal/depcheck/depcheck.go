// Package depcheck lets a test assert that a package does not link parts of
// mlrun it must stay independent of (a store adapter must not pull in the
// ML stack, for instance).
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// Forbid fails t if the package in the current directory depends, directly
// or not, on any of the mlrun packages named, relative to the module:
// "steps" is that package alone, "ml/..." is ml and every package below
// it. It runs `go list -deps`.
func Forbid(t *testing.T, forbidden ...string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; cannot list dependencies")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const module = "github.com/mlrun/mlrun/"
	for _, dep := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(dep, module)
		if !ok {
			continue
		}
		for _, f := range forbidden {
			tree, isTree := strings.CutSuffix(f, "/...")
			if rel == f || isTree && (rel == tree || strings.HasPrefix(rel, tree+"/")) {
				t.Errorf("this package depends on %s, which it must not", dep)
			}
		}
	}
}
