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

// Tags that the runs table and run page read.
const (
	tagParent      = "mlflow.parentRunId"
	tagSourceName  = "mlflow.source.name"
	tagGitCommit   = "mlflow.source.git.commit"
	tagSweep       = "mlrun.sweep"
	tagSweepTrials = "mlrun.sweep.trials"
	tagSweepTrial  = "mlrun.sweep.trial"
	tagBestRun     = "mlrun.sweep.best_run"
	tagObjective   = "mlrun.sweep.objective"
)

// Page sizes of the runs table.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// column is one column of the runs table: a run attribute or a param,
// metric or tag, named as in MLflow's search syntax ("metrics.acc").
type column struct {
	Kind  string // tracking.KindMetric, KindParam, KindTag or KindAttribute
	Key   string
	Label string
}

// ID is the column's name in URLs: "metrics.acc", "params.C", "tags.x",
// "attributes.start_time".
func (c column) ID() string {
	return prefixOf(c.Kind) + "." + c.Key
}

// orderBy is the MLflow order_by clause that sorts by the column.
func (c column) orderBy(desc bool) string {
	s := prefixOf(c.Kind) + ".`" + c.Key + "`"
	if desc {
		return s + " DESC"
	}
	return s + " ASC"
}

func prefixOf(kind string) string {
	switch kind {
	case tracking.KindMetric:
		return "metrics"
	case tracking.KindParam:
		return "params"
	case tracking.KindTag:
		return "tags"
	}
	return "attributes"
}

// parseColumn parses a column id such as "metrics.acc" (the key may contain dots).
func parseColumn(id string) (column, bool) {
	prefix, key, ok := strings.Cut(id, ".")
	if !ok || key == "" {
		return column{}, false
	}
	switch prefix {
	case "metrics":
		return column{Kind: tracking.KindMetric, Key: key, Label: key}, true
	case "params":
		return column{Kind: tracking.KindParam, Key: key, Label: key}, true
	case "tags":
		return column{Kind: tracking.KindTag, Key: key, Label: key}, true
	}
	return column{}, false
}

// fixedColumns are always shown, in this order; each sorts on the server.
var fixedColumns = []struct {
	column
	Sort string // the column id sorted on ("" when not sortable)
}{
	{column{tracking.KindAttribute, tracking.AttrRunName, "Name"}, "attributes.run_name"},
	{column{tracking.KindAttribute, tracking.AttrStatus, "Status"}, "attributes.status"},
	{column{tracking.KindAttribute, tracking.AttrStartTime, "Started"}, "attributes.start_time"},
	{column{tracking.KindAttribute, tracking.AttrEndTime, "Duration"}, "attributes.duration"}, // end_time - start_time, an order key of the store
	{column{tracking.KindAttribute, tracking.AttrUserID, "User"}, "attributes.user_id"},
	{column{tracking.KindTag, tagSourceName, "Source"}, "tags." + tagSourceName},
	{column{tracking.KindTag, tagGitCommit, "Commit"}, "tags." + tagGitCommit},
}

// runsQuery is the runs table's state, all of it in the URL.
type runsQuery struct {
	Filter   string
	Order    string   // column id, e.g. "metrics.acc"
	Desc     bool     // descending
	Cols     []string // chosen column ids, in order
	ColsSet  bool     // columns were chosen (possibly none)
	Page     string   // page token
	PageSize int
	View     string // "", "deleted" or "all"
}

func parseRunsQuery(v url.Values) runsQuery {
	q := runsQuery{
		Filter:   v.Get("filter"),
		Order:    v.Get("order"),
		Desc:     v.Get("dir") != "asc",
		Page:     v.Get("page"),
		PageSize: defaultPageSize,
		View:     v.Get("view"),
	}
	if q.Order == "" {
		q.Order = "attributes.start_time"
	}
	q.ColsSet = len(v["col"]) > 0
	for _, c := range v["col"] {
		for _, id := range strings.Split(c, ",") {
			if _, ok := parseColumn(id); ok && !slices.Contains(q.Cols, id) {
				q.Cols = append(q.Cols, id)
			}
		}
	}
	if n, err := strconv.Atoi(v.Get("n")); err == nil && n > 0 {
		q.PageSize = min(n, maxPageSize)
	}
	return q
}

// values encodes the state; the page token is left out.
func (q runsQuery) values() url.Values {
	v := url.Values{}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Order != "attributes.start_time" {
		v.Set("order", q.Order)
	}
	if !q.Desc {
		v.Set("dir", "asc")
	}
	if len(q.Cols) > 0 {
		v.Set("col", strings.Join(q.Cols, ","))
	} else if q.ColsSet {
		v.Set("col", "none")
	}
	if q.PageSize != defaultPageSize {
		v.Set("n", strconv.Itoa(q.PageSize))
	}
	if q.View != "" {
		v.Set("view", q.View)
	}
	return v
}

