package ui

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// maxWatched bounds the runs one event stream follows.
const maxWatched = 200

// runEvent is what the pages update in place when a run changes.
type runEvent struct {
	ID       string            `json:"id"`
	Status   string            `json:"status"`
	EndTime  int64             `json:"end_time"`
	Duration string            `json:"duration"`
	Metrics  map[string]string `json:"metrics"`
}

// events streams Server-Sent Events: "run" when a watched run's status or
// metrics change, "newrun" when a run appears in the watched experiment
// (a new run or a sweep's next trial). Query: run=<id> (repeatable or
// comma-separated) and experiment=<id>.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fl, ok := w.(http.Flusher)
	if !ok {
		h.fail(w, r, errs.Errorf(errs.Internal, "streaming is not supported by this server"), 0)
		return
	}
	var ids []string
	for _, v := range r.URL.Query()["run"] {
		for _, id := range strings.Split(v, ",") {
			if id != "" && len(ids) < maxWatched {
				ids = append(ids, id)
			}
		}
	}
	exp := r.URL.Query().Get("experiment")
	if exp != "" && !h.canExperiment(r, exp, permRead) {
		h.fail(w, r, h.denied(r, permRead, "experiment "+exp), 0)
		return
	}
	newest := func() string {
		if exp == "" {
			return ""
		}
		runs, _, err := h.opt.Store.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp}, MaxResults: 1, OrderBy: []string{"attributes.start_time DESC"}})
		if err != nil || len(runs) == 0 {
			return ""
		}
		return runs[0].Info.ID
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": mlrun live updates\nretry: 3000\n\n")
	fl.Flush()

	last := map[string]string{}
	lastNewest := newest()
	tick := time.NewTicker(h.opt.PollInterval)
	defer tick.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		for _, id := range ids {
			run, err := h.opt.Store.GetRun(ctx, id)
			if err != nil || !h.canExperiment(r, run.Info.ExperimentID, permRead) {
				continue
			}
			ev := runEvent{ID: id, Status: string(run.Info.Status), EndTime: run.Info.EndTime,
				Duration: formatDuration(run.Info.StartTime, run.Info.EndTime), Metrics: map[string]string{}}
			for _, m := range run.Metrics {
				if !math.IsNaN(m.Value) {
					ev.Metrics[m.Key] = formatNumber(m.Value)
				}
			}
			b, _ := json.Marshal(ev)
			if last[id] == string(b) && run.Info.Status != tracking.StatusRunning {
				continue // unchanged; a running run is sent anyway, for its duration
			}
			last[id] = string(b)
			fmt.Fprintf(w, "event: run\ndata: %s\n\n", b)
		}
		if n := newest(); n != lastNewest && n != "" {
			lastNewest = n
			fmt.Fprintf(w, "event: newrun\ndata: %q\n\n", n)
		}
		fl.Flush()
	}
}
