package provenance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// TestInspectGitShortcutsMatch checks that InspectGit with its shortcuts
// (the direct object and index readers, the combined walk) returns exactly
// what the plain go-git path returns, and that both agree with git itself
// (its diff against HEAD and whether "git status --porcelain" is empty), for
// working trees changed in each way the shortcuts could mishandle.
func TestInspectGitShortcutsMatch(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		notGit bool // git disagrees on purpose (nested repositories)
	}{
		{"clean", func(t *testing.T, dir string) {}, false},
		{"modified in a subtree", func(t *testing.T, dir string) {
			write(t, dir, "pkg/deep/x.go", "package deep // changed\n")
		}, false},
		{"staged in a subtree (its cache tree invalidated)", func(t *testing.T, dir string) {
			write(t, dir, "pkg/deep/x.go", "package deep // staged\n")
			run(t, dir, "add", "pkg/deep/x.go")
		}, false},
		{"staged, not committed, then changed again", func(t *testing.T, dir string) {
			write(t, dir, "pkg/a.go", "package pkg // staged\n")
			run(t, dir, "add", "pkg/a.go")
			write(t, dir, "pkg/a.go", "package pkg // worktree\n")
		}, false},
		{"index without a cache tree", func(t *testing.T, dir string) {
			write(t, dir, "top.txt", "top changed\n")
			dropCacheTree(t, dir)
		}, false},
		{"renamed with git mv", func(t *testing.T, dir string) {
			run(t, dir, "mv", "pkg/a.go", "pkg/renamed.go")
		}, false},
		{"renamed without git", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "pkg/a.go"), filepath.Join(dir, "pkg/b2.go")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"deleted, and deleted with git rm", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "top.txt"))
			run(t, dir, "rm", "-q", "pkg/deep/x.go")
		}, false},
		{"removed from the index only", func(t *testing.T, dir string) {
			run(t, dir, "rm", "-q", "--cached", "pkg/a.go")
		}, false},
		{"directory deleted", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "pkg/deep"))
		}, false},
		{"file replaced by a directory", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "top.txt"))
			write(t, dir, "top.txt/inner.txt", "inner\n")
		}, false},
		{"directory replaced by a file", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "pkg/deep"))
			write(t, dir, "pkg/deep", "now a file\n")
		}, false},
		{"untracked, ignored, and a tracked file in an ignored directory", func(t *testing.T, dir string) {
			write(t, dir, "new/dir/file.txt", "new\n")
			write(t, dir, "build/out.bin", "ignored\n")
			write(t, dir, "build/keep.txt", "tracked, changed\n")
			write(t, dir, "pkg/x.tmp", "ignored\n")
		}, false},
		{"symlink and executable bit", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "pkg/a.go"), 0o755)
			if err := os.Symlink("pkg/a.go", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"touched but unchanged", func(t *testing.T, dir string) {
			future := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(dir, "pkg/a.go"), future, future)
		}, false},
		{"nested repository", func(t *testing.T, dir string) {
			write(t, dir, "vendor/other/x.txt", "x\n")
			run(t, filepath.Join(dir, "vendor/other"), "init", "-q")
		}, true},
		{"intent to add", func(t *testing.T, dir string) {
			write(t, dir, "pkg/ita.go", "package pkg\n")
			run(t, dir, "add", "-N", "pkg/ita.go")
		}, false},
		{"identical directories, one with a staged change undone", func(t *testing.T, dir string) {
			// twin/ has other/'s tree hash, but its cache-tree entry is invalidated:
			// its HEAD entries come from other/'s index entries.
			write(t, dir, "twin/y.txt", "staged\n")
			run(t, dir, "add", "twin/y.txt")
			write(t, dir, "twin/y.txt", "y\n")
			run(t, dir, "add", "twin/y.txt")
			write(t, dir, "other/y.txt", "y, changed\n")
		}, false},
		{"neighbouring names: pkg-x/, pkg.d/, pkg.txt beside pkg/, directories of one length", func(t *testing.T, dir string) {
			// The fast walk finds a directory's index entries by binary
			// search: entries of "pkg-x/" and "pkg.txt" sort between "pkg"
			// and "pkg/...", and "cd/x.txt" must not be taken for "ab/x.txt".
			for _, f := range []string{"pkg-x/a.go", "pkg.d/b.txt", "pkg.txt", "pkg0", "ab/a.txt", "cd/x.txt"} {
				write(t, dir, f, f+"\n")
			}
			run(t, dir, "add", "-A")
			run(t, dir, "commit", "-q", "-m", "neighbours")
			write(t, dir, "ab/x.txt", "untracked\n")
			write(t, dir, "pkg-x/a.go", "changed\n")
			write(t, dir, "pkg.d/new.txt", "untracked\n")
			write(t, dir, "pkg/new.go", "untracked\n")
			write(t, dir, "pkg/deep/x.go", "package deep // changed\n")
		}, false},
		{"packed repository, changed", func(t *testing.T, dir string) {
			run(t, dir, "gc", "-q")
			write(t, dir, "pkg/deep/x.go", "package deep // after gc\n")
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t)
			write(t, dir, "top.txt", "top\n")
			write(t, dir, ".gitignore", "build/\n*.tmp\n")
			write(t, dir, "pkg/a.go", "package pkg\n")
			write(t, dir, "pkg/b.go", "package pkg // b\n")
			write(t, dir, "pkg/deep/x.go", "package deep\n")
			write(t, dir, "other/y.txt", "y\n")
			write(t, dir, "twin/y.txt", "y\n")
			write(t, dir, "build/keep.txt", "tracked\n")
			run(t, dir, "add", "-A")
			run(t, dir, "add", "-f", "build/keep.txt")
			run(t, dir, "commit", "-q", "-m", "first")
			time.Sleep(10 * time.Millisecond) // let the index's mtime pass the files'
			run(t, dir, "status", "-s")       // refresh the index's stat data
			tc.change(t, dir)

			ctx := context.Background()
			want, err := inspectGit(ctx, dir, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got *Git
			// One walker, then several (the top-level directories in parallel).
			for _, procs := range []int{1, 3} {
				prev := runtime.GOMAXPROCS(procs)
				got, err = inspectGit(ctx, dir, false, nil)
				runtime.GOMAXPROCS(prev)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("with %d walkers, the result differs from the plain path:\n got %+v\n%s\nwant %+v\n%s",
						procs, got, got.Diff, want, want.Diff)
				}
			}
			if tc.notGit {
				return
			}
			if porcelain := run(t, dir, "status", "--porcelain"); got.Dirty != (porcelain != "") {
				t.Fatalf("Dirty = %v, git status --porcelain:\n%s", got.Dirty, porcelain)
			}
			run(t, dir, "add", "-A", "-N")
			if gd := gitDiff(t, dir); string(got.Diff) != gd {
				t.Fatalf("diff differs from git's.\ngot:\n%s\nwant:\n%s", got.Diff, gd)
			}
		})
	}
}

