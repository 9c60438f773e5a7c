package ui

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Tags laid out as provenance on the run page.
const (
	tagGitBranch     = "mlflow.source.git.branch"
	tagGitRepoURL    = "mlflow.source.git.repoURL"
	tagGitDirty      = "mlflow.source.git.dirty"
	tagGitDiffSHA    = "mlrun.git.diff_sha256"
	tagGitMessage    = "mlrun.git.message"
	tagLockfile      = "mlrun.lockfile"
	tagLockfileSHA   = "mlrun.lockfile.sha256"
	tagLockfiles     = "mlrun.lockfiles"
	tagProjectDir    = "mlrun.project.dir"
	tagEntryPoint    = "mlflow.project.entryPoint"
	tagReproduced    = "mlrun.reproducedFrom"
	tagReproduceMode = "mlrun.reproduce.mode"
	tagDrift         = "mlrun.drift"
	tagError         = "mlrun.error"
	prefixStep       = "mlrun.step."
	prefixDataset    = "mlrun.dataset."
	// tagDatasetSummary repeats the first dataset's hash (for search), so
	// it is not a dataset of its own.
	tagDatasetSummary = "mlrun.dataset.sha256"
	prefixShape       = "mlrun.dataset_shape."
	prefixSeed        = "mlrun.seed"
)

// kv is a key and a value for tables.
type kv struct{ Key, Value string }

// step is one pipeline step on the timeline.
type step struct {
	Name       string
	Status     string // finished, skipped, cached, failed, ...
	Message    string
	Duration   time.Duration
	Width      float64 // share of the longest step, 0..100 (an SVG width)
	Label      string
	CachedFrom string
}

// provenanceInfo is the run's provenance, laid out.
type provenanceInfo struct {
	Commit, Branch, Repo, Message string
	Dirty                         bool
	DiffSHA                       string
	HasDiff                       bool
	Datasets                      []kv // path → sha256
	Shapes                        []kv
	Seeds                         []kv
	Lockfile, LockfileSHA         string
	Lockfiles                     []string
	System                        []kv
	Any                           bool
}

// reproduction is a run reproduced from this one, with its verdict.
type reproduction struct {
	Run     *tracking.Run
	Mode    string
	Drift   string
	Verdict string
	Same    []kv
}

// runData is the run page.
type runData struct {
	Run            *tracking.Run
	Experiment     *tracking.Experiment
	Duration       string
	Params         []tracking.Param
	Metrics        []tracking.Metric
	Charted        []tracking.Metric // metrics with a history (past step 0)
	UserTags       []kv
	SystemTags     []kv
	Prov           provenanceInfo
	Steps          []step
	Tree           []artifactNode
	Preview        *preview
	ModelDirs      []string
	Serve          []string // commands to serve the run's models
	Versions       []*tracking.ModelVersion
	Parent         string
	Trials         []*tracking.Run
	BestTrial      string
	Reproduced     []reproduction
	ReproducedFrom string
	Running        bool
	Error          string
}

