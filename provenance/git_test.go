package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func inspect(t *testing.T, dir string) *Git {
	t.Helper()
	g, err := InspectGit(context.Background(), dir)
	if err != nil {
		t.Fatalf("InspectGit(%s): %v", dir, err)
	}
	return g
}

// gitDiff is git's own diff of the working tree against HEAD, in the
// format InspectGit writes. Untracked files must be added with "-N" first.
func gitDiff(t *testing.T, dir string) string {
	t.Helper()
	return run(t, dir, "diff", "--full-index", "--no-renames", "--no-color", "--no-ext-diff", "HEAD")
}

func TestInspectGitNotRepo(t *testing.T) {
	dir := t.TempDir()
	_, err := InspectGit(context.Background(), dir)
	if !errors.Is(err, ErrNotRepo) {
		t.Fatalf("InspectGit(non-repo) error = %v, want ErrNotRepo", err)
	}
	if _, err := InspectGit(context.Background(), filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrNotRepo) {
		t.Fatalf("InspectGit(missing dir) error = %v, want a stat error", err)
	}
}

func TestInspectGitNoCommits(t *testing.T) {
	dir := newRepo(t)
	g := inspect(t, dir)
	if g.Commit != "" || g.Branch != "main" || g.Dirty || g.Diff != nil || g.Root != dir {
		t.Fatalf("empty repo: got %+v", g)
	}
	write(t, dir, "a.txt", "hello\n")
	g = inspect(t, dir)
	want := "diff --git a/a.txt b/a.txt\n" +
		"new file mode 100644\n" +
		"index 0000000000000000000000000000000000000000..ce013625030ba8dba906f756967f9e9ca394464a\n" +
		"--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+hello\n"
	if g.Commit != "" || !g.Dirty || string(g.Diff) != want {
		t.Fatalf("repo with no commits and a file: commit %q dirty %v diff:\n%s\nwant:\n%s", g.Commit, g.Dirty, g.Diff, want)
	}
}

func TestInspectGitClean(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "train.py", "print('hi')\n")
	write(t, dir, "data/x.csv", "a,b\n1,2\n")
	write(t, dir, ".gitignore", "*.log\n")
	commitAll(t, dir, "first")
	write(t, dir, "run.log", "ignored\n")
	run(t, dir, "remote", "add", "upstream", "git@example.com:team/up.git")
	run(t, dir, "remote", "add", "origin", "https://user:secret-token@example.com/team/proj.git")

	g := inspect(t, dir)
	head := strings.TrimSpace(run(t, dir, "rev-parse", "HEAD"))
	if g.Root != dir || g.Commit != head || g.Branch != "main" || g.Dirty || g.Diff != nil || g.DiffSHA256 != "" {
		t.Fatalf("clean repo: got %+v, want root %s commit %s branch main, clean", g, dir, head)
	}
	if want := "https://example.com/team/proj.git"; g.RemoteURL != want {
		t.Fatalf("RemoteURL = %q, want %q (origin, credentials removed)", g.RemoteURL, want)
	}

	run(t, dir, "remote", "remove", "origin")
	if g := inspect(t, dir); g.RemoteURL != "git@example.com:team/up.git" {
		t.Fatalf("RemoteURL without origin = %q, want the first remote's", g.RemoteURL)
	}
}

func TestInspectGitSubdirAndDetached(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "proj/sub/MLproject", "name: x\n")
	commitAll(t, dir, "first")
	write(t, dir, "proj/sub/MLproject", "name: y\n")
	commitAll(t, dir, "second")
	first := strings.TrimSpace(run(t, dir, "rev-parse", "HEAD~1"))

	g := inspect(t, filepath.Join(dir, "proj", "sub"))
	if g.Root != dir || g.Branch != "main" || g.Dirty {
		t.Fatalf("from a subdirectory: got %+v, want root %s, branch main, clean", g, dir)
	}

	run(t, dir, "checkout", "-q", "--detach", first)
	g = inspect(t, filepath.Join(dir, "proj"))
	if g.Commit != first || g.Branch != "" || g.Dirty {
		t.Fatalf("detached HEAD: got %+v, want commit %s, no branch, clean", g, first)
	}
}

