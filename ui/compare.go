package ui

import (
	"encoding/json"
	"html/template"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// maxCompare bounds how many runs one comparison shows.
const maxCompare = 200

// compareRow is one param or metric across the compared runs.
type compareRow struct {
	Key     string
	Values  []string
	Differs bool
	Best    int // index of the best value (metrics: highest), -1 if none
}

// sideBySide is one artifact path present in several compared runs.
type sideBySide struct {
	Path  string
	Items []sideItem
}

type sideItem struct {
	RunName string
	Preview *preview
}

// compareData is the compare page.
type compareData struct {
	Runs      []*tracking.Run
	Params    []compareRow
	Metrics   []compareRow
	Artifacts []sideBySide
	Sweep     *tracking.Run // set when comparing a sweep's trials
	ChartData template.JS   // JSON for charts, in a data block
	Axes      []string
	X, Y      string
	Error     string
}

func (h *Handler) comparePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	var ids []string
	for _, v := range q["run"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	d := compareData{X: q.Get("x"), Y: q.Get("y")}
	var runs []*tracking.Run
	if sw := q.Get("sweep"); sw != "" {
		parent, err := h.opt.Store.GetRun(ctx, sw)
		if err == nil {
			err = h.needRun(r, parent, permRead)
		}
		if err != nil {
			h.fail(w, r, err, 0)
			return
		}
		d.Sweep = parent
		trials, _, err := h.opt.Store.SearchRuns(ctx, tracking.SearchRuns{
			ExperimentIDs: []string{parent.Info.ExperimentID},
			Filter:        "tags.`" + tagParent + "` = '" + parent.Info.ID + "'",
			OrderBy:       []string{"attributes.start_time ASC"},
			MaxResults:    maxCompare,
		})
		if err != nil {
			h.fail(w, r, err, 0)
			return
		}
		slices.SortStableFunc(trials, func(a, b *tracking.Run) int { return trialNumber(a) - trialNumber(b) })
		runs = trials
	}
	for _, id := range ids {
		if len(runs) >= maxCompare {
			break
		}
		run, err := h.opt.Store.GetRun(ctx, id)
		if err == nil {
			err = h.needRun(r, run, permRead)
		}
		if err != nil {
			h.fail(w, r, err, 0)
			return
		}
		runs = append(runs, run)
	}
	if len(runs) < 2 {
		h.renderStatus(w, r, "compare", page{Title: "Compare runs", Nav: "experiments",
			Data:  compareData{Error: "Pick at least two runs to compare: tick them in a runs table and press Compare."},
			Error: ""}, http.StatusBadRequest)
		return
	}
	d.Runs = runs
	d.Params = compareRows(runs, func(r *tracking.Run) []kv {
		out := make([]kv, len(r.Params))
		for i, p := range r.Params {
			out[i] = kv{p.Key, p.Value}
		}
		return out
	}, false)
	d.Metrics = compareRows(runs, func(r *tracking.Run) []kv {
		out := make([]kv, len(r.Metrics))
		for i, m := range r.Metrics {
			out[i] = kv{m.Key, formatNumber(m.Value)}
		}
		return out
	}, true)
	d.Artifacts = h.sameNameArtifacts(runs)

	// Chart data: every numeric param and every metric per run.
	type chartRun struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	cd := struct {
		Runs    []chartRun            `json:"runs"`
		Metrics []string              `json:"metrics"`
		Values  map[string][]*float64 `json:"values"`
		Varying []string              `json:"varying"`
	}{Values: map[string][]*float64{}}
	for _, run := range runs {
		cd.Runs = append(cd.Runs, chartRun{run.Info.ID, run.Info.Name})
	}
	add := func(name string, get func(*tracking.Run) (float64, bool), differs bool) {
		vals := make([]*float64, len(runs))
		any := false
		for i, run := range runs {
			if v, ok := get(run); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[i], any = &v, true
			}
		}
		if any {
			cd.Values[name] = vals
			d.Axes = append(d.Axes, name)
			if differs {
				cd.Varying = append(cd.Varying, name)
			}
		}
	}
	for _, p := range d.Params {
		key := p.Key
		add("params."+key, func(r *tracking.Run) (float64, bool) {
			s, ok := r.Param(key)
			if !ok {
				return 0, false
			}
			v, err := strconv.ParseFloat(s, 64)
			return v, err == nil
		}, p.Differs)
	}
	for _, m := range d.Metrics {
		key := m.Key
		if hasHistory(runs, key) {
			cd.Metrics = append(cd.Metrics, key)
		}
		add("metrics."+key, func(r *tracking.Run) (float64, bool) { return r.Metric(key) }, m.Differs)
	}
	if d.X == "" || !slices.Contains(d.Axes, d.X) {
		d.X = firstWithPrefix(d.Axes, "params.", d.Axes)
	}
	if d.Y == "" || !slices.Contains(d.Axes, d.Y) {
		d.Y = firstWithPrefix(d.Axes, "metrics.", d.Axes)
	}
	b, err := json.Marshal(cd)
	if err != nil {
		h.fail(w, r, errs.Errorf(errs.Internal, "encode chart data: %v", err), 0)
		return
	}
	d.ChartData = template.JS(b)
	h.render(w, r, "compare", page{Title: "Compare " + strconv.Itoa(len(runs)) + " runs", Nav: "experiments", Data: d, PageScript: "compare.js"})
}

