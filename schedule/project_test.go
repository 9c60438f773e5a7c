package schedule_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/schedule"
)

const projectHead = `name: sched
entry_points:
  main:
    parameters:
      C: {type: float, default: 1.0}
      n: {type: int, default: 3}
    command: echo {C} {n}
  other:
    parameters: {data: path}
    command: cat {data}
`

// loadProject writes an MLproject (and data.csv) into a temporary directory
// and loads it.
func loadProject(t *testing.T, content string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "MLproject"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(dir, nil)
	if err != nil {
		t.Fatalf("project.Load: %v", err)
	}
	return p
}

func TestFromProject(t *testing.T) {
	p := loadProject(t, projectHead+`schedules:
  - name: nightly
    cron: "0 3 * * *"
    parameters: {C: 0.5, n: 10}
    timezone: Europe/Paris
    experiment: nightly
  - name: often
    cron: "@every 30s"
    entry_point: other
    parameters: {data: data.csv}
    overlap: queue
    missed: skip
`)
	list, err := schedule.FromProject(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d schedules, want 2", len(list))
	}
	n, o := list[0], list[1]
	source := filepath.Join(p.Dir, "MLproject")
	if n.Name != "nightly" || n.Cron != "0 3 * * *" || n.Timezone != "Europe/Paris" || n.EntryPoint != "main" ||
		n.Experiment != "nightly" || n.Overlap != "skip" || n.Missed != "run_once" || n.ProjectDir != p.Dir || n.Source != source {
		t.Errorf("nightly = %+v", n)
	}
	if len(n.Params) != 2 || n.Params[0] != (schedule.KV{Key: "C", Value: "0.5"}) || n.Params[1] != (schedule.KV{Key: "n", Value: "10"}) {
		t.Errorf("nightly params = %v", n.Params)
	}
	if o.EntryPoint != "other" || o.Overlap != "queue" || o.Missed != "skip" || len(o.Params) != 1 || o.Params[0].Value != "data.csv" {
		t.Errorf("often = %+v", o)
	}

	// No schedules section: none.
	if list, err := schedule.FromProject(loadProject(t, projectHead)); err != nil || len(list) != 0 {
		t.Fatalf("no section: %v, %v", list, err)
	}
}

// Every mistake in the schedules section is one errs.Invalid sentence
// starting with the file, line and column of the entry or field.
func TestFromProjectErrors(t *testing.T) {
	cases := []struct {
		name    string
		section string
		want    []string // the first is the position and field
	}{
		{"not a list", "schedules: {name: x}\n", []string{"MLproject:11:1: schedules:", "must be a list"}},
		{"entry not a mapping", "schedules:\n  - nightly\n", []string{"MLproject:12:5: schedules[0]:", "mapping"}},
		{"no name", "schedules:\n  - cron: '@daily'\n", []string{"MLproject:12:5: schedules[0]:", "needs a name"}},
		{"no cron", "schedules:\n  - name: x\n", []string{"MLproject:12:5: schedules[0]:", "cron expression"}},
		{"bad cron", "schedules:\n  - name: ok\n    cron: '@daily'\n  - name: x\n    cron: '0 3 * *'\n",
			[]string{"MLproject:15:5: schedules[1].cron:", `"0 3 * *"`, "5 fields"}},
		{"unknown key", "schedules:\n  - name: x\n    cron: '@daily'\n    every: 3\n",
			[]string{"MLproject:14:5: schedules[0].every:", "unknown schedule key", "entry_point"}},
		{"bad overlap", "schedules:\n  - name: x\n    cron: '@daily'\n    overlap: never\n",
			[]string{"MLproject:14:5: schedules[0].overlap:", "skip, queue or allow"}},
		{"bad timezone", "schedules:\n  - name: x\n    cron: '@daily'\n    timezone: Moon/Base\n",
			[]string{"MLproject:14:5: schedules[0].timezone:", "Moon/Base"}},
		{"duplicate name", "schedules:\n  - name: x\n    cron: '@daily'\n  - name: x\n    cron: '@hourly'\n",
			[]string{"MLproject:14:5: schedules[1].name:", "declared twice"}},
		{"unknown entry point", "schedules:\n  - name: x\n    cron: '@daily'\n    entry_point: nope\n",
			[]string{"MLproject:14:5: schedules[0].entry_point:", `"nope"`}},
		{"bad parameter value", "schedules:\n  - name: x\n    cron: '@daily'\n    parameters: {C: abc}\n",
			[]string{"MLproject:14:5: schedules[0].parameters:", `"C"`, "abc"}},
		{"missing required parameter", "schedules:\n  - name: x\n    cron: '@daily'\n    entry_point: other\n",
			[]string{"schedules[0].parameters:", "data"}},
		{"parameter is a list", "schedules:\n  - name: x\n    cron: '@daily'\n    parameters: {C: [1, 2]}\n",
			[]string{"MLproject:14:5: schedules[0].parameters:", `"C"`, "a list"}},
		{"name is a number", "schedules:\n  - name: 7\n    cron: '@daily'\n",
			[]string{"MLproject:12:5: schedules[0].name:", "must be a string"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProject(t, projectHead+tc.section)
			_, err := schedule.FromProject(p)
			if errs.Code(err) != errs.Invalid {
				t.Fatalf("FromProject = %v (code %s), want errs.Invalid", err, errs.Code(err))
			}
			msg := errs.Message(err)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
		})
	}
}
