package storetest

import (
	"cmp"
	"context"
	"encoding/base64"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// searchFixture builds five runs r1..r5 (started at 1000..5000 ms):
//
//	run exp    user  model path       acc   loss  team  status    end
//	r1  0      alice a     a*b[1]?    0.9   NaN   Red   RUNNING   -
//	r2  0      bob   b     -          0.4   1     red   FINISHED  2500
//	r3  0      bob   A     aXb[1]Z    -     -     blue  FAILED    3500
//	r4  other  alice a     -          0.6   -Inf  -     RUNNING   -
//	r5  0      alice a     -          0.99  -     -     (deleted)
//
// r1 also has param lr=0.1. It returns the store and the run ids by name.
func searchFixture(t *testing.T, h *Harness) (tracking.Store, map[string]string) {
	ctx := context.Background()
	s := h.Open(t)
	other, err := s.CreateExperiment(ctx, "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name, exp, user string
		params          []tracking.Param
		metrics         []tracking.Metric
		tags            []tracking.Tag
	}
	p := func(kv ...string) []tracking.Param {
		var out []tracking.Param
		for i := 0; i < len(kv); i += 2 {
			out = append(out, tracking.Param{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	m := func(k string, v float64) tracking.Metric { return tracking.Metric{Key: k, Value: v, Timestamp: 1} }
	rows := []row{
		{"r1", "0", "alice", p("model", "a", "lr", "0.1", "path", "a*b[1]?"), []tracking.Metric{m("acc", 0.9), m("loss", math.NaN())}, []tracking.Tag{{Key: "team", Value: "Red"}}},
		{"r2", "0", "bob", p("model", "b"), []tracking.Metric{m("acc", 0.4), m("loss", 1)}, []tracking.Tag{{Key: "team", Value: "red"}}},
		{"r3", "0", "bob", p("model", "A", "path", "aXb[1]Z"), nil, []tracking.Tag{{Key: "team", Value: "blue"}}},
		{"r4", other.ID, "alice", p("model", "a"), []tracking.Metric{m("acc", 0.6), m("loss", math.Inf(-1))}, nil},
		{"r5", "0", "alice", p("model", "a"), []tracking.Metric{m("acc", 0.99)}, nil},
	}
	ids := map[string]string{}
	for i, r := range rows {
		info := mustCreateRun(t, s, tracking.NewRun{
			ExperimentID: r.exp, Name: r.name, UserID: r.user, StartTime: int64(1000 * (i + 1)),
			Params: r.params, Tags: r.tags,
		})
		mustLog(t, s, info.ID, r.metrics, nil, nil)
		ids[r.name] = info.ID
	}
	finish := func(name string, st tracking.RunStatus, end int64) {
		if err := s.UpdateRun(ctx, ids[name], tracking.RunUpdate{Status: &st, EndTime: &end}); err != nil {
			t.Fatal(err)
		}
	}
	finish("r2", tracking.StatusFinished, 2500)
	finish("r3", tracking.StatusFailed, 3500)
	if err := s.DeleteRun(ctx, ids["r5"]); err != nil {
		t.Fatal(err)
	}
	return s, ids
}

// names returns the run names of runs, in order.
func names(runs []*tracking.Run) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.Info.Name)
	}
	return out
}

func testSearchFilters(t *testing.T, h *Harness) {
	ctx := context.Background()
	s, ids := searchFixture(t, h)
	all := []string{"r4", "r3", "r2", "r1"}
	none := []string{}
	tests := []struct {
		filter string
		want   []string
	}{
		{"", all},
		{"metrics.acc > 0.5", []string{"r4", "r1"}},
		{"metrics.acc >= 0.6", []string{"r4", "r1"}},
		{"metrics.acc < 0.6", []string{"r2"}},
		{"metrics.acc <= 0.6", []string{"r4", "r2"}},
		{"metrics.acc = 0.4", []string{"r2"}},
		{"metrics.acc != 0.4", []string{"r4", "r1"}}, // r3 lacks acc: never matches
		{"metrics.loss != 1", []string{"r4", "r1"}},  // NaN and -Inf differ from 1
		{"metrics.loss = 0", none},                   // a NaN is stored as 0 but equals nothing
		{"metrics.loss < 0", []string{"r4"}},
		{"metrics.loss > -1e308", []string{"r2"}},
		{"params.model = 'a'", []string{"r4", "r1"}},
		{"params.model != 'a'", []string{"r3", "r2"}},
		{"params.model LIKE 'a'", []string{"r4", "r1"}}, // LIKE is case-sensitive
		{"params.model ILIKE 'a'", []string{"r4", "r3", "r1"}},
		{"params.model LIKE '%'", all},
		{"params.path LIKE 'a*b[1]%'", []string{"r1"}}, // GLOB characters are literal
		{"params.path LIKE 'a_b[1]_'", []string{"r3", "r1"}},
		{"params.lr = '0.1'", []string{"r1"}},
		{"params.missing = 'x'", none},
		{"params.missing != 'x'", none},
		{"tags.team = 'red'", []string{"r2"}},
		{"tags.team ILIKE 'RED'", []string{"r2", "r1"}},
		{"tags.team LIKE 'R%'", []string{"r1"}},
		{"tags.`mlflow.runName` = 'r3'", []string{"r3"}},
		{"attributes.user_id = 'alice'", []string{"r4", "r1"}},
		{"user_id != 'alice'", []string{"r3", "r2"}},
		{"status = 'FINISHED'", []string{"r2"}},
		{"run_name LIKE 'r_'", all},
		{`"run name" ILIKE 'R1'`, []string{"r1"}},
		{"start_time >= 3000", []string{"r4", "r3"}},
		{"created < 2000", []string{"r1"}},
		{"end_time > 3000", []string{"r3"}},
		{"end_time < 5000", []string{"r3", "r2"}},
		{"run_id IN ('" + ids["r1"] + "', '" + ids["r2"] + "')", []string{"r2", "r1"}},
		{"run_id NOT IN ('" + ids["r1"] + "')", []string{"r4", "r3", "r2"}},
		{"run_id = '" + ids["r3"] + "'", []string{"r3"}},
		{"artifact_uri LIKE 'file://%'", all},
		{"params.model = 'a'' OR ''1''=''1'", none},
		{"metrics.acc > 0.5 and params.model = 'a' AND tags.team = 'Red'", []string{"r1"}},
	}
	for _, tt := range tests {
		runs, next, err := s.SearchRuns(ctx, tracking.SearchRuns{Filter: tt.filter})
		if err != nil {
			t.Errorf("filter %q: %v", tt.filter, err)
			continue
		}
		if got := names(runs); !reflect.DeepEqual(got, tt.want) || next != "" {
			t.Errorf("filter %q = %v (next %q), want %v", tt.filter, got, next, tt.want)
		}
	}

	// Experiments and view types.
	views := []struct {
		exps []string
		view tracking.ViewType
		want []string
	}{
		{[]string{"1"}, 0, []string{"r4"}},
		{[]string{"0", "1"}, tracking.ActiveOnly, all},
		{[]string{"0"}, tracking.DeletedOnly, []string{"r5"}},
		{nil, tracking.All, []string{"r5", "r4", "r3", "r2", "r1"}},
		{[]string{"7"}, tracking.All, none},
	}
	for _, v := range views {
		runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: v.exps, ViewType: v.view})
		if err != nil {
			t.Fatalf("experiments %v view %d: %v", v.exps, v.view, err)
		}
		if got := names(runs); !reflect.DeepEqual(got, v.want) {
			t.Errorf("experiments %v view %d = %v, want %v", v.exps, v.view, got, v.want)
		}
	}

	// Returned runs carry their data.
	runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{Filter: "params.lr = '0.1'"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("search lr: %v, %v", runs, err)
	}
	r1 := runs[0]
	if loss, _ := r1.Metric("loss"); !math.IsNaN(loss) || len(r1.Params) != 3 || len(r1.Metrics) != 2 || len(r1.Tags) != 2 {
		t.Fatalf("r1 from search = %+v", r1)
	}

	// Bad requests.
	bad := []tracking.SearchRuns{
		{Filter: "metrics.acc > 'x'"},
		{Filter: "params.a = 'x' OR params.b = 'y'"},
		{OrderBy: []string{"metrics.acc UP"}},
		{MaxResults: 50001},
		{MaxResults: -1},
		{PageToken: "!!not base64"},
		{PageToken: base64.StdEncoding.EncodeToString([]byte(`{"offset": -3}`))},
		{ExperimentIDs: []string{"abc"}},
		{ViewType: 9},
	}
	for _, q := range bad {
		_, _, err := s.SearchRuns(ctx, q)
		wantCode(t, "SearchRuns("+q.Filter+")", err, errs.Invalid)
	}
}

