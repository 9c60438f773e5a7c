// Package svm implements scikit-learn's SVC (libsvm's C-SVC) in Go: SMO
// with second-order working-set selection and shrinking, one-vs-one
// multiclass with voting, and Platt-scaled probabilities with pairwise
// coupling (for two classes too, as scikit-learn's libsvm does). It follows scikit-learn 1.2.1's libsvm closely enough that
// predictions agree with it, and probability=true reproduces its internal
// cross-validation shuffle (scikit-learn seeds libsvm's MT19937 from
// random_state; so does this package).
package svm

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/random"
	"gonum.org/v1/gonum/mat"
)

// Specs lists the estimator kinds of this package.
func Specs() []ml.Spec {
	return []ml.Spec{{
		Name:   "svc",
		Tasks:  []ml.Task{ml.Classification},
		Doc:    "C-support vector classification (scikit-learn's SVC, libsvm): kernel SVM, one-vs-one for more than two classes.",
		Params: svcParams,
		New:    newSVC,
	}}
}

// svcParams declares SVC's hyperparameters with scikit-learn 1.2.1's defaults.
var svcParams = []ml.Param{
	{Name: "C", Type: "float", Default: 1.0, Doc: "regularisation: penalty of margin violations (> 0)"},
	{Name: "kernel", Type: "string", Default: "rbf", Doc: "'linear', 'poly', 'rbf' or 'sigmoid'"},
	{Name: "degree", Type: "int", Default: 3, Doc: "degree of the 'poly' kernel (>= 0)"},
	{Name: "gamma", Type: "float|'scale'|'auto'", Default: "scale", Doc: "kernel coefficient: 'scale' = 1/(n_features*X.var()), 'auto' = 1/n_features, or a positive number"},
	{Name: "coef0", Type: "float", Default: 0.0, Doc: "independent term of the 'poly' and 'sigmoid' kernels"},
	{Name: "shrinking", Type: "bool", Default: true, Doc: "use libsvm's shrinking heuristic"},
	{Name: "probability", Type: "bool", Default: false, Doc: "fit Platt scaling by internal 5-fold cross-validation, enabling predict_proba"},
	{Name: "tol", Type: "float", Default: 1e-3, Doc: "stopping tolerance of SMO (> 0)"},
	{Name: "cache_size", Type: "float", Default: 200.0, Doc: "kernel cache size in MB (> 0)"},
	{Name: "class_weight", Type: "null|'balanced'", Default: nil, Doc: "'balanced' multiplies C of each class by n_samples/(n_classes*count)"},
	{Name: "max_iter", Type: "int", Default: -1, Doc: "SMO iteration limit per binary problem, -1 for none"},
	{Name: "decision_function_shape", Type: "string", Default: "ovr", Doc: "'ovr' or 'ovo' shape of the decision function"},
	{Name: "break_ties", Type: "bool", Default: false, Doc: "with 'ovr' and more than 2 classes, predict by the decision function instead of votes"},
	{Name: "random_state", Type: "int|null", Default: nil, Doc: "seed of the probability cross-validation shuffle (null behaves as 0)"},
}

// SVC is a fitted or unfitted support vector classifier. Hyperparameters
// and fitted state are exported so that encoding/json round-trips it.
type SVC struct {
	// Hyperparameters (scikit-learn names in the json tags).
	C                     float64 `json:"C"`
	Kernel                string  `json:"kernel"`
	Degree                int     `json:"degree"`
	Gamma                 any     `json:"gamma"` // "scale", "auto" or a float64
	Coef0                 float64 `json:"coef0"`
	Shrinking             bool    `json:"shrinking"`
	Probability           bool    `json:"probability"`
	Tol                   float64 `json:"tol"`
	CacheSize             float64 `json:"cache_size"`
	ClassWeight           any     `json:"class_weight"` // nil or "balanced"
	MaxIter               int     `json:"max_iter"`
	DecisionFunctionShape string  `json:"decision_function_shape"`
	BreakTies             bool    `json:"break_ties"`
	RandomState           *int64  `json:"random_state"`

	// Fitted state, in libsvm's model layout.
	NFeatures      int         `json:"n_features"`
	NClass         int         `json:"n_classes"`       // k: class indices are 0..k-1
	Labels         []int       `json:"labels"`          // class indices seen in training, ascending
	GammaValue     float64     `json:"gamma_value"`     // the gamma used (scikit-learn's _gamma)
	SupportVectors [][]float64 `json:"support_vectors"` // grouped by class, in training order
	Support        []int       `json:"support"`         // training row of each support vector
	NSupport       []int       `json:"n_support"`       // support vectors per entry of Labels
	DualCoef       [][]float64 `json:"dual_coef"`       // libsvm's sv_coef: (len(Labels)-1) × len(SupportVectors)
	Rho            []float64   `json:"rho"`             // one per pair (i<j); intercept = -rho
	ProbA          []float64   `json:"prob_a,omitempty"`
	ProbB          []float64   `json:"prob_b,omitempty"`
	Iterations     []int       `json:"iterations"` // SMO iterations per pair
}

