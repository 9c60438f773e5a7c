package provenance

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ content, want string }{
		{"hello\n", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tc := range tests {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := HashFile(p)
		if err != nil || got != tc.want {
			t.Fatalf("HashFile(%q content) = %s, %v; want %s", tc.content, got, err, tc.want)
		}
	}
	if _, err := HashFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("HashFile(missing) succeeded")
	}
}

func TestFindLockfiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.sum":               "hello\n",
		"requirements.txt":     "numpy==1.26\n",
		"requirements-dev.txt": "pytest\n",
		"poetry.lock":          "",
		"README.md":            "not a lockfile\n",
		"sub/Cargo.lock":       "not at the top level\n",
		"uv.lock/x":            "uv.lock is a directory here\n",
	} {
		write(t, dir, name, content)
	}
	if err := os.Symlink("missing", filepath.Join(dir, "yarn.lock")); err != nil {
		t.Fatal(err)
	}
	got, err := FindLockfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Lockfile{
		{"go.sum", "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},
		{"poetry.lock", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"requirements-dev.txt", ""},
		{"requirements.txt", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("FindLockfiles = %+v, want paths of %+v", got, want)
	}
	for i := range want {
		if got[i].Path != want[i].Path || (want[i].SHA256 != "" && got[i].SHA256 != want[i].SHA256) || len(got[i].SHA256) != 64 {
			t.Fatalf("FindLockfiles[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	if got, err := FindLockfiles(t.TempDir()); err != nil || len(got) != 0 {
		t.Fatalf("FindLockfiles(empty dir) = %v, %v; want none", got, err)
	}
	if _, err := FindLockfiles(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("FindLockfiles(missing dir) succeeded")
	}
}
