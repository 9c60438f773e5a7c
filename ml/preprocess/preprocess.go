// Package preprocess turns raw data frames into the feature matrices that
// mlrun's estimators take. A Pipeline is fitted once on the training frame
// and then applied unchanged to every later frame (test split, serving
// requests), so that the same column always becomes the same features.
//
// It reproduces two scikit-learn transformers:
//
//   - StandardScaler (with_mean, with_std): z = (x - mean) / scale, where
//     mean and the population standard deviation (ddof=0) come from the
//     training rows and a constant column gets scale 1;
//   - OneHotEncoder (sparse_output=False, handle_unknown "error" or
//     "ignore"): one 0/1 feature per category, categories sorted the way
//     numpy.unique sorts strings (by code point).
//
// The output layout is that of
// make_column_transformer((StandardScaler(), numeric), (OneHotEncoder(), categorical),
// verbose_feature_names_out=False): first every numeric column in frame
// order, then the one-hot blocks of the categorical columns in frame order.
//
// A Pipeline keeps everything it learned in exported fields and round-trips
// through encoding/json exactly; Version lets readers refuse a layout they do
// not know.
package preprocess

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/dataset"
)

// Version is the version of the Pipeline JSON layout written by this code.
const Version = 1

// Values of Options.HandleUnknown, as scikit-learn's OneHotEncoder.
const (
	UnknownError  = "error"  // a category not seen in Fit is an error
	UnknownIgnore = "ignore" // a category not seen in Fit encodes as all zeros
)

// Options choose the preprocessing steps.
type Options struct {
	// Scale standardises numeric columns like scikit-learn's StandardScaler.
	Scale bool
	// NoMean turns off centring when scaling (StandardScaler with_mean=False).
	NoMean bool
	// NoStd turns off division by the standard deviation when scaling
	// (StandardScaler with_std=False).
	NoStd bool
	// OneHot one-hot encodes categorical (string) columns. It is the only
	// encoding for them, so Fit refuses a frame with categorical columns
	// when OneHot is false; DefaultOptions turns it on.
	OneHot bool
	// HandleUnknown is what Transform does with a category it did not see in
	// Fit: "error" (the default when empty) or "ignore" (all-zero features).
	HandleUnknown string
}

// DefaultOptions returns the defaults of the preprocess step: no scaling,
// one-hot encoding on, unknown categories an error.
func DefaultOptions() Options {
	return Options{OneHot: true, HandleUnknown: UnknownError}
}

// Column is one fitted input column and what the pipeline does with it.
type Column struct {
	// Name is the column name, matched by name in Transform.
	Name string `json:"name"`
	// Kind is "numeric" or "categorical".
	Kind dataset.ColumnKind `json:"kind"`
	// Mean is subtracted from a numeric column (0 without centring; the
	// JSON omits a zero mean and both fields for categorical columns).
	Mean float64 `json:"mean,omitempty"`
	// Scale divides a numeric column after centring (1 without scaling).
	Scale float64 `json:"scale,omitempty"`
	// Categories are a categorical column's sorted categories, one output
	// feature each.
	Categories []string `json:"categories,omitempty"`
}

// InputColumn names a column the pipeline needs and its kind.
type InputColumn struct {
	Name string
	Kind dataset.ColumnKind
}

// Pipeline is a fitted preprocessing pipeline.
type Pipeline struct {
	// Version is the JSON layout version (see the package constant Version).
	Version int `json:"version"`
	// Scaled records whether StandardScaler was applied (with_mean and
	// with_std are visible in Mean and Scale of each numeric column).
	Scaled bool `json:"scaled"`
	// WithMean and WithStd are StandardScaler's options when Scaled.
	WithMean bool `json:"with_mean"`
	WithStd  bool `json:"with_std"`
	// HandleUnknown is "error" or "ignore".
	HandleUnknown string `json:"handle_unknown"`
	// Columns are the fitted input columns in training-frame order.
	Columns []Column `json:"columns"`
}

