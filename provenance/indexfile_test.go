package provenance

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
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
		got, ok := readIndex(fs)
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
	if _, ok := readIndex(fs); ok {
		t.Fatal("readIndex accepted an index with a bad checksum")
	}
}
