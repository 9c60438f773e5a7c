package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
	"github.com/mlrun/mlrun/tracking/storetest"
)

// TestConformance runs the store contract's suite on SQLite files.
func TestConformance(t *testing.T) {
	storetest.Run(t, &storetest.Harness{
		Open: func(tb testing.TB) tracking.Store { return openStore(tb) },
		Reopen: func(tb testing.TB, st tracking.Store) tracking.Store {
			path := st.(*sqlite.Store).Path()
			s, err := sqlite.Open(context.Background(), path, filepath.Join(filepath.Dir(path), "artifacts"))
			if err != nil {
				tb.Fatalf("reopen %s: %v", path, err)
			}
			tb.Cleanup(func() { s.Close() })
			return s
		},
		Exec: func(tb testing.TB, st tracking.Store, query string, args ...any) {
			tb.Helper()
			if _, err := st.(*sqlite.Store).DB().Exec(query, args...); err != nil {
				tb.Fatalf("exec %q: %v", query, err)
			}
		},
	})
}