// Fit learns a pipeline from the training frame f (features only, without
// the target column).
func Fit(f *dataset.Frame, o Options) (*Pipeline, error) {
	if f == nil || len(f.Columns) == 0 {
		return nil, errs.Errorf(errs.Invalid, "the data has no feature columns to preprocess")
	}
	if f.NRows == 0 {
		return nil, errs.Errorf(errs.Invalid, "the data has no rows to fit the preprocessing on")
	}
	switch o.HandleUnknown {
	case "":
		o.HandleUnknown = UnknownError
	case UnknownError, UnknownIgnore:
	default:
		return nil, errs.Errorf(errs.Invalid, "handle_unknown must be %q or %q, not %q", UnknownError, UnknownIgnore, o.HandleUnknown)
	}
	p := &Pipeline{
		Version:       Version,
		Scaled:        o.Scale,
		WithMean:      o.Scale && !o.NoMean,
		WithStd:       o.Scale && !o.NoStd,
		HandleUnknown: o.HandleUnknown,
	}
	seen := map[string]bool{}
	for i := range f.Columns {
		c := &f.Columns[i]
		if seen[c.Name] {
			return nil, errs.Errorf(errs.Invalid, "the data has two columns named %q", c.Name)
		}
		seen[c.Name] = true
		if err := checkColumn(c, f.NRows); err != nil {
			return nil, err
		}
		switch c.Kind {
		case dataset.Numeric:
			col := Column{Name: c.Name, Kind: dataset.Numeric, Mean: 0, Scale: 1}
			if p.Scaled {
				mean, variance := meanVar(c.Num)
				if p.WithMean {
					col.Mean = mean
				}
				if p.WithStd {
					col.Scale = stdScale(mean, variance, len(c.Num))
				}
			}
			p.Columns = append(p.Columns, col)
		case dataset.Categorical:
			if !o.OneHot {
				return nil, errs.Errorf(errs.Invalid, "column %q holds text, which needs one-hot encoding (one_hot=true) or must be dropped", c.Name)
			}
			cats := slices.Clone(c.Str)
			slices.Sort(cats)
			cats = slices.Compact(cats)
			p.Columns = append(p.Columns, Column{Name: c.Name, Kind: dataset.Categorical, Categories: cats})
		}
	}
	return p, nil
}

// checkColumn rejects a column whose kind is unknown, whose length does not
// match the frame or whose numbers are not finite.
func checkColumn(c *dataset.Column, nrows int) error {
	switch c.Kind {
	case dataset.Numeric:
		if len(c.Num) != nrows {
			return fmt.Errorf("column %q has %d values for %d rows", c.Name, len(c.Num), nrows)
		}
		for i, v := range c.Num {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errs.Errorf(errs.Invalid, "column %q has a missing or non-finite value in row %d; fill or drop it before training", c.Name, i+1)
			}
		}
	case dataset.Categorical:
		if len(c.Str) != nrows {
			return fmt.Errorf("column %q has %d values for %d rows", c.Name, len(c.Str), nrows)
		}
	default:
		return fmt.Errorf("column %q has unknown kind %q", c.Name, c.Kind)
	}
	return nil
}

// meanVar returns the mean and the population variance of x the way
// scikit-learn's _incremental_mean_and_var computes them for one batch:
// the variance is sum((x-mean)^2) minus a rounding correction, over n.
func meanVar(x []float64) (mean, variance float64) {
	n := float64(len(x))
	var sum float64
	for _, v := range x {
		sum += v
	}
	mean = sum / n
	var correction, sq float64
	for _, v := range x {
		d := v - mean
		correction += d
		sq += d * d
	}
	return mean, (sq - correction*correction/n) / n
}

// stdScale returns StandardScaler's scale_ for one column: the standard
// deviation, or 1 when the column is constant up to rounding (scikit-learn's
// _is_constant_feature and _handle_zeros_in_scale).
func stdScale(mean, variance float64, n int) float64 {
	eps := math.Nextafter(1, 2) - 1
	nf := float64(n)
	upper := nf*eps*variance + (nf*mean*eps)*(nf*mean*eps)
	if variance <= upper {
		return 1
	}
	s := math.Sqrt(variance)
	if s < 10*eps {
		return 1
	}
	return s
}

// InputColumns returns the columns the pipeline needs, in training order.
func (p *Pipeline) InputColumns() []InputColumn {
	out := make([]InputColumn, len(p.Columns))
	for i, c := range p.Columns {
		out[i] = InputColumn{Name: c.Name, Kind: c.Kind}
	}
	return out
}

