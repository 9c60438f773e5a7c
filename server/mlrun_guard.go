package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// This file is who may call which method of the store API under --auth:
// the same users and permissions as MLflow's endpoints (auth.go). A method
// on a run needs its permission on the run's experiment, a method on a
// registered model its permission on the model; what is global is for
// admins.

// deniedError is a refusal for want of permission (403 PERMISSION_DENIED);
// the checks' other errors are answered as the store's are.
type deniedError struct{ msg string }

func (e *deniedError) Error() string { return e.msg }

// denied makes a refusal whose message is "Permission denied: " and the
// reason formatted.
func denied(format string, a ...any) error {
	return &deniedError{msg: "Permission denied: " + fmt.Sprintf(format, a...)}
}

// storeNeed checks, before the call, that g's user may make it with args a.
type storeNeed func(g *guard, a *callArgs) error

// guard checks one non-admin request to the store API.
type guard struct {
	s *Server
	r *http.Request
	p *principal
	// creates is set when EnsureExperiment or CreateModelVersion is to
	// create the experiment or the registered model.
	creates bool
	// noRuns is set when SearchRuns of every experiment finds none the
	// user may read.
	noRuns bool
}

// guardOf returns the guard of r, or nil when every call is allowed: no
// --auth, or an admin.
func (s *Server) guardOf(r *http.Request) *guard {
	if s.opts.Auth == nil {
		return nil
	}
	p, ok := r.Context().Value(principalKey{}).(*principal)
	if ok && p.admin {
		return nil
	}
	return &guard{s: s, r: r, p: p}
}

// check returns a permission error unless the user may call method.
func (g *guard) check(method string, a *callArgs) error {
	if g.p == nil {
		return denied("the store API needs an authenticated user")
	}
	need, ok := storeNeeds[method]
	if !ok {
		return denied("the store API's %s is for admins", method)
	}
	return need(g, a)
}

// arg decodes argument i into ptr; a missing argument leaves its zero value.
func (a *callArgs) arg(i int, ptr any) error {
	if i >= len(a.raw) {
		return nil
	}
	if err := json.Unmarshal(a.raw[i], ptr); err != nil {
		return errs.Errorf(errs.Invalid, "argument %d: %v", i+1, err)
	}
	return nil
}

// str is argument i as a string ("" when it is not one).
func (a *callArgs) str(i int) string {
	var s string
	_ = a.arg(i, &s)
	return s
}

// has checks that the user has at least need on a resource.
func (g *guard) has(kind, resource, need string) error {
	perm, err := g.s.opts.Auth.permission(g.r.Context(), g.p, kind, resource)
	if err != nil {
		return err
	}
	if permRank[perm] < permRank[need] {
		return denied("user %q has %s on %s %q and needs %s", g.p.name, perm, kindName[kind], resource, need)
	}
	return nil
}

// kindName names a kind of resource in messages.
var kindName = map[string]string{kindExperiment: "experiment", kindModel: "registered model"}

// run checks need on the experiment of the run id; a run that does not
// exist passes, for the call to answer "does not exist".
func (g *guard) run(id, need string) error {
	r, err := g.s.store.GetRun(g.r.Context(), id)
	if err != nil {
		return nil
	}
	return g.has(kindExperiment, r.Info.ExperimentID, need)
}

// onExperiment needs perm on the experiment whose id is argument 0.
func onExperiment(need string) storeNeed {
	return func(g *guard, a *callArgs) error { return g.has(kindExperiment, a.str(0), need) }
}

// onRun needs perm on the experiment of the run whose id is argument 0.
func onRun(need string) storeNeed {
	return func(g *guard, a *callArgs) error { return g.run(a.str(0), need) }
}

// onModel needs perm on the registered model named by argument 0.
func onModel(need string) storeNeed {
	return func(g *guard, a *callArgs) error { return g.has(kindModel, a.str(0), need) }
}

// anyUser lets every authenticated user call the method.
func anyUser(*guard, *callArgs) error { return nil }

