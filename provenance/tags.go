package provenance

import "strconv"

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
)

// NotRepoMessage is the mlrun.git.message tag written outside a repository.
const NotRepoMessage = "the project directory is not inside a git repository"

// Tags turns the captured facts into run tags. g is nil outside a git
// repository: then mlrun.git.repo is "none" and mlrun.git.message says why.
// In a repository, commit, branch and remote URL tags are written only when
// known (a repository with no commits has no commit tag, a detached HEAD no
// branch tag), mlflow.source.git.dirty is always written, and
// mlrun.git.diff_sha256 when dirty. Lockfile tags name the primary lockfile
// (the first of FindLockfiles' list of names that is present) and, when
// there are several, all of them comma-separated in path order. Empty
// System fields are left out.
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
	}
	return t
}
