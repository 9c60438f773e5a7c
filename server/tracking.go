package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Limits of search and log-batch requests, as in MLflow.
const (
	maxSearchResults     = 50000
	defaultSearchResults = 1000
	maxBatchMetrics      = 1000
	maxBatchParams       = 100
	maxBatchTags         = 100
	maxBatchTotal        = 1000
)

func (s *Server) trackingRoutes() {
	s.handle("POST", "/experiments/create", s.createExperiment)
	s.handle("GET", "/experiments/get", s.getExperiment)
	s.handle("GET", "/experiments/get-by-name", s.getExperimentByName)
	s.handle("POST", "/experiments/search", s.searchExperiments)
	s.handle("GET", "/experiments/search", s.searchExperiments)
	s.handle("POST", "/experiments/delete", s.deleteExperiment)
	s.handle("POST", "/experiments/restore", s.restoreExperiment)
	s.handle("POST", "/experiments/update", s.updateExperiment)
	s.handle("POST", "/experiments/set-experiment-tag", s.setExperimentTag)

	s.handle("POST", "/runs/create", s.createRun)
	s.handle("POST", "/runs/update", s.updateRun)
	s.handle("POST", "/runs/delete", s.deleteRun)
	s.handle("POST", "/runs/restore", s.restoreRun)
	s.handle("GET", "/runs/get", s.getRun)
	s.handle("POST", "/runs/search", s.searchRuns)
	s.handle("POST", "/runs/log-metric", s.logMetric)
	s.handle("POST", "/runs/log-parameter", s.logParam)
	s.handle("POST", "/runs/set-tag", s.setTag)
	s.handle("POST", "/runs/delete-tag", s.deleteTag)
	s.handle("POST", "/runs/log-batch", s.logBatch)
	s.handle("POST", "/runs/log-model", s.logModel)
	s.handle("POST", "/runs/log-inputs", s.logInputs)
	s.handle("GET", "/metrics/get-history", s.getMetricHistory)
}

// handler adapts a function that decodes into req and returns a response
// message (or an error) to an http.HandlerFunc.
func handler[Req any](s *Server, fn func(r *http.Request, req *Req) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := s.decode(r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		resp, err := fn(r, &req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if a, ok := resp.(jsonAppender); ok {
			s.writeAppended(w, a)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

type empty struct{}

// ---- experiments

type createExperimentReq struct {
	Name             Str        `json:"name"`
	ArtifactLocation Str        `json:"artifact_location"`
	Tags             []KeyValue `json:"tags"`
}

func (s *Server) createExperiment(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *createExperimentReq) (any, error) {
		if req.Name == "" {
			return nil, missing("name")
		}
		if loc := string(req.ArtifactLocation); loc != "" {
			if strings.HasPrefix(loc, "runs:") || strings.ContainsAny(loc, "?#") {
				return nil, errs.Errorf(errs.Invalid, "artifact_location %q may not start with runs: nor hold a query or fragment", loc)
			}
		}
		exp, err := s.store.CreateExperiment(r.Context(), string(req.Name), tagMap(req.Tags))
		if err != nil {
			return nil, err
		}
		if err := s.opts.Auth.grantCreator(r, kindExperiment, exp.ID); err != nil {
			return nil, err
		}
		return map[string]string{"experiment_id": exp.ID}, nil
	})(w, r)
}

type experimentIDReq struct {
	ExperimentID Str `json:"experiment_id"`
}

func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *experimentIDReq) (any, error) {
		if req.ExperimentID == "" {
			return nil, missing("experiment_id")
		}
		exp, err := s.store.GetExperiment(r.Context(), string(req.ExperimentID))
		if err != nil {
			return nil, err
		}
		return map[string]any{"experiment": s.experiment(exp)}, nil
	})(w, r)
}

type experimentByNameReq struct {
	ExperimentName Str `json:"experiment_name"`
}

func (s *Server) getExperimentByName(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *experimentByNameReq) (any, error) {
		if req.ExperimentName == "" {
			return nil, missing("experiment_name")
		}
		exp, err := s.store.GetExperimentByName(r.Context(), string(req.ExperimentName))
		if errs.Code(err) == errs.NotFound {
			return nil, errs.Errorf(errs.NotFound, "Could not find experiment with name '%s'", req.ExperimentName)
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"experiment": s.experiment(exp)}, nil
	})(w, r)
}

