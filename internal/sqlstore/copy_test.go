package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/internal/sqlstore"
	"github.com/mlrun/mlrun/postgres"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// store is what the test needs of either store.
type store interface {
	tracking.Store
	sqlstore.DB
}

func openSQLite(t *testing.T) store {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T) store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// filled returns a SQLite store with a few runs, params, metrics and tags.
func filled(t *testing.T) store {
	t.Helper()
	ctx := context.Background()
	s := openSQLite(t)
	for i := 0; i < 3; i++ {
		info, err := s.CreateRun(ctx, tracking.NewRun{
			ExperimentID: "0",
			Params:       []tracking.Param{{Key: "C", Value: strings.Repeat("1", i+1)}},
			Tags:         []tracking.Tag{{Key: "team", Value: "a"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ms := []tracking.Metric{{Key: "loss", Value: 0.5, Step: 0, Timestamp: 1}, {Key: "loss", Value: 0.25, Step: 1, Timestamp: 2}}
		if err := s.LogBatch(ctx, info.ID, ms, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// A copy that went through verifies; one value changed, or one row
// removed, in the destination afterwards is reported naming the table.
func TestVerifyNamesTheTableThatDiffers(t *testing.T) {
	for _, d := range []struct {
		name string
		open func(t *testing.T) store
		mark string
	}{{"sqlite", openSQLite, "?"}, {"postgresql", openPostgres, "$1"}} {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			src := filled(t)
			for _, c := range []struct{ table, change string }{
				{"params", `UPDATE params SET value = 'changed' WHERE key = ` + d.mark},
				{"tags", `DELETE FROM tags WHERE key = ` + d.mark},
				{"metrics", `UPDATE metrics SET value = 0.75 WHERE value = 0.25 AND key = ` + d.mark},
			} {
				dst := d.open(t)
				sums, err := sqlstore.Copy(ctx, src, dst)
				if err != nil {
					t.Fatalf("copy: %v", err)
				}
				if len(sums) != len(sqlstore.Tables) {
					t.Fatalf("%d summaries, want %d", len(sums), len(sqlstore.Tables))
				}
				if _, err := sqlstore.Verify(ctx, src, dst); err != nil {
					t.Fatalf("verify right after the copy: %v", err)
				}
				arg := map[string]string{"params": "C", "tags": "team", "metrics": "loss"}[c.table]
				res, err := dst.DB().ExecContext(ctx, c.change, arg)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					t.Fatalf("%s changed no row", c.change)
				}
				_, err = sqlstore.Verify(ctx, src, dst)
				if err == nil || !strings.Contains(err.Error(), "table "+c.table+" differs") {
					t.Errorf("after %s: Verify = %v, want an error naming table %s", c.change, err, c.table)
				}
			}
		})
	}
}
