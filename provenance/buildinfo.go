package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime/debug"
)

// BuildLockfile is the name of the lockfile that records the mlrun build a
// run used: a pipeline of built-in steps depends on nothing but mlrun, so
// mlrun's own build is its dependency lock. Runs save it as the artifact
// lockfiles/mlrun.buildinfo. No project lockfile has this name (see
// FindLockfiles), so the two never collide.
const BuildLockfile = "mlrun.buildinfo"

// Build is the build of the running mlrun binary, from
// runtime/debug.ReadBuildInfo.
type Build struct {
	// Info is the build information the Go toolchain embedded: the Go
	// version, the main module, the path, version and sum of every
	// dependency module, and build settings such as vcs.revision.
	Info *debug.BuildInfo
	// Text is Info in the text form `go version -m` prints (without its
	// leading tabs), as saved in lockfiles/mlrun.buildinfo;
	// debug.ParseBuildInfo reads it back.
	Text []byte
	// SHA256 is the hex sha256 of Text. Two binaries built from the same
	// source, dependencies, toolchain and flags have the same sum.
	SHA256 string
}

// CurrentBuild describes the running binary. ok is false when it carries no
// build information (a binary built without module support).
func CurrentBuild() (b Build, ok bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Build{}, false
	}
	return NewBuild(info), true
}

// NewBuild describes the build info.
func NewBuild(info *debug.BuildInfo) Build {
	text := []byte(info.String())
	sum := sha256.Sum256(text)
	return Build{Info: info, Text: text, SHA256: hex.EncodeToString(sum[:])}
}

// Lockfile returns the build as the lockfile BuildLockfile.
func (b Build) Lockfile() Lockfile {
	return Lockfile{Path: BuildLockfile, SHA256: b.SHA256}
}

// BuildVersion names the version of a build that was not given one with
// -ldflags "-X main.version=...": its VCS revision (the commit the binary
// was built from, with "+dirty" when the tree had uncommitted changes), or
// else the main module's version when it is not "(devel)" (a binary built
// with go install module@version carries no revision), or else "".
func BuildVersion(info *debug.BuildInfo) string {
	if info == nil {
		return ""
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision != "" {
		if modified == "true" {
			return revision + "+dirty"
		}
		return revision
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return ""
}