type searchExperimentsReq struct {
	MaxResults *Int    `json:"max_results"`
	PageToken  Str     `json:"page_token"`
	Filter     Str     `json:"filter"`
	OrderBy    []Str   `json:"order_by"`
	ViewType   viewArg `json:"view_type"`
}

// viewArg is a ViewType on the wire: its name or its number.
type viewArg tracking.ViewType

// UnmarshalJSON reads ACTIVE_ONLY, DELETED_ONLY, ALL or 1, 2, 3.
func (v *viewArg) UnmarshalJSON(b []byte) error {
	switch strings.ToUpper(strings.Trim(string(b), `"`)) {
	case "ACTIVE_ONLY", "1", "":
		*v = viewArg(tracking.ActiveOnly)
	case "DELETED_ONLY", "2":
		*v = viewArg(tracking.DeletedOnly)
	case "ALL", "3":
		*v = viewArg(tracking.All)
	default:
		return errs.Errorf(errs.Invalid, "view type %s is not ACTIVE_ONLY, DELETED_ONLY or ALL", b)
	}
	return nil
}

// pageLimit checks max_results against MLflow's bounds.
func pageLimit(v *Int, def, max int) (int, error) {
	if v == nil {
		return def, nil
	}
	n := int(*v)
	if n < 1 || n > max {
		return 0, errs.Errorf(errs.Invalid, "Invalid value %d for parameter 'max_results' supplied. It must be at least 1 and at most %d.", n, max)
	}
	return n, nil
}

// offsetToken is the opaque page token MLflow's stores use: base64 of
// {"offset": N}.
func offsetToken(offset int) string {
	b, _ := json.Marshal(map[string]int{"offset": offset})
	return base64.StdEncoding.EncodeToString(b)
}

// parseOffsetToken reads a token written by offsetToken ("" is 0).
func parseOffsetToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		raw, err = base64.URLEncoding.DecodeString(tok)
	}
	var t struct {
		Offset *int `json:"offset"`
	}
	if err != nil || json.Unmarshal(raw, &t) != nil || t.Offset == nil || *t.Offset < 0 {
		return 0, errs.Errorf(errs.Invalid, "Invalid page token %q; pass the next_page_token of a previous response unchanged", tok)
	}
	return *t.Offset, nil
}

// page cuts one page out of n items; it returns the bounds and the token of
// the next page ("" on the last).
func page(n, offset, limit int) (lo, hi int, next string) {
	lo = min(offset, n)
	hi = min(lo+limit, n)
	if hi < n {
		next = offsetToken(hi)
	}
	return lo, hi, next
}

func (s *Server) searchExperiments(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *searchExperimentsReq) (any, error) {
		limit, err := pageLimit(req.MaxResults, defaultSearchResults, maxSearchResults)
		if err != nil {
			return nil, err
		}
		offset, err := parseOffsetToken(string(req.PageToken))
		if err != nil {
			return nil, err
		}
		f, err := parseFilter(string(req.Filter), []string{"name"}, []string{"creation_time", "last_update_time"})
		if err != nil {
			return nil, err
		}
		order, err := parseOrder(req.OrderBy, []string{"name", "experiment_id", "creation_time", "last_update_time"})
		if err != nil {
			return nil, err
		}
		if len(order) == 0 {
			order = []orderKey{{key: "creation_time", desc: true}}
		}
		exps, err := s.store.ListExperiments(r.Context(), tracking.ViewType(req.ViewType))
		if err != nil {
			return nil, err
		}
		var hits []*tracking.Experiment
		for _, e := range exps {
			if !s.opts.Auth.allowed(r, kindExperiment, e.ID, PermRead) {
				continue
			}
			if f.match(func(tag bool, key string) field {
				if tag {
					v, ok := e.Tags[key]
					return field{str: v, ok: ok}
				}
				switch key {
				case "name":
					return field{str: e.Name, ok: true}
				case "creation_time":
					return field{num: float64(e.CreationTime), isNum: true, ok: true}
				case "last_update_time":
					return field{num: float64(e.LastUpdateTime), isNum: true, ok: true}
				}
				return field{}
			}) {
				hits = append(hits, e)
			}
		}
		sort.SliceStable(hits, func(i, j int) bool {
			a, b := hits[i], hits[j]
			for _, o := range order {
				var c int
				switch o.key {
				case "name":
					c = strings.Compare(a.Name, b.Name)
				case "experiment_id":
					c = cmpIDs(a.ID, b.ID)
				case "creation_time":
					c = cmpInt(a.CreationTime, b.CreationTime)
				case "last_update_time":
					c = cmpInt(a.LastUpdateTime, b.LastUpdateTime)
				}
				if c != 0 {
					return (c < 0) != o.desc
				}
			}
			return cmpIDs(a.ID, b.ID) < 0
		})
		lo, hi, next := page(len(hits), offset, limit)
		out := make([]wExperiment, 0, hi-lo)
		for _, e := range hits[lo:hi] {
			out = append(out, s.experiment(e))
		}
		return paged("experiments", out, next), nil
	})(w, r)
}

