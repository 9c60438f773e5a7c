package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
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

// The store adapter links the domain packages and its driver (pgx and
// what pgx links), never the ML stack, the pipeline or the project reader.
func TestDependencies(t *testing.T) {
	depcheck.Allow(t, "errs", "artifact", "tracking", "internal/sqlstore",
		"github.com/jackc/...", "golang.org/x/text/...", "golang.org/x/sync/...")
}

// Migrations are applied once; a database migrated by a newer mlrun is
// refused with a clear error.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	root := filepath.Join(t.TempDir(), "artifacts")
	s, err := postgres.Open(ctx, dsn, root)
	if err != nil {
		t.Fatal(err)
	}
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil || cur != latest || cur < 2 {
		t.Fatalf("schema version %d of %d, %v", cur, latest, err)
	}
	s.Close()
	again, err := postgres.Open(ctx, dsn, root)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := again.DB().QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != latest {
		t.Fatalf("%d migrations recorded after reopening, %v", n, err)
	}
	if _, err := again.DB().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	again.Close()
	_, err = postgres.Open(ctx, dsn, root)
	if errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), "schema version 9999") || !strings.Contains(errs.Message(err), "newer mlrun") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

// Opening a server that is not there fails within seconds with one line.
func TestUnreachable(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", t.TempDir())
	if err == nil || strings.Contains(errs.Message(err), "\n") || !strings.Contains(errs.Message(err), "cannot connect") {
		t.Fatalf("unreachable server: %v", err)
	}
}
