package sqlite_test

import (
	"testing"

	"github.com/mlrun/mlrun/internal/depcheck"
)

// The store adapter speaks domain types only: it must not link the ML stack,
// the pipeline or the project reader.
func TestDependencies(t *testing.T) {
	depcheck.Forbid(t, "ml/...", "plot/...", "steps/...", "project/...", "pipeline/...", "schedule/...", "registry/...", "serving/...")
}
