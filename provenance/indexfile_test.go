package provenance

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// TestReadIndex checks that readIndex decodes index files exactly as
// go-git's decoder does, in every index version, with a valid, partly
// invalidated or absent cache tree, intent-to-add and skip-worktree
// entries, a conflict, and a name too long for the entry's length field.
func TestReadIndex(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "a.txt", "a\n")
	write(t, dir, "sub/b.txt", "b\n")
	write(t, dir, "sub/deep/c.txt", "c\n")
	write(t, dir, "other/d.txt", "d\n")
	commitAll(t, dir, "first")

	steps := []struct {
		name string
		do   func()
		tree bool // whether the index must carry a cache tree
	}{
		{"after commit", func() {}, true},
		{"a name longer than the length field holds", func() { // kept by the later steps
			blob := strings.TrimSpace(run(t, dir, "hash-object", "-w", "a.txt"))
			long := strings.Repeat("n", 200) + strings.Repeat("/long", 900) + ".txt"
			run(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+long)
		}, true},
		{"staged change invalidates a subtree", func() {
			write(t, dir, "sub/deep/c.txt", "c2\n")
			run(t, dir, "add", "sub/deep/c.txt")
		}, true},
		{"intent to add", func() {
			write(t, dir, "new.txt", "new\n")
			run(t, dir, "add", "-N", "new.txt")
		}, false},
		{"skip worktree", func() {
			run(t, dir, "update-index", "--skip-worktree", "other/d.txt")
		}, false},
		{"version 3", func() { run(t, dir, "update-index", "--index-version", "3") }, false},
		{"version 4", func() { run(t, dir, "update-index", "--index-version", "4") }, false},
		{"version 2 without a cache tree", func() {
			run(t, dir, "update-index", "--index-version", "2", "--no-skip-worktree", "other/d.txt")
			run(t, dir, "rm", "-q", "--cached", "new.txt")
		}, false},
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	fs := repo.Storer.(*filesystem.Storage).Filesystem()
	for i, st := range steps {
		st.do()
		want, err := repo.Storer.Index()
		if err != nil {
			t.Fatalf("%s: go-git: %v", st.name, err)
		}
		longest := 0
		for _, e := range want.Entries {
			longest = max(longest, len(e.Name))
		}
		if i > 0 && longest < 0xfff {
			t.Fatalf("%s: no name longer than 0xfff bytes", st.name)
		}
		got, _, ok := readIndex(fs)
		if !ok {
			t.Fatalf("%s: readIndex declined the index", st.name)
		}
		if st.tree && (got.Cache == nil || len(got.Cache.Entries) == 0) {
			t.Fatalf("%s: no cache tree", st.name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: readIndex differs from go-git:\n got %+v\nwant %+v", st.name, got, want)
		}
	}

	// A damaged index is left to go-git (which reports it).
	p := filepath.Join(dir, ".git", "index")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := readIndex(fs); ok {
		t.Fatal("readIndex accepted an index with a bad checksum")
	}
}

// TestReadIndexResolveUndo checks an index with a resolve-undo extension
// (left by resolving a merge conflict), which readIndex decodes rather than
// leaving to go-git. go-git pairs the recorded hashes with stages in map
// order, so only the paths and stages are compared.
func TestReadIndexResolveUndo(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "f.txt", "base\n")
	write(t, dir, "g/h.txt", "h\n")
	commitAll(t, dir, "base")
	run(t, dir, "checkout", "-q", "-b", "side")
	write(t, dir, "f.txt", "side\n")
	commitAll(t, dir, "side")
	run(t, dir, "checkout", "-q", "main")
	write(t, dir, "f.txt", "main\n")
	commitAll(t, dir, "main")
	cmd := exec.Command("git", "merge", "-q", "side")
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Fatal("the merge did not conflict")
	}
	write(t, dir, "f.txt", "resolved\n")
	run(t, dir, "add", "f.txt")

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := repo.Storer.Index()
	if err != nil {
		t.Fatal(err)
	}
	got, _, ok := readIndex(repo.Storer.(*filesystem.Storage).Filesystem())
	if !ok {
		t.Fatal("readIndex declined an index with a resolve-undo extension")
	}
	if got.ResolveUndo == nil || want.ResolveUndo == nil || len(got.ResolveUndo.Entries) != 1 {
		t.Fatalf("resolve-undo: got %+v, want one entry like %+v", got.ResolveUndo, want.ResolveUndo)
	}
	g, w := got.ResolveUndo.Entries[0], want.ResolveUndo.Entries[0]
	if g.Path != "f.txt" || g.Path != w.Path || len(g.Stages) != 3 || len(w.Stages) != 3 {
		t.Fatalf("resolve-undo entry %+v, want %+v", g, w)
	}
	// git lists the recorded stages as "mode hash stage\tpath".
	lines := strings.Split(strings.TrimSpace(run(t, dir, "ls-files", "--resolve-undo")), "\n")
	if len(lines) != 3 {
		t.Fatalf("git ls-files --resolve-undo:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		stage, _ := strconv.Atoi(f[2])
		if h := g.Stages[index.Stage(stage)]; len(f) != 4 || h.String() != f[1] {
			t.Fatalf("resolve-undo stage %d is %s; git says %q", stage, h, l)
		}
		if _, ok := w.Stages[index.Stage(stage)]; !ok {
			t.Fatalf("go-git has no stage %d: %v", stage, w.Stages)
		}
	}
	got.ResolveUndo, want.ResolveUndo = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("readIndex differs from go-git:\n got %+v\nwant %+v", got, want)
	}
}