// TestInspectGitChanges checks Dirty and the diff for each kind of change,
// comparing the diff with git's own "git diff --full-index HEAD".
func TestInspectGitChanges(t *testing.T) {
	tests := []struct {
		name      string
		change    func(t *testing.T, dir string)
		dirty     bool
		diffFiles []string // the paths the diff must mention, in order
		notGit    bool     // git disagrees on purpose: skip the comparison with git's diff
	}{
		{"untouched", func(t *testing.T, dir string) {}, false, nil, false},
		{"touched but unchanged", func(t *testing.T, dir string) {
			future := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(dir, "a.txt"), future, future)
		}, false, nil, false},
		{"modified", func(t *testing.T, dir string) {
			write(t, dir, "a.txt", "one\nTWO\nthree\n")
		}, true, []string{"a.txt"}, false},
		{"modified, same size", func(t *testing.T, dir string) {
			write(t, dir, "b/c.txt", "C\n")
		}, true, []string{"b/c.txt"}, false},
		{"staged", func(t *testing.T, dir string) {
			write(t, dir, "a.txt", "one\n")
			run(t, dir, "add", "a.txt")
		}, true, []string{"a.txt"}, false},
		{"staged then undone in the worktree", func(t *testing.T, dir string) {
			write(t, dir, "a.txt", "one\n")
			run(t, dir, "add", "a.txt")
			write(t, dir, "a.txt", "one\ntwo\nthree\n")
		}, true, nil, false},
		{"deleted", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "b/c.txt"))
		}, true, []string{"b/c.txt"}, false},
		{"deleted with git rm", func(t *testing.T, dir string) {
			run(t, dir, "rm", "-q", "a.txt")
		}, true, []string{"a.txt"}, false},
		{"made executable", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "a.txt"), 0o755)
		}, true, []string{"a.txt"}, false},
		{"untracked", func(t *testing.T, dir string) {
			write(t, dir, "new/file.py", "x = 1\n")
		}, true, []string{"new/file.py"}, false},
		{"ignored", func(t *testing.T, dir string) {
			write(t, dir, "out.log", "log\n")
			write(t, dir, "build/app", "bin\n")
			write(t, dir, "b/local.tmp", "tmp\n")
			write(t, dir, "b/deep/x.tmp", "tmp\n")
			write(t, dir, "secret.env", "k=v\n")
		}, false, nil, false},
		{"re-included by a negated pattern", func(t *testing.T, dir string) {
			write(t, dir, "keep.log", "kept\n")
		}, true, []string{"keep.log"}, false},
		{"nested repository", func(t *testing.T, dir string) {
			write(t, dir, "vendor/other/x.txt", "x\n")
			run(t, filepath.Join(dir, "vendor/other"), "init", "-q")
		}, false, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t)
			write(t, dir, "a.txt", "one\ntwo\nthree\n")
			write(t, dir, "b/c.txt", "c\n")
			write(t, dir, ".gitignore", "*.log\n!keep.log\nbuild/\n")
			write(t, dir, "b/.gitignore", "*.tmp\n")
			write(t, dir, ".git/info/exclude", "secret.env\n")
			commitAll(t, dir, "first")
			tc.change(t, dir)

			g := inspect(t, dir)
			if g.Dirty != tc.dirty {
				t.Fatalf("Dirty = %v, want %v; diff:\n%s", g.Dirty, tc.dirty, g.Diff)
			}
			var files []string
			for _, l := range strings.Split(string(g.Diff), "\n") {
				if name, ok := strings.CutPrefix(l, "diff --git a/"); ok {
					files = append(files, name[:len(name)/2-1])
				}
			}
			if strings.Join(files, " ") != strings.Join(tc.diffFiles, " ") {
				t.Fatalf("diff mentions %q, want %q; diff:\n%s", files, tc.diffFiles, g.Diff)
			}
			if g.Dirty {
				sum := sha256.Sum256(g.Diff)
				if g.DiffSHA256 != hex.EncodeToString(sum[:]) {
					t.Fatalf("DiffSHA256 = %s, want the sha256 of Diff", g.DiffSHA256)
				}
			}
			if tc.notGit {
				return
			}
			run(t, dir, "add", "-A", "-N")
			if want := gitDiff(t, dir); string(g.Diff) != want {
				t.Fatalf("diff differs from git's.\ngot:\n%s\nwant:\n%s", g.Diff, want)
			}
		})
	}
}

