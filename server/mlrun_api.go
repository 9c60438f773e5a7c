package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// This file serves mlrun's store API, what a tracking.Store needs beyond
// MLflow's REST API (package httpstore is its client): run ownership,
// heartbeats and reaping, schedules and their leases, the step cache, run
// id prefixes, and the tracking types with every field (host, pid,
// heartbeat) that MLflow's wire shapes drop.
//
//	POST /api/2.0/mlrun/store/<Method>   {"args": [...]}  ->  {"result": ...}
//
// <Method> is a tracking.Store method; args are its arguments after the
// context, in order, as their tracking types' JSON; result is its result
// (an array when it has several). Errors are MLflow's error JSON. Methods
// that take callbacks are served in two steps: the client asks which of
// its processes the store thinks are running (probe-pids), decides
// locally, and sends its decision. Under --auth each method needs what the MLflow endpoint
// doing the same needs (storeNeeds, in mlrun_guard.go); what is global
// (purging, deleted runs, schedules) is for admins.

// MlrunAPIPrefix is the prefix of mlrun's store API.
const MlrunAPIPrefix = "/api/2.0/mlrun"

// storeCall is one method of the store API: it decodes args and calls st.
type storeCall func(ctx context.Context, st Store, a *callArgs) (any, error)

// callArgs are a call's positional arguments.
type callArgs struct {
	raw []json.RawMessage
}

// into decodes the arguments into ptrs, in order; a missing trailing
// argument leaves its zero value.
func (a *callArgs) into(ptrs ...any) error {
	if len(a.raw) > len(ptrs) {
		return errs.Errorf(errs.Invalid, "%d arguments given; the method takes %d", len(a.raw), len(ptrs))
	}
	for i, raw := range a.raw {
		if err := json.Unmarshal(raw, ptrs[i]); err != nil {
			return errs.Errorf(errs.Invalid, "argument %d: %v", i+1, err)
		}
	}
	return nil
}

// ClaimDecision is the client's answer to ClaimFire's decide: the decision
// it made (nil: none) on the schedule as it saw it.
type ClaimDecision struct {
	Seen     *tracking.Schedule `json:"seen"`
	Decision *tracking.Decision `json:"decision"`
}

// ClaimResult answers a claim: the fire inserted, or Stale with the
// schedule as it now is when it changed since the client saw it.
type ClaimResult struct {
	Fire     *tracking.Fire     `json:"fire"`
	Stale    bool               `json:"stale"`
	Schedule *tracking.Schedule `json:"schedule,omitempty"`
}

// OwnedPIDs are the pids of a host's processes that own RUNNING runs and
// fires, as the store sees them.
type OwnedPIDs struct {
	Runs  []int `json:"runs"`
	Fires []int `json:"fires"`
}

// sameSchedule reports whether the schedule a client decided on is the
// one the store holds now.
func sameSchedule(a, b *tracking.Schedule) bool {
	return a != nil && b != nil && a.UpdatedAt.Equal(b.UpdatedAt) && a.NextRun.Equal(b.NextRun) &&
		a.Running == b.Running && a.Queued == b.Queued && a.Paused == b.Paused && a.LastRun.Equal(b.LastRun)
}