func testSearchOrderBy(t *testing.T, h *Harness) {
	ctx := context.Background()
	s, _ := searchFixture(t, h)
	tests := []struct {
		order []string
		want  []string
	}{
		{nil, []string{"r4", "r3", "r2", "r1"}},
		{[]string{"metrics.acc DESC"}, []string{"r1", "r4", "r2", "r3"}},
		{[]string{"metrics.acc"}, []string{"r2", "r4", "r1", "r3"}},
		// NaN (r1) and missing (r3) sort last either way, then by start_time DESC.
		{[]string{"metrics.loss"}, []string{"r4", "r2", "r3", "r1"}},
		{[]string{"metrics.loss DESC"}, []string{"r2", "r4", "r3", "r1"}},
		{[]string{"params.model"}, []string{"r3", "r4", "r1", "r2"}},
		{[]string{"params.model DESC"}, []string{"r2", "r4", "r1", "r3"}},
		{[]string{"params.path"}, []string{"r1", "r3", "r4", "r2"}},
		{[]string{"params.path DESC"}, []string{"r3", "r1", "r4", "r2"}},
		{[]string{"tags.team"}, []string{"r1", "r3", "r2", "r4"}},
		{[]string{"attributes.start_time"}, []string{"r1", "r2", "r3", "r4"}},
		{[]string{"end_time DESC"}, []string{"r3", "r2", "r4", "r1"}},
		{[]string{"end_time"}, []string{"r2", "r3", "r4", "r1"}},
		{[]string{"run_name DESC"}, []string{"r4", "r3", "r2", "r1"}},
		{[]string{"params.model", "metrics.acc DESC"}, []string{"r3", "r1", "r4", "r2"}},
	}
	for _, tt := range tests {
		runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{OrderBy: tt.order})
		if err != nil {
			t.Errorf("order %v: %v", tt.order, err)
			continue
		}
		if got := names(runs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("order %v = %v, want %v", tt.order, got, tt.want)
		}
	}
}