func TestInspectGitGlobalExcludes(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "a.txt", "a\n")
	commitAll(t, dir, "first")
	write(t, dir, "notes.scratch", "mine\n")
	if g := inspect(t, dir); !g.Dirty {
		t.Fatalf("an untracked file should make the tree dirty")
	}

	// The default global ignore file, $XDG_CONFIG_HOME/git/ignore.
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	write(t, xdg, "git/ignore", "*.scratch\n")
	if g := inspect(t, dir); g.Dirty {
		t.Fatalf("a file matching the default global ignore file should be ignored; diff:\n%s", g.Diff)
	}

	// core.excludesFile in the global config replaces the default.
	cfgDir := t.TempDir()
	write(t, cfgDir, "gitconfig", "[core]\n\texcludesFile = "+filepath.Join(cfgDir, "myignore")+"\n")
	write(t, cfgDir, "myignore", "*.other\n")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(cfgDir, "gitconfig"))
	if g := inspect(t, dir); !g.Dirty {
		t.Fatalf("core.excludesFile should replace the default global ignore file")
	}
	write(t, cfgDir, "myignore", "*.scratch\n")
	if g := inspect(t, dir); g.Dirty {
		t.Fatalf("a file matching core.excludesFile should be ignored; diff:\n%s", g.Diff)
	}
}