// NumOutputs returns the number of features Transform produces.
func (p *Pipeline) NumOutputs() int {
	n := 0
	for _, c := range p.Columns {
		if c.Kind == dataset.Categorical {
			n += len(c.Categories)
		} else {
			n++
		}
	}
	return n
}

// OutputNames returns the names of the features Transform produces, in
// order: numeric columns by name, then "<column>_<category>" for every
// one-hot feature (scikit-learn's get_feature_names_out).
func (p *Pipeline) OutputNames() []string {
	names := make([]string, 0, p.NumOutputs())
	for _, c := range p.Columns {
		if c.Kind == dataset.Numeric {
			names = append(names, c.Name)
		}
	}
	for _, c := range p.Columns {
		for _, cat := range c.Categories {
			names = append(names, c.Name+"_"+cat)
		}
	}
	return names
}

// Validate checks a pipeline read from JSON: a known version and
// consistent columns.
func (p *Pipeline) Validate() error {
	if p.Version < 1 || p.Version > Version {
		return fmt.Errorf("preprocess version %d is not supported (this mlrun reads version 1 to %d)", p.Version, Version)
	}
	if p.HandleUnknown != UnknownError && p.HandleUnknown != UnknownIgnore {
		return fmt.Errorf("preprocess handle_unknown %q is neither %q nor %q", p.HandleUnknown, UnknownError, UnknownIgnore)
	}
	if len(p.Columns) == 0 {
		return fmt.Errorf("preprocess has no columns")
	}
	for _, c := range p.Columns {
		switch c.Kind {
		case dataset.Numeric:
			if c.Scale == 0 || math.IsNaN(c.Scale) || math.IsNaN(c.Mean) {
				return fmt.Errorf("preprocess column %q has an invalid mean or scale", c.Name)
			}
		case dataset.Categorical:
			if len(c.Categories) == 0 {
				return fmt.Errorf("preprocess column %q has no categories", c.Name)
			}
		default:
			return fmt.Errorf("preprocess column %q has unknown kind %q", c.Name, c.Kind)
		}
	}
	return nil
}

// Transform turns f into the feature matrix, one row per row of f. f must
// hold every fitted column by name (in any order, extra columns are
// ignored) with the fitted kind.
func (p *Pipeline) Transform(f *dataset.Frame) (*mat.Dense, error) {
	if f == nil || f.NRows == 0 {
		return nil, errs.Errorf(errs.Invalid, "the data has no rows")
	}
	byName := make(map[string]*dataset.Column, len(f.Columns))
	for i := range f.Columns {
		byName[f.Columns[i].Name] = &f.Columns[i]
	}
	in := make([]*dataset.Column, len(p.Columns))
	for i, want := range p.Columns {
		c, ok := byName[want.Name]
		if !ok {
			return nil, errs.Errorf(errs.Invalid, "the data has no column %q, which the model needs", want.Name)
		}
		if c.Kind != want.Kind {
			return nil, errs.Errorf(errs.Invalid, "column %q must be %s but is %s", want.Name, want.Kind, c.Kind)
		}
		if err := checkColumn(c, f.NRows); err != nil {
			return nil, err
		}
		in[i] = c
	}

	n := f.NRows
	X := mat.NewDense(n, p.NumOutputs(), nil)
	j := 0
	for i, c := range p.Columns {
		if c.Kind != dataset.Numeric {
			continue
		}
		for r, v := range in[i].Num {
			X.Set(r, j, (v-c.Mean)/c.Scale)
		}
		j++
	}
	for i, c := range p.Columns {
		if c.Kind != dataset.Categorical {
			continue
		}
		index := make(map[string]int, len(c.Categories))
		for k, cat := range c.Categories {
			index[cat] = k
		}
		for r, v := range in[i].Str {
			k, ok := index[v]
			if !ok {
				if p.HandleUnknown == UnknownIgnore {
					continue
				}
				return nil, errs.Errorf(errs.Invalid, "column %q has value %q in row %d, a category not seen in training (known: %s)", c.Name, v, r+1, quoteList(c.Categories, 10))
			}
			X.Set(r, j+k, 1)
		}
		j += len(c.Categories)
	}
	return X, nil
}

// quoteList formats at most max quoted items, then "…" and the count left.
func quoteList(items []string, max int) string {
	s := ""
	for i, it := range items {
		if i == max {
			return s + fmt.Sprintf(", … %d more", len(items)-max)
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", it)
	}
	return s
}
