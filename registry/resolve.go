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

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/tracking"
)

// Resolve returns the local model directory that uri names, and for a
// models:/ URI the version it resolved to (nil for runs:/). A runs:/ path
// goes through artifact.Join, so it cannot leave the run's artifacts; the
// run id may be a unique prefix. The directory must exist and hold an
// MLmodel file, else errs.NotFound.
func Resolve(ctx context.Context, st tracking.Store, uri string) (dir string, version *tracking.ModelVersion, err error) {
	u, err := tracking.ParseModelURI(uri)
	if err != nil {
		return "", nil, err
	}
	if u.Kind == tracking.URIRun {
		run, err := runOf(ctx, st, u.RunID)
		if err != nil {
			return "", nil, err
		}
		dir, err := runModelDir(run, u.Path)
		if err != nil {
			return "", nil, err
		}
		if err := checkModelDir(dir, uri); err != nil {
			return "", nil, err
		}
		return dir, nil, nil
	}
	mv, err := lookupVersion(ctx, st, u)
	if err != nil {
		return "", nil, err
	}
	dir, err = artifact.DirFromURI(mv.Source)
	if err != nil {
		return "", nil, fmt.Errorf("version %d of %q: %w", mv.Version, mv.Name, err)
	}
	if err := checkModelDir(dir, fmt.Sprintf("%s (version %d of %q)", uri, mv.Version, mv.Name)); err != nil {
		return "", nil, err
	}
	return dir, mv, nil
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

// runModelDir returns the directory of the artifact path inside the run's
// artifacts.
func runModelDir(run *tracking.Run, path string) (string, error) {
	root, err := artifact.DirFromURI(run.Info.ArtifactURI)
	if err != nil {
		return "", err
	}
	return artifact.Join(root, filepath.FromSlash(path))
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
// when it moves, and one on models:/iris/Production follows the stage.
type Source struct {
	store tracking.Store
	uri   string
}

// NewSource returns the Source of uri, or errs.Invalid if uri is not a
// model URI.
func NewSource(st tracking.Store, uri string) (*Source, error) {
	if _, err := tracking.ParseModelURI(uri); err != nil {
		return nil, err
	}
	return &Source{store: st, uri: uri}, nil
}

// Resolve returns the model directory the URI names now, and a token that
// changes when it names another model: "<name>/<version>" for a models:/
// URI, the directory itself for runs:/.
func (s *Source) Resolve(ctx context.Context) (dir, token string, err error) {
	dir, mv, err := Resolve(ctx, s.store, s.uri)
	if err != nil {
		return "", "", err
	}
	if mv == nil {
		return dir, dir, nil
	}
	return dir, mv.Name + "/" + strconv.Itoa(mv.Version), nil
}

// String returns the model URI.
func (s *Source) String() string { return s.uri }
