package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime/debug"
	"strings"
	"testing"
)

// A build's text names the toolchain, every dependency with its version
// and sum, and the VCS revision; it reads back with debug.ParseBuildInfo
// and hashes to SHA256.
func TestNewBuild(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	info := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Path:      "github.com/mlrun/mlrun/cmd/mlrun",
		Main:      debug.Module{Path: "github.com/mlrun/mlrun", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/spf13/cobra", Version: "v1.8.0", Sum: "h1:7aJaZx1B85qltLMc546zn58BxxfZdR/W22ej9CFoEf0="},
			{Path: "gonum.org/v1/gonum", Version: "v0.15.0", Sum: "h1:2lYxjRbTYyxkJxlhC+LvJIx3SsANPdRybu1tGj9/OrQ="},
		},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}},
	}
	b := NewBuild(info)
	if !strings.HasPrefix(string(b.Text), "go\tgo1.26.0\n") {
		t.Errorf("no toolchain line:\n%s", b.Text)
	}
	back, err := debug.ParseBuildInfo(string(b.Text))
	if err != nil {
		t.Fatalf("parse the saved build info: %v\n%s", err, b.Text)
	}
	if back.Main != info.Main || len(back.Deps) != 2 || *back.Deps[0] != *info.Deps[0] || *back.Deps[1] != *info.Deps[1] {
		t.Errorf("read back main %+v, deps %v", back.Main, back.Deps)
	}
	if BuildVersion(back) != rev {
		t.Errorf("read back revision %q", BuildVersion(back))
	}
	sum := sha256.Sum256(b.Text)
	if b.SHA256 != hex.EncodeToString(sum[:]) || b.Lockfile() != (Lockfile{Path: "mlrun.buildinfo", SHA256: b.SHA256}) {
		t.Errorf("sha256 %s, lockfile %+v", b.SHA256, b.Lockfile())
	}
	info.Deps[1].Version, info.Deps[1].Sum = "v0.15.1", "h1:other"
	if NewBuild(info).SHA256 == b.SHA256 {
		t.Error("another dependency version has the same sha256")
	}
	if lockfileRank(BuildLockfile) >= 0 {
		t.Error("a project file named mlrun.buildinfo would be taken for a project lockfile")
	}
}

// The test binary has build info too (without dependencies: go test does
// not record them; cmd/mlrun's tests check the real binary's).
func TestCurrentBuild(t *testing.T) {
	b, ok := CurrentBuild()
	if !ok || b.Info.Main.Path != "github.com/mlrun/mlrun" || len(b.Text) == 0 || b.SHA256 != NewBuild(b.Info).SHA256 {
		t.Fatalf("CurrentBuild = %+v, %v", b, ok)
	}
}

func TestBuildVersion(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	setting := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"clean checkout", "v0.0.0-20260101000000-0123456789ab", setting("vcs", "git", "vcs.revision", rev, "vcs.modified", "false"), rev},
		{"uncommitted changes", "(devel)", setting("vcs", "git", "vcs.revision", rev, "vcs.modified", "true"), rev + "+dirty"},
		{"go install module@version", "v1.2.3", nil, "v1.2.3"},
		{"nothing known", "(devel)", setting("-compiler", "gc"), ""},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/mlrun/mlrun", Version: tc.version}, Settings: tc.settings}
		if got := BuildVersion(info); got != tc.want {
			t.Errorf("%s: BuildVersion = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := BuildVersion(nil); got != "" {
		t.Errorf("BuildVersion(nil) = %q", got)
	}
}
