// Package naivebayes implements mlrun's "gaussian_nb" estimator, matching
// scikit-learn 1.2.1's GaussianNB: per class, each feature is a normal
// distribution with the class mean and (population) variance plus
// epsilon = var_smoothing · (largest variance of any feature over all rows).
//
// The fitted estimator keeps its hyperparameters and state in exported
// fields, so a JSON round trip predicts bit-identically.
package naivebayes

import (
	"context"
	"math"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

// Specs returns the estimator kinds of this package.
func Specs() []ml.Spec {
	return []ml.Spec{gaussianNBSpec()}
}

func gaussianNBSpec() ml.Spec {
	return ml.Spec{
		Name:  "gaussian_nb",
		Tasks: []ml.Task{ml.Classification},
		Doc:   "Gaussian naive Bayes (scikit-learn GaussianNB): independent normal features per class.",
		Params: []ml.Param{
			{Name: "var_smoothing", Type: "float", Default: 1e-9, Doc: "share of the largest feature variance added to every variance, >= 0"},
			{Name: "priors", Type: "list of float|null", Default: nil, Doc: "class prior probabilities (non-negative, summing to 1, one per class); null: the class frequencies"},
		},
		New: newGaussianNB,
	}
}

// GaussianNB is Gaussian naive Bayes.
type GaussianNB struct {
	VarSmoothing float64   `json:"var_smoothing"`
	Priors       []float64 `json:"priors"` // nil: class frequencies

	NFeatures  int         `json:"n_features"`
	ClassCount []float64   `json:"class_count"` // training rows per class
	ClassPrior []float64   `json:"class_prior"` // class_prior_
	Theta      [][]float64 `json:"theta"`       // theta_: mean of each feature per class, k×p
	Var        [][]float64 `json:"var"`         // var_: variance of each feature per class plus Epsilon
	Epsilon    float64     `json:"epsilon"`     // epsilon_
}

func newGaussianNB(task ml.Task, p ml.Params) (ml.Estimator, error) {
	spec := gaussianNBSpec()
	if task != ml.Classification {
		return nil, errs.Errorf(errs.Invalid, "%s does classification only, not %s", spec.Name, task)
	}
	full, err := spec.WithDefaults(p)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "%w", err)
	}
	m := &GaussianNB{}
	if m.VarSmoothing, err = full.Float("var_smoothing"); err != nil {
		return nil, errs.Errorf(errs.Invalid, "gaussian_nb: %w", err)
	}
	if !(m.VarSmoothing >= 0) || math.IsInf(m.VarSmoothing, 0) {
		return nil, errs.Errorf(errs.Invalid, "gaussian_nb: hyperparameter var_smoothing must be a finite number >= 0, not %v", m.VarSmoothing)
	}
	if !full.IsNull("priors") {
		if m.Priors, err = floatList(full["priors"]); err != nil {
			return nil, errs.Errorf(errs.Invalid, "gaussian_nb: hyperparameter priors %w", err)
		}
		sum := 0.0
		for _, v := range m.Priors {
			if !(v >= 0) || math.IsInf(v, 0) {
				return nil, errs.Errorf(errs.Invalid, "gaussian_nb: hyperparameter priors must be non-negative, not %v", m.Priors)
			}
			sum += v
		}
		// numpy.isclose(sum, 1) as scikit-learn checks it.
		if math.Abs(sum-1) > 1e-8+1e-5 {
			return nil, errs.Errorf(errs.Invalid, "gaussian_nb: hyperparameter priors must sum to 1, not %v (sum %v)", m.Priors, sum)
		}
	}
	return m, nil
}

// floatList converts a list of numbers in any of the forms a YAML or JSON
// decoder produces.
func floatList(v any) ([]float64, error) {
	switch l := v.(type) {
	case []float64:
		return append([]float64(nil), l...), nil
	case []int:
		out := make([]float64, len(l))
		for i, x := range l {
			out[i] = float64(x)
		}
		return out, nil
	case []any:
		out := make([]float64, len(l))
		for i, x := range l {
			p := ml.Params{"x": x}
			f, err := p.Float("x")
			if err != nil {
				return nil, errs.Errorf(errs.Invalid, "must be a list of numbers, not %v", v)
			}
			out[i] = f
		}
		return out, nil
	}
	return nil, errs.Errorf(errs.Invalid, "must be a list of numbers or null, not %v", v)
}

// NumClasses returns the number of classes seen in Fit.
func (m *GaussianNB) NumClasses() int { return len(m.ClassPrior) }

