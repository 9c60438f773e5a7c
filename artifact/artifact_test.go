package artifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// TestJoinResolvesSymlinks: a path that leaves the root through a symbolic
// link, a dangling one, or ".." is refused; links that stay inside are fine.
func TestJoinResolvesSymlinks(t *testing.T) {
	root := filepath.Join(t.TempDir(), "artifacts")
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "plots", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"out":           outside,
		"dangling":      filepath.Join(outside, "nothing", "here"),
		"alias":         filepath.Join(root, "plots"),
		"relout":        "../..",
		"plots/deep/up": outside, // a link below real directories
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"out/x.txt", "out", "dangling", "dangling/x", "relout/etc", "../x", "/etc/passwd", "plots/../../x", "plots/deep/up/x.txt", "plots/deep/up"} {
		if p, err := Join(root, rel); err == nil || errs.Code(err) != errs.Invalid {
			t.Errorf("Join(%q) = %q, %v; want an invalid-input error", rel, p, err)
		}
	}
	for _, rel := range []string{"plots/a.png", "alias/deep/b.png", "new/dir/c.txt", "."} {
		if _, err := Join(root, rel); err != nil {
			t.Errorf("Join(%q): %v", rel, err)
		}
	}
	// A root that does not exist yet, below a symlinked directory, works.
	linkedParent := filepath.Join(t.TempDir(), "store")
	if err := os.Symlink(outside, linkedParent); err != nil {
		t.Fatal(err)
	}
	if _, err := Join(filepath.Join(linkedParent, "run1", "artifacts"), "model/MLmodel"); err != nil {
		t.Errorf("a root below a symbolic link: %v", err)
	}
}

// TestCopyWritesNothingThroughASymlink: copying a directory onto a
// destination holding symbolic links fails without writing through them.
func TestCopyWritesNothingThroughASymlink(t *testing.T) {
	src, dst, outside := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.txt", "sub/b.txt"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dst, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := Copy(src, dst); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Copy onto a symlinked directory: %v", err)
	}
	victim := filepath.Join(outside, "victim.txt")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dst, "file.txt")); err != nil {
		t.Fatal(err)
	}
	if err := Copy(filepath.Join(src, "a.txt"), filepath.Join(dst, "file.txt")); err == nil {
		t.Error("Copy onto a symlinked file succeeded")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the file behind the link was overwritten: %q", b)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("files were written outside: %v", entries)
	}
}

// TestURIRoundTrip: a directory with spaces, % and # becomes a valid,
// percent-encoded file URI and reads back; an older unencoded URI still
// reads as its path.
func TestURIRoundTrip(t *testing.T) {
	dir := "/home/me/my project/100%/a#b"
	uri := URI(dir)
	if uri != "file:///home/me/my%20project/100%25/a%23b" {
		t.Errorf("URI(%q) = %q", dir, uri)
	}
	for _, u := range []string{uri, "file:///home/me/my project/100%/a#b"} {
		if got, err := DirFromURI(u); err != nil || got != dir {
			t.Errorf("DirFromURI(%q) = %q, %v", u, got, err)
		}
	}
}
