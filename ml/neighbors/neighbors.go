// Package neighbors implements mlrun's k-nearest-neighbours estimator "knn",
// matching scikit-learn 1.2.1's KNeighborsClassifier and
// KNeighborsRegressor with a Minkowski distance.
//
// Neighbours are found by brute force (every training row is compared), for
// every value of the algorithm hyperparameter. Equidistant neighbours are
// ordered by training row index, lower first: when several rows tie for the
// k-th place, the lowest-indexed ones are used. scikit-learn's own order on
// exact ties depends on its tree or partition algorithm and may differ, so
// predictions can differ from scikit-learn's only where distances tie
// exactly at the k-th neighbour.
//
// The fitted state is the training data itself, kept in exported fields so
// that a JSON round trip predicts bit-identically.
package neighbors

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/internal/parallel"
	"gonum.org/v1/gonum/mat"
)

// Specs returns the estimator kinds of this package.
func Specs() []ml.Spec {
	return []ml.Spec{knnSpec()}
}

func knnSpec() ml.Spec {
	return ml.Spec{
		Name:  "knn",
		Tasks: []ml.Task{ml.Classification, ml.Regression},
		Doc:   "k-nearest neighbours (scikit-learn KNeighborsClassifier / KNeighborsRegressor), brute-force Minkowski distance.",
		Params: []ml.Param{
			{Name: "n_neighbors", Type: "int", Default: 5, Doc: "number of neighbours, >= 1 and at most the number of training rows"},
			{Name: "weights", Type: "'uniform'|'distance'", Default: "uniform", Doc: "uniform: every neighbour counts the same; distance: by 1/distance (an exact match takes all the weight)"},
			{Name: "p", Type: "float", Default: 2, Doc: "Minkowski power, >= 1: 1 is Manhattan, 2 Euclidean"},
			{Name: "algorithm", Type: "'auto'|'brute'|'kd_tree'|'ball_tree'", Default: "auto", Doc: "accepted for compatibility; neighbours are always found by exact brute force"},
			{Name: "leaf_size", Type: "int", Default: 30, Doc: "accepted for compatibility (tree leaf size), >= 1; unused"},
		},
		New: newKNN,
	}
}

// Settings are the hyperparameters shared by both estimators.
type Settings struct {
	NNeighbors int     `json:"n_neighbors"`
	Weights    string  `json:"weights"`
	P          float64 `json:"p"`
	Algorithm  string  `json:"algorithm"`
	LeafSize   int     `json:"leaf_size"`
}

func newKNN(task ml.Task, p ml.Params) (ml.Estimator, error) {
	spec := knnSpec()
	full, err := spec.WithDefaults(p)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "%w", err)
	}
	var s Settings
	if s.NNeighbors, err = full.Int("n_neighbors"); err != nil {
		return nil, errs.Errorf(errs.Invalid, "knn: %w", err)
	}
	if s.NNeighbors < 1 {
		return nil, errs.Errorf(errs.Invalid, "knn: hyperparameter n_neighbors must be >= 1, not %d", s.NNeighbors)
	}
	if s.Weights, err = full.String("weights"); err != nil {
		return nil, errs.Errorf(errs.Invalid, "knn: %w", err)
	}
	if s.Weights != "uniform" && s.Weights != "distance" {
		return nil, errs.Errorf(errs.Invalid, "knn: hyperparameter weights must be \"uniform\" or \"distance\", not %q", s.Weights)
	}
	if s.P, err = full.Float("p"); err != nil {
		return nil, errs.Errorf(errs.Invalid, "knn: %w", err)
	}
	if !(s.P >= 1) || math.IsInf(s.P, 0) {
		return nil, errs.Errorf(errs.Invalid, "knn: hyperparameter p must be a finite number >= 1, not %v", s.P)
	}
	if s.Algorithm, err = full.String("algorithm"); err != nil {
		return nil, errs.Errorf(errs.Invalid, "knn: %w", err)
	}
	switch s.Algorithm {
	case "auto", "brute", "kd_tree", "ball_tree":
	default:
		return nil, errs.Errorf(errs.Invalid, "knn: hyperparameter algorithm must be one of auto, brute, kd_tree, ball_tree, not %q", s.Algorithm)
	}
	if s.LeafSize, err = full.Int("leaf_size"); err != nil {
		return nil, errs.Errorf(errs.Invalid, "knn: %w", err)
	}
	if s.LeafSize < 1 {
		return nil, errs.Errorf(errs.Invalid, "knn: hyperparameter leaf_size must be >= 1, not %d", s.LeafSize)
	}
	switch task {
	case ml.Classification:
		return &KNeighborsClassifier{Settings: s}, nil
	case ml.Regression:
		return &KNeighborsRegressor{Settings: s}, nil
	}
	return nil, errs.Errorf(errs.Invalid, "knn does classification or regression, not %q", task)
}

