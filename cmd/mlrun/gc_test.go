package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/artifact"
)

// gc removes deleted runs with their artifacts, keeps active ones and
// those a model version points to (unless --force), and says what it
// freed; on SQLite and on PostgreSQL.
func TestGC(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			e := newEnv(t)
			if store == "postgres" {
				e, _ = newPGEnv(t)
			}
			dir := irisDir(t)
			e.ok(dir, "run", ".", "-P", "C=0.5,1,2", "-P", "plots=false")
			var trials []string
			var parent string
			for _, r := range e.runs() {
				if _, ok := r.Param("C"); ok && r.Info.Name != "" && len(r.Params) > 3 {
					trials = append(trials, r.Info.ID)
				} else {
					parent = r.Info.ID
				}
			}
			if len(trials) != 3 || parent == "" {
				t.Fatalf("trials %v, parent %q", trials, parent)
			}
			e.ok(dir, "models", "register", trials[0], "--name", "kept")
			e.ok(dir, "runs", "delete", trials[0], trials[1])
			dirOf := func(id string) string {
				for _, r := range e.runs() {
					if r.Info.ID == id {
						d, err := artifact.LocalDir(r.Info.ArtifactURI)
						if err != nil {
							t.Fatal(err)
						}
						return d
					}
				}
				t.Fatalf("no run %s", id)
				return ""
			}
			gone := dirOf(trials[1])
			if _, err := os.Stat(filepath.Join(gone, "model", "MLmodel")); err != nil {
				t.Fatalf("trial has no model: %v", err)
			}

			// Nothing was deleted over a day ago; a dry run removes nothing.
			if out := e.ok(dir, "gc", "--older-than", "1d").stdout; !strings.Contains(out, "removed 0 run(s)") {
				t.Fatalf("gc --older-than 1d:\n%s", out)
			}
			out := e.ok(dir, "gc", "--dry-run").stdout
			if !strings.Contains(out, "would remove "+trials[1]) || !strings.Contains(out, "kept    "+trials[0]) || !strings.Contains(out, `model "kept" version 1`) {
				t.Fatalf("gc --dry-run:\n%s", out)
			}
			if len(e.runs()) != 4 {
				t.Fatal("a dry run removed runs")
			}

			out = e.ok(dir, "gc").stdout
			if !strings.Contains(out, "removed "+trials[1]) || !strings.Contains(out, "removed 1 run(s), ") || strings.Contains(out, "0 B of artifacts") {
				t.Fatalf("gc:\n%s", out)
			}
			if _, err := os.Stat(filepath.Dir(gone)); !os.IsNotExist(err) {
				t.Fatalf("the run's artifact directory is still there: %v", err)
			}
			if n := len(e.runs()); n != 3 {
				t.Fatalf("%d runs left, want 3", n)
			}
			// A run that is not deleted cannot be collected by name.
			if r := e.run(dir, "gc", "--run-ids", trials[2]); r.code != 2 || !strings.Contains(r.stderr, "not deleted") {
				t.Fatalf("gc of an active run: exit %d\n%s", r.code, r.stderr)
			}
			// --force removes the registered run too.
			if out := e.ok(dir, "gc", "--run-ids", trials[0][:8], "--force").stdout; !strings.Contains(out, "removed "+trials[0]) {
				t.Fatalf("gc --force:\n%s", out)
			}
			if n := len(e.runs()); n != 2 {
				t.Fatalf("%d runs left, want 2", n)
			}
		})
	}
}
