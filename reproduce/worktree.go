package reproduce

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/provenance"
)

// checkout decides where the run repeats and, when needed, makes the
// temporary worktree: Mode, Dir and tempRoot are set.
func (p *Plan) checkout(ctx context.Context) error {
	id := p.Original.Info.ID
	if p.Commit == "" {
		// Outside git, or in a repository that had no commit yet.
		p.Mode, p.Dir = OutsideGit, p.RecordedDir
		return nil
	}
	repo, err := git.PlainOpenWithOptions(p.RecordedDir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return errs.Errorf(errs.Invalid, "run %s was recorded at commit %s in a git repository, but its project directory %s is no longer in one", id, short(p.Commit), p.RecordedDir)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("open the worktree of %s: %w", p.RecordedDir, err)
	}
	root := wt.Filesystem.Root()
	hash := plumbing.NewHash(p.Commit)
	if len(p.Commit) != 40 || hash.String() != strings.ToLower(p.Commit) {
		return errs.Errorf(errs.Invalid, "run %s recorded commit %q (tag %s), which is not a full commit hash", id, p.Commit, provenance.TagGitCommit)
	}
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return errs.Errorf(errs.Invalid, "commit %s recorded by run %s is not in the repository at %s", p.Commit, id, root)
	}

	// The checkout as it is now, seen as the runner sees it.
	now, err := provenance.InspectGit(ctx, p.RecordedDir, storeIgnores(root, p.opts.StoreDir)...)
	if err != nil {
		return fmt.Errorf("inspect the checkout at %s: %w", p.RecordedDir, err)
	}
	recordedDiffSum, _ := p.Original.Tag(provenance.TagGitDiffSHA256)
	if !p.opts.AlwaysWorktree && now.Commit == p.Commit && now.Dirty == p.dirty() && (!p.dirty() || now.DiffSHA256 == recordedDiffSum) {
		p.Mode, p.Dir = InPlace, p.RecordedDir
		return nil
	}

	subdir, ok := p.Original.Tag(TagGitSubdir)
	if !ok {
		if subdir, err = filepath.Rel(root, p.RecordedDir); err != nil {
			return fmt.Errorf("locate %s in %s: %w", p.RecordedDir, root, err)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(subdir)) && subdir != "." {
		return errs.Errorf(errs.Invalid, "run %s recorded the project subdirectory %q (tag %s), which is not inside the repository", id, subdir, TagGitSubdir)
	}
	var diff []byte
	if p.dirty() {
		if diff, err = p.recordedDiff(ctx, recordedDiffSum); err != nil {
			return err
		}
	}

	tmp, err := os.MkdirTemp(p.opts.TempDir, "mlrun-reproduce-")
	if err != nil {
		return fmt.Errorf("create a temporary worktree: %w", err)
	}
	p.tempRoot = tmp // removed by Close, also when NewPlan fails
	if err := cloneCommit(ctx, repo, commit, tmp); err != nil {
		return fmt.Errorf("check out commit %s of %s in %s: %w", short(p.Commit), root, tmp, err)
	}
	p.Mode = Worktree
	if p.dirty() {
		if err := provenance.ApplyDiff(tmp, diff); err != nil {
			return &errs.Error{Code: errs.Code(err), Message: fmt.Sprintf("apply the recorded code.diff of run %s to commit %s: %s", id, short(p.Commit), errs.Message(err)), Err: err}
		}
		p.Mode = WorktreeWithDiff
	}
	p.Dir = filepath.Join(tmp, filepath.FromSlash(subdir))
	return p.linkUntrackedData()
}

// storeIgnores returns the ignore pattern keeping the store's directory out
// of the dirty check, as the runner does.
func storeIgnores(root, storeDir string) []string {
	if storeDir == "" {
		return nil
	}
	if rel, err := filepath.Rel(root, storeDir); err == nil && filepath.IsLocal(rel) {
		return []string{"/" + filepath.ToSlash(rel) + "/"}
	}
	return nil
}

// recordedDiff reads the run's code.diff artifact and checks its hash.
func (p *Plan) recordedDiff(ctx context.Context, wantSum string) ([]byte, error) {
	id := p.Original.Info.ID
	diff, err := artifact.ReadFile(ctx, p.repo, "code.diff")
	if errs.Code(err) == errs.NotFound {
		where, _ := artifact.JoinPath(p.Original.Info.ArtifactURI, "code.diff")
		return nil, errs.Errorf(errs.Invalid, "run %s ran on a tree with uncommitted changes, but its code.diff artifact (%s) is missing, so those changes cannot be restored", id, where)
	}
	if err != nil {
		return nil, fmt.Errorf("read the code.diff of run %s: %w", id, err)
	}
	if wantSum != "" {
		if got := sha256Hex(diff); got != wantSum {
			return nil, errs.Errorf(errs.Invalid, "the code.diff artifact of run %s has sha256 %s, not the %s the run recorded (tag %s); it was changed", id, got, wantSum, provenance.TagGitDiffSHA256)
		}
	}
	return diff, nil
}