// TrainingSet is the fitted state common to both estimators: the training
// rows, row-major.
type TrainingSet struct {
	NFeatures int       `json:"n_features"`
	FitX      []float64 `json:"fit_X"` // n × NFeatures, row-major
}

func (t *TrainingSet) rows() int {
	if t.NFeatures == 0 {
		return 0
	}
	return len(t.FitX) / t.NFeatures
}

// KNeighborsClassifier predicts the class most represented (or most
// weighted) among the k nearest training rows.
type KNeighborsClassifier struct {
	Settings
	TrainingSet
	NClasses int   `json:"n_classes"`
	Y        []int `json:"y"` // class index of each training row
}

// KNeighborsRegressor predicts the mean (or 1/distance-weighted mean) of
// the targets of the k nearest training rows.
type KNeighborsRegressor struct {
	Settings
	TrainingSet
	Y []float64 `json:"y"`
}

// fit validates X and y and stores X.
func (s Settings) fit(t *TrainingSet, X *mat.Dense, y []float64) error {
	if X == nil || X.IsEmpty() {
		return errs.Errorf(errs.Invalid, "knn: the training data has no rows")
	}
	n, p := X.Dims()
	if len(y) != n {
		return errs.Errorf(errs.Invalid, "knn: the training data has %d rows but %d target values", n, len(y))
	}
	if s.NNeighbors > n {
		return errs.Errorf(errs.Invalid, "knn: n_neighbors is %d but the training data has only %d rows", s.NNeighbors, n)
	}
	t.NFeatures = p
	t.FitX = make([]float64, 0, n*p)
	for i := 0; i < n; i++ {
		row := X.RawRowView(i)[:p]
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errs.Errorf(errs.Invalid, "knn: feature %d in row %d is %v; features must be finite", j, i, v)
			}
		}
		t.FitX = append(t.FitX, row...)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errs.Errorf(errs.Invalid, "knn: target value in row %d is %v; targets must be finite", i, v)
		}
	}
	return nil
}

// Fit stores the training data and class indices.
func (m *KNeighborsClassifier) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.Settings.fit(&m.TrainingSet, X, y); err != nil {
		return err
	}
	m.Y = make([]int, len(y))
	m.NClasses = 0
	for i, v := range y {
		if v < 0 || v != math.Trunc(v) || v > 1<<30 {
			return errs.Errorf(errs.Invalid, "knn: target value %v in row %d is not a class index (0, 1, 2, ...)", v, i)
		}
		m.Y[i] = int(v)
		m.NClasses = max(m.NClasses, m.Y[i]+1)
	}
	return nil
}

// NumClasses returns the number of classes seen in Fit (the largest class
// index plus one).
func (m *KNeighborsClassifier) NumClasses() int { return m.NClasses }

// PredictProba returns the n×k class probabilities: the (weighted) share of
// each class among the neighbours, as scikit-learn's predict_proba.
func (m *KNeighborsClassifier) PredictProba(X *mat.Dense) *mat.Dense {
	n, _ := X.Dims()
	if n == 0 {
		return &mat.Dense{}
	}
	out := mat.NewDense(n, m.NClasses, nil)
	m.forEachQuery(X, func(i int, nb []neighbour, w []float64) {
		o := out.RawRowView(i)
		m.votes(nb, w, o)
		sum := 0.0
		for _, v := range o {
			sum += v
		}
		if sum == 0 {
			sum = 1
		}
		for c := range o {
			o[c] /= sum
		}
	})
	return out
}

// Predict returns the class with the largest (weighted) vote for each row;
// ties go to the lowest class index, as scikit-learn's mode.
func (m *KNeighborsClassifier) Predict(X *mat.Dense) []float64 {
	n, _ := X.Dims()
	pred := make([]float64, n)
	m.forEachQuery(X, func(i int, nb []neighbour, w []float64) {
		votes := make([]float64, m.NClasses)
		m.votes(nb, w, votes)
		best := 0
		for c, v := range votes {
			if v > votes[best] {
				best = c
			}
		}
		pred[i] = float64(best)
	})
	return pred
}

// votes adds each neighbour's weight to its class.
func (m *KNeighborsClassifier) votes(nb []neighbour, w []float64, out []float64) {
	for j, b := range nb {
		out[m.Y[b.index]] += w[j]
	}
}

func (m *KNeighborsClassifier) forEachQuery(X *mat.Dense, f func(i int, nb []neighbour, w []float64)) {
	forEachQuery(m.Settings, &m.TrainingSet, X, f)
}

