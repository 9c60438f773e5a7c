package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/provenance"
)

// The runs sharing a capture and their files (a sweep's trials) store its
// code.diff and build info as one file with several links; an artifact a
// run then replaces, by copy or by write, changes for that run only; other
// bytes make a file of their own.
func TestRunsShareProvenanceFilesAndReplaceTheirOwn(t *testing.T) {
	ctx := context.Background()
	c := &provenanceCapture{git: &provenance.Git{Dirty: true, Diff: []byte("the diff")}, build: []byte("the build")}
	shared := &artifact.SharedFiles{}
	var dirs []string
	var logs []*runLogger
	for range 3 {
		staging, err := artifact.Stage(artifact.Local{Root: filepath.Join(t.TempDir(), "artifacts")})
		if err != nil {
			t.Fatal(err)
		}
		log := newRunLogger(nil, "run", staging, nil).sharing(shared)
		if err := c.saveArtifacts(ctx, log); err != nil {
			t.Fatal(err)
		}
		dirs, logs = append(dirs, staging.Dir), append(logs, log)
	}
	build := filepath.Join("lockfiles", provenance.BuildLockfile)
	for _, name := range []string{"code.diff", build} {
		first, err := os.Stat(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs[1:] {
			other, err := os.Stat(filepath.Join(d, name))
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(first, other) {
				t.Errorf("%s of %s is a file of its own, not a link to the first run's", name, d)
			}
		}
	}

	src := filepath.Join(t.TempDir(), "mine.diff")
	os.WriteFile(src, []byte("run 1's own diff"), 0o644)
	if err := logs[1].LogArtifact(ctx, src, "code.diff"); err != nil {
		t.Fatal(err)
	}
	if err := logs[2].WriteArtifact(ctx, build, []byte("run 2's own build")); err != nil {
		t.Fatal(err)
	}
	// The same bytes under another name: a link too.
	if err := logs[0].WriteArtifact(ctx, "again.diff", []byte("the diff")); err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(mustStat(t, filepath.Join(dirs[0], "again.diff")), mustStat(t, filepath.Join(dirs[0], "code.diff"))) {
		t.Error("again.diff, the same bytes as code.diff, is a file of its own")
	}
	want := map[string]string{
		filepath.Join(dirs[0], "code.diff"): "the diff", filepath.Join(dirs[1], "code.diff"): "run 1's own diff", filepath.Join(dirs[2], "code.diff"): "the diff",
		filepath.Join(dirs[0], "again.diff"): "the diff",
		filepath.Join(dirs[0], build):        "the build", filepath.Join(dirs[1], build): "the build", filepath.Join(dirs[2], build): "run 2's own build",
	}
	for path, w := range want {
		if got, err := os.ReadFile(path); err != nil || string(got) != w {
			t.Errorf("%s: %q, %v; want %q", path, got, err, w)
		}
	}
}

func mustStat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