// paged is a search response: the list under key, and next_page_token
// unless this is the last page.
func paged(key string, list any, next string) map[string]any {
	m := map[string]any{key: list}
	if next != "" {
		m["next_page_token"] = next
	}
	return m
}

// orderKey is one parsed order_by item.
type orderKey struct {
	key  string
	desc bool
}

// parseOrder parses order_by items "<attribute> [ASC|DESC]".
func parseOrder(items []Str, allowed []string) ([]orderKey, error) {
	var out []orderKey
	for _, it := range items {
		fields := strings.Fields(string(it))
		if len(fields) == 0 || len(fields) > 2 {
			return nil, errs.Errorf(errs.Invalid, "Invalid order_by clause %q; use '<attribute> [ASC|DESC]'", it)
		}
		k := strings.ToLower(strings.Trim(fields[0], "`\""))
		for _, p := range []string{"attributes.", "attribute.", "attr."} {
			k = strings.TrimPrefix(k, p)
		}
		if k == "timestamp" || k == "last_updated_timestamp" {
			k = "last_updated_timestamp"
		}
		if !contains(allowed, k) {
			return nil, errs.Errorf(errs.Invalid, "Invalid order_by clause %q: %q is not one of %s", it, fields[0], strings.Join(allowed, ", "))
		}
		o := orderKey{key: k}
		if len(fields) == 2 {
			switch strings.ToUpper(fields[1]) {
			case "ASC":
			case "DESC":
				o.desc = true
			default:
				return nil, errs.Errorf(errs.Invalid, "Invalid order_by clause %q: the direction must be ASC or DESC", it)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpIDs compares numeric ids as numbers.
func cmpIDs(a, b string) int {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return cmpInt(x, y)
	}
	return strings.Compare(a, b)
}

func (s *Server) deleteExperiment(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *experimentIDReq) (any, error) {
		if req.ExperimentID == "" {
			return nil, missing("experiment_id")
		}
		return empty{}, s.store.DeleteExperiment(r.Context(), string(req.ExperimentID))
	})(w, r)
}

func (s *Server) restoreExperiment(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *experimentIDReq) (any, error) {
		if req.ExperimentID == "" {
			return nil, missing("experiment_id")
		}
		return empty{}, s.store.RestoreExperiment(r.Context(), string(req.ExperimentID))
	})(w, r)
}

type updateExperimentReq struct {
	ExperimentID Str `json:"experiment_id"`
	NewName      Str `json:"new_name"`
}

func (s *Server) updateExperiment(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *updateExperimentReq) (any, error) {
		if req.ExperimentID == "" {
			return nil, missing("experiment_id")
		}
		if req.NewName == "" {
			return empty{}, nil // MLflow: nothing to change
		}
		return empty{}, s.store.RenameExperiment(r.Context(), string(req.ExperimentID), string(req.NewName))
	})(w, r)
}

type experimentTagReq struct {
	ExperimentID Str  `json:"experiment_id"`
	Key          Str  `json:"key"`
	Value        *Str `json:"value"`
}

func (s *Server) setExperimentTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *experimentTagReq) (any, error) {
		switch {
		case req.ExperimentID == "":
			return nil, missing("experiment_id")
		case req.Key == "":
			return nil, missing("key")
		case req.Value == nil:
			return nil, missing("value")
		}
		return empty{}, s.store.SetExperimentTag(r.Context(), string(req.ExperimentID), string(req.Key), string(*req.Value))
	})(w, r)
}

// ---- runs

