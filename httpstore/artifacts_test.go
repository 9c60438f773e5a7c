package httpstore_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// The mlflow-artifacts:/ repository writes, lists, reads and deletes a
// run's artifacts through the server's artifact proxy; the files land in
// the server's artifact directory.
func TestArtifactsThroughProxy(t *testing.T) {
	ctx := context.Background()
	b := startServer(t)
	st := open(t, b.url)
	run, err := st.CreateRun(ctx, tracking.NewRun{})
	if err != nil {
		t.Fatal(err)
	}
	schemes := artifact.NewSchemes()
	st.RegisterArtifacts(schemes)
	repo, err := schemes.Open("mlflow-artifacts:/0/" + run.ID + "/artifacts")
	if err != nil {
		t.Fatal(err)
	}

	src := t.TempDir()
	files := map[string]string{"model/MLmodel": "flavors: {}\n", "model/data/w.bin": "\x00\x01weights", "notes.txt": "hello"}
	for p, c := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := repo.Put(ctx, filepath.Join(src, "model"), "model"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Put(ctx, filepath.Join(src, "notes.txt"), "notes.txt"); err != nil {
		t.Fatal(err)
	}
	// On the server's disk.
	serverDir, err := artifact.LocalDir(b.db.ArtifactRoot())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(serverDir, "0", run.ID, "artifacts", "model", "data", "w.bin")); err != nil || string(got) != files["model/data/w.bin"] {
		t.Fatalf("server's copy: %q, %v", got, err)
	}

	list, err := repo.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []artifact.File{
		{Path: "model", IsDir: true},
		{Path: "model/MLmodel", Size: int64(len(files["model/MLmodel"]))},
		{Path: "model/data", IsDir: true},
		{Path: "model/data/w.bin", Size: int64(len(files["model/data/w.bin"]))},
		{Path: "notes.txt", Size: 5},
	}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("List = %+v\nwant %+v", list, want)
	}
	if n, err := repo.Size(ctx, "model"); err != nil || n != int64(len(files["model/MLmodel"])+len(files["model/data/w.bin"])) {
		t.Fatalf("Size(model) = %d, %v", n, err)
	}
	rc, err := repo.Open(ctx, "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "hello" {
		t.Fatalf("Open(notes.txt) = %q", got)
	}

	dst := filepath.Join(t.TempDir(), "copy")
	if err := repo.Get(ctx, "model", dst); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dst, "data", "w.bin")); err != nil || string(got) != files["model/data/w.bin"] {
		t.Fatalf("Get(model): %q, %v", got, err)
	}
	one := filepath.Join(t.TempDir(), "n.txt")
	if err := repo.Get(ctx, "notes.txt", one); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(one); string(got) != "hello" {
		t.Fatalf("Get(notes.txt) = %q", got)
	}

	// Missing files, escapes, deletes.
	if _, err := repo.Open(ctx, "absent.txt"); errs.Code(err) != errs.NotFound {
		t.Fatalf("Open(absent) = %v, want %s", err, errs.NotFound)
	}
	for _, bad := range []string{"../x", "model/../../x"} {
		if err := repo.Put(ctx, filepath.Join(src, "notes.txt"), bad); errs.Code(err) != errs.Invalid {
			t.Fatalf("Put(%s) = %v, want %s", bad, err, errs.Invalid)
		}
	}
	if err := repo.Delete(ctx, "model"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Delete(ctx, "model"); err != nil {
		t.Fatalf("deleting an absent path: %v", err)
	}
	if list, err := repo.List(ctx, ""); err != nil || len(list) != 1 || list[0].Path != "notes.txt" {
		t.Fatalf("after delete: %+v, %v", list, err)
	}
	if _, err := os.Stat(filepath.Join(serverDir, "0", run.ID, "artifacts", "model")); !os.IsNotExist(err) {
		t.Fatalf("the server still has model/: %v", err)
	}
}

// Runs, experiments and model versions seen through a server that serves
// artifacts carry mlflow-artifacts:/ locations, which artifact.SchemesFor
// the store opens through the proxy; the server's store keeps file://
// URIs (also for a version source given as mlflow-artifacts:/).
func TestArtifactLocationsThroughProxy(t *testing.T) {
	ctx := context.Background()
	b := startServer(t)
	st := open(t, b.url)
	if st.ArtifactRoot() != "mlflow-artifacts:/" {
		t.Fatalf("ArtifactRoot = %q", st.ArtifactRoot())
	}
	run, err := st.CreateRun(ctx, tracking.NewRun{})
	if err != nil {
		t.Fatal(err)
	}
	want := "mlflow-artifacts:/0/" + run.ID + "/artifacts"
	if run.ArtifactURI != want {
		t.Fatalf("CreateRun: artifact URI %q, want %q", run.ArtifactURI, want)
	}
	got, err := st.GetRun(ctx, run.ID)
	if err != nil || got.Info.ArtifactURI != want {
		t.Fatalf("GetRun: %+v, %v", got, err)
	}
	runs, _, err := st.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{"0"}})
	if err != nil || len(runs) != 1 || runs[0].Info.ArtifactURI != want {
		t.Fatalf("SearchRuns: %v", err)
	}
	exp, err := st.GetExperiment(ctx, "0")
	if err != nil || exp.ArtifactLocation != "mlflow-artifacts:/0" {
		t.Fatalf("GetExperiment: %+v, %v", exp, err)
	}
	direct, err := b.db.GetRun(ctx, run.ID)
	if err != nil || !strings.HasPrefix(direct.Info.ArtifactURI, "file:///") {
		t.Fatalf("the server's store keeps %+v, %v", direct, err)
	}

	repo, err := artifact.SchemesFor(st).Open(want)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "MLmodel")
	os.WriteFile(model, []byte("flavors: {}\n"), 0o644)
	if err := repo.Put(ctx, model, "model/MLmodel"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRegisteredModel(ctx, "m", "", nil); err != nil {
		t.Fatal(err)
	}
	mv, err := st.CreateModelVersion(ctx, "m", want+"/model", run.ID, "", nil)
	if err != nil || mv.Source != want+"/model" {
		t.Fatalf("CreateModelVersion: %+v, %v", mv, err)
	}
	stored, err := b.db.GetModelVersion(ctx, "m", 1)
	if err != nil || stored.Source != direct.Info.ArtifactURI+"/model" {
		t.Fatalf("the server's store keeps source %+v, %v; want %s/model", stored, err, direct.Info.ArtifactURI)
	}
}

// Without the proxy (--no-serve-artifacts) the client sees the server's
// file:// locations unchanged.
func TestArtifactLocationsWithoutProxy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := server.New(db, server.Options{ServeArtifacts: false})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	st := open(t, hs.URL)
	if st.ArtifactRoot() != db.ArtifactRoot() {
		t.Fatalf("ArtifactRoot = %q, want %q", st.ArtifactRoot(), db.ArtifactRoot())
	}
	run, err := st.CreateRun(ctx, tracking.NewRun{})
	if err != nil || !strings.HasPrefix(run.ArtifactURI, db.ArtifactRoot()+"/0/") {
		t.Fatalf("CreateRun: %+v, %v", run, err)
	}
}
