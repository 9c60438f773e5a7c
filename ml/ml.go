// Package ml holds the contracts shared by mlrun's Go-native estimators:
// the Estimator interface, hyperparameter declarations and the Spec that
// names an estimator kind. Subpackages implement the estimators (linear,
// svm, tree, neighbors, naivebayes), the data handling (dataset, split,
// preprocess), the scores (metrics) and the model directory (modelfile).
//
// Matrices are gonum *mat.Dense, one row per sample. For classifiers, y
// holds class indices 0..k-1 stored as float64; the class names live with
// the data set and the model directory, not in the estimator.
package ml

import (
	"context"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Task is what an estimator learns.
type Task string

// Tasks.
const (
	Classification Task = "classification"
	Regression     Task = "regression"
)

// Progress receives training progress as metric history: a key such as
// "train_loss" or "trees_built", a step (iteration) and a value. It may be nil.
type Progress func(key string, step int, value float64)

// Estimator is a model that learns from data. Implementations keep their
// hyperparameters and fitted state in exported fields, so encoding/json
// round-trips a fitted estimator exactly (float64 values survive JSON).
type Estimator interface {
	// Fit learns from X (n×p) and y (n). It must be deterministic: the same
	// data and hyperparameters (random_state included) give bit-identical
	// state, however many goroutines it uses. It honours ctx cancellation.
	Fit(ctx context.Context, X *mat.Dense, y []float64, progress Progress) error
	// Predict returns one value per row: a class index for classifiers.
	Predict(X *mat.Dense) []float64
}

// Classifier is an estimator that also gives class probabilities.
type Classifier interface {
	Estimator
	// NumClasses returns k, the number of classes seen in Fit.
	NumClasses() int
	// PredictProba returns an n×k matrix of class probabilities.
	PredictProba(X *mat.Dense) *mat.Dense
}

// OptionalProbabilities is a Classifier whose probabilities depend on how
// it was fitted, as scikit-learn's SVC with probability=False, which has
// none: PredictProba returns nil when HasProbabilities is false.
type OptionalProbabilities interface {
	HasProbabilities() bool
}

// Params are hyperparameter values by scikit-learn name. Values are
// float64, int, string, bool or nil (scikit-learn's None).
type Params map[string]any

// Param declares one hyperparameter, so that validation and `mlrun steps`
// help come from one place.
type Param struct {
	Name    string
	Type    string // for help: "float", "int", "string", "bool", "int|null", "float|'scale'|'auto'", ...
	Default any
	Doc     string
}

// Spec names an estimator kind and how to make one.
type Spec struct {
	Name   string // e.g. "logistic_regression"
	Tasks  []Task // the tasks it supports
	Doc    string
	Params []Param
	// New returns an unfitted estimator for task with the given hyperparameters,
	// defaults filled in from Params. It rejects unknown names and bad values
	// (C=-1, max_depth=0, ...) with an error naming the parameter, before any
	// training. An estimator created by New and then filled by json.Unmarshal
	// from a fitted estimator's JSON predicts exactly as the fitted one.
	New func(task Task, p Params) (Estimator, error)
}

// Supports reports whether the spec handles task.
func (s Spec) Supports(t Task) bool {
	for _, x := range s.Tasks {
		if x == t {
			return true
		}
	}
	return false
}

// WithDefaults returns p with every declared default filled in, and an
// error naming any key that the spec does not declare.
func (s Spec) WithDefaults(p Params) (Params, error) {
	out := Params{}
	known := map[string]bool{}
	for _, d := range s.Params {
		known[d.Name] = true
		out[d.Name] = d.Default
	}
	for k, v := range p {
		if !known[k] {
			names := make([]string, 0, len(s.Params))
			for _, d := range s.Params {
				names = append(names, d.Name)
			}
			return nil, fmt.Errorf("%s has no hyperparameter %q (it has %s)", s.Name, k, strings.Join(names, ", "))
		}
		out[k] = v
	}
	return out, nil
}

// Float returns p[name] as a float64, accepting ints.
func (p Params) Float(name string) (float64, error) {
	switch v := p[name].(type) {
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	}
	return 0, fmt.Errorf("hyperparameter %s must be a number, not %v", name, p[name])
}

// Int returns p[name] as an int, accepting whole floats.
func (p Params) Int(name string) (int, error) {
	switch v := p[name].(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v), nil
		}
	}
	return 0, fmt.Errorf("hyperparameter %s must be a whole number, not %v", name, p[name])
}

// String returns p[name] as a string.
func (p Params) String(name string) (string, error) {
	if v, ok := p[name].(string); ok {
		return v, nil
	}
	return "", fmt.Errorf("hyperparameter %s must be a string, not %v", name, p[name])
}

// Bool returns p[name] as a bool.
func (p Params) Bool(name string) (bool, error) {
	if v, ok := p[name].(bool); ok {
		return v, nil
	}
	return false, fmt.Errorf("hyperparameter %s must be true or false, not %v", name, p[name])
}

// IsNull reports whether p[name] is nil (scikit-learn's None).
func (p Params) IsNull(name string) bool { return p[name] == nil }

// RandomState returns p[name] as a seed: nil when it is null, else a whole
// number from 0 to 4294967295 (what numpy's RandomState accepts).
func (p Params) RandomState(name string) (*int64, error) {
	if p.IsNull(name) {
		return nil, nil
	}
	rs, err := p.Int(name)
	if err != nil || rs < 0 || rs > math.MaxUint32 {
		return nil, fmt.Errorf("hyperparameter %s must be null or a whole number from 0 to 4294967295, not %v", name, p[name])
	}
	v := int64(rs)
	return &v, nil
}
