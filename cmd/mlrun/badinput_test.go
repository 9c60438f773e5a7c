package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// Every bad input gets one clear sentence naming what is wrong, a non-zero
// exit, no panic, and no run left behind.
func TestBadInputIsOneClearSentence(t *testing.T) {
	good := tinyProject["MLproject"]
	cases := []struct {
		name     string
		mlproj   string // "" keeps the tiny project; "-" writes no MLproject
		args     []string
		code     int
		contains []string
	}{
		{"malformed YAML", "name: x\nentry_points:\n  main: [unclosed\n", []string{"run", "."}, 2,
			[]string{"MLproject:"}},
		{"missing MLproject", "-", []string{"run", "."}, 3, []string{"no MLproject"}},
		{"unknown entry point", "", []string{"run", ".", "-e", "nope"}, 3, []string{`"nope"`, "main"}},
		{"float given abc", "", []string{"run", ".", "-P", "lr=abc"}, 2, []string{`"lr"`, "abc"}},
		{"int given 1.5", "", []string{"run", ".", "-P", "random_state=1.5"}, 2, []string{"random_state"}},
		{"duplicated -P", "", []string{"run", ".", "-P", "lr=1", "-P", "lr=2"}, 2, []string{`"lr"`, "more than once"}},
		{"-P without =", "", []string{"run", ".", "-P", "lr"}, 2, []string{"name=value"}},
		{"required parameter left out", "name: x\nentry_points:\n  main:\n    parameters:\n      alpha: float\n    command: echo {alpha}\n",
			[]string{"run", "."}, 2, []string{"alpha"}},
		{"unknown step kind", strings.Replace(good, "uses: log", "uses: lgo", 1), []string{"run", "."}, 2,
			[]string{"MLproject:", "lgo", "unknown step kind"}},
		{"reference to a missing step", strings.Replace(good, "steps.train.metrics.acc", "steps.trian.metrics.acc", 1), []string{"run", "."}, 2,
			[]string{"MLproject:", "trian"}},
		{"reference to a missing parameter", strings.Replace(good, "params.lr", "params.rate", 1), []string{"run", "."}, 2,
			[]string{"MLproject:", "rate"}},
		{"cycle in needs", "name: x\nentry_points:\n  main:\n    steps:\n      - {name: a, uses: log, needs: [b]}\n      - {name: b, uses: log, needs: [a]}\n",
			[]string{"run", "."}, 2, []string{"MLproject:", "cycle"}},
		{"path parameter to a missing file", "", []string{"run", ".", "-P", "data=nothere.csv"}, 2, []string{"nothere.csv"}},
		{"unknown flag", "", []string{"run", ".", "--bogus"}, 2, []string{"bogus"}},
		{"bad tracking URI", "", []string{"run", ".", "--tracking-uri", "ftp://x/y"}, 2, []string{"ftp://x/y"}},
		{"bad filter", "", []string{"runs", "list", "--filter", "metrics.acc >> 1"}, 2, []string{"filter"}},
		{"non-existent run", "", []string{"runs", "show", "ffffffffffffffffffffffffffffffff"}, 3, []string{"ffffffff"}},
		{"bad output format", "", []string{"runs", "list", "-o", "yaml"}, 2, []string{"--output"}},
		{"unknown command", "", []string{"frobnicate"}, 2, []string{"frobnicate"}},
		{"too many arguments", "", []string{"runs", "show", "a", "b"}, 2, []string{"arg"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			dir := t.TempDir()
			files := map[string]string{}
			for k, v := range tinyProject {
				files[k] = v
			}
			switch tc.mlproj {
			case "":
			case "-":
				delete(files, "MLproject")
			default:
				files["MLproject"] = tc.mlproj
			}
			writeFiles(t, dir, files)
			r := e.run(dir, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			msg := strings.TrimSpace(r.stderr)
			if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "mlrun: ") {
				t.Errorf("want one line starting with 'mlrun: ', got:\n%s", r.stderr)
			}
			for _, want := range tc.contains {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if tc.args[0] == "run" {
				if n := len(e.runs()); n != 0 {
					t.Errorf("bad input left %d run(s) in the store", n)
				}
			}
		})
	}
}

func TestRunIDPrefixes(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	e.ok(dir, "run", ".", "-e", "script")
	// Enough runs that two share their first 4 hex digits (2,000 random
	// ids collide on 16 bits with probability 1 - 1e-13), made through the
	// store itself for speed.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(e.store, "mlrun.db"), filepath.Join(e.store, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	byPrefix := map[string]int{}
	shared := ""
	for i := 0; i < 2000 && shared == ""; i++ {
		info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: tracking.DefaultExperimentID})
		if err != nil {
			t.Fatal(err)
		}
		if byPrefix[info.ID[:4]]++; byPrefix[info.ID[:4]] == 2 {
			shared = info.ID[:4]
		}
		end, done := time.Now().UnixMilli(), tracking.StatusFinished
		st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &done, EndTime: &end})
	}
	st.Close()
	if shared == "" {
		t.Fatal("no two of 2,000 run ids share 4 hex digits")
	}
	r := e.run(dir, "runs", "show", shared)
	if r.code != 2 || !strings.Contains(r.stderr, shared) || !strings.Contains(r.stderr, "ambiguous") {
		t.Errorf("ambiguous prefix %q: exit %d, %s", shared, r.code, r.stderr)
	}
	if r := e.run(dir, "runs", "show", "a"); r.code != 2 || !strings.Contains(r.stderr, "too short") {
		t.Errorf("1-character prefix: exit %d, %s", r.code, r.stderr)
	}
	runs := e.runs()
	id := runs[len(runs)-1].Info.ID // the script run, made first
	if r := e.ok(dir, "runs", "show", id[:10], "-o", "json"); !strings.Contains(r.stdout, id) {
		t.Errorf("show by unique prefix did not find %s", id)
	}
	e.ok(dir, "runs", "delete", id[:10])
	if strings.Contains(e.ok(dir, "runs", "list", "-o", "json", "--limit", "50000").stdout, id) {
		t.Errorf("deleted run still listed as active")
	}
	e.ok(dir, "runs", "restore", id)
	if !strings.Contains(e.ok(dir, "runs", "list", "-o", "json", "--limit", "50000").stdout, id) {
		t.Errorf("restored run is not listed")
	}
}
