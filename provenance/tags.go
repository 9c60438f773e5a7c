package provenance

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Tag keys written by Tags. The mlflow.* keys are MLflow's system tags.
const (
	TagGitCommit      = "mlflow.source.git.commit"
	TagGitBranch      = "mlflow.source.git.branch"
	TagGitRepoURL     = "mlflow.source.git.repoURL"
	TagGitRepoURLOld  = "mlflow.gitRepoURL" // MLflow's legacy key for the same URL
	TagGitDirty       = "mlflow.source.git.dirty"
	TagGitDiffSHA256  = "mlrun.git.diff_sha256"
	TagGitRepo        = "mlrun.git.repo"
	TagGitMessage     = "mlrun.git.message"
	TagUser           = "mlflow.user"
	TagVersion        = "mlrun.version"
	TagGoVersion      = "mlrun.go_version"
	TagOS             = "mlrun.os"
	TagHost           = "mlrun.host"
	TagLockfile       = "mlrun.lockfile"
	TagLockfileSHA256 = "mlrun.lockfile.sha256"
	TagLockfiles      = "mlrun.lockfiles"
	// TagLockfileSHA256Prefix starts one tag per lockfile:
	// mlrun.lockfile.sha256.<name> = its hex sha256 (the name made
	// tag-safe, see TagSafe), e.g. mlrun.lockfile.sha256.mlrun.buildinfo.
	TagLockfileSHA256Prefix = TagLockfileSHA256 + "."
)

// NotRepoMessage is the mlrun.git.message tag written outside a repository.
const NotRepoMessage = "the project directory is not inside a git repository"

// Tags turns the captured facts into run tags. g is nil outside a git
// repository: then mlrun.git.repo is "none" and mlrun.git.message says why.
// In a repository, commit, branch and remote URL tags are written only when
// known (a repository with no commits has no commit tag, a detached HEAD no
// branch tag), mlflow.source.git.dirty is always written, and
// mlrun.git.diff_sha256 when dirty. Lockfile tags: mlrun.lockfile and
// mlrun.lockfile.sha256 name the primary lockfile (the first of
// FindLockfiles' list of names that is present; a lockfile of another name,
// such as BuildLockfile, only when no project lockfile is there);
// mlrun.lockfiles lists them all comma-separated in path order when there
// are several; and mlrun.lockfile.sha256.<name> gives each one's sha256.
// Empty System fields are left out.
func Tags(g *Git, locks []Lockfile, sys System) map[string]string {
	t := make(map[string]string)
	set := func(k, v string) {
		if v != "" {
			t[k] = v
		}
	}
	if g == nil {
		t[TagGitRepo] = "none"
		t[TagGitMessage] = NotRepoMessage
	} else {
		set(TagGitCommit, g.Commit)
		set(TagGitBranch, g.Branch)
		set(TagGitRepoURL, g.RemoteURL)
		set(TagGitRepoURLOld, g.RemoteURL)
		t[TagGitDirty] = strconv.FormatBool(g.Dirty)
		if g.Dirty {
			set(TagGitDiffSHA256, g.DiffSHA256)
		}
	}
	set(TagUser, sys.User)
	set(TagVersion, sys.MlrunVersion)
	set(TagGoVersion, sys.GoVersion)
	if sys.OS != "" || sys.Arch != "" {
		t[TagOS] = sys.OS + "/" + sys.Arch
	}
	set(TagHost, sys.Host)
	if len(locks) > 0 {
		primary := primaryLockfile(locks)
		t[TagLockfile] = primary.Path
		t[TagLockfileSHA256] = primary.SHA256
		if len(locks) > 1 {
			t[TagLockfiles] = lockfilePaths(locks)
		}
		for _, l := range locks {
			t[TagLockfileSHA256Prefix+TagSafe(l.Path)] = l.SHA256
		}
	}
	return t
}

// tagUnsafe matches what MLflow does not accept in a tag key.
var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_\-./ ]`)

// TagSafe turns a path or name into something MLflow accepts in a tag key
// (as in mlrun.dataset.<path>): each other character becomes "_", as does
// "..", and leading slashes are dropped; "" becomes "_".
func TagSafe(s string) string {
	s = tagUnsafe.ReplaceAllString(filepath.ToSlash(s), "_")
	s = strings.TrimLeft(strings.ReplaceAll(s, "..", "_"), "/")
	if s == "" {
		return "_"
	}
	return s
}
