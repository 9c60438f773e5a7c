package registry

import (
	"context"
	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Request asks Register to register a model.
type Request struct {
	Name            string            // registered model; created if missing
	ModelURI        string            // runs:/<run>/<path>, or a models:/ URI to register again under Name
	Alias           string            // when set, pointed at the new version (moved if it exists)
	Stage           string            // when set, the new version's stage (any case)
	ArchiveExisting bool              // with Stage Staging or Production: archive the others in it
	Description     string            // the version's description
	Tags            map[string]string // the version's tags
}

// Register registers the model directory that req.ModelURI names as the
// next version of req.Name, then sets its alias and stage. The name, alias
// and stage are checked before anything is written, and the directory must
// hold an MLmodel file. The version's source is the artifact URI of the
// model directory and its run id the run that produced it (for a models:/
// URI, the source and run of the version it names). It returns the
// version with its alias and stage.
//
// schemes opens the artifact locations (nil: artifact.SchemesFor(st)).
func Register(ctx context.Context, st tracking.Store, schemes *artifact.Schemes, req Request) (*tracking.ModelVersion, error) {
	if err := tracking.ValidateModelName(req.Name); err != nil {
		return nil, err
	}
	if req.Alias != "" {
		if err := tracking.ValidateAlias(req.Alias); err != nil {
			return nil, err
		}
	}
	var stage tracking.Stage
	if req.Stage != "" {
		s, err := tracking.ParseStage(req.Stage)
		if err != nil {
			return nil, err
		}
		stage = s
	}
	if req.ArchiveExisting && !stage.Active() {
		return nil, errs.Errorf(errs.Invalid, "archiving existing versions only applies to stage Staging or Production, not %q", req.Stage)
	}
	model, err := Resolve(ctx, st, schemes, req.ModelURI)
	if err != nil {
		return nil, err
	}
	model.Close() // it exists and is a model: that was all to check
	source, runID := model.Source, ""
	if model.Version != nil {
		runID = model.Version.RunID
	} else {
		u, err := tracking.ParseModelURI(req.ModelURI)
		if err != nil {
			return nil, err
		}
		run, err := runOf(ctx, st, u.RunID)
		if err != nil {
			return nil, err
		}
		runID = run.Info.ID
	}

	mv, err := st.CreateModelVersion(ctx, req.Name, source, runID, req.Description, req.Tags)
	if err != nil {
		return nil, err
	}
	if req.Alias != "" {
		if err := st.SetAlias(ctx, req.Name, req.Alias, mv.Version); err != nil {
			return nil, err
		}
	}
	if stage != "" && stage != tracking.StageNone {
		if _, err := st.TransitionStage(ctx, req.Name, mv.Version, stage, req.ArchiveExisting); err != nil {
			return nil, err
		}
	}
	return st.GetModelVersion(ctx, req.Name, mv.Version)
}
