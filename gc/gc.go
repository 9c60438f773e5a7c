// Package gc permanently removes deleted runs and their artifacts, as
// `mlflow gc` does: runs in the deleted lifecycle stage (all, those deleted
// before a cutoff, or those named), on any store. A run that a registered
// model version points to is kept unless forced, since removing it would
// break the version. Each run is purged from the store first (in one
// transaction that checks it is still deleted, so a run restored meanwhile
// is left alone), then its artifacts are removed.
package gc

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Options select what to remove.
type Options struct {
	OlderThan time.Duration // only runs deleted longer ago than this; 0: any
	RunIDs    []string      // only these runs (ids or unique prefixes); they must be deleted
	DryRun    bool          // report, remove nothing
	Force     bool          // remove runs that registered model versions point to
	Now       time.Time     // the present, for OlderThan; zero: time.Now()
}

// Item is what happened to one run.
type Item struct {
	RunID       string `json:"run_id"`
	ArtifactURI string `json:"artifact_uri"`
	Bytes       int64  `json:"bytes"`             // size of its artifacts
	Removed     bool   `json:"removed"`           // false in a dry run or when kept
	Kept        string `json:"kept,omitempty"`    // why the run was kept
	Warning     string `json:"warning,omitempty"` // the run was purged but its artifacts could not be removed
}

// Collect removes the runs o selects and returns one Item per run, in id
// order.
func Collect(ctx context.Context, st tracking.Store, schemes *artifact.Schemes, o Options) ([]Item, error) {
	ids, err := selectRuns(ctx, st, o)
	if err != nil {
		return nil, err
	}
	protected, err := registeredRuns(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, id := range ids {
		run, err := st.GetRun(ctx, id)
		if errs.Code(err) == errs.NotFound {
			continue // purged by another gc meanwhile
		}
		if err != nil {
			return out, err
		}
		it := Item{RunID: id, ArtifactURI: run.Info.ArtifactURI}
		repo, rel, rerr := runRepository(schemes, run)
		if rerr == nil {
			it.Bytes, _ = repo.Size(ctx, rel)
		}
		if why, ok := protected[id]; ok && !o.Force {
			it.Kept = why + "; use --force to remove it anyway"
			out = append(out, it)
			continue
		}
		if o.DryRun {
			out = append(out, it)
			continue
		}
		if err := st.PurgeRun(ctx, id); err != nil {
			if errs.Code(err) == errs.Invalid || errs.Code(err) == errs.NotFound {
				it.Kept = errs.Message(err)
				out = append(out, it)
				continue
			}
			return out, err
		}
		it.Removed = true
		if rerr != nil {
			it.Warning = errs.Message(rerr)
		} else if err := repo.Delete(ctx, rel); err != nil {
			it.Warning = "its artifacts could not be removed: " + errs.Message(err)
		}
		out = append(out, it)
	}
	return out, nil
}

// selectRuns returns the ids of the runs to consider.
func selectRuns(ctx context.Context, st tracking.Store, o Options) ([]string, error) {
	if len(o.RunIDs) == 0 {
		var before int64
		if o.OlderThan > 0 {
			now := o.Now
			if now.IsZero() {
				now = time.Now()
			}
			before = now.Add(-o.OlderThan).UnixMilli()
		}
		return st.DeletedRuns(ctx, before)
	}
	seen := map[string]bool{}
	var ids []string
	for _, p := range o.RunIDs {
		id, err := st.ResolveRunID(ctx, p)
		if err != nil {
			return nil, err
		}
		run, err := st.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		if run.Info.LifecycleStage != tracking.LifecycleDeleted {
			return nil, errs.Errorf(errs.Invalid, "run %s is not deleted; gc removes only deleted runs (mlrun runs delete first)", id)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// registeredRuns maps the runs that model versions point to, to a note
// naming the versions.
func registeredRuns(ctx context.Context, st tracking.Store) (map[string]string, error) {
	models, err := st.ListRegisteredModels(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range models {
		versions, err := st.ListModelVersions(ctx, m.Name)
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			if v.RunID == "" {
				continue
			}
			note := fmt.Sprintf("model %q version %d", v.Name, v.Version)
			if prev, ok := out[v.RunID]; ok {
				note = prev + ", " + note
			}
			out[v.RunID] = note
		}
	}
	for id, note := range out {
		out[id] = "registered as " + note
	}
	return out, nil
}

// runRepository returns the repository that holds the run's artifact
// directory and the path to remove in it: the run's own directory
// (<location>/<run id>) when its artifact URI has the usual shape, else
// the artifact URI itself.
func runRepository(schemes *artifact.Schemes, run *tracking.Run) (artifact.Repository, string, error) {
	uri := strings.TrimSuffix(run.Info.ArtifactURI, "/")
	if uri == "" {
		return nil, "", errs.Errorf(errs.Invalid, "run %s has no artifact URI", run.Info.ID)
	}
	suffix := "/" + run.Info.ID + "/artifacts"
	if base, ok := strings.CutSuffix(uri, suffix); ok {
		repo, err := schemes.Open(base)
		return repo, run.Info.ID, err
	}
	repo, err := schemes.Open(uri)
	return repo, "", err
}

// ParseAge reads an age such as 30d, 12h, 1h30m or 45s: Go durations plus
// d for days.
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err == nil && n >= 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errs.Errorf(errs.Invalid, "--older-than %q is not an age; write e.g. 30d, 12h or 90m", s)
	}
	return d, nil
}
