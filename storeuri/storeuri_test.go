package storeuri_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/storeuri"
	"github.com/mlrun/mlrun/tracking"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	r := storeuri.New()
	abs := func(p string) string { return filepath.Join(dir, p) }
	tests := []struct {
		uri, dest             string
		path, artifacts, base string
	}{
		{"", "", abs("mlruns/mlrun.db"), "file://" + abs("mlruns/artifacts"), abs("mlruns")},
		{"team", "", abs("team/mlrun.db"), "file://" + abs("team/artifacts"), abs("team")},
		{"x.db", "", abs("x.db"), "file://" + abs("artifacts"), dir},
		{"sqlite:///rel/a.db", "", abs("rel/a.db"), "file://" + abs("rel/artifacts"), abs("rel")},
		{"sqlite:////abs/a.db", "", "/abs/a.db", "file:///abs/artifacts", "/abs"},
		{"sqlite:////abs/a.db", "shared", "/abs/a.db", "file://" + abs("shared"), "/abs"},
		{"sqlite:////abs/a.db", "file:///srv/art/", "/abs/a.db", "file:///srv/art", "/abs"},
	}
	for _, tt := range tests {
		loc, err := r.Parse(tt.uri, tt.dest)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tt.uri, tt.dest, err)
		}
		if loc.Scheme != "sqlite" || loc.Path != tt.path || loc.ArtifactRoot != tt.artifacts || loc.Dir != tt.base || loc.URI != "sqlite:///"+tt.path {
			t.Errorf("Parse(%q, %q) = %+v; want path %s, artifacts %s, dir %s", tt.uri, tt.dest, loc, tt.path, tt.artifacts, tt.base)
		}
	}
	for _, bad := range []string{"s3://bucket/x", "sqlite://", "ftp://host/db"} {
		_, err := r.Parse(bad, "")
		if errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), bad) {
			t.Errorf("Parse(%q) = %v; want errs.Invalid naming it", bad, err)
		}
	}
	if _, err := r.Parse("mlruns", "s3://bucket"); err != nil {
		t.Fatalf("an s3:// artifact root is accepted for the record: %v", err)
	}
}

// A registered scheme (as the HTTP store will be) is opened by its opener
// with the parsed location.
func TestRegister(t *testing.T) {
	r := storeuri.New()
	var got *storeuri.Location
	r.Register("http", func(ctx context.Context, loc *storeuri.Location) (tracking.Store, error) {
		got = loc
		return nil, errs.Errorf(errs.Invalid, "no server")
	})
	loc, err := r.Parse("http://user:secret@127.0.0.1:5000", "/srv/artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(context.Background(), loc); errs.Message(err) != "no server" || got != loc {
		t.Fatalf("Open = %v, opener saw %+v", err, got)
	}
	if s := loc.String(); strings.Contains(s, "secret") || !strings.Contains(s, "127.0.0.1:5000") {
		t.Fatalf("String() = %q; want the password hidden", s)
	}
	if loc.Dir != "/srv/artifacts" {
		t.Fatalf("Dir = %q", loc.Dir)
	}
}

// Opening a directory creates a SQLite store there whose runs' artifacts
// are file:// URIs under the artifact root.
func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	r := storeuri.New()
	loc, err := r.Parse(filepath.Join(dir, "store"), filepath.Join(dir, "art"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	info, err := st.CreateRun(context.Background(), tracking.NewRun{})
	if err != nil {
		t.Fatal(err)
	}
	want := "file://" + filepath.Join(dir, "art", "0", info.ID, "artifacts")
	if info.ArtifactURI != want {
		t.Fatalf("artifact URI %s, want %s", info.ArtifactURI, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "mlrun.db")); err != nil {
		t.Fatal(err)
	}
}

// TestOpenHTTP opens an http:// tracking URI: the store of an mlrun server
// on 127.0.0.1, seen through package httpstore.
func TestOpenHTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := server.New(db, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	if _, err := db.CreateExperiment(ctx, "served", nil); err != nil {
		t.Fatal(err)
	}

	r := storeuri.New()
	loc, err := r.Parse(hs.URL, "")
	if err != nil || loc.Scheme != "http" || loc.URI != hs.URL {
		t.Fatalf("Parse(%s) = %+v, %v", hs.URL, loc, err)
	}
	st, err := r.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exp, err := st.GetExperimentByName(ctx, "served")
	if err != nil || exp.Name != "served" {
		t.Fatalf("GetExperimentByName through http = %+v, %v", exp, err)
	}
	if st.ArtifactRoot() != db.ArtifactRoot() {
		t.Fatalf("artifact root %q, want the server's %q", st.ArtifactRoot(), db.ArtifactRoot())
	}
	_, err = st.GetExperimentByName(ctx, "absent")
	if errs.Code(err) != errs.NotFound {
		t.Fatalf("missing experiment through http: %v, want %s", err, errs.NotFound)
	}

	// A server that does not answer is one clear error, not a hang.
	hs.Close()
	if _, err := r.Open(ctx, loc); err == nil || !strings.Contains(err.Error(), hs.URL) {
		t.Fatalf("open of a stopped server: %v", err)
	}
}