func (q runsQuery) viewType() tracking.ViewType {
	switch q.View {
	case "deleted":
		return tracking.DeletedOnly
	case "all":
		return tracking.All
	}
	return tracking.ActiveOnly
}

// search turns the state into a store query.
func (q runsQuery) search(expID string) tracking.SearchRuns {
	s := tracking.SearchRuns{Filter: q.Filter, MaxResults: q.PageSize, PageToken: q.Page, ViewType: q.viewType()}
	if expID != "" {
		s.ExperimentIDs = []string{expID}
	}
	if c, ok := parseColumn(q.Order); ok {
		s.OrderBy = []string{c.orderBy(q.Desc)}
	} else if q.Order == "attributes.start_time" && q.Desc {
		// The store's own order (newest first, then run id), left
		// implicit: on SQLite, naming it explicitly costs a 100,000-run
		// table some 20 times as much.
	} else if strings.HasPrefix(q.Order, "attributes.") {
		dir := " ASC"
		if q.Desc {
			dir = " DESC"
		}
		s.OrderBy = []string{q.Order + dir}
	}
	return s
}

// runRow is one line of the runs table.
type runRow struct {
	Run      *tracking.Run
	Source   string
	Commit   string
	Cells    []string
	Trials   int  // a sweep parent: how many trials
	Trial    bool // a sweep trial shown under its parent
	TrialOf  string
	Best     bool // the best trial of its sweep
	Running  bool
	Selected bool
}

// headerCell is one column header with its sort link.
type headerCell struct {
	ID, Label, Kind string
	SortURL         string
	Sorted          string // "ascending", "descending" or "" (for aria-sort)
	Removable       bool
	RemoveURL       string
}

// runsData is the runs page.
type runsData struct {
	Experiment  *tracking.Experiment
	Query       runsQuery
	QueryString string
	Header      []headerCell
	Rows        []runRow
	FilterError string
	NextURL     string
	FirstURL    string
	Available   []availableCol // for the column chooser
	Empty       bool           // the experiment has no runs at all
	Running     []string       // ids of running runs, for live updates
	ChosenCols  string
	PageSize    int
	Self        string
	CanManage   bool // the user holds MANAGE on the experiment: delete, restore
}

type availableCol struct {
	ID, Label, Group string
	Chosen           bool
}

func (h *Handler) runsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	exp, err := h.opt.Store.GetExperiment(ctx, r.PathValue("id"))
	if err == nil {
		err = h.needExperiment(r, exp.ID, permRead)
	}
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	q := parseRunsQuery(r.URL.Query())
	// The run counts are not read here: counting a 100,000-run store costs
	// more than finding a page of it, so the page's script asks for them
	// (experimentStats) once the table is on screen.
	d := runsData{Experiment: exp, Query: q, PageSize: q.PageSize, Self: r.URL.RequestURI(), CanManage: h.canExperiment(r, exp.ID, permManage)}
	runs, next, err := h.opt.Store.SearchRuns(ctx, q.search(exp.ID))
	if err != nil {
		if errs.Code(err) != errs.Invalid {
			h.fail(w, r, err, 0)
			return
		}
		// A bad filter or page token: say why next to the filter box, keep
		// what was typed, show no runs.
		// (The page itself is fine: 200, so a browser logs no error.)
		d.FilterError = errs.Message(err)
		runs = nil
	}
	base := "/experiments/" + url.PathEscape(exp.ID)
	if !q.ColsSet {
		q.Cols = defaultColumns(runs)
		d.Query.Cols = q.Cols
	}
	d.ChosenCols = strings.Join(q.Cols, ",")
	if d.ChosenCols == "" {
		d.ChosenCols = "none"
	}
	d.QueryString = q.values().Encode()
	d.Header = h.header(base, q)
	d.Rows = buildRows(runs, q.Cols, r.URL.Query()["run"])
	for _, row := range d.Rows {
		if row.Running {
			d.Running = append(d.Running, row.Run.Info.ID)
		}
	}
	d.Available = availableColumns(runs, q.Cols)
	if next != "" {
		v := q.values()
		v.Set("page", next)
		d.NextURL = base + "?" + v.Encode()
	}
	if q.Page != "" {
		d.FirstURL = base + "?" + q.values().Encode()
	}
	d.Empty = len(runs) == 0 && q.Filter == "" && q.Page == "" && q.View == ""
	h.render(w, r, "runs", page{Title: exp.Name, Nav: "experiments", Data: d, PageScript: "app.js"})
}

