package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/depcheck"
	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/postgres"
	"github.com/mlrun/mlrun/tracking"
	"github.com/mlrun/mlrun/tracking/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// TestConformance runs the store contract's suite on PostgreSQL.
func TestConformance(t *testing.T) {
	dsns := map[tracking.Store]string{}
	storetest.Run(t, &storetest.Harness{
		Open: func(tb testing.TB) tracking.Store {
			dsn := pgtest.NewDatabase(tb)
			s, err := postgres.Open(context.Background(), dsn, filepath.Join(tb.TempDir(), "artifacts"))
			if err != nil {
				tb.Fatalf("Open: %v", err)
			}
			tb.Cleanup(func() { s.Close() })
			dsns[s] = dsn
			return s
		},
		Reopen: func(tb testing.TB, st tracking.Store) tracking.Store {
			s, err := postgres.Open(context.Background(), dsns[st], st.ArtifactRoot())
			if err != nil {
				tb.Fatalf("reopen: %v", err)
			}
			tb.Cleanup(func() { s.Close() })
			return s
		},
		Exec: func(tb testing.TB, st tracking.Store, query string, args ...any) {
			tb.Helper()
			n := 0
			var b strings.Builder
			for _, c := range query {
				if c == '?' {
					n++
					b.WriteString("$" + strconv.Itoa(n))
					continue
				}
				b.WriteRune(c)
			}
			if _, err := st.(*postgres.Store).DB().Exec(b.String(), args...); err != nil {
				tb.Fatalf("exec %q: %v", query, err)
			}
		},
	})
}

// The store adapter links neither the ML stack nor the pipeline.
func TestDependencies(t *testing.T) {
	depcheck.Forbid(t, "ml/...", "plot/...", "steps/...", "project/...", "pipeline/...", "schedule/...", "registry/...", "serving/...")
}
