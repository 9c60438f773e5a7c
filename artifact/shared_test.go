package artifact

import (
	"os"
	"path/filepath"
	"testing"
)

// Files of the same bytes are one file with several links until the first
// is replaced; other bytes, and a path that held a file, get files of
// their own.
func TestSharedFilesLinkSameBytesOnly(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	var s SharedFiles
	for _, name := range []string{"a", "b"} {
		if err := s.Write(p(name), []byte("same")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(p("c"), []byte("other")); err != nil {
		t.Fatal(err)
	}
	stat := func(name string) os.FileInfo {
		t.Helper()
		fi, err := os.Stat(p(name))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	if !os.SameFile(stat("a"), stat("b")) {
		t.Error("b, the same bytes as a, is a file of its own")
	}
	if os.SameFile(stat("a"), stat("c")) {
		t.Error("c, other bytes, is linked to a")
	}
	// Writing over b replaces it: a keeps its bytes.
	if err := s.Write(p("b"), []byte("changed")); err != nil {
		t.Fatal(err)
	}
	// a replaced by another file: the next write of its old bytes is not
	// linked to it.
	os.Remove(p("a"))
	os.WriteFile(p("a"), []byte("not the same"), 0o644)
	if err := s.Write(p("d"), []byte("same")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "not the same", "b": "changed", "c": "other", "d": "same"} {
		if got, err := os.ReadFile(p(name)); err != nil || string(got) != want {
			t.Errorf("%s holds %q (%v), want %q", name, got, err, want)
		}
	}
}