func (h *Handler) runPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	run, err := h.opt.Store.GetRun(ctx, id)
	if errs.Code(err) == errs.NotFound && len(id) >= 4 && len(id) < 32 {
		if full, rerr := h.opt.Store.ResolveRunID(ctx, id); rerr == nil {
			// A run the user may not read keeps its full id to itself.
			if fr, gerr := h.opt.Store.GetRun(ctx, full); gerr == nil && h.canExperiment(r, fr.Info.ExperimentID, permRead) {
				redirect(w, r, "/runs/"+full)
				return
			}
		}
	}
	if err == nil {
		err = h.needRun(r, run, permRead)
	}
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	d := runData{Run: run, Params: run.Params, Metrics: run.Metrics, Running: run.Info.Status == tracking.StatusRunning}
	for _, m := range run.Metrics {
		if m.Step > 0 {
			d.Charted = append(d.Charted, m)
		}
	}
	d.Duration = formatDuration(run.Info.StartTime, run.Info.EndTime)
	d.Experiment, _ = h.opt.Store.GetExperiment(ctx, run.Info.ExperimentID)
	d.Error, _ = run.Tag(tagError)
	d.Parent, _ = run.Tag(tagParent)
	d.ReproducedFrom, _ = run.Tag(tagReproduced)
	d.Prov, d.UserTags, d.SystemTags = layOutTags(run)
	d.Steps = timeline(run)

	root, err := h.openRunRoot(&run.Info)
	if err != nil {
		d.Error = strings.TrimSpace(d.Error + " " + errs.Message(err))
	}
	if root != nil {
		defer root.Close()
		d.Tree = artifactTree(root)
		d.Prov.HasDiff = slices.ContainsFunc(d.Tree, func(n artifactNode) bool { return n.Path == "code.diff" })
		sel := r.URL.Query().Get("artifact")
		if sel == "" && d.Prov.HasDiff && r.URL.Query().Get("tab") == "diff" {
			sel = "code.diff"
		}
		if sel != "" {
			d.Preview = buildPreview(root, run.Info.ID, sel)
			for i := range d.Tree {
				d.Tree[i].Selected = d.Tree[i].Path == sel
			}
		}
	}
	d.ModelDirs = modelDirs(d.Tree)
	for _, m := range d.ModelDirs {
		uri := "runs:/" + run.Info.ID + "/" + m
		d.Serve = append(d.Serve, "mlrun serve "+uri+" --port 1234", "mlflow models serve -m "+uri+" --port 1234")
	}
	if h.opt.Registry != nil {
		d.Versions = h.versionsOfRun(r, run.Info.ID)
	}
	if n, ok := run.Tag(tagSweepTrials); ok && n != "" {
		d.BestTrial, _ = run.Tag(tagBestRun)
		d.Trials, _, _ = h.opt.Store.SearchRuns(ctx, tracking.SearchRuns{
			ExperimentIDs: []string{run.Info.ExperimentID},
			Filter:        "tags.`" + tagParent + "` = '" + run.Info.ID + "'",
			OrderBy:       []string{"attributes.start_time ASC"},
			MaxResults:    1000,
		})
	}
	d.Reproduced = h.reproductions(r, run)
	h.render(w, r, "run", page{Title: "Run " + run.Info.Name, Nav: "experiments", Data: d, PageScript: "run.js"})
}

// versionsOfRun lists the registered model versions made from a run.
func (h *Handler) versionsOfRun(r *http.Request, runID string) []*tracking.ModelVersion {
	models, err := h.opt.Registry.ListRegisteredModels(r.Context())
	if err != nil {
		return nil
	}
	var out []*tracking.ModelVersion
	for _, m := range models {
		if !h.canModel(r, m.Name, permRead) {
			continue
		}
		vs, err := h.opt.Registry.ListModelVersions(r.Context(), m.Name)
		if err != nil {
			continue
		}
		for _, v := range vs {
			if v.RunID == runID {
				out = append(out, v)
			}
		}
	}
	return out
}

// reproductions finds the runs reproduced from run and states their verdicts:
// the same metrics (exactly) or which differ.
func (h *Handler) reproductions(r *http.Request, run *tracking.Run) []reproduction {
	runs, _, err := h.opt.Store.SearchRuns(r.Context(), tracking.SearchRuns{
		Filter:     "tags.`" + tagReproduced + "` = '" + run.Info.ID + "'",
		MaxResults: 50,
		ViewType:   tracking.All,
	})
	if err != nil {
		return nil
	}
	var out []reproduction
	for _, rr := range runs {
		if !h.canExperiment(r, rr.Info.ExperimentID, permRead) {
			continue
		}
		rep := reproduction{Run: rr}
		rep.Mode, _ = rr.Tag(tagReproduceMode)
		rep.Drift, _ = rr.Tag(tagDrift)
		var diffs []string
		for _, m := range run.Metrics {
			v, ok := rr.Metric(m.Key)
			switch {
			case !ok:
				diffs = append(diffs, m.Key+" missing")
			case v != m.Value:
				diffs = append(diffs, m.Key+" "+formatNumber(m.Value)+" → "+formatNumber(v))
			}
		}
		switch {
		case rr.Info.Status != tracking.StatusFinished:
			rep.Verdict = "not reproduced: the reproduction is " + strings.ToLower(string(rr.Info.Status))
		case len(diffs) == 0:
			rep.Verdict = "reproduced: every metric is identical"
		default:
			rep.Verdict = "differs: " + strings.Join(diffs, ", ")
		}
		out = append(out, rep)
	}
	return out
}