type createRunReq struct {
	ExperimentID Str        `json:"experiment_id"`
	UserID       Str        `json:"user_id"`
	RunName      Str        `json:"run_name"`
	StartTime    Int        `json:"start_time"`
	Tags         []KeyValue `json:"tags"`
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *createRunReq) (any, error) {
		tags := make([]tracking.Tag, 0, len(req.Tags)+1)
		user := string(req.UserID)
		hasParent := false
		for _, t := range req.Tags {
			tags = append(tags, tracking.Tag{Key: string(t.Key), Value: string(t.Value)})
			if t.Key == "mlflow.user" && user == "" {
				user = string(t.Value)
			}
			hasParent = hasParent || t.Key == parentRunTag
		}
		if s.opts.ParentRunID != "" && !hasParent {
			tags = append(tags, tracking.Tag{Key: parentRunTag, Value: s.opts.ParentRunID})
		}
		if u := s.opts.Auth.userOf(r); u != "" {
			user = u
		}
		info, err := s.store.CreateRun(r.Context(), tracking.NewRun{
			ExperimentID: string(req.ExperimentID),
			Name:         string(req.RunName),
			UserID:       user,
			StartTime:    int64(req.StartTime),
			Tags:         tags,
		})
		if err != nil {
			return nil, err
		}
		// The new run holds exactly its tags and the name tag: answer
		// without reading it back.
		run := &tracking.Run{Info: *info}
		byKey := map[string]string{"mlflow.runName": info.Name}
		for _, t := range tags {
			byKey[t.Key] = t.Value
		}
		for _, kv := range tagList(byKey) {
			run.Tags = append(run.Tags, tracking.Tag{Key: string(kv.Key), Value: string(kv.Value)})
		}
		return map[string]any{"run": s.run(run)}, nil
	})(w, r)
}

type runIDReq struct {
	RunID   Str `json:"run_id"`
	RunUUID Str `json:"run_uuid"`
}

// id returns run_id, or the deprecated run_uuid.
func (q runIDReq) id() (string, error) {
	if q.RunID != "" {
		return string(q.RunID), nil
	}
	if q.RunUUID != "" {
		return string(q.RunUUID), nil
	}
	return "", missing("run_id")
}

type updateRunReq struct {
	runIDReq
	Status  *statusArg `json:"status"`
	EndTime *Int       `json:"end_time"`
	RunName *Str       `json:"run_name"`
}

// statusArg is a RunStatus on the wire: its name or its number.
type statusArg tracking.RunStatus

// UnmarshalJSON reads RUNNING, SCHEDULED, FINISHED, FAILED, KILLED or 1-5.
func (v *statusArg) UnmarshalJSON(b []byte) error {
	s := strings.ToUpper(strings.Trim(string(b), `"`))
	names := map[string]tracking.RunStatus{"1": tracking.StatusRunning, "2": tracking.StatusScheduled,
		"3": tracking.StatusFinished, "4": tracking.StatusFailed, "5": tracking.StatusKilled}
	if st, ok := names[s]; ok {
		*v = statusArg(st)
		return nil
	}
	switch st := tracking.RunStatus(s); st {
	case tracking.StatusRunning, tracking.StatusScheduled, tracking.StatusFinished, tracking.StatusFailed, tracking.StatusKilled:
		*v = statusArg(st)
		return nil
	}
	return errs.Errorf(errs.Invalid, "run status %s is not RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", b)
}

func (s *Server) updateRun(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *updateRunReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		var u tracking.RunUpdate
		if id == s.opts.OwnedRunID {
			req.Status, req.EndTime = nil, nil // the pipeline ends its own run
		}
		if req.Status != nil {
			st := tracking.RunStatus(*req.Status)
			u.Status = &st
		}
		if req.EndTime != nil {
			t := int64(*req.EndTime)
			u.EndTime = &t
		}
		if req.RunName != nil && *req.RunName != "" {
			n := string(*req.RunName)
			u.Name = &n
		}
		if err := s.store.UpdateRun(r.Context(), id, u); err != nil {
			return nil, err
		}
		run, err := s.store.GetRun(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run_info": s.runInfo(&run.Info)}, nil
	})(w, r)
}

func (s *Server) deleteRun(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *runIDReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		return empty{}, s.store.DeleteRun(r.Context(), id)
	})(w, r)
}

func (s *Server) restoreRun(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *runIDReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		return empty{}, s.store.RestoreRun(r.Context(), id)
	})(w, r)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *runIDReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		run, err := s.store.GetRun(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return map[string]any{"run": s.run(run)}, nil
	})(w, r)
}

