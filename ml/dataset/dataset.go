// Package dataset loads a CSV data file into feature columns and a target,
// the shape every mlrun training step starts from.
//
// Load reads the file once, hashes its raw bytes (the data set's identity
// in run provenance), infers each column's kind, applies the missing-value
// policy and encodes the target. Preprocessing (one-hot encoding, scaling)
// lives in ml/preprocess and consumes the Frame defined here.
package dataset

import (
	"github.com/mlrun/mlrun/ml"
)

// ColumnKind says how a feature column is stored.
type ColumnKind string

// Column kinds.
const (
	Numeric     ColumnKind = "numeric"
	Categorical ColumnKind = "categorical"
)

// Column is one feature column: Num holds numeric values, Str categorical ones.
type Column struct {
	Name string
	Kind ColumnKind
	Num  []float64
	Str  []string
}

// Frame is a table of feature columns, all of length NRows.
type Frame struct {
	Columns []Column
	NRows   int
}

// Names returns the column names in order.
func (f *Frame) Names() []string {
	names := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		names[i] = c.Name
	}
	return names
}

// Index returns the position of the column called name, or -1.
func (f *Frame) Index(name string) int {
	for i, c := range f.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Subset returns a new frame holding the given rows, in the given order
// (rows may repeat). Every row must be in [0, NRows); an index outside it
// is a programming error and panics.
func (f *Frame) Subset(rows []int) *Frame {
	out := &Frame{Columns: make([]Column, len(f.Columns)), NRows: len(rows)}
	for i, c := range f.Columns {
		nc := Column{Name: c.Name, Kind: c.Kind}
		if c.Num != nil {
			nc.Num = make([]float64, len(rows))
			for j, r := range rows {
				nc.Num[j] = c.Num[r]
			}
		}
		if c.Str != nil {
			nc.Str = make([]string, len(rows))
			for j, r := range rows {
				nc.Str[j] = c.Str[r]
			}
		}
		out.Columns[i] = nc
	}
	return out
}

// Target is the label column. For classification, Classes are the distinct
// labels in sorted order (numeric order when all labels parse as numbers,
// like numpy.unique) and Y holds class indices as float64; for regression,
// Y holds the values and Classes is nil.
type Target struct {
	Name    string
	Task    ml.Task
	Classes []string
	Y       []float64
}

// Subset returns a new target holding the given rows, in the given order.
// Classes are shared with t, since they describe every subset alike.
func (t *Target) Subset(rows []int) *Target {
	y := make([]float64, len(rows))
	for j, r := range rows {
		y[j] = t.Y[r]
	}
	return &Target{Name: t.Name, Task: t.Task, Classes: t.Classes, Y: y}
}

// Dataset is a loaded data file.
type Dataset struct {
	Path     string
	SHA256   string // hex SHA-256 of the file's raw bytes
	Features *Frame
	Target   *Target
	Rows     int // rows kept, after the missing-value policy
	// Lines holds, for each kept row, its line number in the file (the
	// header is line 1), for messages about a particular row.
	Lines []int
}

// Subset returns a new data set holding the given rows, in the given
// order, with the same path and hash.
func (d *Dataset) Subset(rows []int) *Dataset {
	out := &Dataset{
		Path:     d.Path,
		SHA256:   d.SHA256,
		Features: d.Features.Subset(rows),
		Target:   d.Target.Subset(rows),
		Rows:     len(rows),
	}
	if d.Lines != nil {
		out.Lines = make([]int, len(rows))
		for j, r := range rows {
			out.Lines[j] = d.Lines[r]
		}
	}
	return out
}
