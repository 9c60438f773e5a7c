package provenance

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// textSide is a side of a file patch holding text.
func textSide(data string) side {
	return side{version: version{mode: filemode.Regular, hash: plumbing.ComputeHash(plumbing.BlobObject, []byte(data))}, data: []byte(data)}
}

// patchAndApply diffs a against b, parses the patch and applies it to a.
func patchAndApply(t *testing.T, a, b string) string {
	t.Helper()
	var buf bytes.Buffer
	writeFilePatch(&buf, "f.txt", textSide(a), textSide(b))
	patches, err := parsePatch(buf.Bytes())
	if err != nil {
		t.Fatalf("parse patch: %v\n%s", err, buf.Bytes())
	}
	if len(patches) != 1 {
		t.Fatalf("parsed %d file patches, want 1:\n%s", len(patches), buf.Bytes())
	}
	st := &fileState{exists: true, mode: filemode.Regular, data: []byte(a)}
	if err := applyFilePatch(patches[0], st); err != nil {
		t.Fatalf("apply: %v\npatch:\n%s", err, buf.Bytes())
	}
	return string(st.data)
}

// TestDiffApplyRandom diffs random texts (with and without a final newline)
// and checks that applying the diff to the old text gives the new one.
func TestDiffApplyRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a\n", "b\n", "c\n", "d\n", "\n", "func x\n"}
	randomText := func(n int) []string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = alphabet[rng.Intn(len(alphabet))]
		}
		return lines
	}
	join := func(lines []string, eol bool) string {
		s := strings.Join(lines, "")
		if !eol && s != "" {
			s = s[:len(s)-1] + "x" // the last line loses its newline
		}
		return s
	}
	for i := 0; i < 500; i++ {
		a := randomText(rng.Intn(30))
		b := append([]string(nil), a...)
		for e := rng.Intn(6); e > 0; e-- {
			switch pos := rng.Intn(len(b) + 1); rng.Intn(3) {
			case 0:
				b = append(b[:pos], append(randomText(1+rng.Intn(3)), b[pos:]...)...)
			case 1:
				if pos < len(b) {
					b = append(b[:pos], b[pos+1:]...)
				}
			default:
				if pos < len(b) {
					b[pos] = alphabet[rng.Intn(len(alphabet))]
				}
			}
		}
		before, after := join(a, rng.Intn(3) > 0), join(b, rng.Intn(3) > 0)
		if got := patchAndApply(t, before, after); got != after {
			t.Fatalf("case %d: applying the diff of %q -> %q gave %q", i, before, after, got)
		}
	}
}

func TestDiffBeyondEditLimit(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < maxEditDistance; i++ {
		a.WriteString("old " + strings.Repeat("a", i%13) + "\n")
		b.WriteString("new " + strings.Repeat("b", i%11) + "\n")
	}
	before := "same start\n" + a.String() + "same end\n"
	after := "same start\n" + b.String() + "same end\n"
	ops := diffLines(splitLines([]byte(before)), splitLines([]byte(after)))
	if len(ops) != 2+2*maxEditDistance {
		t.Fatalf("edit script has %d lines, want %d (keep, replace all, keep)", len(ops), 2+2*maxEditDistance)
	}
	if got := patchAndApply(t, before, after); got != after {
		t.Fatal("applying the fallback diff did not give the new text")
	}
}

func TestDiffMinimal(t *testing.T) {
	a := splitLines([]byte("a\nb\nc\nd\ne\n"))
	b := splitLines([]byte("a\nc\nd\nX\ne\n"))
	var got []string
	for _, o := range diffLines(a, b) {
		got = append(got, string(o.kind)+strings.TrimSuffix(o.line, "\n"))
	}
	want := []string{" a", "-b", " c", " d", "+X", " e"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("edit script %q, want %q", got, want)
	}
}

func TestApplyDiffRejects(t *testing.T) {
	tests := []struct {
		name string
		diff string
		want string
	}{
		{"not a diff", "hello\n", `expected a "diff --git" header`},
		{"escaping path", "diff --git a/../x b/../x\nnew file mode 100644\n", "unsafe path"},
		{"into .git", "diff --git a/.git/config b/.git/config\nnew file mode 100644\n", "unsafe path"},
		{"rename", "diff --git a/x b/y\nsimilarity index 100%\n", "renames are not supported"},
		{"bad hunk header", "diff --git a/x b/x\nnew file mode 100644\n--- /dev/null\n+++ b/x\n@@ -0,0 +1,z @@\n+a\n", "bad hunk range"},
		{"truncated hunk", "diff --git a/x b/x\nnew file mode 100644\n--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\n", "ends inside hunk"},
		{"bad hunk line", "diff --git a/x b/x\nnew file mode 100644\n--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\n*b\n", "unexpected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ApplyDiff(t.TempDir(), []byte(tc.diff))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ApplyDiff error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestDiffTypeChanges covers a file that became a symlink, a file that
// became a directory, and a new empty file, against git and through
// ApplyDiff.
func TestDiffTypeChanges(t *testing.T) {
	dir := newRepo(t)
	write(t, dir, "target.txt", "target\n")
	write(t, dir, "becomes-link", "a file\n")
	write(t, dir, "becomes-dir", "a file\n")
	commitAll(t, dir, "first")
	run(t, dir, "remote", "add", "origin", dir)
	os.Remove(filepath.Join(dir, "becomes-link"))
	if err := os.Symlink("target.txt", filepath.Join(dir, "becomes-link")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "becomes-dir"))
	write(t, dir, "becomes-dir/inside.txt", "inside\n")
	write(t, dir, "empty-new", "")

	g := inspect(t, dir)
	want := snapshot(t, dir)
	clone := cloneAt(t, dir, g.Commit)
	if err := ApplyDiff(clone, g.Diff); err != nil {
		t.Fatalf("ApplyDiff: %v\n%s", err, g.Diff)
	}
	compareTrees(t, snapshot(t, clone), want)

	check := cloneAt(t, dir, g.Commit)
	patch := filepath.Join(t.TempDir(), "run.diff")
	if err := os.WriteFile(patch, g.Diff, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, check, "apply", patch)
	compareTrees(t, snapshot(t, check), want)

	run(t, dir, "add", "-A", "-N")
	if gd := gitDiff(t, dir); gd != string(g.Diff) {
		t.Fatalf("diff differs from git's.\ngot:\n%s\nwant:\n%s", g.Diff, gd)
	}
}

func TestApplyDiffMissingRoot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	err := ApplyDiff(missing, []byte("diff --git a/x b/x\nnew file mode 100644\n"))
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("ApplyDiff(missing root) error = %v, want one naming %s", err, missing)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("ApplyDiff created the missing root: %v", err)
	}
}
