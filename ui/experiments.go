package ui

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// experimentRow is one line of the experiments page.
type experimentRow struct {
	*tracking.Experiment
	Stats     tracking.ExperimentStats
	HasStats  bool
	Deleted   bool
	CanRename bool // the user holds EDIT on it
	CanManage bool // the user holds MANAGE on it: delete, restore
}

// experimentsData is the experiments page.
type experimentsData struct {
	Experiments []experimentRow
	ShowDeleted bool
	CanEdit     bool
	TotalRuns   int
	HasStats    bool
	Error       string // a failed create or rename, shown inline
	NewName     string // what was typed, kept after an error
}

// admin returns the store that renames, deletes and restores experiments
// and counts their runs: every tracking.Store does.
func (h *Handler) admin() (tracking.Store, bool) {
	return h.opt.Store, h.opt.Store != nil
}

func (h *Handler) experimentsPage(w http.ResponseWriter, r *http.Request) {
	h.showExperiments(w, r, "", "", http.StatusOK)
}

func (h *Handler) showExperiments(w http.ResponseWriter, r *http.Request, formErr, typed string, status int) {
	ctx := r.Context()
	showDeleted := r.URL.Query().Get("view") == "deleted"
	view := tracking.ActiveOnly
	if showDeleted {
		view = tracking.All
	}
	exps, err := h.opt.Store.ListExperiments(ctx, view)
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	d := experimentsData{ShowDeleted: showDeleted, Error: formErr, NewName: typed}
	var stats map[string]tracking.ExperimentStats
	if a, ok := h.admin(); ok {
		d.CanEdit = true
		if stats, err = a.ExperimentStats(ctx); err != nil {
			h.fail(w, r, err, 0)
			return
		}
		d.HasStats = true
	}
	for _, e := range exps {
		if !h.canExperiment(r, e.ID, permRead) {
			continue
		}
		row := experimentRow{Experiment: e, Deleted: e.LifecycleStage == tracking.LifecycleDeleted,
			CanRename: h.canExperiment(r, e.ID, permEdit), CanManage: h.canExperiment(r, e.ID, permManage)}
		if stats != nil {
			row.Stats, row.HasStats = stats[e.ID], true
			if row.Stats.LastRun == 0 {
				row.Stats.LastRun = e.LastUpdateTime
			}
			d.TotalRuns += row.Stats.Runs
		}
		d.Experiments = append(d.Experiments, row)
	}
	if stats == nil {
		// Without per-experiment counts, find out at least whether the
		// store is empty, so that the page can say where runs come from.
		runs, _, err := h.opt.Store.SearchRuns(ctx, tracking.SearchRuns{MaxResults: 1})
		if err != nil {
			h.fail(w, r, err, 0)
			return
		}
		d.TotalRuns = len(runs)
	}
	h.renderStatus(w, r, "experiments", page{Title: "Experiments", Nav: "experiments", Data: d, PageScript: "app.js"}, status)
}

func (h *Handler) createExperiment(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	e, err := h.opt.Store.CreateExperiment(r.Context(), name, nil)
	if err != nil {
		h.showExperiments(w, r, errs.Message(err), name, errs.HTTPStatus(errs.Code(err)))
		return
	}
	if h.opt.Access != nil {
		// As the REST API does: whoever creates an experiment manages it.
		if err := h.opt.Access.ExperimentCreated(r, e.ID); err != nil {
			h.fail(w, r, err, 0)
			return
		}
	}
	redirect(w, r, "/experiments/"+e.ID)
}

func (h *Handler) experimentAction(w http.ResponseWriter, r *http.Request) {
	a, ok := h.admin()
	if !ok {
		h.fail(w, r, errs.Errorf(errs.Invalid, "this store cannot rename, delete or restore experiments"), 0)
		return
	}
	id := r.PathValue("id")
	// The permissions the REST API asks: EDIT to rename, MANAGE to delete or restore.
	need := map[string]string{"rename": permEdit, "delete": permManage, "restore": permManage}[r.PathValue("action")]
	if need != "" {
		if err := h.needExperiment(r, id, need); err != nil {
			h.fail(w, r, err, 0)
			return
		}
	}
	var err error
	switch r.PathValue("action") {
	case "rename":
		name := strings.TrimSpace(r.PostFormValue("name"))
		err = a.RenameExperiment(r.Context(), id, name)
	case "delete":
		err = a.DeleteExperiment(r.Context(), id)
	case "restore":
		err = a.RestoreExperiment(r.Context(), id)
	default:
		h.fail(w, r, errs.Errorf(errs.NotFound, "no experiment action %q; use rename, delete or restore", r.PathValue("action")), 0)
		return
	}
	if err != nil {
		h.showExperiments(w, r, errs.Message(err), "", errs.HTTPStatus(errs.Code(err)))
		return
	}
	redirect(w, r, r.PostFormValue("back"))
}

// writeJSONError answers with MLflow's error shape.
func writeJSONError(w http.ResponseWriter, err error, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	code := errs.Code(err)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": errs.Message(err)})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