// Fit estimates the class priors and per-class feature means and variances.
func (m *GaussianNB) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if X == nil || X.IsEmpty() {
		return errs.Errorf(errs.Invalid, "gaussian_nb: the training data has no rows")
	}
	n, p := X.Dims()
	if len(y) != n {
		return errs.Errorf(errs.Invalid, "gaussian_nb: the training data has %d rows but %d target values", n, len(y))
	}
	labels := make([]int, n)
	k := 0
	for i, v := range y {
		if v < 0 || v != math.Trunc(v) || v > 1<<30 {
			return errs.Errorf(errs.Invalid, "gaussian_nb: target value %v in row %d is not a class index (0, 1, 2, ...)", v, i)
		}
		labels[i] = int(v)
		k = max(k, labels[i]+1)
		for j, x := range X.RawRowView(i)[:p] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return errs.Errorf(errs.Invalid, "gaussian_nb: feature %d in row %d is %v; features must be finite", j, i, x)
			}
		}
	}
	if m.Priors != nil && len(m.Priors) != k {
		return errs.Errorf(errs.Invalid, "gaussian_nb: hyperparameter priors has %d values but the training data has %d classes", len(m.Priors), k)
	}

	// epsilon from the variance of every feature over all rows.
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	_, allVar := meanVar(X, all)
	maxVar := 0.0
	for _, v := range allVar {
		maxVar = math.Max(maxVar, v)
	}
	m.Epsilon = m.VarSmoothing * maxVar

	rows := make([][]int, k)
	for i, c := range labels {
		rows[c] = append(rows[c], i)
	}
	m.NFeatures = p
	m.ClassCount = make([]float64, k)
	m.Theta = make([][]float64, k)
	m.Var = make([][]float64, k)
	for c := range rows {
		if len(rows[c]) == 0 {
			return errs.Errorf(errs.Invalid, "gaussian_nb: class %d has no training samples; every class 0..%d needs at least one", c, k-1)
		}
		m.ClassCount[c] = float64(len(rows[c]))
		m.Theta[c], m.Var[c] = meanVar(X, rows[c])
		for j := range m.Var[c] {
			m.Var[c][j] += m.Epsilon
		}
	}
	if m.Priors != nil {
		m.ClassPrior = append([]float64(nil), m.Priors...)
	} else {
		m.ClassPrior = make([]float64, k)
		for c, cnt := range m.ClassCount {
			m.ClassPrior[c] = cnt / float64(n)
		}
	}
	return nil
}

// meanVar returns the mean and population variance of each column over the
// given rows (two passes, as numpy's mean and var).
func meanVar(X *mat.Dense, rows []int) (mean, variance []float64) {
	_, p := X.Dims()
	mean = make([]float64, p)
	variance = make([]float64, p)
	for _, i := range rows {
		for j, v := range X.RawRowView(i)[:p] {
			mean[j] += v
		}
	}
	n := float64(len(rows))
	for j := range mean {
		mean[j] /= n
	}
	for _, i := range rows {
		for j, v := range X.RawRowView(i)[:p] {
			d := v - mean[j]
			variance[j] += d * d
		}
	}
	for j := range variance {
		variance[j] /= n
	}
	return mean, variance
}

// jointLogLikelihood writes log P(c) + log P(x|c) for every class into out.
func (m *GaussianNB) jointLogLikelihood(x, out []float64) {
	for c := range out {
		norm, sq := 0.0, 0.0
		for j, v := range m.Var[c] {
			norm += math.Log(2 * math.Pi * v)
			d := x[j] - m.Theta[c][j]
			sq += d * d / v
		}
		out[c] = math.Log(m.ClassPrior[c]) + (-0.5*norm - 0.5*sq)
	}
}

func (m *GaussianNB) checkX(X *mat.Dense) int {
	n, p := X.Dims()
	if n > 0 && p != m.NFeatures {
		panic("gaussian_nb: predict on a different number of features than fitted")
	}
	return n
}

// Predict returns the most probable class of each row.
func (m *GaussianNB) Predict(X *mat.Dense) []float64 {
	n := m.checkX(X)
	pred := make([]float64, n)
	jll := make([]float64, m.NumClasses())
	for i := range pred {
		m.jointLogLikelihood(X.RawRowView(i), jll)
		best := 0
		for c, v := range jll {
			if v > jll[best] {
				best = c
			}
		}
		pred[i] = float64(best)
	}
	return pred
}

// PredictProba returns the n×k posterior class probabilities,
// exp(jll - logsumexp(jll)) per row as scikit-learn computes them.
func (m *GaussianNB) PredictProba(X *mat.Dense) *mat.Dense {
	n := m.checkX(X)
	if n == 0 {
		return &mat.Dense{}
	}
	out := mat.NewDense(n, m.NumClasses(), nil)
	for i := 0; i < n; i++ {
		o := out.RawRowView(i)
		m.jointLogLikelihood(X.RawRowView(i), o)
		lse := logSumExp(o)
		for c := range o {
			o[c] = math.Exp(o[c] - lse)
		}
	}
	return out
}

// logSumExp is log Σ exp(v), computed from the largest value as scipy's
// logsumexp.
func logSumExp(v []float64) float64 {
	maxv := math.Inf(-1)
	for _, x := range v {
		maxv = math.Max(maxv, x)
	}
	if math.IsInf(maxv, 0) {
		maxv = 0
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - maxv)
	}
	return math.Log(s) + maxv
}