// hasHistory reports whether a metric has more than one step in some run
// (its latest point is past step 0): only those get history charts.
func hasHistory(runs []*tracking.Run, key string) bool {
	for _, r := range runs {
		for _, m := range r.Metrics {
			if m.Key == key && m.Step > 0 {
				return true
			}
		}
	}
	return false
}

func firstWithPrefix(list []string, prefix string, fallback []string) string {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	if len(fallback) > 0 {
		return fallback[0]
	}
	return ""
}

// compareRows lines up the keys of several runs; differing rows are marked
// and, for metrics, the highest value.
func compareRows(runs []*tracking.Run, get func(*tracking.Run) []kv, metrics bool) []compareRow {
	keys := map[string]bool{}
	per := make([]map[string]string, len(runs))
	for i, r := range runs {
		per[i] = map[string]string{}
		for _, e := range get(r) {
			keys[e.Key] = true
			per[i][e.Key] = e.Value
		}
	}
	var out []compareRow
	for _, k := range sortedSet(keys) {
		row := compareRow{Key: k, Best: -1}
		bestV := math.Inf(-1)
		for i := range runs {
			v, ok := per[i][k]
			if !ok {
				v = "—"
			}
			row.Values = append(row.Values, v)
			if i > 0 && v != row.Values[0] {
				row.Differs = true
			}
			if metrics {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f > bestV {
					bestV, row.Best = f, i
				}
			}
		}
		if !row.Differs {
			row.Best = -1
		}
		out = append(out, row)
	}
	return out
}

// sameNameArtifacts finds previewable artifacts that several runs have
// under the same path (two confusion matrices side by side).
func (h *Handler) sameNameArtifacts(runs []*tracking.Run) []sideBySide {
	count := map[string]int{}
	for _, run := range runs {
		root, err := h.openRunRoot(&run.Info)
		if err != nil || root == nil {
			continue
		}
		for _, n := range artifactTree(root) {
			if !n.Dir && !n.Escapes && previewable(n.Path) {
				count[n.Path]++
			}
		}
		root.Close()
	}
	var out []sideBySide
	for _, p := range sortedKeysInt(count) {
		if count[p] < 2 {
			continue
		}
		sb := sideBySide{Path: p}
		for _, run := range runs {
			root, err := h.openRunRoot(&run.Info)
			if err != nil || root == nil {
				continue
			}
			pv := buildPreview(root, run.Info.ID, p)
			root.Close()
			if pv.Kind != "missing" {
				sb.Items = append(sb.Items, sideItem{RunName: run.Info.Name, Preview: pv})
			}
		}
		out = append(out, sb)
		if len(out) == 12 {
			break
		}
	}
	return out
}

// previewable reports whether an artifact is worth showing side by side.
func previewable(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".png", ".jpg", ".jpeg", ".svg", ".csv":
		return true
	}
	return false
}

func sortedKeysInt(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
