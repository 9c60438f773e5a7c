package linear

import (
	"context"
	"fmt"
	"math"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

// LogisticRegression is scikit-learn 1.2.1's LogisticRegression with the
// lbfgs solver. It minimises
//
//	Σ_i s_i·logloss_i + 1/(2C)·||W||²
//
// (a sum, not a mean; intercepts unpenalised; s_i = 1, or the "balanced"
// class weight n/(k·n_class)) with an L-BFGS that follows scipy's L-BFGS-B
// (memory 10, stop when max|∇f| <= Tol, or on a relative reduction of f
// below 2.2e-9, or after MaxIter iterations).
//
// MultiClass "auto" fits one multinomial (softmax) model for k > 2 classes
// and one binary model for k = 2; "ovr" fits one binary model per class
// (one for k = 2); "multinomial" fits softmax even for k = 2, and then, as
// scikit-learn, keeps only the second row of coefficients.
type LogisticRegression struct {
	// Hyperparameters, named as scikit-learn's.
	Penalty      string  `json:"penalty"` // "l2" or "none"
	C            float64 `json:"C"`
	FitIntercept bool    `json:"fit_intercept"`
	MaxIter      int     `json:"max_iter"`
	Tol          float64 `json:"tol"`
	ClassWeight  string  `json:"class_weight"` // "" (None) or "balanced"
	MultiClass   string  `json:"multi_class"`  // "auto", "ovr" or "multinomial"
	RandomState  *int    `json:"random_state"` // accepted for compatibility; lbfgs does not use it

	// Fitted state.
	NFeatures   int         `json:"n_features"`
	NClasses    int         `json:"n_classes"`
	Multinomial bool        `json:"multinomial"` // softmax model (else one-vs-rest sigmoids)
	Coef        [][]float64 `json:"coef"`        // scikit-learn's coef_: 1×p for two classes, else k×p
	Intercept   []float64   `json:"intercept"`   // intercept_, one per row of Coef
	NIter       []int       `json:"n_iter"`      // n_iter_: iterations per fitted problem
	Converged   []bool      `json:"converged"`   // whether each problem met a convergence test before MaxIter
}

func logisticSpec() ml.Spec {
	return ml.Spec{
		Name:  "logistic_regression",
		Tasks: []ml.Task{ml.Classification},
		Doc:   "Logistic regression (scikit-learn LogisticRegression, solver lbfgs): L2-penalised multinomial or one-vs-rest log-loss minimised with L-BFGS.",
		Params: []ml.Param{
			{Name: "penalty", Type: "'l2'|'none'|null", Default: "l2", Doc: "l2 adds 1/(2C)·||w||² to the loss; none (or null) fits without penalty"},
			{Name: "C", Type: "float", Default: 1.0, Doc: "inverse regularisation strength, > 0"},
			{Name: "fit_intercept", Type: "bool", Default: true, Doc: "fit an unpenalised intercept per class"},
			{Name: "max_iter", Type: "int", Default: 100, Doc: "maximum number of L-BFGS iterations, >= 1"},
			{Name: "tol", Type: "float", Default: 1e-4, Doc: "stop when the largest gradient component is <= tol, >= 0"},
			{Name: "class_weight", Type: "'balanced'|null", Default: nil, Doc: "balanced weighs each sample by n_samples/(n_classes·n_samples_of_its_class)"},
			{Name: "multi_class", Type: "'auto'|'ovr'|'multinomial'", Default: "auto", Doc: "auto: multinomial for more than 2 classes, binary otherwise; ovr: one binary model per class"},
			{Name: "solver", Type: "'lbfgs'", Default: "lbfgs", Doc: "only lbfgs is implemented"},
			{Name: "random_state", Type: "int|null", Default: nil, Doc: "accepted for compatibility; the lbfgs solver is deterministic and does not use it"},
		},
		New: newLogistic,
	}
}

func newLogistic(task ml.Task, p ml.Params) (ml.Estimator, error) {
	spec := logisticSpec()
	if task != ml.Classification {
		return nil, errs.Errorf(errs.Invalid, "%s does classification only, not %s", spec.Name, task)
	}
	if s, ok := p["penalty"].(string); ok && (s == "l1" || s == "elasticnet") {
		return nil, errs.Errorf(errs.Invalid, "%s: penalty %q needs the liblinear or saga solver, which mlrun does not implement; use \"l2\" or \"none\"", spec.Name, s)
	}
	if s, ok := p["solver"].(string); ok && s != "lbfgs" {
		return nil, errs.Errorf(errs.Invalid, "%s: solver %q is not implemented; only \"lbfgs\" is", spec.Name, s)
	}
	r := newParamReader(spec, p)
	m := &LogisticRegression{
		Penalty:      r.choice("penalty", "none", "l2", "none"),
		C:            r.float("C", positive),
		FitIntercept: r.bool("fit_intercept"),
		MaxIter:      r.int("max_iter", 1),
		Tol:          r.float("tol", nonNegative),
		ClassWeight:  r.choice("class_weight", "none", "balanced"),
		MultiClass:   r.choice("multi_class", "", "auto", "ovr", "multinomial"),
		RandomState:  r.optionalInt("random_state"),
	}
	r.choice("solver", "", "lbfgs")
	if r.err != nil {
		return nil, r.err
	}
	if m.ClassWeight == "none" {
		m.ClassWeight = ""
	}
	return m, nil
}

// NumClasses returns the number of classes seen in Fit.
func (m *LogisticRegression) NumClasses() int { return m.NClasses }

// Fit learns the coefficients from X and class indices y. After every
// L-BFGS iteration it reports progress("train_loss", iteration, objective/n),
// the mean penalised log-loss; one-vs-rest with more than two classes
// reports each class's problem as "train_loss_class_<c>".
func (m *LogisticRegression) Fit(ctx context.Context, X *mat.Dense, y []float64, progress ml.Progress) error {
	const name = "logistic_regression"
	if err := checkXY(name, X, y); err != nil {
		return err
	}
	labels, k, err := classLabels(name, y)
	if err != nil {
		return err
	}
	n, p := X.Dims()
	l2 := 1 / m.C
	if m.Penalty == "none" {
		l2 = 0
	}
	m.NFeatures, m.NClasses = p, k
	m.Multinomial = m.MultiClass == "multinomial" || (m.MultiClass == "auto" && k > 2)
	m.Coef, m.Intercept, m.NIter, m.Converged = nil, nil, nil, nil

	if m.Multinomial {
		sw := make([]float64, n)
		cw := balancedWeights(labels, k)
		for i := range sw {
			sw[i] = 1
			if m.ClassWeight == "balanced" {
				sw[i] *= cw[labels[i]]
			}
		}
		loss := newLogLoss(X, labels, sw, k, m.FitIntercept, l2)
		res, err := minimizeLBFGS(ctx, loss.eval, make([]float64, loss.dim()), m.MaxIter, m.Tol, reportLoss(progress, "train_loss", n))
		if err != nil {
			return fmt.Errorf("fit %s: %w", name, err)
		}
		loss.unpack(res.X)
		first := 0
		if k == 2 {
			first = 1 // scikit-learn keeps the second class's row only
		}
		for c := first; c < k; c++ {
			m.Coef = append(m.Coef, append([]float64(nil), loss.W[c*p:(c+1)*p]...))
			m.Intercept = append(m.Intercept, loss.b[c])
		}
		m.NIter = []int{res.NIter}
		m.Converged = []bool{res.Converged}
		return nil
	}

	// One-vs-rest: one binary problem per class (only class 1 when k = 2).
	positives := []int{1}
	if k > 2 {
		positives = make([]int, k)
		for c := range positives {
			positives[c] = c
		}
	}
	for _, pos := range positives {
		ybin := make([]int, n)
		for i, c := range labels {
			if c == pos {
				ybin[i] = 1
			}
		}
		cw := balancedWeights(ybin, 2)
		sw := make([]float64, n)
		for i := range sw {
			sw[i] = 1
			if m.ClassWeight == "balanced" {
				sw[i] *= cw[ybin[i]]
			}
		}
		key := "train_loss"
		if k > 2 {
			key = fmt.Sprintf("train_loss_class_%d", pos)
		}
		loss := newLogLoss(X, ybin, sw, 1, m.FitIntercept, l2)
		res, err := minimizeLBFGS(ctx, loss.eval, make([]float64, loss.dim()), m.MaxIter, m.Tol, reportLoss(progress, key, n))
		if err != nil {
			return fmt.Errorf("fit %s: %w", name, err)
		}
		loss.unpack(res.X)
		m.Coef = append(m.Coef, append([]float64(nil), loss.W...))
		m.Intercept = append(m.Intercept, loss.b[0])
		m.NIter = append(m.NIter, res.NIter)
		m.Converged = append(m.Converged, res.Converged)
	}
	return nil
}

// reportLoss turns the optimiser's objective into a Progress report of the
// objective divided by the number of samples (the mean penalised log-loss).
func reportLoss(progress ml.Progress, key string, n int) func(int, float64) {
	if progress == nil {
		return nil
	}
	return func(iter int, f float64) { progress(key, iter, f/float64(n)) }
}

// balancedWeights returns scikit-learn's compute_class_weight("balanced"):
// n_samples / (k · count of the class).
func balancedWeights(labels []int, k int) []float64 {
	counts := make([]float64, k)
	for _, c := range labels {
		counts[c]++
	}
	w := make([]float64, k)
	for c := range w {
		w[c] = float64(len(labels)) / (float64(k) * counts[c])
	}
	return w
}

// decision returns X·Coef' + Intercept, n×len(Coef).
func (m *LogisticRegression) decision(X *mat.Dense) *mat.Dense {
	checkPredictX("logistic_regression", X, m.NFeatures)
	n, _ := X.Dims()
	if n == 0 {
		return &mat.Dense{}
	}
	out := mat.NewDense(n, len(m.Coef), nil)
	for i := 0; i < n; i++ {
		x := X.RawRowView(i)[:m.NFeatures]
		o := out.RawRowView(i)
		for c, w := range m.Coef {
			o[c] = dot(x, w) + m.Intercept[c]
		}
	}
	return out
}

// Predict returns the class index of each row of X.
func (m *LogisticRegression) Predict(X *mat.Dense) []float64 {
	d := m.decision(X)
	n, _ := X.Dims()
	pred := make([]float64, n)
	for i := range pred {
		row := d.RawRowView(i)
		if len(row) == 1 {
			if row[0] > 0 {
				pred[i] = 1
			}
			continue
		}
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		pred[i] = float64(best)
	}
	return pred
}

// PredictProba returns the n×k class probabilities, computed as
// scikit-learn's predict_proba.
func (m *LogisticRegression) PredictProba(X *mat.Dense) *mat.Dense {
	d := m.decision(X)
	n, _ := X.Dims()
	if n == 0 {
		return &mat.Dense{}
	}
	out := mat.NewDense(n, m.NClasses, nil)
	for i := 0; i < n; i++ {
		row := d.RawRowView(i)
		o := out.RawRowView(i)
		switch {
		case m.Multinomial && len(row) == 1:
			o[0], o[1] = -row[0], row[0]
			softmax(o)
		case m.Multinomial:
			copy(o, row)
			softmax(o)
		case len(row) == 1:
			p := expit(row[0])
			o[0], o[1] = 1-p, p
		default:
			sum := 0.0
			for c, v := range row {
				o[c] = expit(v)
				sum += o[c]
			}
			for c := range o {
				o[c] /= sum
			}
		}
	}
	return out
}

func expit(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softmax replaces v with exp(v - max) / Σ exp(v - max).
func softmax(v []float64) {
	maxv := v[0]
	for _, x := range v[1:] {
		maxv = math.Max(maxv, x)
	}
	sum := 0.0
	for c, x := range v {
		v[c] = math.Exp(x - maxv)
		sum += v[c]
	}
	for c := range v {
		v[c] /= sum
	}
}

// dot is the plain inner product, summed left to right.
func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
