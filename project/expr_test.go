package project

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// fakeDataset and fakeModel stand for the values real steps output.
type fakeDataset struct{ rows int }
type fakeModel struct{ name string }

const exprProject = `entry_points:
  main:
    parameters:
      C: {type: float, default: 1.0}
      n: {type: int, default: 3}
      model: {type: string, default: logreg}
    steps:
      - name: load
        uses: load
        with: {path: data.csv}
      - name: train
        uses: train
        with:
          train: "${{ steps.load.outputs.dataset }}"
          C: "${{ params.C * 2 }}"
          max_iter: "${{ params.n }}"
          estimator: "${{ params.model }}-v${{ params.n }}"
      - name: report
        uses: log
        when: "${{ steps.train.metrics.acc > 0.9 }}"
        with:
          tags:
            summary: "C=${{ params.C }} acc=${{ steps.train.metrics.acc }} ok=${{ steps.train.metrics.acc > 0.5 }} none=${{ metrics.missing }} l=${{ [1, 'a'] }}"
            run: "${{ run.name }}"
            list: ["${{ run.id }}", 2, "${{ [1, 'a'] }}"]
          metrics: {acc: "${{ metrics.acc }}"}
      - name: bad
        uses: log
        when: steps.train.metrics.acc
        with:
          tags: {m: "v=${{ steps.train.outputs.model }}", x: "${{ params.C / steps.train.outputs.model }}"}
`

func TestEval(t *testing.T) {
	reg, _ := testKinds()
	dir := writeProject(t, exprProject)
	p, err := Load(dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "MLproject")
	ep := p.EntryPoints["main"]
	load, train, report, bad := ep.Steps[0], ep.Steps[1], ep.Steps[2], ep.Steps[3]
	ds, model := &fakeDataset{rows: 3}, &fakeModel{name: "m"}
	env := func(acc float64) map[string]any {
		return map[string]any{
			"params": map[string]any{"C": 1.0, "n": 3, "model": "logreg"},
			"steps": map[string]any{
				"load":  map[string]any{"outputs": map[string]any{"dataset": ds}, "metrics": map[string]any{}},
				"train": map[string]any{"outputs": map[string]any{"model": model}, "metrics": map[string]any{"acc": acc}},
			},
			"metrics": map[string]any{"acc": acc},
			"run":     map[string]any{"id": "r1", "name": "bright-fox-1", "experiment_id": "0"},
		}
	}

	// Static values come back as written.
	got, err := load.EvalWith(env(0.95))
	if err != nil || !reflect.DeepEqual(got, map[string]any{"path": "data.csv"}) {
		t.Errorf("load: %v, %v", got, err)
	}
	// A lone ${{ }} keeps its value's type; text around it makes a string.
	got, err = train.EvalWith(env(0.95))
	if err != nil {
		t.Fatal(err)
	}
	if got["train"] != any(ds) || got["C"] != 2.0 || got["max_iter"] != 3 || got["estimator"] != "logreg-v3" {
		t.Errorf("train: %#v", got)
	}
	got, err = report.EvalWith(env(0.95))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"tags": map[string]any{
			"summary": `C=1.0 acc=0.95 ok=true none= l=[1,"a"]`,
			"run":     "bright-fox-1",
			"list":    []any{"r1", 2, []any{1, "a"}},
		},
		"metrics": map[string]any{"acc": 0.95},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report:\n got %#v\nwant %#v", got, want)
	}
	if n := len(report.With[0].Value.Exprs()); n != 8 {
		t.Errorf("report tags hold %d expressions, want 8", n)
	}

	// Conditions.
	for acc, want := range map[float64]bool{0.95: true, 0.5: false} {
		ok, err := report.When.EvalBool(env(acc))
		if err != nil || ok != want {
			t.Errorf("when with acc %v = %v, %v; want %v", acc, ok, err, want)
		}
	}
	_, err = bad.When.EvalBool(env(0.95))
	wantErr := file + ":29:15: entry_points.main.steps[3].when: ${{ steps.train.metrics.acc }} gave 0.95 (float64), not true or false"
	if err == nil || err.Error() != wantErr || errs.Code(err) != errs.Invalid {
		t.Errorf("non-bool when:\n got %v\nwant %s", err, wantErr)
	}

	// Runtime errors name the position and the field.
	_, err = bad.EvalWith(env(0.95))
	wantErr = file + ":31:21: entry_points.main.steps[3].with.tags.m: ${{ steps.train.outputs.model }}: cannot put a *project.fakeModel into a string; use the expression alone as the whole value"
	if err == nil || err.Error() != wantErr {
		t.Errorf("format error:\n got %v\nwant %s", err, wantErr)
	}
	badEnv := map[string]any{"params": map[string]any{"C": "a"}, "steps": map[string]any{"train": map[string]any{"outputs": map[string]any{"model": 2}}}}
	_, err = bad.EvalWith(badEnv)
	wantErr = file + ":31:62: entry_points.main.steps[3].with.tags.x: ${{ params.C / steps.train.outputs.model }}: invalid operation: string / int"
	if err == nil || err.Error() != wantErr || errs.Code(err) != errs.Invalid {
		t.Errorf("runtime error:\n got %v\nwant %s", err, wantErr)
	}
	// A missing environment is an error, not a panic.
	if _, err := train.EvalWith(nil); err == nil {
		t.Errorf("EvalWith(nil) succeeded")
	}
	if _, err := report.When.EvalBool(nil); err == nil {
		t.Errorf("EvalBool(nil) succeeded")
	}
}