func invalid(format string, args ...any) error {
	return errs.Errorf(errs.Invalid, format, args...)
}

func newSVC(task ml.Task, p ml.Params) (ml.Estimator, error) {
	if task != ml.Classification {
		return nil, invalid("svc supports only classification, not %s", task)
	}
	p, err := ml.Spec{Name: "svc", Params: svcParams}.WithDefaults(p)
	if err != nil {
		return nil, invalid("%v", err)
	}
	m := &SVC{}
	if m.C, err = p.Float("C"); err != nil {
		return nil, invalid("%v", err)
	}
	if !(m.C > 0) || math.IsInf(m.C, 0) {
		return nil, invalid("hyperparameter C must be a positive number, not %v", p["C"])
	}
	if m.Kernel, err = p.String("kernel"); err != nil {
		return nil, invalid("%v", err)
	}
	if !slices.Contains([]string{"linear", "poly", "rbf", "sigmoid"}, m.Kernel) {
		return nil, invalid("hyperparameter kernel must be 'linear', 'poly', 'rbf' or 'sigmoid', not %q", m.Kernel)
	}
	if m.Degree, err = p.Int("degree"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.Degree < 0 {
		return nil, invalid("hyperparameter degree must be >= 0, not %d", m.Degree)
	}
	switch g := p["gamma"].(type) {
	case string:
		if g != "scale" && g != "auto" {
			return nil, invalid("hyperparameter gamma must be 'scale', 'auto' or a positive number, not %q", g)
		}
		m.Gamma = g
	default:
		v, err := p.Float("gamma")
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, invalid("hyperparameter gamma must be 'scale', 'auto' or a positive number, not %v", p["gamma"])
		}
		m.Gamma = v
	}
	if m.Coef0, err = p.Float("coef0"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.Shrinking, err = p.Bool("shrinking"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.Probability, err = p.Bool("probability"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.Tol, err = p.Float("tol"); err != nil {
		return nil, invalid("%v", err)
	}
	if !(m.Tol > 0) {
		return nil, invalid("hyperparameter tol must be a positive number, not %v", p["tol"])
	}
	if m.CacheSize, err = p.Float("cache_size"); err != nil {
		return nil, invalid("%v", err)
	}
	if !(m.CacheSize > 0) {
		return nil, invalid("hyperparameter cache_size must be a positive number, not %v", p["cache_size"])
	}
	switch cw := p["class_weight"].(type) {
	case nil:
	case string:
		if cw != "balanced" {
			return nil, invalid("hyperparameter class_weight must be null or 'balanced', not %q", cw)
		}
		m.ClassWeight = cw
	default:
		return nil, invalid("hyperparameter class_weight must be null or 'balanced', not %v", cw)
	}
	if m.MaxIter, err = p.Int("max_iter"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.MaxIter == 0 || m.MaxIter < -1 {
		return nil, invalid("hyperparameter max_iter must be -1 (no limit) or a positive whole number, not %d", m.MaxIter)
	}
	if m.DecisionFunctionShape, err = p.String("decision_function_shape"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.DecisionFunctionShape != "ovr" && m.DecisionFunctionShape != "ovo" {
		return nil, invalid("hyperparameter decision_function_shape must be 'ovr' or 'ovo', not %q", m.DecisionFunctionShape)
	}
	if m.BreakTies, err = p.Bool("break_ties"); err != nil {
		return nil, invalid("%v", err)
	}
	if m.BreakTies && m.DecisionFunctionShape == "ovo" {
		return nil, invalid("hyperparameter break_ties=true needs decision_function_shape 'ovr'")
	}
	if m.RandomState, err = p.RandomState("random_state"); err != nil {
		return nil, invalid("%v", err)
	}
	return m, nil
}

// NumClasses returns k, the number of classes seen in Fit (the largest
// class index plus one).
func (m *SVC) NumClasses() int { return m.NClass }

// HasProbabilities implements ml.OptionalProbabilities: only a model fitted
// with probability=true gives class probabilities.
func (m *SVC) HasProbabilities() bool { return m.Probability && len(m.ProbA) > 0 }

func (m *SVC) kernel() kernel {
	return kernel{kind: m.Kernel, gamma: m.GammaValue, coef0: m.Coef0, degree: m.Degree}
}

// Fit trains the classifier on X (n×p) and class indices y.
func (m *SVC) Fit(ctx context.Context, X *mat.Dense, y []float64, progress ml.Progress) error {
	rows, err := checkXY(X, y)
	if err != nil {
		return err
	}
	n, p := X.Dims()
	classOf := make([]int, n)
	count := map[int]int{}
	for i, v := range y {
		classOf[i] = int(v)
		count[int(v)]++
	}
	labels := make([]int, 0, len(count))
	for c := range count {
		labels = append(labels, c)
	}
	slices.Sort(labels)
	if len(labels) < 2 {
		return invalid("svc needs at least two classes in the training data, got only class %d", labels[0])
	}

	// gamma, as scikit-learn resolves it.
	gamma := 0.0
	switch g := m.Gamma.(type) {
	case string:
		if g == "auto" {
			gamma = 1.0 / float64(p)
		} else {
			if v := variance(X); v != 0 {
				gamma = 1.0 / (float64(p) * v)
			} else {
				gamma = 1.0
			}
		}
	case float64:
		gamma = g
	default:
		return fmt.Errorf("svc: gamma has unexpected type %T", m.Gamma)
	}

	// Group samples by class (libsvm's svm_group_classes, labels sorted).
	k := len(labels)
	groups := make([][]int, k)
	pos := map[int]int{}
	for i, c := range labels {
		pos[c] = i
	}
	for i := 0; i < n; i++ {
		g := pos[classOf[i]]
		groups[g] = append(groups[g], i)
	}
	weightedC := make([]float64, k)
	for i := range labels {
		weightedC[i] = m.C
		if m.ClassWeight == "balanced" {
			weightedC[i] *= float64(n) / (float64(k) * float64(len(groups[i])))
		}
	}

	f := &fitter{ctx: ctx, kern: kernel{kind: m.Kernel, gamma: gamma, coef0: m.Coef0, degree: m.Degree},
		tol: m.Tol, shrinking: m.Shrinking, maxIter: m.MaxIter, cacheMB: m.CacheSize}
	if m.Probability {
		var rs uint32
		if m.RandomState != nil {
			rs = uint32(*m.RandomState)
		}
		f.seed = libsvmSeed(rs)
		f.rng = random.New(f.seed)
	}

	nPairs := k * (k - 1) / 2
	alphas := make([][]float64, 0, nPairs)
	rho := make([]float64, 0, nPairs)
	iterations := make([]int, 0, nPairs)
	var probA, probB []float64
	nonzero := make([]bool, n) // by training row
	pair := 0
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			sub := append(append([]int(nil), groups[i]...), groups[j]...)
			x := make([][]float64, len(sub))
			ys := make([]int8, len(sub))
			for t, r := range sub {
				x[t] = rows[r]
				ys[t] = -1
				if t < len(groups[i]) {
					ys[t] = 1
				}
			}
			if m.Probability {
				a, b, err := f.binaryProbability(x, ys, weightedC[i], weightedC[j])
				if err != nil {
					return fmt.Errorf("svc probability calibration: %w", err)
				}
				probA, probB = append(probA, a), append(probB, b)
			}
			res, err := f.trainOne(x, ys, weightedC[i], weightedC[j])
			if err != nil {
				return fmt.Errorf("svc fit: %w", err)
			}
			for t, r := range sub {
				if res.alpha[t] != 0 {
					nonzero[r] = true
				}
			}
			alphas = append(alphas, res.alpha)
			rho = append(rho, res.rho)
			iterations = append(iterations, res.iterations)
			if progress != nil {
				progress("smo_iterations", pair, float64(res.iterations))
			}
			pair++
		}
	}

	// Build libsvm's model: support vectors grouped by class.
	nSupport := make([]int, k)
	svIndex := make([]int, n) // training row -> index among support vectors
	var support []int
	var svs [][]float64
	for c := 0; c < k; c++ {
		for _, r := range groups[c] {
			if nonzero[r] {
				svIndex[r] = len(support)
				support = append(support, r)
				svs = append(svs, append([]float64(nil), rows[r]...))
				nSupport[c]++
			}
		}
	}
	dual := make([][]float64, k-1)
	for c := range dual {
		dual[c] = make([]float64, len(support))
	}
	pair = 0
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			a := alphas[pair]
			for t, r := range groups[i] {
				if nonzero[r] {
					dual[j-1][svIndex[r]] = a[t]
				}
			}
			for t, r := range groups[j] {
				if nonzero[r] {
					dual[i][svIndex[r]] = a[len(groups[i])+t]
				}
			}
			pair++
		}
	}

	m.NFeatures = p
	m.NClass = labels[k-1] + 1
	m.Labels = labels
	m.GammaValue = gamma
	m.SupportVectors = svs
	m.Support = support
	m.NSupport = nSupport
	m.DualCoef = dual
	m.Rho = rho
	m.ProbA, m.ProbB = probA, probB
	m.Iterations = iterations
	return nil
}

// libsvmSeed is the seed scikit-learn's SVC.fit hands to libsvm for a
// given random_state: RandomState(random_state).randint(2**31 - 1).
// libsvm seeds its std::mt19937 with it, the generator random.New(seed)
// reproduces.
func libsvmSeed(randomState uint32) uint32 {
	return uint32(random.New(randomState).RandInt(0, math.MaxInt32))
}

// fitter carries what the binary trainings of one Fit share.
type fitter struct {
	ctx       context.Context
	kern      kernel
	tol       float64
	shrinking bool
	maxIter   int
	cacheMB   float64
	seed      uint32
	rng       *random.State // libsvm's std::mt19937
}

// trainOne solves one binary problem: rows x with labels ±1, bound cp for
// the +1 samples and cn for the -1 samples (libsvm's svm_train_one).
func (f *fitter) trainOne(x [][]float64, y []int8, cp, cn float64) (solveResult, error) {
	c := make([]float64, len(y))
	for i, v := range y {
		if v > 0 {
			c[i] = cp
		} else {
			c[i] = cn
		}
	}
	q := newQMatrix(x, y, f.kern, f.cacheMB)
	return solveCSVC(f.ctx, q, c, f.tol, f.shrinking, f.maxIter)
}

// binaryProbability is libsvm's svm_binary_svc_probability: decision
// values from a shuffled 5-fold cross-validation, then Platt's sigmoid.
func (f *fitter) binaryProbability(x [][]float64, y []int8, cp, cn float64) (float64, float64, error) {
	const folds = 5
	l := len(y)
	perm := make([]int, l)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < l; i++ {
		j := i + int(f.rng.BoundedRandInt(uint32(l-i)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	dec := make([]float64, l)
	for fold := 0; fold < folds; fold++ {
		begin, end := fold*l/folds, (fold+1)*l/folds
		var train []int
		train = append(train, perm[:begin]...)
		train = append(train, perm[end:]...)
		pCount, nCount := 0, 0
		for _, t := range train {
			if y[t] > 0 {
				pCount++
			} else {
				nCount++
			}
		}
		switch {
		case pCount == 0 && nCount == 0:
			for _, t := range perm[begin:end] {
				dec[t] = 0
			}
		case nCount == 0:
			for _, t := range perm[begin:end] {
				dec[t] = 1
			}
		case pCount == 0:
			for _, t := range perm[begin:end] {
				dec[t] = -1
			}
		default:
			// scikit-learn's libsvm trains the fold model with svm_train,
			// which re-seeds the generator and groups labels sorted, so
			// the -1 samples come first and act as the positive class.
			f.rng.Seed(f.seed)
			var sx [][]float64
			var sy []int8
			for _, want := range []int8{-1, 1} {
				for _, t := range train {
					if y[t] == want {
						sx = append(sx, x[t])
						sy = append(sy, -want)
					}
				}
			}
			res, err := f.trainOne(sx, sy, cn, cp)
			if err != nil {
				return 0, 0, err
			}
			for _, t := range perm[begin:end] {
				sum := 0.0
				for s, a := range res.alpha {
					if a != 0 {
						sum += a * f.kern.eval(x[t], sx[s])
					}
				}
				// The model's first label is -1: flip to the +1 orientation.
				dec[t] = -(sum - res.rho)
			}
		}
	}
	a, b := sigmoidTrain(dec, y)
	return a, b, nil
}

// pairDecisions returns libsvm's one-vs-one decision values of row x (one
// per pair i<j, positive for class Labels[i]), using kv as scratch.
func (m *SVC) pairDecisions(x []float64, kv, dec []float64) {
	kern := m.kernel()
	for t, sv := range m.SupportVectors {
		kv[t] = kern.eval(x, sv)
	}
	k := len(m.Labels)
	start := make([]int, k)
	for i := 1; i < k; i++ {
		start[i] = start[i-1] + m.NSupport[i-1]
	}
	p := 0
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			sum := 0.0
			si, sj := start[i], start[j]
			coef1, coef2 := m.DualCoef[j-1], m.DualCoef[i]
			for t := 0; t < m.NSupport[i]; t++ {
				sum += coef1[si+t] * kv[si+t]
			}
			for t := 0; t < m.NSupport[j]; t++ {
				sum += coef2[sj+t] * kv[sj+t]
			}
			dec[p] = sum - m.Rho[p]
			p++
		}
	}
}

// usable reports whether the model is fitted and X has its column count.
func (m *SVC) usable(X *mat.Dense) bool {
	if len(m.Labels) < 2 || X == nil {
		return false
	}
	_, c := X.Dims()
	return c == m.NFeatures
}

// Predict returns the class index of each row by one-vs-one voting (the
// first class with most votes wins ties), or by the 'ovr' decision
// function when break_ties is set. It returns nil if the model is not
// fitted or X has the wrong number of columns.
func (m *SVC) Predict(X *mat.Dense) []float64 {
	if !m.usable(X) {
		return nil
	}
	k := len(m.Labels)
	if m.BreakTies && k > 2 {
		d := m.DecisionFunction(X)
		n, _ := d.Dims()
		out := make([]float64, n)
		for i := 0; i < n; i++ {
			out[i] = float64(m.Labels[argmax(d.RawRowView(i))])
		}
		return out
	}
	n, _ := X.Dims()
	out := make([]float64, n)
	kv := make([]float64, len(m.SupportVectors))
	dec := make([]float64, k*(k-1)/2)
	votes := make([]int, k)
	for r := 0; r < n; r++ {
		m.pairDecisions(X.RawRowView(r), kv, dec)
		clear(votes)
		p := 0
		for i := 0; i < k; i++ {
			for j := i + 1; j < k; j++ {
				if dec[p] > 0 {
					votes[i]++
				} else {
					votes[j]++
				}
				p++
			}
		}
		best := 0
		for i := 1; i < k; i++ {
			if votes[i] > votes[best] {
				best = i
			}
		}
		out[r] = float64(m.Labels[best])
	}
	return out
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// DecisionFunction returns scikit-learn's decision_function: for two
// classes one column, positive for the second class; otherwise, with
// decision_function_shape 'ovo', libsvm's k(k-1)/2 pairwise values and with
// 'ovr' the k columns of votes plus normalised confidences. Columns follow
// Labels. It returns nil if the model is not fitted or X has the wrong
// number of columns.
func (m *SVC) DecisionFunction(X *mat.Dense) *mat.Dense {
	if !m.usable(X) {
		return nil
	}
	n, _ := X.Dims()
	k := len(m.Labels)
	nPairs := k * (k - 1) / 2
	kv := make([]float64, len(m.SupportVectors))
	dec := make([]float64, nPairs)
	ovr := k > 2 && m.DecisionFunctionShape == "ovr"
	cols := nPairs
	if k == 2 {
		cols = 1
	} else if ovr {
		cols = k
	}
	out := mat.NewDense(n, cols, nil)
	for r := 0; r < n; r++ {
		m.pairDecisions(X.RawRowView(r), kv, dec)
		row := out.RawRowView(r)
		switch {
		case k == 2:
			row[0] = -dec[0]
		case !ovr:
			copy(row, dec)
		default:
			// scikit-learn's _ovr_decision_function(dec < 0, -dec, k).
			votes := make([]float64, k)
			conf := make([]float64, k)
			p := 0
			for i := 0; i < k; i++ {
				for j := i + 1; j < k; j++ {
					conf[i] -= -dec[p]
					conf[j] += -dec[p]
					if dec[p] < 0 {
						votes[j]++
					} else {
						votes[i]++
					}
					p++
				}
			}
			for i := range row {
				row[i] = votes[i] + conf[i]/(3*(math.Abs(conf[i])+1))
			}
		}
	}
	return out
}

// PredictProba returns an n×NumClasses matrix of class probabilities from
// Platt scaling and pairwise coupling, as libsvm's predict_probability. It
// returns nil when the model was fitted with probability=false (scikit-learn
// raises an error then), is not fitted, or X has the wrong number of
// columns.
func (m *SVC) PredictProba(X *mat.Dense) *mat.Dense {
	if !m.usable(X) || !m.HasProbabilities() {
		return nil
	}
	n, _ := X.Dims()
	k := len(m.Labels)
	const minProb = 1e-7
	kv := make([]float64, len(m.SupportVectors))
	dec := make([]float64, k*(k-1)/2)
	pairwise := make([][]float64, k)
	for i := range pairwise {
		pairwise[i] = make([]float64, k)
	}
	probs := make([]float64, k)
	out := mat.NewDense(n, m.NClass, nil)
	for r := 0; r < n; r++ {
		m.pairDecisions(X.RawRowView(r), kv, dec)
		p := 0
		for i := 0; i < k; i++ {
			for j := i + 1; j < k; j++ {
				v := math.Min(math.Max(sigmoidPredict(dec[p], m.ProbA[p], m.ProbB[p]), minProb), 1-minProb)
				pairwise[i][j] = v
				pairwise[j][i] = 1 - v
				p++
			}
		}
		// scikit-learn's libsvm couples two classes too (libsvm 3.24 and
		// later take pairwise[0][1] directly, which differs by up to 0.005/k).
		multiclassProbability(pairwise, probs)
		for i, c := range m.Labels {
			out.Set(r, c, probs[i])
		}
	}
	return out
}

// checkXY validates training data and returns X's rows as slices.
func checkXY(X *mat.Dense, y []float64) ([][]float64, error) {
	if X == nil {
		return nil, invalid("the training data has no rows")
	}
	n, p := X.Dims()
	if n == 0 || p == 0 {
		return nil, invalid("the training data is empty (%d rows, %d columns)", n, p)
	}
	if len(y) != n {
		return nil, invalid("the training data has %d rows but %d target values", n, len(y))
	}
	rows := make([][]float64, n)
	for i := 0; i < n; i++ {
		rows[i] = X.RawRowView(i)
		for j, v := range rows[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, invalid("the training data has a missing or infinite value at row %d, column %d", i+1, j+1)
			}
		}
		if v := y[i]; v < 0 || v != math.Trunc(v) || v > 1<<30 {
			return nil, invalid("the target at row %d is %v, not a class index (a whole number >= 0)", i+1, v)
		}
	}
	return rows, nil
}

// variance is numpy's X.var() over all elements (population variance),
// summed pairwise in row-major order as numpy does, so that gamma='scale'
// matches scikit-learn to the last bit in most cases.
func variance(X *mat.Dense) float64 {
	n, p := X.Dims()
	flat := make([]float64, 0, n*p)
	for i := 0; i < n; i++ {
		flat = append(flat, X.RawRowView(i)...)
	}
	count := float64(len(flat))
	mean := pairwiseSum(flat) / count
	for i, v := range flat {
		d := v - mean
		flat[i] = d * d
	}
	return pairwiseSum(flat) / count
}

// pairwiseSum is numpy's pairwise_sum for float64 (8 accumulators, blocks
// of 128).
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}