type searchRunsReq struct {
	ExperimentIDs []Str   `json:"experiment_ids"`
	Filter        Str     `json:"filter"`
	RunViewType   viewArg `json:"run_view_type"`
	MaxResults    *Int    `json:"max_results"`
	OrderBy       []Str   `json:"order_by"`
	PageToken     Str     `json:"page_token"`
}

func (s *Server) searchRuns(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *searchRunsReq) (any, error) {
		limit, err := pageLimit(req.MaxResults, defaultSearchResults, maxSearchResults)
		if err != nil {
			return nil, err
		}
		q := tracking.SearchRuns{
			Filter:     string(req.Filter),
			MaxResults: limit,
			PageToken:  string(req.PageToken),
			ViewType:   tracking.ViewType(req.RunViewType),
		}
		for _, id := range req.ExperimentIDs {
			q.ExperimentIDs = append(q.ExperimentIDs, string(id))
		}
		for _, o := range req.OrderBy {
			q.OrderBy = append(q.OrderBy, string(o))
		}
		if len(q.ExperimentIDs) == 0 {
			// MLflow searches the given experiments only; none means none.
			return map[string]any{"runs": []wRun{}}, nil
		}
		runs, next, err := s.store.SearchRuns(r.Context(), q)
		if err != nil {
			return nil, err
		}
		return runsPage{s: s, runs: runs, next: next}, nil
	})(w, r)
}

type logMetricReq struct {
	runIDReq
	Key       Str    `json:"key"`
	Value     *Float `json:"value"`
	Timestamp *Int   `json:"timestamp"`
	Step      Int    `json:"step"`
}

func (s *Server) logMetric(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *logMetricReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		switch {
		case req.Key == "":
			return nil, missing("key")
		case req.Value == nil:
			return nil, missing("value")
		case req.Timestamp == nil:
			return nil, missing("timestamp")
		}
		m := tracking.Metric{Key: string(req.Key), Value: float64(*req.Value), Timestamp: int64(*req.Timestamp), Step: int64(req.Step)}
		if m.Timestamp < 0 {
			return nil, errs.Errorf(errs.Invalid, "Invalid value %d for parameter 'timestamp' supplied: it must not be negative", m.Timestamp)
		}
		return empty{}, s.store.LogBatch(r.Context(), id, []tracking.Metric{m}, nil, nil)
	})(w, r)
}

type keyValueReq struct {
	runIDReq
	Key   Str  `json:"key"`
	Value *Str `json:"value"`
}

func (s *Server) logParam(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *keyValueReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		if req.Value == nil {
			return nil, missing("value")
		}
		return empty{}, s.store.LogBatch(r.Context(), id, nil, []tracking.Param{{Key: string(req.Key), Value: string(*req.Value)}}, nil)
	})(w, r)
}

func (s *Server) setTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *keyValueReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		if req.Value == nil {
			return nil, missing("value")
		}
		return empty{}, s.store.LogBatch(r.Context(), id, nil, nil, []tracking.Tag{{Key: string(req.Key), Value: string(*req.Value)}})
	})(w, r)
}

func (s *Server) deleteTag(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *keyValueReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		if req.Key == "" {
			return nil, missing("key")
		}
		return empty{}, s.store.DeleteTag(r.Context(), id, string(req.Key))
	})(w, r)
}

type batchMetric struct {
	Key       Str    `json:"key"`
	Value     *Float `json:"value"`
	Timestamp *Int   `json:"timestamp"`
	Step      Int    `json:"step"`
}

type logBatchReq struct {
	RunID   Str           `json:"run_id"`
	Metrics []batchMetric `json:"metrics"`
	Params  []KeyValue    `json:"params"`
	Tags    []KeyValue    `json:"tags"`
}

