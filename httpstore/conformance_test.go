package httpstore_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlrun/mlrun/httpstore"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
	"github.com/mlrun/mlrun/tracking/storetest"
)

// backend is an mlrun server on 127.0.0.1 serving a SQLite store.
type backend struct {
	db  *sqlite.Store
	url string
}

// startServer starts a server over a new SQLite store in a temp dir.
func startServer(tb testing.TB) *backend {
	tb.Helper()
	dir := tb.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(db, server.Options{ServeArtifacts: true})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler()) // listens on 127.0.0.1
	tb.Cleanup(func() {
		hs.Close()
		db.Close()
	})
	return &backend{db: db, url: hs.URL}
}

// open opens an HTTP store on url, closed when the test ends.
func open(tb testing.TB, url string) *httpstore.Store {
	tb.Helper()
	st, err := httpstore.Open(context.Background(), url, httpstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// TestConformance runs the store contract's suite through a real server.
func TestConformance(t *testing.T) {
	var mu sync.Mutex
	backends := map[tracking.Store]*backend{}
	storetest.Run(t, &storetest.Harness{
		Open: func(tb testing.TB) tracking.Store {
			b := startServer(tb)
			st := open(tb, b.url)
			mu.Lock()
			backends[st] = b
			mu.Unlock()
			return st
		},
		Reopen: func(tb testing.TB, st tracking.Store) tracking.Store {
			mu.Lock()
			b := backends[st]
			mu.Unlock()
			other := open(tb, b.url)
			mu.Lock()
			backends[other] = b
			mu.Unlock()
			return other
		},
		Exec: func(tb testing.TB, st tracking.Store, query string, args ...any) {
			tb.Helper()
			mu.Lock()
			b := backends[st]
			mu.Unlock()
			if _, err := b.db.DB().Exec(query, args...); err != nil {
				tb.Fatalf("exec %q: %v", query, err)
			}
		},
	})
}
