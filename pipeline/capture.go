package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"

	"github.com/mlrun/mlrun/provenance"
)

// provenanceCapture is what a run records about where it came from. The
// trials of a sweep share one.
type provenanceCapture struct {
	tags      map[string]string
	user      string
	dir       string
	git       *provenance.Git
	lockfiles []provenance.Lockfile // the project's
	build     []byte                // mlrun's build info; nil when unknown
	// pending, when not nil, is the capture still under way: the run was
	// created without its tags, and set holds the tags it was created
	// with, which the capture's do not replace (see resolve).
	pending *Provenance
	set     map[string]string
}

// pendingFor reports whether the capture is pending and may stay so while
// steps write the run's artifacts in artifactDir: when that lies outside
// the project's repository, or in the store's directory storeDir, which
// the capture leaves out.
func (c *provenanceCapture) pendingFor(artifactDir, storeDir string) bool {
	if c.pending == nil {
		return false
	}
	root := gitRoot(c.pending.dir)
	return root == "" || !within(artifactDir, root) || (storeDir != "" && within(artifactDir, storeDir))
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel) || rel == "."
}

// resolve waits for a pending capture and records its tags on the run,
// but for those the run was created with; it returns the capture.
func (c *provenanceCapture) resolve(ctx context.Context, log *runLogger) (*provenanceCapture, error) {
	if c.pending == nil {
		return c, nil
	}
	done, err := c.pending.wait()
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range done.tags {
		if _, ok := c.set[k]; !ok {
			tags[k] = v
		}
	}
	if err := log.SetTags(ctx, tags); err != nil {
		return nil, err
	}
	return done, nil
}

// captureProvenance inspects the git state and lockfiles of the project in
// dir, the mlrun build (recorded as the lockfile provenance.BuildLockfile)
// and the machine, before the run is created.
// storeDir, the tracking store's directory, is left out of the dirty check
// when it lies inside the repository (as ./mlruns usually does).
func captureProvenance(ctx context.Context, dir, version, storeDir string) (*provenanceCapture, error) {
	var ignores []string
	if root := gitRoot(dir); root != "" && storeDir != "" {
		if rel, err := filepath.Rel(root, storeDir); err == nil && filepath.IsLocal(rel) {
			ignores = append(ignores, "/"+filepath.ToSlash(rel)+"/")
		}
	}
	g, err := provenance.InspectGit(ctx, dir, ignores...)
	if errors.Is(err, provenance.ErrNotRepo) {
		g, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	locks, err := provenance.FindLockfiles(dir)
	if err != nil {
		return nil, err
	}
	sys := provenance.CurrentSystem(version)
	allLocks := locks
	var buildText []byte
	if build, ok := provenance.CurrentBuild(); ok {
		allLocks = append(slices.Clip(locks), build.Lockfile())
		buildText = build.Text
	}
	tags := provenance.Tags(g, allLocks, sys)
	source := dir
	if g != nil && g.RemoteURL != "" {
		source = g.RemoteURL
	}
	tags["mlflow.source.name"] = source
	tags["mlrun.project.dir"] = dir
	if g != nil {
		if rel, err := filepath.Rel(g.Root, dir); err == nil {
			tags["mlrun.git.subdir"] = filepath.ToSlash(rel)
		}
	}
	return &provenanceCapture{tags: tags, user: sys.User, dir: dir, git: g, lockfiles: locks, build: buildText}, nil
}

// gitRoot returns the nearest directory at or above dir holding .git, or "".
func gitRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// saveArtifacts stores the dirty-tree diff as code.diff, the project's
// lockfiles under lockfiles/ and mlrun's build info as
// lockfiles/mlrun.buildinfo.
func (c *provenanceCapture) saveArtifacts(ctx context.Context, log *runLogger) error {
	if c.git != nil && c.git.Dirty {
		if err := log.WriteArtifact(ctx, "code.diff", c.git.Diff); err != nil {
			return err
		}
	}
	for _, l := range c.lockfiles {
		if err := log.LogArtifact(ctx, filepath.Join(c.dir, l.Path), filepath.Join("lockfiles", l.Path)); err != nil {
			return err
		}
	}
	if c.build != nil {
		if err := log.WriteArtifact(ctx, filepath.Join("lockfiles", provenance.BuildLockfile), c.build); err != nil {
			return err
		}
	}
	return nil
}

// Provenance is a project's provenance captured on another goroutine while
// the command creates its run and while the run's first steps run: a
// Runner given one (Runner.Provenance) uses it for its run instead of
// capturing its own.
// The capture ends before any step that may write in the project runs, so
// that what a step writes is not taken for a change to the project.
type Provenance struct {
	dir      string
	finished chan struct{}
	capture  *provenanceCapture
	err      error
}

// StartProvenance starts capturing the provenance of the project in dir
// (see captureProvenance) and returns at once.
func StartProvenance(ctx context.Context, dir, version, storeDir string) *Provenance {
	p := &Provenance{dir: dir, finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		p.capture, p.err = captureProvenance(ctx, dir, version, storeDir)
	}()
	return p
}

// done reports whether the capture is over.
func (p *Provenance) done() bool {
	select {
	case <-p.finished:
		return true
	default:
		return false
	}
}

// wait returns the capture once it is done.
func (p *Provenance) wait() (*provenanceCapture, error) {
	<-p.finished
	return p.capture, p.err
}