// dropCacheTree rewrites the index without extensions (go-git writes none),
// so that it has no cache tree.
func dropCacheTree(t *testing.T, dir string) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		t.Fatal(err)
	}
	if idx.Cache == nil {
		t.Fatal("the index had no cache tree to drop")
	}
	idx.Cache = nil
	if err := repo.Storer.SetIndex(idx); err != nil {
		t.Fatal(err)
	}
	if idx, err = repo.Storer.Index(); err != nil || idx.Cache != nil {
		t.Fatalf("index still has a cache tree (%v)", err)
	}
	if run(t, dir, "ls-files") == "" {
		t.Fatal("index lost its entries")
	}
}

// TestCoveredTrees checks which HEAD subtrees loadHead takes from the index:
// those whose cache-tree entry is valid, not those on the path of a staged
// change, nor any when the index has no cache tree.
func TestCoveredTrees(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "a.txt", "a\n")
	write(t, dir, "pkg/deep/x.go", "package deep\n")
	write(t, dir, "pkg/y.go", "package pkg\n")
	write(t, dir, "other/sub/z.txt", "z\n")
	commitAll(t, dir, "first")
	write(t, dir, "pkg/deep/x.go", "package deep // staged\n")
	run(t, dir, "add", "pkg/deep/x.go")

	covered := func() []string {
		repo, err := git.PlainOpen(dir)
		if err != nil {
			t.Fatal(err)
		}
		idx, nodes, ok := readIndex(repo.Storer.(*filesystem.Storage).Filesystem())
		if !ok {
			t.Fatal("readIndex declined the index")
		}
		root := plumbing.NewHash(strings.TrimSpace(run(t, dir, "rev-parse", "HEAD^{tree}")))
		s := &scanner{idx: idx, cacheTree: nodes}
		var dirs []string
		for _, c := range s.coveredTrees(root) {
			dirs = append(dirs, c.dir)
			for _, e := range idx.Entries[c.start:c.end] {
				if !strings.HasPrefix(e.Name, c.dir+"/") {
					t.Errorf("%s covers %s", c.dir, e.Name)
				}
			}
		}
		sort.Strings(dirs)
		return dirs
	}
	if got, want := strings.Join(covered(), " "), "other other/sub"; got != want {
		t.Fatalf("covered directories %q, want %q", got, want)
	}
	dropCacheTree(t, dir)
	if got := covered(); len(got) != 0 {
		t.Fatalf("covered directories %q without a cache tree", got)
	}
}

