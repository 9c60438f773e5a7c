package artifact_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
)

func TestLocalRepository(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	repo, err := artifact.NewSchemes().Open(artifact.FileURI(root))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "model")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "MLmodel"), []byte("flavor"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "w.bin"), []byte("12345"), 0o644)
	if err := repo.Put(ctx, src, "model"); err != nil {
		t.Fatal(err)
	}
	files, err := repo.List(ctx, "")
	if err != nil || len(files) != 4 || files[0].Path != "model" || files[1].Path != "model/MLmodel" {
		t.Fatalf("List = %+v, %v", files, err)
	}
	if sub, _ := repo.List(ctx, "model/sub"); len(sub) != 1 || sub[0].Path != "model/sub/w.bin" || sub[0].Size != 5 {
		t.Fatalf("List(model/sub) = %+v", sub)
	}
	if n, err := repo.Size(ctx, ""); err != nil || n != 11 {
		t.Fatalf("Size = %d, %v; want 11", n, err)
	}
	rc, err := repo.Open(ctx, "model/MLmodel")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "flavor" {
		t.Fatalf("Open read %q", b)
	}
	if err := repo.Get(ctx, "model/sub", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "w.bin")); string(b) != "12345" {
		t.Fatalf("Get copied %q", b)
	}
	if _, err := repo.Open(ctx, "nothing"); errs.Code(err) != errs.NotFound {
		t.Fatalf("Open(missing) = %v", err)
	}
	// Nothing leaves the root: not by .., not by an absolute path, not
	// through a symbolic link.
	os.Symlink(dir, filepath.Join(root, "escape"))
	for _, rel := range []string{"../model", "/etc/passwd", "escape/model/MLmodel"} {
		if _, err := repo.Open(ctx, rel); errs.Code(err) != errs.Invalid {
			t.Errorf("Open(%q) = %v; want errs.Invalid", rel, err)
		}
		if err := repo.Delete(ctx, rel); errs.Code(err) != errs.Invalid {
			t.Errorf("Delete(%q) = %v; want errs.Invalid", rel, err)
		}
	}
	if err := repo.Delete(ctx, "model"); err != nil {
		t.Fatal(err)
	}
	if files, _ := repo.List(ctx, "model"); len(files) != 0 {
		t.Fatalf("after Delete: %+v", files)
	}
	if _, err := os.Stat(filepath.Join(src, "MLmodel")); err != nil {
		t.Fatal("Delete removed the source too")
	}
}

func TestURIs(t *testing.T) {
	if got, _ := artifact.JoinURI("/a/b", "0", "run"); got != "file:///a/b/0/run" {
		t.Errorf("JoinURI(plain dir) = %s", got)
	}
	if got, _ := artifact.JoinURI("s3://bucket/x/", "1"); got != "s3://bucket/x/1" {
		t.Errorf("JoinURI(s3) = %s", got)
	}
	if _, err := artifact.JoinURI("file:///a", ".."); errs.Code(err) != errs.Invalid {
		t.Errorf("JoinURI(..) = %v", err)
	}
	if _, err := artifact.NewSchemes().Open("s3://bucket"); errs.Code(err) != errs.Invalid {
		t.Errorf("Open(s3) = %v; want errs.Invalid until s3 is registered", err)
	}
	if got, _ := artifact.RootURI("file:///x/y/"); got != "file:///x/y" {
		t.Errorf("RootURI = %s", got)
	}
	if _, err := artifact.RootURI("file://rel"); errs.Code(err) != errs.Invalid {
		t.Errorf("RootURI(file://rel) = %v", err)
	}
}
