package ui

import (
	"fmt"
	"net/http"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Access decides what the user of a request may see and change: `mlrun
// server --auth` passes its users and per-experiment and per-model
// permissions (server.Auth implements it). The server has already asked
// for and checked the user's HTTP basic credentials before a request
// reaches the UI, as MLflow's basic-auth app does for its pages; the UI
// then shows only the experiments, runs and models the user may READ, and
// refuses changes without EDIT (rename, move an alias, change a stage) or
// MANAGE (delete, restore), as the REST API does.
type Access interface {
	// User names the request's authenticated user.
	User(r *http.Request) string
	// ExperimentPermission is the user's permission on an experiment:
	// "NO_PERMISSIONS", "READ", "EDIT" or "MANAGE".
	ExperimentPermission(r *http.Request, experimentID string) string
	// ModelPermission is the user's permission on a registered model.
	ModelPermission(r *http.Request, model string) string
	// ExperimentCreated gives the user who created an experiment MANAGE on it.
	ExperimentCreated(r *http.Request, experimentID string) error
}

// Permissions as Access names them, weakest first.
const (
	permNone   = "NO_PERMISSIONS"
	permRead   = "READ"
	permEdit   = "EDIT"
	permManage = "MANAGE"
)

var permRank = map[string]int{permNone: 0, permRead: 1, permEdit: 2, permManage: 3}

// canExperiment reports whether the request's user holds at least need on
// the experiment; without Access everyone may do everything.
func (h *Handler) canExperiment(r *http.Request, id, need string) bool {
	if h.opt.Access == nil {
		return true
	}
	return permRank[h.opt.Access.ExperimentPermission(r, id)] >= permRank[need]
}

// canModel is canExperiment for a registered model.
func (h *Handler) canModel(r *http.Request, name, need string) bool {
	if h.opt.Access == nil {
		return true
	}
	return permRank[h.opt.Access.ModelPermission(r, name)] >= permRank[need]
}

// user is the request's user, "" without Access.
func (h *Handler) user(r *http.Request) string {
	if h.opt.Access == nil {
		return ""
	}
	return h.opt.Access.User(r)
}

// permissionDenied is MLflow's error code of a request refused for want of
// a permission; the UI answers it with 403.
const permissionDenied = "PERMISSION_DENIED"

// denied is the error of a refused request: who, what and which permission
// it needs, so that the user knows whom to ask.
func (h *Handler) denied(r *http.Request, need, what string) error {
	return &errs.Error{Code: permissionDenied, Message: fmt.Sprintf("Permission denied: user %q needs %s permission on %s; ask an admin to grant it.", h.user(r), need, what)}
}

// needExperiment fails unless the user holds need on the experiment.
func (h *Handler) needExperiment(r *http.Request, id, need string) error {
	if h.canExperiment(r, id, need) {
		return nil
	}
	return h.denied(r, need, "experiment "+id)
}

// needRun fails unless the user holds need on the run's experiment.
func (h *Handler) needRun(r *http.Request, run *tracking.Run, need string) error {
	if h.canExperiment(r, run.Info.ExperimentID, need) {
		return nil
	}
	return h.denied(r, need, "experiment "+run.Info.ExperimentID+" (of run "+run.Info.ID+")")
}

// needModel fails unless the user holds need on the registered model.
func (h *Handler) needModel(r *http.Request, name, need string) error {
	if h.canModel(r, name, need) {
		return nil
	}
	return h.denied(r, need, "registered model "+name)
}

// readableExperiments returns the ids of the experiments the user may read
// (every experiment of view), for searches that span experiments; nil
// without Access, which searches them all.
func (h *Handler) readableExperiments(r *http.Request, view tracking.ViewType) ([]string, error) {
	if h.opt.Access == nil {
		return nil, nil
	}
	exps, err := h.opt.Store.ListExperiments(r.Context(), view)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, e := range exps {
		if h.canExperiment(r, e.ID, permRead) {
			ids = append(ids, e.ID)
		}
	}
	return ids, nil
}