// Fit stores the training data and targets.
func (m *KNeighborsRegressor) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.Settings.fit(&m.TrainingSet, X, y); err != nil {
		return err
	}
	m.Y = append([]float64(nil), y...)
	return nil
}

// Predict returns the (weighted) mean target of the neighbours of each row.
func (m *KNeighborsRegressor) Predict(X *mat.Dense) []float64 {
	n, _ := X.Dims()
	pred := make([]float64, n)
	forEachQuery(m.Settings, &m.TrainingSet, X, func(i int, nb []neighbour, w []float64) {
		if m.Weights == "uniform" {
			sum := 0.0
			for _, b := range nb {
				sum += m.Y[b.index]
			}
			pred[i] = sum / float64(len(nb))
			return
		}
		num, den := 0.0, 0.0
		for j, b := range nb {
			num += m.Y[b.index] * w[j]
			den += w[j]
		}
		pred[i] = num / den
	})
	return pred
}

// neighbour is a training row and its distance to the query.
type neighbour struct {
	dist  float64 // distance (for p = 2 the squared distance until final)
	index int
}

// queryBlock is the number of query rows one goroutine handles at a time.
const queryBlock = 64

// forEachQuery finds the neighbours of every row of X and calls f with the
// row index, the neighbours (nearest first, ties by training index) and
// their weights. Rows are processed in parallel; f must only write to
// row-specific output.
func forEachQuery(s Settings, t *TrainingSet, X *mat.Dense, f func(i int, nb []neighbour, w []float64)) {
	n, p := X.Dims()
	if n == 0 {
		return
	}
	if p != t.NFeatures {
		panic(fmt.Sprintf("knn: predict on %d features, fitted on %d", p, t.NFeatures))
	}
	blocks := (n + queryBlock - 1) / queryBlock
	workers := min(runtime.GOMAXPROCS(0), blocks)
	parallel.Do(workers, func(first int) {
		nb := make([]neighbour, 0, s.NNeighbors)
		w := make([]float64, s.NNeighbors)
		for b := first; b < blocks; b += workers {
			for i := b * queryBlock; i < min(n, (b+1)*queryBlock); i++ {
				nb = nearest(s, t, X.RawRowView(i)[:p], nb[:0])
				weigh(s.Weights, nb, w)
				f(i, nb, w)
			}
		}
	})
}

// nearest returns the k nearest training rows to x, nearest first, ties by
// lower training index.
func nearest(s Settings, t *TrainingSet, x []float64, nb []neighbour) []neighbour {
	k, p := s.NNeighbors, t.NFeatures
	for r := 0; r < t.rows(); r++ {
		d := distance(s.P, x, t.FitX[r*p:(r+1)*p])
		if len(nb) == k && d >= nb[k-1].dist {
			continue // not nearer than the current k-th (ties keep the lower index)
		}
		// Insert after every neighbour with distance <= d.
		pos := len(nb)
		if len(nb) < k {
			nb = append(nb, neighbour{})
		} else {
			pos = k - 1
		}
		for pos > 0 && nb[pos-1].dist > d {
			nb[pos] = nb[pos-1]
			pos--
		}
		nb[pos] = neighbour{dist: d, index: r}
	}
	if s.P == 2 {
		for i := range nb {
			nb[i].dist = math.Sqrt(nb[i].dist)
		}
	}
	return nb
}

// distance is the Minkowski distance, or the squared Euclidean distance for
// p = 2 (the square root is taken only for the k neighbours).
func distance(p float64, a, b []float64) float64 {
	s := 0.0
	switch p {
	case 2:
		for i, v := range a {
			d := v - b[i]
			s += d * d
		}
		return s
	case 1:
		for i, v := range a {
			s += math.Abs(v - b[i])
		}
		return s
	}
	for i, v := range a {
		s += math.Pow(math.Abs(v-b[i]), p)
	}
	return math.Pow(s, 1/p)
}

// weigh writes the neighbour weights into w: 1 for uniform; 1/distance for
// distance, except that when some neighbours are at distance 0 they get
// weight 1 and the others 0 (scikit-learn's _get_weights).
func weigh(kind string, nb []neighbour, w []float64) {
	w = w[:len(nb)]
	if kind == "uniform" {
		for i := range w {
			w[i] = 1
		}
		return
	}
	exact := false
	for _, b := range nb {
		exact = exact || b.dist == 0
	}
	for i, b := range nb {
		switch {
		case exact && b.dist == 0:
			w[i] = 1
		case exact:
			w[i] = 0
		default:
			w[i] = 1 / b.dist
		}
	}
}
