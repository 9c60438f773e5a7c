// Package tree implements scikit-learn's CART decision trees and random
// forests in Go (DecisionTreeClassifier/Regressor, RandomForestClassifier/
// Regressor). The tree builder reproduces scikit-learn 1.2.1's: the same
// random streams for a given random_state (numpy's MT19937 for seeds and
// bootstraps, the splitter's xorshift for feature draws), the same sort and
// split search, and float32 feature values. Forests grow trees in parallel
// and store them in index order, so results do not depend on n_jobs.
package tree

import (
	"context"
	"fmt"

	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

// Specs lists the estimator kinds of this package.
func Specs() []ml.Spec {
	return []ml.Spec{
		{
			Name:   "decision_tree",
			Tasks:  []ml.Task{ml.Classification, ml.Regression},
			Doc:    "CART decision tree (scikit-learn's DecisionTreeClassifier / DecisionTreeRegressor).",
			Params: treeParams,
			New:    newDecisionTree,
		},
		{
			Name:   "random_forest",
			Tasks:  []ml.Task{ml.Classification, ml.Regression},
			Doc:    "random forest of CART trees on bootstrap samples, grown in parallel (scikit-learn's RandomForestClassifier / RandomForestRegressor).",
			Params: forestParams,
			New:    newRandomForest,
		},
	}
}

// treeParams declares DecisionTree's hyperparameters.
var treeParams = commonParams(nil, "features drawn per split: null = all, a count, a fraction, 'sqrt' or 'log2'")

// DecisionTree is a fitted or unfitted decision tree. Hyperparameters and
// fitted state are exported so that encoding/json round-trips it.
type DecisionTree struct {
	TreeParams
	NFeatures int  `json:"n_features"`
	NClass    int  `json:"n_classes"` // classification: k, class indices are 0..k-1
	Tree      Tree `json:"tree"`
}

func newDecisionTree(task ml.Task, p ml.Params) (ml.Estimator, error) {
	if task != ml.Classification && task != ml.Regression {
		return nil, invalid("decision_tree supports classification and regression, not %q", task)
	}
	p, err := ml.Spec{Name: "decision_tree", Params: treeParams}.WithDefaults(p)
	if err != nil {
		return nil, invalid("%v", err)
	}
	tp, err := parseTreeParams(task, p)
	if err != nil {
		return nil, err
	}
	return &DecisionTree{TreeParams: tp}, nil
}

// Fit grows the tree on X (n×p) and y (class indices or targets).
func (m *DecisionTree) Fit(ctx context.Context, X *mat.Dense, y []float64, progress ml.Progress) error {
	d, w, err := m.prepare(X, y)
	if err != nil {
		return err
	}
	cfg, err := m.growConfig(d.n, d.p)
	if err != nil {
		return err
	}
	t, err := newBuilder(d, cfg).grow(ctx, w, splitterSeed(m.seed()))
	if err != nil {
		return fmt.Errorf("decision_tree fit: %w", err)
	}
	m.NFeatures, m.Tree = d.p, t
	m.NClass = 0
	if cfg.classification {
		m.NClass = d.k
	}
	if progress != nil {
		progress("tree_nodes", 0, float64(t.NodeCount()))
	}
	return nil
}

// NumClasses returns k, the number of classes seen in Fit (the largest
// class index plus one); 0 for regression.
func (m *DecisionTree) NumClasses() int { return m.NClass }

func (m *DecisionTree) usable(X *mat.Dense) bool {
	if X == nil || !m.Tree.valid(m.NFeatures) {
		return false
	}
	_, c := X.Dims()
	return c == m.NFeatures
}

// Predict returns the class index (the most probable, first on ties) or
// the predicted value of each row; nil if the tree is not fitted or X has
// the wrong number of columns.
func (m *DecisionTree) Predict(X *mat.Dense) []float64 {
	if !m.usable(X) {
		return nil
	}
	n, _ := X.Dims()
	out := make([]float64, n)
	for i := range out {
		v := m.Tree.leafValues(X.RawRowView(i))
		if m.Task == ml.Classification {
			out[i] = float64(argmax(v))
		} else {
			out[i] = v[0]
		}
	}
	return out
}

// PredictProba returns the n×k class probabilities of the leaves the rows
// fall into; nil for regression, an unfitted tree or a wrong column count.
func (m *DecisionTree) PredictProba(X *mat.Dense) *mat.Dense {
	if !m.usable(X) || m.Task != ml.Classification {
		return nil
	}
	n, _ := X.Dims()
	out := mat.NewDense(n, m.NClass, nil)
	for i := 0; i < n; i++ {
		copy(out.RawRowView(i), m.Tree.leafValues(X.RawRowView(i)))
	}
	return out
}
