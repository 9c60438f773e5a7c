// Package registry turns model URIs into model directories on disk and
// registers models, on top of a tracking.Store (runs and their artifacts,
// and the registered models).
//
// The URIs are MLflow's: runs:/<run-id>/<path>, models:/<name>/<version>,
// models:/<name>@<alias>, models:/<name>/<stage> and models:/<name>/latest.
package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/tracking"
)

// Model is a resolved model URI: a local directory holding the model.
type Model struct {
	// Dir is the model directory on this machine: the repository's own
	// directory for a file:// location, else a download.
	Dir string
	// Version is the version a models:/ URI resolved to; nil for runs:/.
	Version *tracking.ModelVersion
	// Source is the artifact location of the model directory.
	Source  string
	release func()
}

// Close removes the model's download, if it was downloaded.
func (m *Model) Close() {
	if m != nil && m.release != nil {
		m.release()
		m.release = nil
	}
}

// location is where a model URI points: a path in a repository.
type location struct {
	repo    artifact.Repository
	rel     string
	source  string
	version *tracking.ModelVersion
	what    string // names the model in messages
}

// Resolve returns the model that uri names, in a local directory: a
// runs:/ path is opened in the run's artifact repository, a models:/
// version's source in its own, both through schemes (nil: artifact.SchemesFor(st))
// and downloaded when the repository is not local. Paths cannot leave
// the run's artifacts; the run id may be a unique prefix. The directory
// must hold an MLmodel file, else errs.NotFound. Close the model when done.
func Resolve(ctx context.Context, st tracking.Store, schemes *artifact.Schemes, uri string) (*Model, error) {
	loc, err := locate(ctx, st, schemes, uri)
	if err != nil {
		return nil, err
	}
	return fetch(ctx, loc)
}

// fetch makes the model at loc available locally and checks it.
func fetch(ctx context.Context, loc *location) (*Model, error) {
	dir, release, err := artifact.LocalCopy(ctx, loc.repo, loc.rel)
	if errs.Code(err) == errs.NotFound {
		return nil, errs.Errorf(errs.NotFound, "model %s: %s does not exist", loc.what, loc.source)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", loc.what, err)
	}
	if err := checkModelDir(dir, loc.what); err != nil {
		release()
		return nil, err
	}
	return &Model{Dir: dir, Version: loc.version, Source: loc.source, release: release}, nil
}

// locate finds the repository and path a model URI names.
func locate(ctx context.Context, st tracking.Store, schemes *artifact.Schemes, uri string) (*location, error) {
	if schemes == nil {
		schemes = artifact.SchemesFor(st)
	}
	u, err := tracking.ParseModelURI(uri)
	if err != nil {
		return nil, err
	}
	if u.Kind == tracking.URIRun {
		run, err := runOf(ctx, st, u.RunID)
		if err != nil {
			return nil, err
		}
		repo, err := schemes.Open(run.Info.ArtifactURI)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", uri, err)
		}
		source, err := artifact.JoinPath(run.Info.ArtifactURI, u.Path)
		if err != nil {
			return nil, err
		}
		return &location{repo: repo, rel: u.Path, source: source, what: uri}, nil
	}
	mv, err := lookupVersion(ctx, st, u)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("%s (version %d of %q)", uri, mv.Version, mv.Name)
	repo, err := schemes.Open(mv.Source)
	if err != nil {
		return nil, fmt.Errorf("version %d of %q: %w", mv.Version, mv.Name, err)
	}
	return &location{repo: repo, source: mv.Source, version: mv, what: what}, nil
}

// lookupVersion finds the version a models:/ URI names.
func lookupVersion(ctx context.Context, st tracking.Registry, u tracking.ModelURI) (*tracking.ModelVersion, error) {
	switch u.Kind {
	case tracking.URIVersion:
		return st.GetModelVersion(ctx, u.Name, u.Version)
	case tracking.URIAlias:
		return st.GetVersionByAlias(ctx, u.Name, u.Alias)
	case tracking.URIStage:
		return st.LatestVersion(ctx, u.Name, u.Stage)
	case tracking.URILatest:
		return st.LatestVersion(ctx, u.Name, "")
	}
	return nil, fmt.Errorf("model URI %s: unexpected kind %d", u, u.Kind)
}

// runOf returns the run with this id or unique id prefix.
func runOf(ctx context.Context, st tracking.Store, idOrPrefix string) (*tracking.Run, error) {
	id, err := st.ResolveRunID(ctx, idOrPrefix)
	if err != nil {
		return nil, err
	}
	return st.GetRun(ctx, id)
}

// checkModelDir returns errs.NotFound unless dir is a directory holding an
// MLmodel file; what names the model for the message.
func checkModelDir(dir, what string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return errs.Errorf(errs.NotFound, "model %s: directory %s does not exist", what, dir)
	}
	if !info.IsDir() {
		return errs.Errorf(errs.NotFound, "model %s: %s is a file, not a model directory", what, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, modelfile.MLmodelFile)); err != nil {
		return errs.Errorf(errs.NotFound, "model %s: directory %s has no %s file, so it is not a model", what, dir, modelfile.MLmodelFile)
	}
	return nil
}

// Source is a serving.Source for a model URI: each Resolve looks the URI up
// again, so a server started on models:/iris@champion follows the alias
// when it moves, and one on models:/iris/Production follows the stage. A
// model in a remote repository is downloaded again only when the URI
// names another model.
type Source struct {
	store   tracking.Store
	schemes *artifact.Schemes
	uri     string

	mu    sync.Mutex
	token string
	model *Model
}

// NewSource returns the Source of uri, or errs.Invalid if uri is not a
// model URI; schemes opens the artifact locations (nil: those st reaches,
// artifact.SchemesFor).
func NewSource(st tracking.Store, schemes *artifact.Schemes, uri string) (*Source, error) {
	if _, err := tracking.ParseModelURI(uri); err != nil {
		return nil, err
	}
	return &Source{store: st, schemes: schemes, uri: uri}, nil
}

// Resolve returns the model directory the URI names now, and a token that
// changes when it names another model: "<name>/<version>" for a models:/
// URI, the model's artifact location for runs:/.
func (s *Source) Resolve(ctx context.Context) (dir, token string, err error) {
	loc, err := locate(ctx, s.store, s.schemes, s.uri)
	if err != nil {
		return "", "", err
	}
	token = loc.source
	if loc.version != nil {
		token = loc.version.Name + "/" + strconv.Itoa(loc.version.Version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model != nil && s.token == token {
		if _, err := os.Stat(s.model.Dir); err == nil {
			return s.model.Dir, token, nil
		}
	}
	m, err := fetch(ctx, loc)
	if err != nil {
		return "", "", err
	}
	s.model.Close()
	s.model, s.token = m, token
	return m.Dir, token, nil
}

// Close removes the last download, if any.
func (s *Source) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.model.Close()
	s.model = nil
}

// String returns the model URI.
func (s *Source) String() string { return s.uri }
