package reproduce

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/provenance"
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
	origModels, err := modelFiles(orig)
	if err != nil {
		return nil, err
	}
	reproModels, err := modelFiles(repro)
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
// out each model's MLmodel file.
func modelFiles(r *tracking.Run) (map[string]string, error) {
	root, err := artifact.DirFromURI(r.Info.ArtifactURI)
	if err != nil {
		return nil, err
	}
	var modelDirs []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == root {
				return filepath.SkipAll
			}
			return err
		}
		if !d.IsDir() && d.Name() == "MLmodel" {
			modelDirs = append(modelDirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find the models of run %s: %w", r.Info.ID, err)
	}
	out := map[string]string{}
	for _, dir := range modelDirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() || path == filepath.Join(dir, "MLmodel") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			sum, err := provenance.HashFile(path)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = sum
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hash the model files of run %s: %w", r.Info.ID, err)
		}
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