// testSearchDuration orders and filters by duration (end_time -
// start_time), mlrun's extension of MLflow's syntax: runs not over sort
// last either way and match no comparison; ties are broken by start_time
// DESC as for the other keys.
func testSearchDuration(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	for _, r := range []struct {
		name       string
		start, end int64 // end 0: not over
	}{{"a", 1000, 1300}, {"b", 2000, 2500}, {"c", 3000, 3300}, {"d", 4000, 0}, {"e", 5000, 5100}, {"f", 6000, 0}} {
		info := mustCreateRun(t, s, tracking.NewRun{Name: r.name, StartTime: r.start})
		if r.end != 0 {
			st, end := tracking.StatusFinished, r.end
			if err := s.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &st, EndTime: &end}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range []struct {
		filter string
		order  []string
		want   []string
	}{
		{"", []string{"duration"}, []string{"e", "c", "a", "b", "f", "d"}},
		{"", []string{"attributes.duration DESC"}, []string{"b", "c", "a", "e", "f", "d"}},
		{"", []string{"duration", "start_time"}, []string{"e", "a", "c", "b", "d", "f"}},
		{"", []string{"end_time"}, []string{"a", "b", "c", "e", "f", "d"}}, // not the same order
		{"duration >= 300", nil, []string{"c", "b", "a"}},
		{"duration < 300 and status = 'FINISHED'", []string{"duration DESC"}, []string{"e"}},
		{"duration != 300", []string{"duration"}, []string{"e", "b"}}, // runs not over never match
	} {
		runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{Filter: tt.filter, OrderBy: tt.order})
		if err != nil {
			t.Errorf("filter %q order %v: %v", tt.filter, tt.order, err)
			continue
		}
		if got := names(runs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("filter %q order %v = %v, want %v", tt.filter, tt.order, got, tt.want)
		}
	}
	_, _, err := s.SearchRuns(ctx, tracking.SearchRuns{Filter: "duration > 'x'"})
	wantCode(t, "SearchRuns(duration > 'x')", err, errs.Invalid)
}