// TestInspectGitRandomChanges applies seeded random sequences of changes
// (edits, new files, deletions, renames, staging, unstaging, mode changes,
// commits, repacks) to a repository and checks after each step that the
// shortcuts agree with the plain path and with git.
func TestInspectGitRandomChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 18))
	dir := newRepo(t)
	write(t, dir, ".gitignore", "*.log\nignored/\n")
	dirs := []string{"", "a", "a/b", "a/b/c", "d", "e/f"}
	var files []string
	for i := 0; i < 30; i++ {
		f := path.Join(dirs[i%len(dirs)], fmt.Sprintf("f%d.txt", i))
		files = append(files, f)
		write(t, dir, f, fmt.Sprintf("file %d\nline two\n", i))
	}
	commitAll(t, dir, "first")
	pick := func() string { return files[rng.IntN(len(files))] }
	for step := 0; step < 40; step++ {
		var did []string
		for n := 1 + rng.IntN(3); n > 0; n-- {
			f := pick()
			p := filepath.Join(dir, filepath.FromSlash(f))
			switch op := rng.IntN(11); op {
			case 0, 1:
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(fmt.Sprintf("edit %d of %s\n", step, f)), 0o644)
			case 2:
				os.Remove(p)
			case 3:
				g := path.Join(dirs[rng.IntN(len(dirs))], fmt.Sprintf("new%d.txt", step))
				files = append(files, g)
				write(t, dir, g, "new\n")
				f = g
			case 4:
				write(t, dir, path.Join(dirs[rng.IntN(len(dirs))], fmt.Sprintf("x%d.log", step)), "ignored\n")
			case 5:
				if _, err := os.Stat(p); err == nil {
					run(t, dir, "add", "--", f)
				}
			case 6:
				run(t, dir, "reset", "-q", "--", f)
			case 7:
				os.Chmod(p, os.FileMode(0o644|rng.IntN(2)*0o111))
			case 8:
				run(t, dir, "add", "-A")
				run(t, dir, "commit", "-q", "--allow-empty", "-m", fmt.Sprintf("step %d", step))
			case 9:
				run(t, dir, "gc", "-q")
			case 10:
				if _, err := os.Stat(p); err == nil {
					g := path.Join(dirs[rng.IntN(len(dirs))], fmt.Sprintf("moved%d.txt", step))
					if out, err := exec.Command("git", "-C", dir, "mv", "-k", f, g).CombinedOutput(); err != nil {
						t.Fatalf("git mv: %v\n%s", err, out)
					}
					files = append(files, g)
				}
			}
			did = append(did, f)
		}
		ctx := context.Background()
		want, err := inspectGit(ctx, dir, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, procs := range []int{1, 3} {
			prev := runtime.GOMAXPROCS(procs)
			got, err := inspectGit(ctx, dir, false, nil)
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d (%v), %d walkers: result differs from the plain path:\n got %+v\n%s\nwant %+v\n%s",
					step, did, procs, got, got.Diff, want, want.Diff)
			}
		}
		if porcelain := run(t, dir, "status", "--porcelain"); want.Dirty != (porcelain != "") {
			t.Fatalf("step %d (%v): Dirty = %v, git status --porcelain:\n%s", step, did, want.Dirty, porcelain)
		}
		// git's diff once untracked files are marked intent-to-add (which
		// changes the index: compare on a copy of it).
		idx := filepath.Join(t.TempDir(), "index")
		data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(idx, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("git", "add", "-A", "-N")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GIT_INDEX_FILE="+idx)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git add -N: %v\n%s", err, out)
		}
		cmd = exec.Command("git", "diff", "--full-index", "--no-renames", "--no-color", "--no-ext-diff", "HEAD")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GIT_INDEX_FILE="+idx)
		gd, err := cmd.Output()
		if err != nil {
			t.Fatalf("git diff: %v", err)
		}
		if string(want.Diff) != string(gd) {
			t.Fatalf("step %d (%v): diff differs from git's.\ngot:\n%s\nwant:\n%s", step, did, want.Diff, gd)
		}
	}
}
