package tree

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/internal/parallel"
	"gonum.org/v1/gonum/mat"
)

// forestParams declares RandomForest's hyperparameters. When max_features
// is not given it is 'sqrt' for classification and 1.0 (all features) for
// regression, as in scikit-learn 1.2.1.
var forestParams = append([]ml.Param{
	{Name: "n_estimators", Type: "int", Default: 100, Doc: "number of trees (>= 1)"},
	{Name: "bootstrap", Type: "bool", Default: true, Doc: "grow each tree on a bootstrap sample (false: on all samples)"},
	{Name: "n_jobs", Type: "int|null", Default: nil, Doc: "trees grown in parallel: null or -1 = all CPUs, -2 = all but one, or a count"},
}, commonParams("sqrt", "features drawn per split: 'sqrt' (classification default), 'log2', a count, a fraction (regression default 1.0) or null = all")...)

// RandomForest is a fitted or unfitted random forest. Hyperparameters and
// fitted state are exported so that encoding/json round-trips it.
type RandomForest struct {
	TreeParams
	NEstimators int  `json:"n_estimators"`
	Bootstrap   bool `json:"bootstrap"`
	NJobs       *int `json:"n_jobs"`

	NFeatures int    `json:"n_features"`
	NClass    int    `json:"n_classes"` // classification: k, class indices are 0..k-1
	Trees     []Tree `json:"trees"`
}

func newRandomForest(task ml.Task, p ml.Params) (ml.Estimator, error) {
	if task != ml.Classification && task != ml.Regression {
		return nil, invalid("random_forest supports classification and regression, not %q", task)
	}
	_, givenMaxFeatures := p["max_features"]
	p, err := ml.Spec{Name: "random_forest", Params: forestParams}.WithDefaults(p)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if !givenMaxFeatures && task == ml.Regression {
		p["max_features"] = 1.0
	}
	tp, err := parseTreeParams(task, p)
	if err != nil {
		return nil, err
	}
	m := &RandomForest{TreeParams: tp}
	if m.NEstimators, err = p.Int("n_estimators"); err != nil || m.NEstimators < 1 {
		return nil, invalid("hyperparameter n_estimators must be a whole number >= 1, not %v", p["n_estimators"])
	}
	if m.Bootstrap, err = p.Bool("bootstrap"); err != nil {
		return nil, invalid("%v", err)
	}
	if !p.IsNull("n_jobs") {
		j, err := p.Int("n_jobs")
		if err != nil || j == 0 {
			return nil, invalid("hyperparameter n_jobs must be null, -1 (all CPUs) or a non-zero whole number, not %v", p["n_jobs"])
		}
		m.NJobs = &j
	}
	return m, nil
}

// Fit grows the forest on X (n×p) and y. Trees are grown by a pool of
// n_jobs goroutines; tree i always gets the same seed and lands at index i,
// so the result does not depend on the number of workers. Progress reports
// "trees_built" with the count of finished trees.
func (m *RandomForest) Fit(ctx context.Context, X *mat.Dense, y []float64, progress ml.Progress) error {
	d, classWeights, err := m.prepare(X, y)
	if err != nil {
		return err
	}
	cfg, err := m.growConfig(d.n, d.p)
	if err != nil {
		return err
	}
	seeds := forestSeeds(m.seed(), m.NEstimators)
	trees := make([]Tree, m.NEstimators)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	done := make(chan error)
	var wg sync.WaitGroup
	for range min(workers(m.NJobs), m.NEstimators) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b *builder
			var w []float64
			for i := range jobs {
				// A panic growing a tree comes back as an error here and
				// is raised again in Fit's goroutine (parallel.Repanic).
				err := parallel.Catch(func() error {
					if b == nil {
						b = newBuilder(d, cfg)
						if m.Bootstrap || classWeights != nil {
							w = make([]float64, d.n)
						}
					}
					tw := treeWeights(w, m.Bootstrap, seeds[i], classWeights)
					t, err := b.grow(ctx, tw, splitterSeed(seeds[i]))
					if err == nil {
						trees[i] = t
					}
					return err
				})
				select {
				case done <- err:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range trees {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	var firstErr error
	for built := 1; built <= len(trees); built++ {
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			firstErr = err
			break
		}
		if progress != nil {
			progress("trees_built", built, float64(built))
		}
	}
	cancel()
	wg.Wait()
	parallel.Repanic(firstErr)
	if firstErr != nil {
		return fmt.Errorf("random_forest fit: %w", firstErr)
	}
	m.NFeatures, m.Trees = d.p, trees
	m.NClass = 0
	if cfg.classification {
		m.NClass = d.k
	}
	return nil
}

// treeWeights returns the sample weights of one tree: bootstrap counts
// times class weights (nil when every weight is 1), written into w.
func treeWeights(w []float64, bootstrap bool, seed uint32, classWeights []float64) []float64 {
	if !bootstrap && classWeights == nil {
		return nil
	}
	if bootstrap {
		bootstrapCounts(seed, w)
	} else {
		for i := range w {
			w[i] = 1
		}
	}
	for i, cw := range classWeights {
		w[i] *= cw
	}
	return w
}

// NumClasses returns k, the number of classes seen in Fit (the largest
// class index plus one); 0 for regression.
func (m *RandomForest) NumClasses() int { return m.NClass }

func (m *RandomForest) usable(X *mat.Dense) bool {
	if X == nil || len(m.Trees) == 0 {
		return false
	}
	for i := range m.Trees {
		if !m.Trees[i].valid(m.NFeatures) {
			return false
		}
	}
	_, c := X.Dims()
	return c == m.NFeatures
}

// average returns, per row, the mean of the trees' leaf values.
func (m *RandomForest) average(X *mat.Dense) *mat.Dense {
	n, _ := X.Dims()
	width := m.Trees[0].Width
	out := mat.NewDense(n, width, nil)
	for t := range m.Trees {
		tree := &m.Trees[t]
		for i := 0; i < n; i++ {
			row := out.RawRowView(i)
			for j, v := range tree.leafValues(X.RawRowView(i)) {
				row[j] += v
			}
		}
	}
	raw, count := out.RawMatrix().Data, float64(len(m.Trees))
	for i := range raw {
		raw[i] /= count // divide, as scikit-learn does, rather than scale by 1/count
	}
	return out
}

// Predict returns the class index with the highest mean probability (first
// on ties), or the mean of the trees' predictions; nil if the forest is not
// fitted or X has the wrong number of columns.
func (m *RandomForest) Predict(X *mat.Dense) []float64 {
	if !m.usable(X) {
		return nil
	}
	avg := m.average(X)
	n, _ := avg.Dims()
	out := make([]float64, n)
	for i := range out {
		row := avg.RawRowView(i)
		if m.Task == ml.Classification {
			out[i] = float64(argmax(row))
		} else {
			out[i] = row[0]
		}
	}
	return out
}

// PredictProba returns the n×k mean of the trees' class probabilities
// (soft voting); nil for regression, an unfitted forest or a wrong column
// count.
func (m *RandomForest) PredictProba(X *mat.Dense) *mat.Dense {
	if !m.usable(X) || m.Task != ml.Classification {
		return nil
	}
	return m.average(X)
}
