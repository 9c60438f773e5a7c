package project_test

import (
	"testing"

	"github.com/mlrun/mlrun/internal/depcheck"
)

// The reader checks pipelines against the schemas step kinds hand it: it
// links neither the kinds nor the ML stack.
func TestDependencies(t *testing.T) {
	depcheck.Forbid(t, "steps", "ml/...", "plot/...", "pipeline/...", "tracking/...", "sqlite/...", "postgres/...")
}