func testSearchPaging(t *testing.T, h *Harness) {
	ctx := context.Background()
	s, _ := searchFixture(t, h)
	var got []string
	var tokens []string
	tok := ""
	for page := 0; page < 10; page++ {
		runs, next, err := s.SearchRuns(ctx, tracking.SearchRuns{ViewType: tracking.All, MaxResults: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 2 {
			t.Fatalf("page %d has %d runs, want at most 2", page, len(runs))
		}
		got = append(got, names(runs)...)
		tokens = append(tokens, next)
		if next == "" {
			break
		}
		tok = next
	}
	if want := []string{"r5", "r4", "r3", "r2", "r1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}
	if len(tokens) != 3 || tokens[0] == "" || tokens[1] == "" || tokens[2] != "" {
		t.Fatalf("tokens = %q, want two then none", tokens)
	}
	// An exactly full last page has no next token.
	runs, next, err := s.SearchRuns(ctx, tracking.SearchRuns{MaxResults: 4})
	if err != nil || len(runs) != 4 || next != "" {
		t.Fatalf("full page: %d runs, next %q, %v", len(runs), next, err)
	}
}

// testSearchPagingAcrossMissingValues pages through searches ordered by a
// metric or a param that some runs lack or hold as NaN, with every page
// size from 1 to 7: the pages must join up into the order of one big page,
// which must be the order computed here (values first, then NaN and missing
// tied, by start_time DESC).
func testSearchPagingAcrossMissingValues(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	type run struct {
		name  string
		start int64
		acc   float64 // -1: missing
		model string  // "": missing
	}
	var runs []run
	for i := range 17 {
		r := run{name: "r" + strconv.Itoa(i), start: int64(1000 + 10*(i%6)), acc: float64(i%5) / 4, model: string(rune('a' + i%4))}
		switch i % 7 {
		case 2:
			r.acc = math.NaN()
		case 4:
			r.acc, r.model = -1, ""
		}
		runs = append(runs, r)
		var ps []tracking.Param
		if r.model != "" {
			ps = append(ps, tracking.Param{Key: "model", Value: r.model})
		}
		info := mustCreateRun(t, s, tracking.NewRun{Name: r.name, StartTime: r.start, Params: ps})
		if r.acc != -1 {
			mustLog(t, s, info.ID, []tracking.Metric{{Key: "acc", Value: r.acc, Timestamp: 1}}, nil, nil)
		}
	}
	for _, tt := range []struct {
		filter, order string
		has           func(r run) bool // the run has a value to sort by
		less          func(a, b run) bool
		keep          func(r run) bool // the run matches the filter
	}{
		{"", "metrics.acc DESC", func(r run) bool { return r.acc >= 0 }, func(a, b run) bool { return a.acc > b.acc }, nil},
		{"", "metrics.acc", func(r run) bool { return r.acc >= 0 }, func(a, b run) bool { return a.acc < b.acc }, nil},
		{"", "params.model DESC", func(r run) bool { return r.model != "" }, func(a, b run) bool { return a.model > b.model }, nil},
		{"metrics.acc != 0.5", "metrics.acc DESC", func(r run) bool { return r.acc >= 0 }, func(a, b run) bool { return a.acc > b.acc },
			func(r run) bool { return r.acc != -1 && r.acc != 0.5 }},
		{"params.model != 'b'", "metrics.acc", func(r run) bool { return r.acc >= 0 }, func(a, b run) bool { return a.acc < b.acc },
			func(r run) bool { return r.model != "" && r.model != "b" }},
	} {
		var want []run
		for _, r := range runs {
			if tt.keep == nil || tt.keep(r) {
				want = append(want, r)
			}
		}
		slices.SortStableFunc(want, func(a, b run) int {
			switch ha, hb := tt.has(a), tt.has(b); {
			case ha && !hb:
				return -1
			case hb && !ha:
				return 1
			case ha && tt.less(a, b):
				return -1
			case ha && tt.less(b, a):
				return 1
			}
			if a.start != b.start {
				return cmp.Compare(b.start, a.start)
			}
			return 0
		})
		q := tracking.SearchRuns{Filter: tt.filter, OrderBy: []string{tt.order}}
		all, _, err := s.SearchRuns(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(want) {
			t.Fatalf("%s %s: %d runs, want %d", tt.filter, tt.order, len(all), len(want))
		}
		// Equal sort keys leave the order to run_id: compare names only
		// where the keys differ, by checking the sort keys in sequence.
		for i, r := range all {
			w := want[i]
			byName := map[string]run{}
			for _, x := range runs {
				byName[x.name] = x
			}
			g := byName[r.Info.Name]
			if tt.has(g) != tt.has(w) || (tt.has(g) && (tt.less(g, w) || tt.less(w, g))) || g.start != w.start {
				t.Fatalf("%s %s: position %d is %s (%+v), want one like %s (%+v)", tt.filter, tt.order, i, r.Info.Name, g, w.name, w)
			}
		}
		for size := 1; size <= 7; size++ {
			var paged []string
			q.MaxResults, q.PageToken = size, ""
			for pages := 0; ; pages++ {
				if pages > len(runs) {
					t.Fatalf("%s %s: pages of %d never end", tt.filter, tt.order, size)
				}
				page, next, err := s.SearchRuns(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, names(page)...)
				if next == "" {
					break
				}
				q.PageToken = next
			}
			if !reflect.DeepEqual(paged, names(all)) {
				t.Fatalf("%s %s: pages of %d = %v, want %v", tt.filter, tt.order, size, paged, names(all))
			}
		}
	}
}