// layOutTags splits a run's tags into provenance, user tags and the
// remaining system tags.
func layOutTags(run *tracking.Run) (provenanceInfo, []kv, []kv) {
	var p provenanceInfo
	var user, system []kv
	for _, t := range run.Tags {
		k, v := t.Key, t.Value
		switch {
		case k == tagGitCommit:
			p.Commit = v
		case k == tagGitBranch:
			p.Branch = v
		case k == tagGitRepoURL:
			p.Repo = v
		case k == "mlflow.gitRepoURL":
		case k == tagGitDirty:
			p.Dirty = v == "true"
		case k == tagGitDiffSHA:
			p.DiffSHA = v
		case k == tagGitMessage:
			p.Message = v
		case k == tagLockfile:
			p.Lockfile = v
		case k == tagLockfileSHA:
			p.LockfileSHA = v
		case k == tagLockfiles:
			p.Lockfiles = strings.Split(v, ",")
		case strings.HasPrefix(k, prefixShape):
			p.Shapes = append(p.Shapes, kv{strings.TrimPrefix(k, prefixShape), v})
		case k == tagDatasetSummary:
			system = append(system, kv{k, v})
		case strings.HasPrefix(k, prefixDataset):
			p.Datasets = append(p.Datasets, kv{strings.TrimPrefix(k, prefixDataset), v})
		case k == prefixSeed || strings.HasPrefix(k, prefixSeed+"."):
			name := strings.TrimPrefix(strings.TrimPrefix(k, prefixSeed), ".")
			if name == "" {
				name = "run seed"
			}
			p.Seeds = append(p.Seeds, kv{name, v})
		case k == "mlrun.version" || k == "mlrun.go_version" || k == "mlrun.os" || k == "mlrun.host" || k == "mlflow.user" || k == "mlrun.git.repo":
			p.System = append(p.System, kv{k, v})
		case strings.HasPrefix(k, prefixStep):
		case strings.HasPrefix(k, "mlflow.") || strings.HasPrefix(k, "mlrun."):
			system = append(system, kv{k, v})
		default:
			user = append(user, kv{k, v})
		}
	}
	p.Any = p.Commit != "" || p.Message != "" || len(p.Datasets) > 0 || len(p.Seeds) > 0 || p.Lockfile != ""
	return p, user, system
}

// finishedIn returns the duration of "finished in 1.2s": the rest of the
// value, when it is not empty and has no white space (the regexp
// ^finished in (\S+)$ written out: package-level regexps are compiled by
// every mlrun process).
func finishedIn(v string) (string, bool) {
	d, ok := strings.CutPrefix(v, "finished in ")
	if !ok || d == "" || strings.ContainsAny(d, "\t\n\f\r ") {
		return "", false
	}
	return d, true
}

