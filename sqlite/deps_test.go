package sqlite_test

import (
	"testing"

	"github.com/mlrun/mlrun/internal/depcheck"
)

// The store adapter speaks domain types only: it links the domain packages
// and its driver, never the ML stack, the pipeline or the project reader.
func TestDependencies(t *testing.T) {
	depcheck.Allow(t, "errs", "artifact", "tracking", "internal/sqlstore", "github.com/mattn/go-sqlite3")
}