// cloneCommit makes dir a new git repository holding commit's snapshot
// (the commit, its tree and blobs; no history, marked shallow as
// "git clone --depth 1" does) with HEAD detached at it and the files checked
// out, and copies the source's remotes so that runs there record the same
// repository URL. Unlike a fetch, this finds a commit that is in the object
// database but on no branch (an amended commit still in the reflog), and it
// needs no git program.
func cloneCommit(ctx context.Context, src *git.Repository, commit *object.Commit, dir string) error {
	dst, err := git.PlainInit(dir, false)
	if err != nil {
		return err
	}
	copied := map[plumbing.Hash]bool{}
	copyObject := func(h plumbing.Hash) error {
		if copied[h] {
			return nil
		}
		copied[h] = true
		obj, err := src.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return fmt.Errorf("read object %s: %w", h, err)
		}
		if _, err := dst.Storer.SetEncodedObject(obj); err != nil {
			return fmt.Errorf("write object %s: %w", h, err)
		}
		return nil
	}
	if err := copyObject(commit.Hash); err != nil {
		return err
	}
	tree, err := commit.Tree()
	if err != nil {
		return fmt.Errorf("read the tree of %s: %w", commit.Hash, err)
	}
	if err := copyObject(tree.Hash); err != nil {
		return err
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, entry, err := walker.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("walk the tree of %s: %w", commit.Hash, err)
		}
		if entry.Mode == filemode.Submodule {
			continue // a submodule's commit lives in another repository
		}
		if err := copyObject(entry.Hash); err != nil {
			return err
		}
	}
	if err := dst.Storer.SetShallow([]plumbing.Hash{commit.Hash}); err != nil {
		return fmt.Errorf("mark the clone shallow: %w", err)
	}
	if err := dst.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, commit.Hash)); err != nil {
		return fmt.Errorf("set HEAD: %w", err)
	}
	if srcCfg, err := src.Config(); err == nil && len(srcCfg.Remotes) > 0 {
		cfg, err := dst.Config()
		if err != nil {
			return fmt.Errorf("read the new repository's config: %w", err)
		}
		for name, rc := range srcCfg.Remotes {
			cfg.Remotes[name] = rc
		}
		if err := dst.SetConfig(cfg); err != nil {
			return fmt.Errorf("copy the remotes: %w", err)
		}
	}
	wt, err := dst.Worktree()
	if err != nil {
		return err
	}
	return wt.Checkout(&git.CheckoutOptions{Hash: commit.Hash, Force: true})
}

// linkUntrackedData makes the data files the original read, which the
// worktree lacks because they are not in git, available at the same paths:
// each is symlinked from the recorded project directory and excluded from
// git (.git/info/exclude), so the worktree's git state stays the recorded
// one. A data file that is in the worktree (tracked, or restored by the
// diff) is used as it is there.
func (p *Plan) linkUntrackedData() error {
	var excludes []string
	for _, t := range p.Original.Tags {
		rel, ok := datasetPath(t.Key)
		if !ok || filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
			continue
		}
		inWorktree := filepath.Join(p.Dir, rel)
		if _, err := os.Lstat(inWorktree); err == nil {
			continue
		}
		original := filepath.Join(p.RecordedDir, rel)
		if _, err := os.Stat(original); err != nil {
			continue // missing everywhere: the drift report says so
		}
		if err := os.MkdirAll(filepath.Dir(inWorktree), 0o755); err != nil {
			return fmt.Errorf("link data file %s into the worktree: %w", rel, err)
		}
		if err := os.Symlink(original, inWorktree); err != nil {
			return fmt.Errorf("link data file %s into the worktree: %w", rel, err)
		}
		fromRoot, err := filepath.Rel(p.tempRoot, inWorktree)
		if err != nil {
			return fmt.Errorf("link data file %s into the worktree: %w", rel, err)
		}
		excludes = append(excludes, "/"+filepath.ToSlash(fromRoot))
	}
	if len(excludes) == 0 {
		return nil
	}
	exclude := filepath.Join(p.tempRoot, ".git", "info", "exclude")
	if err := os.MkdirAll(filepath.Dir(exclude), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", exclude, err)
	}
	f, err := os.OpenFile(exclude, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", exclude, err)
	}
	_, werr := io.WriteString(f, "# data files linked by mlrun reproduce\n"+strings.Join(excludes, "\n")+"\n")
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", exclude, werr)
	}
	return nil
}

// datasetPath returns the data file path of a mlrun.dataset.<path> tag key.
func datasetPath(key string) (string, bool) {
	if key == TagDatasetSummary || !strings.HasPrefix(key, TagDatasetPrefix) {
		return "", false
	}
	rel := strings.TrimPrefix(key, TagDatasetPrefix)
	return filepath.FromSlash(rel), rel != ""
}