// storeNeeds says what a non-admin needs to call each method; the methods
// missing (purging, listing deleted runs, schedules and their fires, runs by
// tag) are for admins.
var storeNeeds = map[string]storeNeed{
	"ArtifactRoot":    anyUser,
	"ServesArtifacts": anyUser,
	// How many runs the store holds (`mlrun runs list` prints it): a
	// number, no run's data.
	"CountRuns": anyUser,
	// Experiments: creating is open to every user (who gets MANAGE on
	// what it creates, see after); ListExperiments answers those readable.
	"CreateExperiment": anyUser,
	"EnsureExperiment": func(g *guard, a *callArgs) error {
		e, err := g.s.store.GetExperimentByName(g.r.Context(), a.str(0))
		if err != nil {
			g.creates = errs.Code(err) == errs.NotFound
			return nil
		}
		return g.has(kindExperiment, e.ID, PermRead)
	},
	"GetExperiment": onExperiment(PermRead),
	"GetExperimentByName": func(g *guard, a *callArgs) error {
		e, err := g.s.store.GetExperimentByName(g.r.Context(), a.str(0))
		if err != nil {
			return nil
		}
		return g.has(kindExperiment, e.ID, PermRead)
	},
	"ListExperiments":   anyUser,
	"DeleteExperiment":  onExperiment(PermManage),
	"RestoreExperiment": onExperiment(PermManage),
	"RenameExperiment":  onExperiment(PermEdit),
	"SetExperimentTag":  onExperiment(PermEdit),
	// Runs.
	"CreateRun": func(g *guard, a *callArgs) error {
		var nr tracking.NewRun
		if err := a.arg(0, &nr); err != nil {
			return err
		}
		id := nr.ExperimentID
		if id == "" {
			id = "0"
		}
		return g.has(kindExperiment, id, PermEdit)
	},
	"GetRun": onRun(PermRead),
	"ResolveRunID": func(g *guard, a *callArgs) error {
		id, err := g.s.store.ResolveRunID(g.r.Context(), a.str(0))
		if err != nil {
			return nil
		}
		return g.run(id, PermRead)
	},
	"UpdateRun":     onRun(PermEdit),
	"DeleteRun":     onRun(PermManage),
	"RestoreRun":    onRun(PermManage),
	"LogBatch":      onRun(PermEdit),
	"DeleteTag":     onRun(PermEdit),
	"MetricHistory": onRun(PermRead),
	"Heartbeat":     onRun(PermEdit),
	"SetRunsDeleted": func(g *guard, a *callArgs) error {
		var ids []string
		if err := a.arg(0, &ids); err != nil {
			return err
		}
		for _, id := range ids {
			if err := g.run(id, PermManage); err != nil {
				return err
			}
		}
		return nil
	},
	"SearchRuns": func(g *guard, a *callArgs) error {
		var q tracking.SearchRuns
		if err := a.arg(0, &q); err != nil {
			return err
		}
		if len(q.ExperimentIDs) == 0 {
			// Every experiment: those the user may read.
			all, err := g.s.store.ListExperiments(g.r.Context(), tracking.All)
			if err != nil {
				return err
			}
			for _, e := range all {
				if g.s.opts.Auth.allowed(g.r, kindExperiment, e.ID, PermRead) {
					q.ExperimentIDs = append(q.ExperimentIDs, e.ID)
				}
			}
			g.noRuns = len(q.ExperimentIDs) == 0
			raw, err := json.Marshal(q)
			if err != nil {
				return fmt.Errorf("encode the search: %w", err)
			}
			if len(a.raw) == 0 {
				a.raw = append(a.raw, nil)
			}
			a.raw[0] = raw
			return nil
		}
		for _, id := range q.ExperimentIDs {
			if err := g.has(kindExperiment, id, PermRead); err != nil {
				return err
			}
		}
		return nil
	},
	// Reaping: a non-admin's client does not see other processes' pids
	// (see instead), and fails only runs whose heartbeat stopped.
	"ProbePIDs": anyUser,
	"ReapDeadRuns": func(g *guard, a *callArgs) error {
		// Only runs whose heartbeat stopped for minStale or more, the
		// store's own evidence; never the pids the client calls dead.
		var staleMillis int64
		if err := a.arg(2, &staleMillis); err != nil {
			return err
		}
		staleMillis = max(staleMillis, minStale.Milliseconds())
		host, _ := json.Marshal(a.str(0))
		stale, _ := json.Marshal(staleMillis)
		a.raw = []json.RawMessage{host, json.RawMessage("[]"), stale}
		return nil
	},
	// The step cache: entries are found by the hash of a step's inputs.
	// Storing one needs EDIT on the run that computed it.
	"GetStepCache":    anyUser,
	"DeleteStepCache": anyUser,
	"PutStepCache":    func(g *guard, a *callArgs) error { return g.run(a.str(3), PermEdit) },
	// The registry.
	"CreateRegisteredModel":    anyUser,
	"ListRegisteredModels":     anyUser,
	"GetRegisteredModel":       onModel(PermRead),
	"RenameRegisteredModel":    onModel(PermEdit),
	"UpdateRegisteredModel":    onModel(PermEdit),
	"SetRegisteredModelTag":    onModel(PermEdit),
	"DeleteRegisteredModelTag": onModel(PermEdit),
	"DeleteRegisteredModel":    onModel(PermManage),
	"CreateModelVersion": func(g *guard, a *callArgs) error {
		// The store creates the model of a first version: then its
		// creator gets MANAGE on it (see after).
		if _, err := g.s.store.GetRegisteredModel(g.r.Context(), a.str(0)); errs.Code(err) == errs.NotFound {
			g.creates = true
			return nil
		}
		return g.has(kindModel, a.str(0), PermEdit)
	},
	"GetModelVersion":       onModel(PermRead),
	"ListModelVersions":     onModel(PermRead),
	"UpdateModelVersion":    onModel(PermEdit),
	"SetModelVersionTag":    onModel(PermEdit),
	"DeleteModelVersionTag": onModel(PermEdit),
	"DeleteModelVersion":    onModel(PermManage),
	"LatestVersion":         onModel(PermRead),
	"SetAlias":              onModel(PermEdit),
	"DeleteAlias":           onModel(PermEdit),
	"GetVersionByAlias":     onModel(PermRead),
	"TransitionStage":       onModel(PermEdit),
}