// timeline reads the mlrun.step.<name> tags ("finished in 12ms",
// "skipped: why", "cached: reused the outputs of run X", "failed: why"),
// in the order the steps are declared when the MLproject can be read.
func timeline(run *tracking.Run) []step {
	var out []step
	for _, t := range run.Tags {
		if !strings.HasPrefix(t.Key, prefixStep) {
			continue
		}
		s := step{Name: strings.TrimPrefix(t.Key, prefixStep)}
		if d, ok := finishedIn(t.Value); ok {
			s.Status = "finished"
			s.Duration, _ = time.ParseDuration(d)
			s.Label = d
		} else {
			s.Status, s.Message, _ = strings.Cut(t.Value, ": ")
			s.Label = s.Status
			if s.Status == "cached" {
				if i := strings.LastIndex(s.Message, "run "); i >= 0 {
					s.CachedFrom = strings.TrimSpace(s.Message[i+4:])
				}
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil
	}
	order := declaredSteps(run)
	rank := func(name string) int {
		if i := slices.Index(order, name); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(out, func(a, b step) int { return rank(a.Name) - rank(b.Name) })
	var longest time.Duration
	for _, s := range out {
		longest = max(longest, s.Duration)
	}
	for i := range out {
		out[i].Width = 1
		if longest > 0 && out[i].Duration > 0 {
			out[i].Width = max(1, 100*float64(out[i].Duration)/float64(longest))
		}
	}
	return out
}

// declaredSteps reads the step names of the run's entry point from its
// MLproject, in file order; nil when it cannot be read.
func declaredSteps(run *tracking.Run) []string {
	dir, ok := run.Tag(tagProjectDir)
	if !ok {
		return nil
	}
	ep, _ := run.Tag(tagEntryPoint)
	if ep == "" {
		ep = "main"
	}
	data, err := os.ReadFile(filepath.Join(dir, "MLproject"))
	if err != nil {
		return nil
	}
	var doc struct {
		EntryPoints map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
			} `yaml:"steps"`
		} `yaml:"entry_points"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var names []string
	for _, s := range doc.EntryPoints[ep].Steps {
		names = append(names, s.Name)
	}
	return names
}

// metricHistory answers MLflow's get-history shape: {"metrics": [...]}.
func (h *Handler) metricHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	runID, key := q.Get("run_id"), q.Get("metric_key")
	if runID == "" || key == "" {
		h.fail(w, r, errs.Errorf(errs.Invalid, "run_id and metric_key are required"), 0)
		return
	}
	run, err := h.opt.Store.GetRun(r.Context(), runID)
	if err == nil {
		err = h.needRun(r, run, permRead)
	}
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	ms, err := h.opt.Store.MetricHistory(r.Context(), runID, key)
	if err != nil {
		h.fail(w, r, err, 0)
		return
	}
	if q.Get("format") == "columns" {
		// The charts' shape: three arrays, a third of the bytes of MLflow's.
		writeColumns(w, ms)
		return
	}
	writeJSON(w, map[string]any{"metrics": jsonPoints(ms)})
}

// writeColumns writes {"step": [...], "timestamp": [...], "value": [...]},
// NaN and infinities as null, without reflection (100,000 points in a few
// milliseconds).
func writeColumns(w http.ResponseWriter, ms []tracking.Metric) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	buf := make([]byte, 0, 40*len(ms)+64)
	col := func(name string, last bool, f func(m *tracking.Metric) []byte) {
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, `":[`...)
		for i := range ms {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = f(&ms[i])
		}
		buf = append(buf, ']')
		if !last {
			buf = append(buf, ',')
		}
	}
	buf = append(buf, '{')
	col("step", false, func(m *tracking.Metric) []byte { return strconv.AppendInt(buf, m.Step, 10) })
	col("timestamp", false, func(m *tracking.Metric) []byte { return strconv.AppendInt(buf, m.Timestamp, 10) })
	col("value", true, func(m *tracking.Metric) []byte {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return append(buf, "null"...)
		}
		return strconv.AppendFloat(buf, m.Value, 'g', -1, 64)
	})
	buf = append(buf, '}')
	w.Write(buf)
}

// point is a metric point whose value is null when it is NaN or infinite,
// which JSON cannot carry.
type point struct {
	Key       string   `json:"key"`
	Value     *float64 `json:"value"`
	Timestamp int64    `json:"timestamp"`
	Step      int64    `json:"step"`
}

func jsonPoints(ms []tracking.Metric) []point {
	out := make([]point, len(ms))
	for i := range ms {
		m := &ms[i]
		out[i] = point{Key: m.Key, Timestamp: m.Timestamp, Step: m.Step}
		if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
			out[i].Value = &m.Value
		}
	}
	return out
}