// sortedPIDs returns the keys of set in order.
func sortedPIDs(set map[int]bool) []int {
	out := []int{}
	for p := range set {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// deadSet returns an alive function that reports the pids listed dead.
func deadSet(dead []int) func(int) bool {
	m := map[int]bool{}
	for _, p := range dead {
		m[p] = true
	}
	return func(pid int) bool { return !m[pid] }
}

// never is a staleness that no heartbeat reaches.
const never = 100 * 365 * 24 * time.Hour

// storeCalls are the methods of the store API.
var storeCalls = map[string]storeCall{
	"ArtifactRoot": func(ctx context.Context, st Store, a *callArgs) (any, error) { return st.ArtifactRoot(), a.into() },
	// RunStore.
	"CreateExperiment": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var tags map[string]string
		if err := a.into(&name, &tags); err != nil {
			return nil, err
		}
		return st.CreateExperiment(ctx, name, tags)
	},
	"GetExperiment":       oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.GetExperiment(ctx, s) }),
	"GetExperimentByName": oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.GetExperimentByName(ctx, s) }),
	"EnsureExperiment":    oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.EnsureExperiment(ctx, s) }),
	"ListExperiments": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var v tracking.ViewType
		if err := a.into(&v); err != nil {
			return nil, err
		}
		return st.ListExperiments(ctx, v)
	},
	"DeleteExperiment":  oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.DeleteExperiment(ctx, s) }),
	"RestoreExperiment": oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.RestoreExperiment(ctx, s) }),
	"RenameExperiment": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id, name string
		if err := a.into(&id, &name); err != nil {
			return nil, err
		}
		return nil, st.RenameExperiment(ctx, id, name)
	},
	"SetExperimentTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id, k, v string
		if err := a.into(&id, &k, &v); err != nil {
			return nil, err
		}
		return nil, st.SetExperimentTag(ctx, id, k, v)
	},
	"CreateRun": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var nr tracking.NewRun
		if err := a.into(&nr); err != nil {
			return nil, err
		}
		return st.CreateRun(ctx, nr)
	},
	"GetRun":       oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.GetRun(ctx, s) }),
	"ResolveRunID": oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.ResolveRunID(ctx, s) }),
	"UpdateRun": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id string
		var u tracking.RunUpdate
		if err := a.into(&id, &u); err != nil {
			return nil, err
		}
		return nil, st.UpdateRun(ctx, id, u)
	},
	"DeleteRun":  oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.DeleteRun(ctx, s) }),
	"RestoreRun": oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.RestoreRun(ctx, s) }),
	"ExperimentStats": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		if err := a.into(); err != nil {
			return nil, err
		}
		return st.ExperimentStats(ctx)
	},
	"PurgeRun": oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.PurgeRun(ctx, s) }),
	"DeletedRuns": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var before int64
		if err := a.into(&before); err != nil {
			return nil, err
		}
		return st.DeletedRuns(ctx, before)
	},
	"SetRunsDeleted": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var ids []string
		var deleted bool
		if err := a.into(&ids, &deleted); err != nil {
			return nil, err
		}
		return nil, st.SetRunsDeleted(ctx, ids, deleted)
	},
	"LogBatch": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id string
		var m []tracking.Metric
		var p []tracking.Param
		var t []tracking.Tag
		if err := a.into(&id, &m, &p, &t); err != nil {
			return nil, err
		}
		return nil, st.LogBatch(ctx, id, m, p, t)
	},
	"DeleteTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id, k string
		if err := a.into(&id, &k); err != nil {
			return nil, err
		}
		return nil, st.DeleteTag(ctx, id, k)
	},
	"MetricHistory": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id, k string
		if err := a.into(&id, &k); err != nil {
			return nil, err
		}
		return st.MetricHistory(ctx, id, k)
	},
	"SearchRuns": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var q tracking.SearchRuns
		if err := a.into(&q); err != nil {
			return nil, err
		}
		runs, token, err := st.SearchRuns(ctx, q)
		return []any{runs, token}, err
	},
	"CountRuns": func(ctx context.Context, st Store, a *callArgs) (any, error) { return st.CountRuns(ctx) },
	"ClaimRun": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var id, host string
		var pid int
		if err := a.into(&id, &host, &pid); err != nil {
			return nil, err
		}
		return nil, st.ClaimRun(ctx, id, host, pid)
	},
	"Heartbeat": oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.Heartbeat(ctx, s) }),
	"ProbePIDs": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var host string
		if err := a.into(&host); err != nil {
			return nil, err
		}
		runs, fires := map[int]bool{}, map[int]bool{}
		if _, err := st.ReapDeadRuns(ctx, host, func(pid int) bool { runs[pid] = true; return true }, never); err != nil {
			return nil, err
		}
		if _, err := st.ReapFires(ctx, host, func(pid int) bool { fires[pid] = true; return true }, time.Now()); err != nil {
			return nil, err
		}
		return OwnedPIDs{Runs: sortedPIDs(runs), Fires: sortedPIDs(fires)}, nil
	},
	"ReapDeadRuns": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var host string
		var dead []int
		var staleMillis int64
		if err := a.into(&host, &dead, &staleMillis); err != nil {
			return nil, err
		}
		return st.ReapDeadRuns(ctx, host, deadSet(dead), time.Duration(staleMillis)*time.Millisecond)
	},
	// Registry.
	"CreateRegisteredModel": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, desc string
		var tags map[string]string
		if err := a.into(&name, &desc, &tags); err != nil {
			return nil, err
		}
		return st.CreateRegisteredModel(ctx, name, desc, tags)
	},
	"GetRegisteredModel":   oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.GetRegisteredModel(ctx, s) }),
	"ListRegisteredModels": func(ctx context.Context, st Store, a *callArgs) (any, error) { return st.ListRegisteredModels(ctx) },
	"DeleteRegisteredModel": oneString(func(ctx context.Context, st Store, s string) (any, error) {
		return nil, st.DeleteRegisteredModel(ctx, s)
	}),
	"RenameRegisteredModel": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, newName string
		if err := a.into(&name, &newName); err != nil {
			return nil, err
		}
		return st.RenameRegisteredModel(ctx, name, newName)
	},
	"UpdateRegisteredModel": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, desc string
		if err := a.into(&name, &desc); err != nil {
			return nil, err
		}
		return st.UpdateRegisteredModel(ctx, name, desc)
	},
	"SetRegisteredModelTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, k, v string
		if err := a.into(&name, &k, &v); err != nil {
			return nil, err
		}
		return nil, st.SetRegisteredModelTag(ctx, name, k, v)
	},
	"DeleteRegisteredModelTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, k string
		if err := a.into(&name, &k); err != nil {
			return nil, err
		}
		return nil, st.DeleteRegisteredModelTag(ctx, name, k)
	},
	"CreateModelVersion": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, source, runID, desc string
		var tags map[string]string
		if err := a.into(&name, &source, &runID, &desc, &tags); err != nil {
			return nil, err
		}
		return st.CreateModelVersion(ctx, name, source, runID, desc, tags)
	},
	"GetModelVersion": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var v int
		if err := a.into(&name, &v); err != nil {
			return nil, err
		}
		return st.GetModelVersion(ctx, name, v)
	},
	"ListModelVersions": oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.ListModelVersions(ctx, s) }),
	"DeleteModelVersion": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var v int
		if err := a.into(&name, &v); err != nil {
			return nil, err
		}
		return nil, st.DeleteModelVersion(ctx, name, v)
	},
	"UpdateModelVersion": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, desc string
		var v int
		if err := a.into(&name, &v, &desc); err != nil {
			return nil, err
		}
		return st.UpdateModelVersion(ctx, name, v, desc)
	},
	"SetModelVersionTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, k, val string
		var v int
		if err := a.into(&name, &v, &k, &val); err != nil {
			return nil, err
		}
		return nil, st.SetModelVersionTag(ctx, name, v, k, val)
	},
	"DeleteModelVersionTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, k string
		var v int
		if err := a.into(&name, &v, &k); err != nil {
			return nil, err
		}
		return nil, st.DeleteModelVersionTag(ctx, name, v, k)
	},
	"LatestVersion": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var stage tracking.Stage
		if err := a.into(&name, &stage); err != nil {
			return nil, err
		}
		return st.LatestVersion(ctx, name, stage)
	},
	"SetAlias": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, alias string
		var v int
		if err := a.into(&name, &alias, &v); err != nil {
			return nil, err
		}
		return nil, st.SetAlias(ctx, name, alias, v)
	},
	"DeleteAlias": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, alias string
		if err := a.into(&name, &alias); err != nil {
			return nil, err
		}
		return nil, st.DeleteAlias(ctx, name, alias)
	},
	"GetVersionByAlias": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, alias string
		if err := a.into(&name, &alias); err != nil {
			return nil, err
		}
		return st.GetVersionByAlias(ctx, name, alias)
	},
	"TransitionStage": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var v int
		var stage tracking.Stage
		var archive bool
		if err := a.into(&name, &v, &stage, &archive); err != nil {
			return nil, err
		}
		return st.TransitionStage(ctx, name, v, stage, archive)
	},
	// ScheduleStore.
	"CreateSchedule": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var s tracking.Schedule
		if err := a.into(&s); err != nil {
			return nil, err
		}
		err := st.CreateSchedule(ctx, &s)
		return &s, err
	},
	"GetSchedule":    oneString(func(ctx context.Context, st Store, s string) (any, error) { return st.GetSchedule(ctx, s) }),
	"ListSchedules":  func(ctx context.Context, st Store, a *callArgs) (any, error) { return st.ListSchedules(ctx) },
	"DeleteSchedule": oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.DeleteSchedule(ctx, s) }),
	"SetPaused": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var paused bool
		var next time.Time
		if err := a.into(&name, &paused, &next); err != nil {
			return nil, err
		}
		return nil, st.SetPaused(ctx, name, paused, next)
	},
	"ApplySchedules": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var source string
		var list []*tracking.Schedule
		if err := a.into(&source, &list); err != nil {
			return nil, err
		}
		return st.ApplySchedules(ctx, source, list)
	},
	"Fires": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var limit int
		if err := a.into(&name, &limit); err != nil {
			return nil, err
		}
		return st.Fires(ctx, name, limit)
	},
	"ClaimFire": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name string
		var d ClaimDecision
		if err := a.into(&name, &d); err != nil {
			return nil, err
		}
		var res ClaimResult
		fire, err := st.ClaimFire(ctx, name, func(s *tracking.Schedule) *tracking.Decision {
			res.Stale, res.Schedule = !sameSchedule(d.Seen, s), s
			if res.Stale {
				return nil
			}
			return d.Decision
		})
		if !res.Stale {
			res.Schedule = nil
		}
		res.Fire = fire
		return res, err
	},
	"StartQueued": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var name, host string
		var pid int
		var started time.Time
		if err := a.into(&name, &host, &pid, &started); err != nil {
			return nil, err
		}
		return st.StartQueued(ctx, name, host, pid, started)
	},
	"EndFire": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var f tracking.Fire
		if err := a.into(&f); err != nil {
			return nil, err
		}
		return nil, st.EndFire(ctx, &f)
	},
	"ReapFires": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var host string
		var dead []int
		var now time.Time
		if err := a.into(&host, &dead, &now); err != nil {
			return nil, err
		}
		return st.ReapFires(ctx, host, deadSet(dead), now)
	},
	"RunByTag": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var k, v string
		if err := a.into(&k, &v); err != nil {
			return nil, err
		}
		id, status, err := st.RunByTag(ctx, k, v)
		return []any{id, status}, err
	},
	// StepCache.
	"GetStepCache": oneString(func(ctx context.Context, st Store, s string) (any, error) {
		b, err := st.GetStepCache(ctx, s)
		return b, err // []byte: base64 in JSON; nil: null
	}),
	"PutStepCache": func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var key, kind, step, runID string
		var entry []byte
		if err := a.into(&key, &kind, &step, &runID, &entry); err != nil {
			return nil, err
		}
		return nil, st.PutStepCache(ctx, key, kind, step, runID, entry)
	},
	"DeleteStepCache": oneString(func(ctx context.Context, st Store, s string) (any, error) { return nil, st.DeleteStepCache(ctx, s) }),
}