// after adjusts a non-admin's result: the creator of an experiment or a
// registered model gets MANAGE on it, and lists keep what the user may
// read.
func (g *guard) after(method string, res any) (any, error) {
	au := g.s.opts.Auth
	switch method {
	case "CreateExperiment", "EnsureExperiment":
		if e, _ := res.(*tracking.Experiment); e != nil && (method == "CreateExperiment" || g.creates) {
			return res, au.grantCreator(g.r, kindExperiment, e.ID)
		}
	case "CreateModelVersion":
		if v, _ := res.(*tracking.ModelVersion); v != nil && g.creates {
			return res, au.grantCreator(g.r, kindModel, v.Name)
		}
	case "CreateRegisteredModel":
		if m, _ := res.(*tracking.RegisteredModel); m != nil {
			return res, au.grantCreator(g.r, kindModel, m.Name)
		}
	case "ListExperiments":
		list, _ := res.([]*tracking.Experiment)
		out := []*tracking.Experiment{}
		for _, e := range list {
			if au.allowed(g.r, kindExperiment, e.ID, PermRead) {
				out = append(out, e)
			}
		}
		return out, nil
	case "ListRegisteredModels":
		list, _ := res.([]*tracking.RegisteredModel)
		out := []*tracking.RegisteredModel{}
		for _, m := range list {
			if au.allowed(g.r, kindModel, m.Name, PermRead) {
				out = append(out, m)
			}
		}
		return out, nil
	}
	return res, nil
}

// minStale is the shortest heartbeat silence after which a non-admin's
// reaping fails a run (mlrun's client itself uses 2 minutes).
const minStale = 2 * time.Minute

// instead returns what a non-admin's call answers without calling the
// store: ProbePIDs names no pid, so that the client reports none dead (it
// could name any).
func (g *guard) instead(method string) (any, bool) {
	if g == nil {
		return nil, false
	}
	switch method {
	case "ProbePIDs":
		return OwnedPIDs{Runs: []int{}, Fires: []int{}}, true
	case "SearchRuns":
		if g.noRuns {
			return []any{[]*tracking.Run{}, ""}, true
		}
	}
	return nil, false
}
