package reproduce

import (
	"context"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/tracking"
)

// Status is how one compared value came out.
type Status string

// Statuses.
const (
	Same    Status = "same"
	Differs Status = "differs"
	Missing Status = "missing" // present in one run only
)

// What a verdict row compares.
const (
	WhatParam   = "param"
	WhatMetric  = "metric"
	WhatDataset = "dataset"
	WhatModel   = "model"
)

// Row is one line of a verdict. A value absent from a run is "".
type Row struct {
	What       string `json:"what"`
	Name       string `json:"name"`
	Original   string `json:"original"`
	Reproduced string `json:"reproduced"`
	Status     Status `json:"status"`
}

// Verdict compares a reproduction with its original.
type Verdict struct {
	OriginalRunID   string  `json:"original_run_id"`
	ReproducedRunID string  `json:"reproduced_run_id"`
	Tolerance       float64 `json:"tolerance"`
	Rows            []Row   `json:"rows"`
	Differences     int     `json:"differences"` // rows not Same
	Reproduced      bool    `json:"reproduced"`  // no differences
}

// Compare compares two runs: every param (exact text), the final value of
// every metric (equal, both NaN, or at most tolerance apart), every dataset
// hash the runs recorded, and the sha256 of every file of every model
// directory among their artifacts (a directory holding an MLmodel file),
// except the MLmodel files themselves, whose run_id and creation time
// legitimately differ.
func Compare(ctx context.Context, st tracking.Store, originalID, reproducedID string, tolerance float64) (*Verdict, error) {
	orig, err := st.GetRun(ctx, originalID)
	if err != nil {
		return nil, err
	}
	repro, err := st.GetRun(ctx, reproducedID)
	if err != nil {
		return nil, err
	}
	v := &Verdict{OriginalRunID: orig.Info.ID, ReproducedRunID: repro.Info.ID, Tolerance: tolerance}
	v.Rows = append(v.Rows, compareText(WhatParam, paramMap(orig), paramMap(repro))...)
	v.Rows = append(v.Rows, compareMetrics(orig, repro, tolerance)...)
	v.Rows = append(v.Rows, compareText(WhatDataset, datasetMap(orig), datasetMap(repro))...)
	schemes := artifact.SchemesFor(st)
	origModels, err := modelFiles(ctx, schemes, orig)
	if err != nil {
		return nil, err
	}
	reproModels, err := modelFiles(ctx, schemes, repro)
	if err != nil {
		return nil, err
	}
	v.Rows = append(v.Rows, compareText(WhatModel, origModels, reproModels)...)
	for _, r := range v.Rows {
		if r.Status != Same {
			v.Differences++
		}
	}
	v.Reproduced = v.Differences == 0
	return v, nil
}

// compareText compares two maps of text values key by key, sorted.
func compareText(what string, a, b map[string]string) []Row {
	var rows []Row
	for _, k := range unionKeys(a, b) {
		av, inA := a[k]
		bv, inB := b[k]
		status := Same
		switch {
		case !inA || !inB:
			status = Missing
		case av != bv:
			status = Differs
		}
		rows = append(rows, Row{What: what, Name: k, Original: av, Reproduced: bv, Status: status})
	}
	return rows
}

// compareMetrics compares the final value of every metric.
func compareMetrics(a, b *tracking.Run, tolerance float64) []Row {
	am, bm := map[string]float64{}, map[string]float64{}
	keys := map[string]string{}
	for _, m := range a.Metrics {
		am[m.Key], keys[m.Key] = m.Value, ""
	}
	for _, m := range b.Metrics {
		bm[m.Key], keys[m.Key] = m.Value, ""
	}
	var rows []Row
	for _, k := range unionKeys(keys, nil) {
		av, inA := am[k]
		bv, inB := bm[k]
		r := Row{What: WhatMetric, Name: k, Status: Same}
		if inA {
			r.Original = formatMetric(av)
		}
		if inB {
			r.Reproduced = formatMetric(bv)
		}
		switch {
		case !inA || !inB:
			r.Status = Missing
		case !sameMetric(av, bv, tolerance):
			r.Status = Differs
		}
		rows = append(rows, r)
	}
	return rows
}

// sameMetric reports whether two metric values are the same within tolerance.
func sameMetric(a, b, tolerance float64) bool {
	switch {
	case a == b, math.IsNaN(a) && math.IsNaN(b):
		return true
	case math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0):
		return false
	}
	return math.Abs(a-b) <= tolerance
}

// formatMetric prints a metric value in full (the shortest text that reads
// back as the same float64).
func formatMetric(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func paramMap(r *tracking.Run) map[string]string {
	m := make(map[string]string, len(r.Params))
	for _, p := range r.Params {
		m[p.Key] = p.Value
	}
	return m
}

func datasetMap(r *tracking.Run) map[string]string {
	m := map[string]string{}
	for _, t := range r.Tags {
		if _, ok := datasetPath(t.Key); ok {
			m[t.Key[len(TagDatasetPrefix):]] = t.Value
		}
	}
	return m
}

// modelFiles returns the sha256 of every file inside the run's model
// directories (those holding an MLmodel file), by artifact path, leaving
// out each model's MLmodel file. The files are read through the run's
// artifact repository.
func modelFiles(ctx context.Context, schemes *artifact.Schemes, r *tracking.Run) (map[string]string, error) {
	repo, err := schemes.Open(r.Info.ArtifactURI)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", r.Info.ID, err)
	}
	files, err := repo.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("find the models of run %s: %w", r.Info.ID, err)
	}
	var modelDirs []string
	for _, f := range files {
		if !f.IsDir && path.Base(f.Path) == "MLmodel" {
			modelDirs = append(modelDirs, path.Dir(f.Path))
		}
	}
	inModel := func(p string) bool {
		for _, dir := range modelDirs {
			if p == path.Join(dir, "MLmodel") {
				continue
			}
			if dir == "." || strings.HasPrefix(p, dir+"/") {
				return true
			}
		}
		return false
	}
	out := map[string]string{}
	for _, f := range files {
		if f.IsDir || !inModel(f.Path) {
			continue
		}
		sum, err := artifact.HashFile(ctx, repo, f.Path)
		if err != nil {
			return nil, fmt.Errorf("hash the model files of run %s: %w", r.Info.ID, err)
		}
		out[f.Path] = sum
	}
	return out, nil
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys(a, b map[string]string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
