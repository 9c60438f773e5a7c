package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// modelsData is the registered models page.
type modelsData struct {
	Models []*tracking.RegisteredModel
}

// aliasRef is an alias and the version it points to.
type aliasRef struct {
	Alias   string
	Version int
}

// modelData is one registered model's page.
type modelData struct {
	Model    *tracking.RegisteredModel
	Versions []versionRow
	Aliases  []aliasRef
	Stages   []tracking.Stage
	Error    string
}

type versionRow struct {
	*tracking.ModelVersion
	RunName string
	URI     string
}

// confirmData is the confirmation step of a registry change.
type confirmData struct {
	Question string
	Action   string
	Fields   []kv
	Back     string
}

func (h *Handler) noRegistry(w http.ResponseWriter, r *http.Request) bool {
	if h.opt.Registry == nil {
		h.fail(w, r, errs.Errorf(errs.NotFound, "this store has no model registry"), 0)
		return true
	}
	return false
}

func (h *Handler) modelsPage(w http.ResponseWriter, r *http.Request) {
	if h.noRegistry(w, r) {
		return
	}
	ms, err := h.opt.Registry.ListRegisteredModels(r.Context())
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	ms = slices.DeleteFunc(ms, func(m *tracking.RegisteredModel) bool { return !h.canModel(r, m.Name, permRead) })
	h.render(w, r, "models", page{Title: "Models", Nav: "models", Data: modelsData{Models: ms}, PageScript: "app.js"})
}

func (h *Handler) modelPage(w http.ResponseWriter, r *http.Request) {
	h.showModel(w, r, "", http.StatusOK)
}

func (h *Handler) showModel(w http.ResponseWriter, r *http.Request, formErr string, status int) {
	if h.noRegistry(w, r) {
		return
	}
	ctx := r.Context()
	name := r.PathValue("name")
	if err := h.needModel(r, name, permRead); err != nil {
		h.fail(w, r, err, 0)
		return
	}
	m, err := h.opt.Registry.GetRegisteredModel(ctx, name)
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	vs, err := h.opt.Registry.ListModelVersions(ctx, name)
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	d := modelData{Model: m, Stages: tracking.Stages[:], Error: formErr}
	for i := len(vs) - 1; i >= 0; i-- { // newest first
		v := vs[i]
		row := versionRow{ModelVersion: v, URI: "models:/" + name + "/" + strconv.Itoa(v.Version)}
		if v.RunID != "" {
			if run, err := h.opt.Store.GetRun(ctx, v.RunID); err == nil && h.canExperiment(r, run.Info.ExperimentID, permRead) {
				row.RunName = run.Info.Name
			}
		}
		d.Versions = append(d.Versions, row)
	}
	for a, v := range m.Aliases {
		d.Aliases = append(d.Aliases, aliasRef{a, v})
	}
	slices.SortFunc(d.Aliases, func(a, b aliasRef) int { return strings.Compare(a.Alias, b.Alias) })
	h.renderStatus(w, r, "model", page{Title: "Model " + name, Nav: "models", Data: d, PageScript: "app.js"}, status)
}

// moveAlias points an alias at a version. The first POST shows what will
// change and asks to confirm; the second (confirm=yes) changes it.
func (h *Handler) moveAlias(w http.ResponseWriter, r *http.Request) {
	if h.noRegistry(w, r) {
		return
	}
	ctx := r.Context()
	name := r.PathValue("name")
	if err := h.needModel(r, name, permEdit); err != nil {
		h.fail(w, r, err, 0)
		return
	}
	alias := strings.TrimSpace(r.PostFormValue("alias"))
	version, err := tracking.ParseVersion(r.PostFormValue("version"))
	if err == nil {
		err = tracking.ValidateAlias(alias)
	}
	if err == nil {
		_, err = h.opt.Registry.GetModelVersion(ctx, name, version)
	}
	if err != nil {
		h.showModel(w, r, errs.Message(err), errs.HTTPStatus(errs.Code(err)))
		return
	}
	back := "/models/" + url.PathEscape(name)
	if r.PostFormValue("confirm") != "yes" {
		q := "Point alias " + alias + " of model " + name + " at version " + strconv.Itoa(version) + "?"
		if cur, err := h.opt.Registry.GetVersionByAlias(ctx, name, alias); err == nil {
			if cur.Version == version {
				q = "Alias " + alias + " already points at version " + strconv.Itoa(version) + ". Set it again?"
			} else {
				q = "Move alias " + alias + " of model " + name + " from version " + strconv.Itoa(cur.Version) + " to version " + strconv.Itoa(version) + "?"
			}
		}
		h.render(w, r, "confirm", page{Title: "Confirm", Nav: "models", Data: confirmData{
			Question: q, Action: back + "/alias", Back: back,
			Fields: []kv{{"alias", alias}, {"version", strconv.Itoa(version)}},
		}})
		return
	}
	if err := h.opt.Registry.SetAlias(ctx, name, alias, version); err != nil {
		h.showModel(w, r, errs.Message(err), errs.HTTPStatus(errs.Code(err)))
		return
	}
	redirect(w, r, back)
}

// changeStage moves a version to a stage, after a confirmation step.
func (h *Handler) changeStage(w http.ResponseWriter, r *http.Request) {
	if h.noRegistry(w, r) {
		return
	}
	ctx := r.Context()
	name := r.PathValue("name")
	if err := h.needModel(r, name, permEdit); err != nil {
		h.fail(w, r, err, 0)
		return
	}
	version, err := tracking.ParseVersion(r.PostFormValue("version"))
	var stage tracking.Stage
	if err == nil {
		stage, err = tracking.ParseStage(r.PostFormValue("stage"))
	}
	var cur *tracking.ModelVersion
	if err == nil {
		cur, err = h.opt.Registry.GetModelVersion(ctx, name, version)
	}
	if err != nil {
		h.showModel(w, r, errs.Message(err), errs.HTTPStatus(errs.Code(err)))
		return
	}
	archive := r.PostFormValue("archive") == "yes" && stage.Active()
	back := "/models/" + url.PathEscape(name)
	if r.PostFormValue("confirm") != "yes" {
		q := "Move version " + strconv.Itoa(version) + " of model " + name + " from " + string(cur.Stage) + " to " + string(stage) + "?"
		if archive {
			q += " Other versions in " + string(stage) + " will be archived."
		}
		fields := []kv{{"version", strconv.Itoa(version)}, {"stage", string(stage)}}
		if archive {
			fields = append(fields, kv{"archive", "yes"})
		}
		h.render(w, r, "confirm", page{Title: "Confirm", Nav: "models", Data: confirmData{Question: q, Action: back + "/stage", Back: back, Fields: fields}})
		return
	}
	if _, err := h.opt.Registry.TransitionStage(ctx, name, version, stage, archive); err != nil {
		h.showModel(w, r, errs.Message(err), errs.HTTPStatus(errs.Code(err)))
		return
	}
	redirect(w, r, back)
}