// header builds the column headers with links that sort by them.
func (h *Handler) header(base string, q runsQuery) []headerCell {
	var out []headerCell
	add := func(id, label, kind, sortID string, removable bool) {
		c := headerCell{ID: id, Label: label, Kind: kind}
		if sortID != "" {
			v := q.values()
			v.Set("order", sortID)
			desc := true
			if q.Order == sortID {
				if q.Desc {
					c.Sorted = "descending"
				} else {
					c.Sorted = "ascending"
				}
				desc = !q.Desc
			}
			if desc {
				v.Del("dir")
			} else {
				v.Set("dir", "asc")
			}
			c.SortURL = base + "?" + v.Encode()
		}
		if removable {
			v := q.values()
			rest := slices.DeleteFunc(slices.Clone(q.Cols), func(s string) bool { return s == id })
			if len(rest) == 0 {
				rest = []string{"none"}
			}
			v.Set("col", strings.Join(rest, ","))
			c.Removable, c.RemoveURL = true, base+"?"+v.Encode()
		}
		out = append(out, c)
	}
	for _, f := range fixedColumns {
		add(f.ID(), f.Label, "attr", f.Sort, false)
	}
	for _, id := range q.Cols {
		if c, ok := parseColumn(id); ok {
			add(id, c.Key, c.Kind, id, true)
		}
	}
	return out
}

// defaultColumns picks the columns shown before any are chosen: every
// metric, then every param, of the runs on the page, at most 8.
func defaultColumns(runs []*tracking.Run) []string {
	metrics, params := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for _, m := range r.Metrics {
			metrics[m.Key] = true
		}
		for _, p := range r.Params {
			params[p.Key] = true
		}
	}
	var out []string
	for _, k := range sortedSet(metrics) {
		out = append(out, "metrics."+k)
	}
	for _, k := range sortedSet(params) {
		out = append(out, "params."+k)
	}
	if len(out) > 8 {
		out = out[:8]
	}
	return out
}

// availableColumns lists every param, metric and user tag key of the runs
// on the page, for the column chooser.
func availableColumns(runs []*tracking.Run, chosen []string) []availableCol {
	metrics, params, tags := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		for _, m := range r.Metrics {
			metrics[m.Key] = true
		}
		for _, p := range r.Params {
			params[p.Key] = true
		}
		for _, t := range r.Tags {
			tags[t.Key] = true
		}
	}
	for _, id := range chosen {
		if c, ok := parseColumn(id); ok {
			map[string]map[string]bool{tracking.KindMetric: metrics, tracking.KindParam: params, tracking.KindTag: tags}[c.Kind][c.Key] = true
		}
	}
	var out []availableCol
	add := func(group, prefix string, set map[string]bool) {
		for _, k := range sortedSet(set) {
			id := prefix + "." + k
			out = append(out, availableCol{ID: id, Label: k, Group: group, Chosen: slices.Contains(chosen, id)})
		}
	}
	add("Metrics", "metrics", metrics)
	add("Params", "params", params)
	add("Tags", "tags", tags)
	return out
}

// buildRows lays out the page: a sweep's trials right under their parent
// when it is on the page, the best trial marked.
func buildRows(runs []*tracking.Run, cols []string, selected []string) []runRow {
	onPage := map[string]bool{}
	children := map[string][]*tracking.Run{}
	for _, r := range runs {
		onPage[r.Info.ID] = true
	}
	for _, r := range runs {
		if p, ok := r.Tag(tagParent); ok && onPage[p] {
			children[p] = append(children[p], r)
		}
	}
	var out []runRow
	mk := func(r *tracking.Run) runRow {
		row := runRow{Run: r, Running: r.Info.Status == tracking.StatusRunning, Selected: slices.Contains(selected, r.Info.ID)}
		row.Source, _ = r.Tag(tagSourceName)
		row.Commit, _ = r.Tag(tagGitCommit)
		if n, ok := r.Tag(tagSweepTrials); ok {
			row.Trials, _ = strconv.Atoi(n)
		}
		if p, ok := r.Tag(tagParent); ok {
			row.TrialOf = p
		}
		for _, id := range cols {
			row.Cells = append(row.Cells, cellValue(r, id))
		}
		return row
	}
	for _, r := range runs {
		if p, ok := r.Tag(tagParent); ok && onPage[p] {
			continue // shown under its parent
		}
		parent := mk(r)
		out = append(out, parent)
		best, _ := r.Tag(tagBestRun)
		kids := children[r.Info.ID]
		slices.SortStableFunc(kids, func(a, b *tracking.Run) int {
			return trialNumber(a) - trialNumber(b)
		})
		for _, k := range kids {
			row := mk(k)
			row.Trial = true
			row.Best = best != "" && best == k.Info.ID
			out = append(out, row)
		}
	}
	return out
}