// oneString adapts a method taking one string argument.
func oneString(fn func(ctx context.Context, st Store, s string) (any, error)) storeCall {
	return func(ctx context.Context, st Store, a *callArgs) (any, error) {
		var s string
		if err := a.into(&s); err != nil {
			return nil, err
		}
		return fn(ctx, st, s)
	}
}

// mlrunRoutes mounts mlrun's store API.
func (s *Server) mlrunRoutes() {
	s.mux.HandleFunc("POST "+MlrunAPIPrefix+"/store/{method}", s.storeCall)
}

// storeCall serves POST /api/2.0/mlrun/store/<Method>.
func (s *Server) storeCall(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("method")
	call, ok := storeCalls[name]
	if name == "ServesArtifacts" {
		// Not a store method: whether this server proxies artifacts,
		// which a client under --auth cannot learn by listing the root.
		call, ok = func(context.Context, Store, *callArgs) (any, error) { return s.opts.ServeArtifacts, nil }, true
	}
	if !ok {
		writeCodeError(w, codeEndpointNotFound, fmt.Sprintf("the store API has no method %q", name))
		return
	}
	var req struct {
		Args []json.RawMessage `json:"args"`
	}
	if err := s.decode(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	a := &callArgs{raw: req.Args}
	g := s.guardOf(r)
	if g != nil {
		if err := g.check(name, a); err != nil {
			if d, ok := err.(*deniedError); ok {
				writeCodeError(w, codePermissionDenied, d.msg)
				return
			}
			s.writeError(w, r, err)
			return
		}
	}
	var res any
	var err error
	if alt, ok := g.instead(name); ok {
		res = alt
	} else if res, err = call(r.Context(), s.store, a); err != nil {
		s.writeError(w, r, err)
		return
	}
	if g != nil {
		if res, err = g.after(name, res); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if v := reflect.ValueOf(res); res == nil || (v.Kind() == reflect.Pointer && v.IsNil()) {
		res = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": res})
}
