package artifact_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
)

// remote is a Repository that is not a local directory (as an mlrun
// server's is): it keeps its files in memory and counts uploads.
type remote struct {
	files map[string]string
	puts  []string
}

func (r *remote) Put(ctx context.Context, src, rel string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	r.files[rel] = string(data)
	r.puts = append(r.puts, rel)
	return nil
}

func (r *remote) Get(ctx context.Context, rel, dst string) error {
	found := false
	for p, c := range r.files {
		if p == rel || strings.HasPrefix(p, rel+"/") {
			found = true
			out := filepath.Join(dst, strings.TrimPrefix(strings.TrimPrefix(p, rel), "/"))
			os.MkdirAll(filepath.Dir(out), 0o755)
			if err := os.WriteFile(out, []byte(c), 0o644); err != nil {
				return err
			}
		}
	}
	if !found {
		return errs.Errorf(errs.NotFound, "artifact %q does not exist", rel)
	}
	return nil
}

func (r *remote) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	c, ok := r.files[rel]
	if !ok {
		return nil, errs.Errorf(errs.NotFound, "artifact %q does not exist", rel)
	}
	return io.NopCloser(strings.NewReader(c)), nil
}

func (r *remote) List(ctx context.Context, rel string) ([]artifact.File, error) { return nil, nil }
func (r *remote) Delete(ctx context.Context, rel string) error                  { return nil }
func (r *remote) Size(ctx context.Context, rel string) (int64, error)           { return 0, nil }

// A local repository is its own staging directory: nothing is copied.
func TestStageLocal(t *testing.T) {
	root := filepath.Join(t.TempDir(), "run", "artifacts")
	s, err := artifact.Stage(artifact.Local{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if s.Dir != root || s.Remote() {
		t.Fatalf("Stage(Local) = %q, remote %v", s.Dir, s.Remote())
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("the root was not created: %v", err)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("Close removed the repository's own directory: %v", err)
	}
}

// A remote repository is staged in a temporary directory; Sync uploads
// what is new or changed, and Close removes the directory.
func TestStageRemoteUploadsChangedFiles(t *testing.T) {
	ctx := context.Background()
	r := &remote{files: map[string]string{}}
	s, err := artifact.Stage(r)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Remote() {
		t.Fatal("a remote repository is not staged")
	}
	write := func(rel, content string) {
		p := filepath.Join(s.Dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("model/MLmodel", "flavors")
	write("a.txt", "1")
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.puts, ",") != "a.txt,model/MLmodel" {
		t.Fatalf("first sync uploaded %v", r.puts)
	}
	r.puts = nil
	if err := s.Sync(ctx); err != nil || len(r.puts) != 0 {
		t.Fatalf("a sync with nothing new uploaded %v, %v", r.puts, err)
	}
	write("a.txt", "22") // changed (size)
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(s.Dir, "a.txt"), later, later)
	write("logs/step.txt", "out")
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.puts, ",") != "a.txt,logs/step.txt" || r.files["a.txt"] != "22" {
		t.Fatalf("second sync uploaded %v (a.txt = %q)", r.puts, r.files["a.txt"])
	}
	dir := s.Dir
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Close left the staging directory: %v", err)
	}
}

// LocalCopy hands out a local repository's own path, and downloads from
// another one into a temporary directory that release removes.
func TestLocalCopy(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "model"), 0o755)
	os.WriteFile(filepath.Join(root, "model", "MLmodel"), []byte("m"), 0o644)
	p, release, err := artifact.LocalCopy(ctx, artifact.Local{Root: root}, "model")
	if err != nil || p != filepath.Join(root, "model") {
		t.Fatalf("LocalCopy(local) = %q, %v", p, err)
	}
	release()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("release removed a local repository's files: %v", err)
	}
	if _, _, err := artifact.LocalCopy(ctx, artifact.Local{Root: root}, "../x"); errs.Code(err) != errs.Invalid {
		t.Fatalf("LocalCopy(../x) = %v, want %s", err, errs.Invalid)
	}

	r := &remote{files: map[string]string{"model/MLmodel": "m", "model/data/w": "w", "other": "o"}}
	p, release, err = artifact.LocalCopy(ctx, r, "model")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(p, "data", "w")); err != nil || string(got) != "w" {
		t.Fatalf("downloaded model: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(p, "other")); !os.IsNotExist(err) {
		t.Fatalf("LocalCopy downloaded more than asked: %v", err)
	}
	release()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("release left the download: %v", err)
	}
	if _, _, err := artifact.LocalCopy(ctx, r, "absent"); errs.Code(err) != errs.NotFound {
		t.Fatalf("LocalCopy(absent) = %v, want %s", err, errs.NotFound)
	}
}

func TestRebaseAndJoinPath(t *testing.T) {
	for _, tc := range []struct{ uri, root, newRoot, want string }{
		{"file:///srv/a/0/r/artifacts", "file:///srv/a", "mlflow-artifacts:", "mlflow-artifacts:/0/r/artifacts"},
		{"file:///srv/a", "file:///srv/a/", "mlflow-artifacts:", "mlflow-artifacts:/"},
		{"mlflow-artifacts:/0/r/artifacts/model", "mlflow-artifacts:", "file:///srv/a", "file:///srv/a/0/r/artifacts/model"},
		{"file:///srv/ab/0", "file:///srv/a", "mlflow-artifacts:", "file:///srv/ab/0"}, // not below: a prefix of a name only
		{"s3://b/0", "file:///srv/a", "mlflow-artifacts:", "s3://b/0"},
	} {
		got, ok := artifact.Rebase(tc.uri, tc.root, tc.newRoot)
		if got != tc.want || ok != (tc.uri != tc.want) {
			t.Errorf("Rebase(%q, %q, %q) = %q, %v; want %q", tc.uri, tc.root, tc.newRoot, got, ok, tc.want)
		}
	}
	if got, err := artifact.JoinPath("mlflow-artifacts:/0/r/artifacts", "models/best/"); err != nil || got != "mlflow-artifacts:/0/r/artifacts/models/best" {
		t.Errorf("JoinPath = %q, %v", got, err)
	}
	if _, err := artifact.JoinPath("file:///srv/a", "model/../../x"); errs.Code(err) != errs.Invalid {
		t.Errorf("JoinPath(..) = %v, want %s", err, errs.Invalid)
	}
}

// An unknown scheme names the known ones, and mlflow-artifacts:/ says how
// to reach it.
func TestSchemesForUnknownScheme(t *testing.T) {
	_, err := artifact.SchemesFor(nil).Open("mlflow-artifacts:/0/r/artifacts")
	if errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), "--tracking-uri http://") || !strings.Contains(errs.Message(err), "known: file") {
		t.Fatalf("Open(mlflow-artifacts:) without a server = %v", err)
	}
}