// dirtyTree commits a small project and then changes it in every way the
// diff must carry: modified, deleted, new, no trailing newline (added and
// removed), a new subdirectory, an executable bit, a symlink, an empty
// file, and names with spaces and non-ASCII characters.
func dirtyTree(t *testing.T) string {
	t.Helper()
	dir := newRepo(t)
	var long strings.Builder
	for i := 1; i <= 40; i++ {
		long.WriteString("line " + strings.Repeat("x", i%7) + "\n")
	}
	write(t, dir, "train.py", "import sys\n\ndef main():\n    print('train')\n\nmain()\n")
	write(t, dir, "long.txt", long.String())
	write(t, dir, "gone.txt", "to be deleted\n")
	write(t, dir, "noeol.txt", "first\nlast without newline")
	write(t, dir, "addeol.txt", "no newline yet")
	write(t, dir, "empty-gone", "")
	write(t, dir, "run.sh", "#!/bin/sh\necho run\n")
	write(t, dir, "dir with space/file name.txt", "spaced\n")
	write(t, dir, ".gitignore", "*.pyc\n")
	commitAll(t, dir, "first")
	run(t, dir, "remote", "add", "origin", dir) // lets the test clone it

	write(t, dir, "train.py", "import sys\nimport os\n\ndef main():\n    print('train', os.getpid())\n\nmain()\n")
	lines := strings.Split(long.String(), "\n")
	lines[3] = "changed 4"
	lines[30] = "changed 31"
	lines = append(lines[:20], lines[21:]...)
	write(t, dir, "long.txt", strings.Join(lines, "\n"))
	os.Remove(filepath.Join(dir, "gone.txt"))
	write(t, dir, "noeol.txt", "first\nlast changed, still no newline")
	write(t, dir, "addeol.txt", "no newline yet\n")
	os.Remove(filepath.Join(dir, "empty-gone"))
	os.Chmod(filepath.Join(dir, "run.sh"), 0o755)
	write(t, dir, "new/sub/model.py", "W = [1, 2, 3]\n")
	write(t, dir, "new/no-eol", "no newline at all")
	write(t, dir, "new/empty", "")
	write(t, dir, "new/cache.pyc", "ignored\n")
	write(t, dir, "dir with space/file name.txt", "spaced, changed\n")
	write(t, dir, "données/é \"quoted\".txt", "unicode\n")
	if err := os.Symlink("train.py", filepath.Join(dir, "link.py")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cloneAt clones repo into a new directory and checks out commit.
func cloneAt(t *testing.T, repo, commit string) string {
	t.Helper()
	dst, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run(t, dst, "clone", "-q", repo, ".")
	run(t, dst, "checkout", "-q", commit)
	return dst
}

func TestDiffRoundTrip(t *testing.T) {
	dir := dirtyTree(t)
	g := inspect(t, dir)
	if !g.Dirty {
		t.Fatal("dirty tree reported clean")
	}
	want := snapshot(t, dir)
	delete(want, "new/cache.pyc") // ignored: not carried by the diff

	// git itself accepts the diff.
	check := cloneAt(t, dir, g.Commit)
	patch := filepath.Join(t.TempDir(), "run.diff")
	if err := os.WriteFile(patch, g.Diff, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, check, "apply", "--check", patch)
	run(t, check, "apply", patch)
	compareTrees(t, snapshot(t, check), want)

	// ApplyDiff reproduces the dirty tree byte for byte.
	clone := cloneAt(t, dir, g.Commit)
	if err := ApplyDiff(clone, g.Diff); err != nil {
		t.Fatalf("ApplyDiff: %v\ndiff:\n%s", err, g.Diff)
	}
	compareTrees(t, snapshot(t, clone), want)

	// The reproduced tree has the same diff.
	if g2 := inspect(t, clone); string(g2.Diff) != string(g.Diff) {
		t.Fatalf("diff of the reproduced tree differs:\n%s\nwant:\n%s", g2.Diff, g.Diff)
	}

	// And the diff is git's own (untracked files marked intent-to-add).
	run(t, dir, "add", "-A", "-N")
	if gd := gitDiff(t, dir); gd != string(g.Diff) {
		t.Fatalf("diff differs from git's.\ngot:\n%s\nwant:\n%s", g.Diff, gd)
	}

	// ApplyDiff also takes git's default diff (abbreviated blob hashes).
	short := run(t, dir, "diff", "--no-renames", "--no-color", "--no-ext-diff", "HEAD")
	clone = cloneAt(t, dir, g.Commit)
	if err := ApplyDiff(clone, []byte(short)); err != nil {
		t.Fatalf("ApplyDiff(git diff): %v\n%s", err, short)
	}
	compareTrees(t, snapshot(t, clone), want)
}

func TestApplyDiffDiverged(t *testing.T) {
	dir := dirtyTree(t)
	g := inspect(t, dir)

	tests := []struct {
		name    string
		diverge func(t *testing.T, clone string)
		want    []string // substrings of the error
	}{
		{"changed line", func(t *testing.T, clone string) {
			write(t, clone, "long.txt", strings.Replace(readFile(t, clone, "long.txt"), "line xxxx\n", "line yyyy\n", 1))
		}, []string{"long.txt", "hunk 1", "line 4", `"line xxxx\n"`}},
		{"change outside the hunks", func(t *testing.T, clone string) {
			write(t, clone, "long.txt", readFile(t, clone, "long.txt")+"appended\n")
		}, []string{"long.txt", "differs from the version the diff was made from"}},
		{"new file exists", func(t *testing.T, clone string) {
			write(t, clone, "new/sub/model.py", "W = []\n")
		}, []string{"new/sub/model.py", "already exists"}},
		{"deleted file missing", func(t *testing.T, clone string) {
			os.Remove(filepath.Join(clone, "gone.txt"))
		}, []string{"gone.txt", "does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clone := cloneAt(t, dir, g.Commit)
			tc.diverge(t, clone)
			before := snapshot(t, clone)
			err := ApplyDiff(clone, g.Diff)
			if err == nil {
				t.Fatal("ApplyDiff on a diverged tree succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			compareTrees(t, snapshot(t, clone), before) // nothing written
		})
	}
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDiffBinaryFiles(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "old.bin", "\x00\x01\x02")
	write(t, dir, "a.txt", "a\n")
	commitAll(t, dir, "first")
	os.Remove(filepath.Join(dir, "old.bin"))
	g := inspect(t, dir)
	want := "diff --git a/old.bin b/old.bin\ndeleted file mode 100644\n" +
		"index " + strings.TrimSpace(run(t, dir, "rev-parse", "HEAD:old.bin")) + "..0000000000000000000000000000000000000000\n" +
		"Binary files a/old.bin and /dev/null differ\n"
	if string(g.Diff) != want {
		t.Fatalf("diff of a deleted binary file:\n%s\nwant:\n%s", g.Diff, want)
	}
	// A deletion applies: no content is needed.
	clone := cloneAt(t, dir, g.Commit)
	if err := ApplyDiff(clone, g.Diff); err != nil {
		t.Fatalf("ApplyDiff(delete binary): %v", err)
	}
	if _, err := os.Stat(filepath.Join(clone, "old.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old.bin still exists after ApplyDiff: %v", err)
	}

	// A new binary file is only noted, and ApplyDiff says it cannot restore it.
	write(t, dir, "model.bin", "weights\x00\x00")
	g = inspect(t, dir)
	if !strings.Contains(string(g.Diff), "Binary files /dev/null and b/model.bin differ\n") {
		t.Fatalf("diff does not note the new binary file:\n%s", g.Diff)
	}
	clone = cloneAt(t, dir, g.Commit)
	err := ApplyDiff(clone, g.Diff)
	if err == nil || !strings.Contains(err.Error(), "model.bin") || !strings.Contains(err.Error(), "binary") {
		t.Fatalf("ApplyDiff(new binary) error = %v, want one naming model.bin as binary", err)
	}
}

// BenchmarkInspectGitClean measures InspectGit on a clean repository of 400
// files in 20 directories, the common case at the start of every run.
func BenchmarkInspectGitClean(b *testing.B) {
	dir := newRepo(b)
	for d := 0; d < 20; d++ {
		for f := 0; f < 20; f++ {
			write(b, dir, filepath.Join("pkg"+string(rune('a'+d)), "f"+string(rune('a'+f))+".go"), strings.Repeat("package x\n", 50+f))
		}
	}
	commitAll(b, dir, "first")
	time.Sleep(10 * time.Millisecond) // let the index's mtime pass the files'
	run(b, dir, "status", "-s")       // refresh the index's stat data, as any git command does
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, err := InspectGit(context.Background(), dir)
		if err != nil || g.Dirty {
			b.Fatalf("InspectGit: %v, dirty %v", err, g != nil && g.Dirty)
		}
	}
}

func TestInspectGitLinkedWorktree(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "a.txt", "a\n")
	commitAll(t, dir, "first")
	wt := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-wt")
	t.Cleanup(func() { os.RemoveAll(wt) })
	run(t, dir, "worktree", "add", "-q", "-b", "feature", wt)

	g := inspect(t, wt)
	head := strings.TrimSpace(run(t, dir, "rev-parse", "HEAD"))
	if g.Root != wt || g.Branch != "feature" || g.Commit != head || g.Dirty {
		t.Fatalf("linked worktree: got %+v, want root %s, branch feature, commit %s, clean", g, wt, head)
	}
	write(t, wt, "a.txt", "b\n")
	if g := inspect(t, wt); !g.Dirty || !strings.Contains(string(g.Diff), "+b\n") {
		t.Fatalf("modified linked worktree: dirty %v, diff:\n%s", g.Dirty, g.Diff)
	}
	if g := inspect(t, dir); g.Dirty {
		t.Fatalf("main worktree reported dirty by a change in the linked one:\n%s", g.Diff)
	}
}

func TestInspectGitExtraIgnores(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "a.txt", "a\n")
	commitAll(t, dir, "first")
	write(t, dir, "mlruns/1/run.db", "\x00sqlite")
	if g := inspect(t, dir); !g.Dirty {
		t.Fatal("untracked mlruns/ should make the tree dirty")
	}
	g, err := InspectGit(context.Background(), dir, "/mlruns/")
	if err != nil || g.Dirty {
		t.Fatalf("with extra ignore /mlruns/: %v, dirty %v, diff:\n%s", err, g != nil && g.Dirty, g.Diff)
	}
	// Extra ignores never hide changes to tracked files.
	write(t, dir, "a.txt", "b\n")
	if g, err := InspectGit(context.Background(), dir, "a.txt"); err != nil || !g.Dirty {
		t.Fatalf("extra ignore hid a tracked change: %v, %+v", err, g)
	}
}