func trialNumber(r *tracking.Run) int {
	n, _ := r.Tag(tagSweepTrial)
	i, _ := strconv.Atoi(n)
	return i
}

// cellValue renders a run's value in a column; "" when unset.
func cellValue(r *tracking.Run, id string) string {
	c, ok := parseColumn(id)
	if !ok {
		return ""
	}
	switch c.Kind {
	case tracking.KindMetric:
		if v, ok := r.Metric(c.Key); ok {
			return formatNumber(v)
		}
	case tracking.KindParam:
		v, _ := r.Param(c.Key)
		return v
	case tracking.KindTag:
		v, _ := r.Tag(c.Key)
		return v
	}
	return ""
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// runsLifecycle deletes or restores the selected runs.
func (h *Handler) runsLifecycle(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, errs.Errorf(errs.Invalid, "the form could not be read: %v", err), 0)
		return
	}
	ids := r.PostForm["run"]
	if len(ids) == 0 {
		h.fail(w, r, errs.Errorf(errs.Invalid, "no runs were selected; tick the runs to delete or restore"), 0)
		return
	}
	action := r.PostFormValue("action")
	if action != "delete" && action != "restore" {
		h.fail(w, r, errs.Errorf(errs.Invalid, "action %q is not delete or restore", action), 0)
		return
	}
	// Every run must exist, and the user may delete and restore it (MANAGE
	// on its experiment, as the REST API asks), before any changes, so that
	// a bad id or a refused run changes nothing.
	for _, id := range ids {
		run, err := h.opt.Store.GetRun(r.Context(), id)
		if err == nil {
			err = h.needRun(r, run, permManage)
		}
		if err != nil {
			h.fail(w, r, err, 0)
			return
		}
	}
	for _, id := range ids {
		var err error
		switch action {
		case "delete":
			err = h.opt.Store.DeleteRun(r.Context(), id)
		case "restore":
			err = h.opt.Store.RestoreRun(r.Context(), id)
		default:
			err = errs.Errorf(errs.Invalid, "action %q is not delete or restore", action)
		}
		if err != nil {
			h.fail(w, r, err, 0)
			return
		}
	}
	redirect(w, r, r.PostFormValue("back"))
}

// experimentStats answers an experiment's run counts, which the runs page
// shows once its table is painted: {"runs", "deleted", "running"}.
func (h *Handler) experimentStats(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("experiment")
	if id == "" {
		h.fail(w, r, errs.Errorf(errs.Invalid, "the experiment parameter is required"), 0)
		return
	}
	if err := h.needExperiment(r, id, permRead); err != nil {
		h.fail(w, r, err, 0)
		return
	}
	stats, err := h.opt.Store.ExperimentStats(r.Context())
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	s := stats[id]
	writeJSON(w, map[string]int{"runs": s.Runs, "deleted": s.DeletedRuns, "running": s.Running})
}

// runsJSON answers the runs table's data (the live-update poller and the
// speed benchmarks use it): the same query as the page, as JSON.
func (h *Handler) runsJSON(w http.ResponseWriter, r *http.Request) {
	q := parseRunsQuery(r.URL.Query())
	search := q.search(r.URL.Query().Get("experiment_id"))
	var err error
	if len(search.ExperimentIDs) == 1 {
		err = h.needExperiment(r, search.ExperimentIDs[0], permRead)
	} else if ids, rerr := h.readableExperiments(r, tracking.All); rerr != nil {
		err = rerr
	} else if ids != nil {
		if len(ids) == 0 {
			writeJSON(w, map[string]any{"runs": []any{}, "next_page_token": ""})
			return
		}
		search.ExperimentIDs = ids
	}
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	runs, next, err := h.opt.Store.SearchRuns(r.Context(), search)
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	type jsonRun struct {
		Info    tracking.RunInfo `json:"info"`
		Params  []tracking.Param `json:"params"`
		Metrics []point          `json:"metrics"` // NaN and infinities as null
		Tags    []tracking.Tag   `json:"tags"`
	}
	out := make([]jsonRun, len(runs))
	for i, r := range runs {
		out[i] = jsonRun{r.Info, r.Params, jsonPoints(r.Metrics), r.Tags}
	}
	writeJSON(w, map[string]any{"runs": out, "next_page_token": next})
}
