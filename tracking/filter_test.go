package tracking_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

func TestParseFilterOK(t *testing.T) {
	type C = tracking.Clause
	tests := []struct {
		in   string
		want []C
	}{
		{"", nil},
		{"   ", nil},
		{"metrics.acc > 0.5", []C{{Kind: "metric", Key: "acc", Op: ">", Num: 0.5}}},
		{"metric.acc>=1e-3", []C{{Kind: "metric", Key: "acc", Op: ">=", Num: 0.001}}},
		{"metrics.loss < -2", []C{{Kind: "metric", Key: "loss", Op: "<", Num: -2}}},
		{"metrics.loss <= 3 AND metrics.loss != 1 and metrics.loss = 2", []C{
			{Kind: "metric", Key: "loss", Op: "<=", Num: 3},
			{Kind: "metric", Key: "loss", Op: "!=", Num: 1},
			{Kind: "metric", Key: "loss", Op: "=", Num: 2},
		}},
		{"metrics.acc > 0.5 and params.model = 'a'", []C{
			{Kind: "metric", Key: "acc", Op: ">", Num: 0.5},
			{Kind: "param", Key: "model", Op: "=", Str: "a"},
		}},
		{`params.model = "b"`, []C{{Kind: "param", Key: "model", Op: "=", Str: "b"}}},
		{"param.lr != '0.1'", []C{{Kind: "param", Key: "lr", Op: "!=", Str: "0.1"}}},
		{"parameters.lr LIKE '0.%'", []C{{Kind: "param", Key: "lr", Op: "LIKE", Str: "0.%"}}},
		{"params.opt ilike 'AD_M'", []C{{Kind: "param", Key: "opt", Op: "ILIKE", Str: "AD_M"}}},
		{"tags.`mlflow.runName` = 'x'", []C{{Kind: "tag", Key: "mlflow.runName", Op: "=", Str: "x"}}},
		{"tag.team = 'it''s'", []C{{Kind: "tag", Key: "team", Op: "=", Str: "it's"}}},
		{`tags.note = 'say \'hi\''`, []C{{Kind: "tag", Key: "note", Op: "=", Str: "say 'hi'"}}},
		{`metrics."my loss" < 1`, []C{{Kind: "metric", Key: "my loss", Op: "<", Num: 1}}},
		{"metrics.val/acc > 0", []C{{Kind: "metric", Key: "val/acc", Op: ">", Num: 0}}},
		{"metrics.f1-score>0.9", []C{{Kind: "metric", Key: "f1-score", Op: ">", Num: 0.9}}},
		{"`metrics`.acc > 1", []C{{Kind: "metric", Key: "acc", Op: ">", Num: 1}}},
		{"status = 'RUNNING'", []C{{Kind: "attribute", Key: "status", Op: "=", Str: "RUNNING"}}},
		{"attributes.status != 'FAILED'", []C{{Kind: "attribute", Key: "status", Op: "!=", Str: "FAILED"}}},
		{"attr.user_id LIKE 'al%'", []C{{Kind: "attribute", Key: "user_id", Op: "LIKE", Str: "al%"}}},
		{"run.artifact_uri ILIKE '%X%'", []C{{Kind: "attribute", Key: "artifact_uri", Op: "ILIKE", Str: "%X%"}}},
		{"run_name = 'a'", []C{{Kind: "attribute", Key: "run_name", Op: "=", Str: "a"}}},
		{`"run name" = 'a'`, []C{{Kind: "attribute", Key: "run_name", Op: "=", Str: "a"}}},
		{"`Run Name` = 'a'", []C{{Kind: "attribute", Key: "run_name", Op: "=", Str: "a"}}},
		{"created > 100", []C{{Kind: "attribute", Key: "start_time", Op: ">", Num: 100}}},
		{"attributes.Created <= 100", []C{{Kind: "attribute", Key: "start_time", Op: "<=", Num: 100}}},
		{"end_time < 5", []C{{Kind: "attribute", Key: "end_time", Op: "<", Num: 5}}},
		{"run_id IN ('a1', \"b2\")", []C{{Kind: "attribute", Key: "run_id", Op: "IN", List: []string{"a1", "b2"}}}},
		{"attributes.run_id not in ('a1')", []C{{Kind: "attribute", Key: "run_id", Op: "NOT IN", List: []string{"a1"}}}},
		{"run_id = 'abc'", []C{{Kind: "attribute", Key: "run_id", Op: "=", Str: "abc"}}},
		{"params.x = 'ünï'", []C{{Kind: "param", Key: "x", Op: "=", Str: "ünï"}}},
	}
	for _, tt := range tests {
		f, err := tracking.ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(f.Clauses, tt.want) {
			t.Errorf("ParseFilter(%q) = %+v, want %+v", tt.in, f.Clauses, tt.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // a substring of the message
	}{
		{"metrics.acc > 0.5 or params.x = 'a'", `found "or" at position 19 where AND was expected`},
		{"metrics.acc > 0.5 and", "found end of filter at position 22 after AND"},
		{"metrics.acc > 'high'", `found "'high'" at position 15 where metric "acc" needs an unquoted number`},
		{"metrics.acc > abc", `found "abc" at position 15 where a number was expected`},
		{"metrics.acc LIKE '1%'", `operator "LIKE" at position 13 cannot compare metric "acc"`},
		{"metrics.acc IN ('1')", `operator "IN" at position 13 cannot compare metric "acc"`},
		{"params.model > 'a'", `operator ">" at position 14 cannot compare param "model"`},
		{"params.model = a", `found "a" at position 16 where param "model" needs a quoted string such as 'a'`},
		{"params.model = 3", `needs a quoted string such as '3'`},
		{"params.model IN ('a')", `operator "IN" at position 14 cannot compare param "model"`},
		{"params.a IN ('x')", `operator "IN" at position 10 cannot compare param "a"`},
		{"start_time LIKE '1%'", `operator "LIKE" at position 12 cannot compare attribute start_time`},
		{"acc > 0.5", `found "acc" at position 1 where a run attribute`},
		{"foo.acc > 0.5", `found "foo.acc" at position 1 where the prefix`},
		{"datasets.name = 'x'", "dataset filters are not supported"},
		{"attributes.color = 'x'", `found "color" at position 12 where a run attribute`},
		{"metrics. > 1", `found "metrics." at position 1 with no key after the dot`},
		{"metrics.acc == 1", "use = rather than =="},
		{"metrics.acc ~ 1", `found "~" at position 13 where a comparison operator`},
		{"params.x = 'open", `the quote "'" at position 12 is never closed`},
		{"tags.`open = 'x'", "is never closed"},
		{"run_id IN 'a'", `found "'a'" at position 11 where a parenthesised list`},
		{"run_id IN ('a' 'b')", "where a comma or a closing parenthesis was expected"},
		{"run_id IN ('a', 3)", "where a quoted string in the list was expected"},
		{"metrics.acc > 1 and (params.x = 'a')", `found "(params.x" at position 21 where an identifier`},
		{"metrics.acc > 1 params.x = 'a'", `found "params.x" at position 17 where AND was expected`},
		{"= 1", `found "=" at position 1 where an identifier`},
		{"metrics.acc > 1 not", `found "not" at position 17`},
		{"params.é = 'x' or", `found "or" at position 16`},
	}
	for _, tt := range tests {
		_, err := tracking.ParseFilter(tt.in)
		if err == nil {
			t.Errorf("ParseFilter(%q): no error, want one containing %q", tt.in, tt.want)
			continue
		}
		if errs.Code(err) != errs.Invalid {
			t.Errorf("ParseFilter(%q): code %s, want %s", tt.in, errs.Code(err), errs.Invalid)
		}
		if msg := errs.Message(err); !strings.Contains(msg, tt.want) {
			t.Errorf("ParseFilter(%q) error:\n  %s\nwant it to contain:\n  %s", tt.in, msg, tt.want)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	ok := []struct {
		in   string
		want tracking.OrderBy
	}{
		{"metrics.acc", tracking.OrderBy{Kind: "metric", Key: "acc"}},
		{"metrics.acc DESC", tracking.OrderBy{Kind: "metric", Key: "acc", Desc: true}},
		{"  metrics.`my acc`  desc ", tracking.OrderBy{Kind: "metric", Key: "my acc", Desc: true}},
		{"params.lr ASC", tracking.OrderBy{Kind: "param", Key: "lr"}},
		{"tags.team", tracking.OrderBy{Kind: "tag", Key: "team"}},
		{"attributes.start_time DESC", tracking.OrderBy{Kind: "attribute", Key: "start_time", Desc: true}},
		{"created", tracking.OrderBy{Kind: "attribute", Key: "start_time"}},
		{"run_name", tracking.OrderBy{Kind: "attribute", Key: "run_name"}},
	}
	for _, tt := range ok {
		got, err := tracking.ParseOrderBy(tt.in)
		if err != nil {
			t.Errorf("ParseOrderBy(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseOrderBy(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "is empty"},
		{"metrics.acc DOWN", `found "DOWN" at position 13 where ASC or DESC was expected`},
		{"metrics.acc DESC x", `found "x" at position 18 after the sort direction`},
		{"weird", `found "weird" at position 1 where a run attribute`},
	}
	for _, tt := range bad {
		_, err := tracking.ParseOrderBy(tt.in)
		if err == nil || errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), tt.want) {
			t.Errorf("ParseOrderBy(%q) error = %v, want Invalid containing %q", tt.in, err, tt.want)
		}
	}
}