func (s *Server) logBatch(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *logBatchReq) (any, error) {
		if req.RunID == "" {
			return nil, missing("run_id")
		}
		nm, np, nt := len(req.Metrics), len(req.Params), len(req.Tags)
		switch {
		case nm > maxBatchMetrics:
			return nil, errs.Errorf(errs.Invalid, "A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", maxBatchMetrics, nm)
		case np > maxBatchParams:
			return nil, errs.Errorf(errs.Invalid, "A batch logging request can contain at most %d params. Got %d params. Please split up params across multiple requests and try again.", maxBatchParams, np)
		case nt > maxBatchTags:
			return nil, errs.Errorf(errs.Invalid, "A batch logging request can contain at most %d tags. Got %d tags. Please split up tags across multiple requests and try again.", maxBatchTags, nt)
		case nm+np+nt > maxBatchTotal:
			return nil, errs.Errorf(errs.Invalid, "A batch logging request can contain at most %d metrics, params, and tags in total. Got %d. Please split up across multiple requests and try again.", maxBatchTotal, nm+np+nt)
		}
		metrics := make([]tracking.Metric, 0, nm)
		for i, m := range req.Metrics {
			switch {
			case m.Key == "":
				return nil, errs.Errorf(errs.Invalid, "Missing value for required parameter 'metrics[%d].key'", i)
			case m.Value == nil:
				return nil, errs.Errorf(errs.Invalid, "Missing value for required parameter 'metrics[%d].value'", i)
			case m.Timestamp == nil:
				return nil, errs.Errorf(errs.Invalid, "Missing value for required parameter 'metrics[%d].timestamp'", i)
			case *m.Timestamp < 0:
				return nil, errs.Errorf(errs.Invalid, "Invalid value %d for parameter 'metrics[%d].timestamp' supplied: it must not be negative", *m.Timestamp, i)
			}
			metrics = append(metrics, tracking.Metric{Key: string(m.Key), Value: float64(*m.Value), Timestamp: int64(*m.Timestamp), Step: int64(m.Step)})
		}
		params := make([]tracking.Param, 0, np)
		seen := make(map[string]string, np)
		for _, p := range req.Params {
			if old, dup := seen[string(p.Key)]; dup && old != string(p.Value) {
				return nil, errs.Errorf(errs.Invalid, "Duplicate parameter keys have been submitted: %q with different values", p.Key)
			} else if dup {
				continue
			}
			seen[string(p.Key)] = string(p.Value)
			params = append(params, tracking.Param{Key: string(p.Key), Value: string(p.Value)})
		}
		tags := make([]tracking.Tag, 0, nt)
		for _, t := range req.Tags {
			tags = append(tags, tracking.Tag{Key: string(t.Key), Value: string(t.Value)})
		}
		return empty{}, s.store.LogBatch(r.Context(), string(req.RunID), metrics, params, tags)
	})(w, r)
}

// parentRunTag is the tag that makes a run the child of another.
const parentRunTag = "mlflow.parentRunId"

// logModelHistoryTag is the run tag that lists the models logged to a run.
const logModelHistoryTag = "mlflow.log-model.history"

type logModelReq struct {
	RunID     Str `json:"run_id"`
	ModelJSON Str `json:"model_json"`
}

func (s *Server) logModel(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *logModelReq) (any, error) {
		if req.RunID == "" {
			return nil, missing("run_id")
		}
		if req.ModelJSON == "" {
			return nil, missing("model_json")
		}
		var model map[string]any
		if err := json.Unmarshal([]byte(req.ModelJSON), &model); err != nil {
			return nil, errs.Errorf(errs.Invalid, "Malformed model info. \n %s \n is not a valid JSON.", req.ModelJSON)
		}
		var lacking []string
		for _, k := range []string{"artifact_path", "flavors", "utc_time_created", "run_id"} {
			if _, ok := model[k]; !ok {
				lacking = append(lacking, k)
			}
		}
		if len(lacking) > 0 {
			return nil, errs.Errorf(errs.Invalid, "Model json is missing mandatory fields: %s", strings.Join(lacking, ", "))
		}
		// The history is read, extended and written back; two models logged
		// to one run at the same instant could lose one entry of this
		// informational tag, never a model's files.
		run, err := s.store.GetRun(r.Context(), string(req.RunID))
		if err != nil {
			return nil, err
		}
		var history []any
		if old, ok := run.Tag(logModelHistoryTag); ok {
			_ = json.Unmarshal([]byte(old), &history) // a corrupt history restarts
		}
		history = append(history, model)
		b, err := json.Marshal(history)
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "cannot encode the model history: %v", err)
		}
		return empty{}, s.store.LogBatch(r.Context(), string(req.RunID), nil, nil, []tracking.Tag{{Key: logModelHistoryTag, Value: string(b)}})
	})(w, r)
}

// datasetInputTagPrefix starts the run tags that record the datasets given
// to log-inputs: one tag per dataset, keyed by a hash of its name and digest
// and holding its MLflow DatasetInput message as JSON. The store has no
// dataset tables; one tag per dataset keeps concurrent log-inputs calls from
// overwriting each other (each writes only its own keys), and a dataset
// logged again keeps one entry, as MLflow deduplicates by name and digest.
const datasetInputTagPrefix = "mlrun.inputs.dataset."

