package postgres_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/postgres"
)

// Four stores opened at once on a new database take turns under the
// migration lock: all open, the schema is at the latest version, and each
// migration and the Default experiment are there once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	root := filepath.Join(t.TempDir(), "artifacts")
	const n = 4
	stores := make([]*postgres.Store, n)
	errors := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errors[i] = postgres.Open(ctx, dsn, root)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errors {
		if err != nil {
			t.Errorf("open %d of %d: %v", i+1, n, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	s := stores[0]
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil || cur != latest {
		t.Fatalf("schema version %d of %d, %v", cur, latest, err)
	}
	var recorded, distinct, defaults int
	if err := s.DB().QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&recorded, &distinct); err != nil {
		t.Fatal(err)
	}
	if recorded != latest || distinct != latest {
		t.Errorf("%d migrations recorded (%d distinct), want %d, each once", recorded, distinct, latest)
	}
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM experiments WHERE experiment_id = 0`).Scan(&defaults); err != nil || defaults != 1 {
		t.Errorf("%d Default experiments, %v", defaults, err)
	}
}