// legacyDatasetInputsTag is the single tag older versions kept every
// dataset in, as a JSON list; runs/get still reads it.
const legacyDatasetInputsTag = "mlrun.inputs.datasets"

// maxDatasetInputLen is the longest DatasetInput log-inputs keeps: the
// store's limit on a tag value.
const maxDatasetInputLen = 8000

type logInputsReq struct {
	RunID    Str               `json:"run_id"`
	Datasets []json.RawMessage `json:"datasets"`
}

// datasetInput is the part of MLflow's DatasetInput message log-inputs checks.
type datasetInput struct {
	Dataset *struct {
		Name       *string `json:"name"`
		Digest     *string `json:"digest"`
		SourceType *string `json:"source_type"`
		Source     *string `json:"source"`
	} `json:"dataset"`
}

func (s *Server) logInputs(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *logInputsReq) (any, error) {
		if req.RunID == "" {
			return nil, missing("run_id")
		}
		run, err := s.store.GetRun(r.Context(), string(req.RunID))
		if err != nil {
			return nil, err
		}
		var tags []tracking.Tag
		seen := map[string]bool{}
		for i, raw := range req.Datasets {
			var in datasetInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, errs.Errorf(errs.Invalid, "datasets[%d] is not a DatasetInput: %v", i, err)
			}
			d := in.Dataset
			switch {
			case d == nil:
				return nil, errs.Errorf(errs.Invalid, "datasets[%d].dataset is missing", i)
			case d.Name == nil, d.Digest == nil, d.SourceType == nil, d.Source == nil:
				return nil, errs.Errorf(errs.Invalid, "datasets[%d].dataset needs name, digest, source_type and source", i)
			}
			sum := sha256.Sum256([]byte(*d.Name + "\x00" + *d.Digest))
			key := datasetInputTagPrefix + hex.EncodeToString(sum[:8])
			if _, ok := run.Tag(key); ok || seen[key] {
				continue // MLflow keeps the first input of a dataset
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				return nil, errs.Errorf(errs.Invalid, "datasets[%d]: %v", i, err)
			}
			if n := utf8.RuneCount(compact.Bytes()); n > maxDatasetInputLen {
				return nil, errs.Errorf(errs.Invalid, "datasets[%d] (dataset %q) is %d characters as JSON; mlrun keeps at most %d per dataset: log it with a smaller schema or profile", i, *d.Name, n, maxDatasetInputLen)
			}
			seen[key] = true
			tags = append(tags, tracking.Tag{Key: key, Value: compact.String()})
		}
		if len(tags) == 0 {
			return empty{}, nil
		}
		return empty{}, s.store.LogBatch(r.Context(), string(req.RunID), nil, nil, tags)
	})(w, r)
}

type metricHistoryReq struct {
	runIDReq
	MetricKey  Str  `json:"metric_key"`
	MaxResults *Int `json:"max_results"`
	PageToken  Str  `json:"page_token"`
}

func (s *Server) getMetricHistory(w http.ResponseWriter, r *http.Request) {
	handler(s, func(r *http.Request, req *metricHistoryReq) (any, error) {
		id, err := req.id()
		if err != nil {
			return nil, err
		}
		if req.MetricKey == "" {
			return nil, missing("metric_key")
		}
		points, err := s.store.MetricHistory(r.Context(), id, string(req.MetricKey))
		if err != nil {
			return nil, err
		}
		lo, hi, next := 0, len(points), ""
		if req.MaxResults != nil || req.PageToken != "" {
			limit, err := pageLimit(req.MaxResults, 25000, 1<<30)
			if err != nil {
				return nil, err
			}
			offset, err := parseOffsetToken(string(req.PageToken))
			if err != nil {
				return nil, err
			}
			lo, hi, next = page(len(points), offset, limit)
		}
		out := make([]wMetric, 0, hi-lo)
		for _, m := range points[lo:hi] {
			out = append(out, wMetric{Key: m.Key, Value: Float(m.Value), Timestamp: m.Timestamp, Step: m.Step})
		}
		return paged("metrics", out, next), nil
	})(w, r)
}

// nowMillis is the current time in Unix milliseconds.
func nowMillis() int64 { return time.Now().UnixMilli() }
