package tree

import (
	"fmt"
	"math"
	"runtime"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

func invalid(format string, args ...any) error {
	return errs.Errorf(errs.Invalid, format, args...)
}

// Amount is a scikit-learn hyperparameter that is a count, a fraction or a
// named rule (max_features, min_samples_split, min_samples_leaf).
type Amount struct {
	Kind  string  `json:"kind"` // "all", "sqrt", "log2", "count" or "fraction"
	Value float64 `json:"value,omitempty"`
}

// TreeParams are the hyperparameters a decision tree and a random forest
// share, with scikit-learn's names in the json tags.
type TreeParams struct {
	Task            ml.Task `json:"task"`
	Criterion       string  `json:"criterion"`
	MaxDepth        *int    `json:"max_depth"` // nil: grow until leaves are pure
	MinSamplesSplit Amount  `json:"min_samples_split"`
	MinSamplesLeaf  Amount  `json:"min_samples_leaf"`
	MaxFeatures     Amount  `json:"max_features"`
	ClassWeight     string  `json:"class_weight,omitempty"` // "" or "balanced"
	RandomState     *int64  `json:"random_state"`           // nil behaves as 0
}

// commonParams declares the shared hyperparameters; criterion and
// max_features defaults depend on the estimator and task.
func commonParams(maxFeaturesDefault any, maxFeaturesDoc string) []ml.Param {
	return []ml.Param{
		{Name: "criterion", Type: "string|null", Default: nil, Doc: "'gini', 'entropy' or 'log_loss' for classification (default 'gini'); 'squared_error' for regression"},
		{Name: "max_depth", Type: "int|null", Default: nil, Doc: "maximum depth; null grows until leaves are pure"},
		{Name: "min_samples_split", Type: "int|float", Default: 2, Doc: "minimum samples to split a node: a count >= 2 or a fraction in (0, 1]"},
		{Name: "min_samples_leaf", Type: "int|float", Default: 1, Doc: "minimum samples in a leaf: a count >= 1 or a fraction in (0, 1)"},
		{Name: "max_features", Type: "int|float|'sqrt'|'log2'|null", Default: maxFeaturesDefault, Doc: maxFeaturesDoc},
		{Name: "class_weight", Type: "null|'balanced'", Default: nil, Doc: "'balanced' weights samples by n_samples/(n_classes*count of their class) (classification)"},
		{Name: "random_state", Type: "int|null", Default: nil, Doc: "seed of the feature draws (and bootstrap); null behaves as 0"},
	}
}

// parseTreeParams validates the shared hyperparameters of p, which has its
// defaults filled in.
func parseTreeParams(task ml.Task, p ml.Params) (TreeParams, error) {
	tp := TreeParams{Task: task}
	switch {
	case p.IsNull("criterion") && task == ml.Classification:
		tp.Criterion = "gini"
	case p.IsNull("criterion"):
		tp.Criterion = "squared_error"
	default:
		c, err := p.String("criterion")
		if err != nil {
			return tp, invalid("%v", err)
		}
		tp.Criterion = c
	}
	if task == ml.Classification {
		if tp.Criterion != "gini" && tp.Criterion != "entropy" && tp.Criterion != "log_loss" {
			return tp, invalid("hyperparameter criterion must be 'gini', 'entropy' or 'log_loss' for classification, not %q", tp.Criterion)
		}
	} else if tp.Criterion != "squared_error" {
		return tp, invalid("hyperparameter criterion must be 'squared_error' for regression, not %q", tp.Criterion)
	}
	if !p.IsNull("max_depth") {
		d, err := p.Int("max_depth")
		if err != nil || d < 1 {
			return tp, invalid("hyperparameter max_depth must be null or a whole number >= 1, not %v", p["max_depth"])
		}
		tp.MaxDepth = &d
	}
	var err error
	if tp.MinSamplesSplit, err = parseAmount(p, "min_samples_split", 2, false); err != nil {
		return tp, err
	}
	if tp.MinSamplesLeaf, err = parseAmount(p, "min_samples_leaf", 1, false); err != nil {
		return tp, err
	}
	if tp.MaxFeatures, err = parseAmount(p, "max_features", 1, true); err != nil {
		return tp, err
	}
	switch cw := p["class_weight"].(type) {
	case nil:
	case string:
		if cw != "balanced" {
			return tp, invalid("hyperparameter class_weight must be null or 'balanced', not %q", cw)
		}
		if task != ml.Classification {
			return tp, invalid("hyperparameter class_weight applies only to classification")
		}
		tp.ClassWeight = cw
	default:
		return tp, invalid("hyperparameter class_weight must be null or 'balanced', not %v", cw)
	}
	if tp.RandomState, err = p.RandomState("random_state"); err != nil {
		return tp, invalid("%v", err)
	}
	return tp, nil
}

// parseAmount reads an int-or-fraction hyperparameter. A float64 that is a
// whole number above 1 counts as an int (YAML and JSON blur the two);
// 1.0 is the fraction "all" for max_features and min_samples_split.
// minCount is the smallest allowed count; named enables null, "sqrt" and
// "log2" (max_features).
func parseAmount(p ml.Params, name string, minCount int, named bool) (Amount, error) {
	v := p[name]
	bad := func() (Amount, error) {
		what := fmt.Sprintf("a whole number >= %d or a fraction in (0, 1]", minCount)
		switch {
		case named:
			what = "null, 'sqrt', 'log2', a whole number >= 1 or a fraction in (0, 1]"
		case name == "min_samples_leaf":
			what = "a whole number >= 1 or a fraction in (0, 1)"
		}
		return Amount{}, invalid("hyperparameter %s must be %s, not %v", name, what, v)
	}
	switch x := v.(type) {
	case nil:
		if named {
			return Amount{Kind: "all"}, nil
		}
	case string:
		if named && (x == "sqrt" || x == "log2") {
			return Amount{Kind: x}, nil
		}
	case int, int64:
		n, _ := p.Int(name)
		if n >= minCount {
			return Amount{Kind: "count", Value: float64(n)}, nil
		}
	case float64:
		isWhole := x == math.Trunc(x)
		switch {
		case isWhole && x > 1 && x >= float64(minCount) && x < 1<<31:
			return Amount{Kind: "count", Value: x}, nil
		case name == "min_samples_leaf" && x == 1:
			return Amount{Kind: "count", Value: 1}, nil
		case x > 0 && x < 1, x == 1 && name != "min_samples_leaf":
			return Amount{Kind: "fraction", Value: x}, nil
		}
	}
	return bad()
}

// resolve turns an Amount into a count given the total (samples or
// features), as scikit-learn does at fit time.
func (a Amount) resolve(total int) int {
	switch a.Kind {
	case "all":
		return total
	case "sqrt":
		return max(1, int(math.Sqrt(float64(total))))
	case "log2":
		return max(1, int(math.Log2(float64(total))))
	case "count":
		return int(a.Value)
	default: // fraction
		return int(a.Value * float64(total))
	}
}

// growConfig resolves the hyperparameters for n samples and p features.
func (tp TreeParams) growConfig(n, p int) (growConfig, error) {
	cfg := growConfig{
		classification: tp.Task == ml.Classification,
		entropy:        tp.Criterion == "entropy" || tp.Criterion == "log_loss",
		maxDepth:       math.MaxInt32,
	}
	if tp.MaxDepth != nil {
		cfg.maxDepth = *tp.MaxDepth
	}
	cfg.minSamplesLeaf = tp.MinSamplesLeaf.resolve(n)
	if tp.MinSamplesLeaf.Kind == "fraction" {
		cfg.minSamplesLeaf = int(math.Ceil(tp.MinSamplesLeaf.Value * float64(n)))
	}
	cfg.minSamplesSplit = tp.MinSamplesSplit.resolve(n)
	if tp.MinSamplesSplit.Kind == "fraction" {
		cfg.minSamplesSplit = max(2, int(math.Ceil(tp.MinSamplesSplit.Value*float64(n))))
	}
	cfg.minSamplesSplit = max(cfg.minSamplesSplit, 2*cfg.minSamplesLeaf)
	cfg.maxFeatures = tp.MaxFeatures.resolve(p)
	if tp.MaxFeatures.Kind == "fraction" {
		cfg.maxFeatures = max(1, cfg.maxFeatures)
	}
	if cfg.maxFeatures < 1 || cfg.maxFeatures > p {
		return cfg, invalid("hyperparameter max_features is %d but the data has %d features", cfg.maxFeatures, p)
	}
	return cfg, nil
}

func (tp TreeParams) seed() uint32 {
	if tp.RandomState == nil {
		return 0
	}
	return uint32(*tp.RandomState)
}

// prepare validates X and y and converts them to the builder's layout.
// For classification it also returns balanced class weights when asked.
func (tp TreeParams) prepare(X *mat.Dense, y []float64) (*dataset, []float64, error) {
	if X == nil {
		return nil, nil, invalid("the training data has no rows")
	}
	n, p := X.Dims()
	if n == 0 || p == 0 {
		return nil, nil, invalid("the training data is empty (%d rows, %d columns)", n, p)
	}
	if len(y) != n {
		return nil, nil, invalid("the training data has %d rows but %d target values", n, len(y))
	}
	d := &dataset{n: n, p: p, cols: make([][]float32, p), k: 1}
	for f := range d.cols {
		d.cols[f] = make([]float32, n)
	}
	for i := 0; i < n; i++ {
		for f, v := range X.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, invalid("the training data has a missing or infinite value at row %d, column %d", i+1, f+1)
			}
			d.cols[f][i] = float32(v)
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return nil, nil, invalid("the target at row %d is missing or infinite", i+1)
		}
	}
	if tp.Task != ml.Classification {
		d.y = y
		return d, nil, nil
	}
	d.class = make([]int32, n)
	for i, v := range y {
		if v < 0 || v != math.Trunc(v) || v > 1<<20 {
			return nil, nil, invalid("the target at row %d is %v, not a class index (a whole number >= 0)", i+1, v)
		}
		d.class[i] = int32(v)
		d.k = max(d.k, int(v)+1)
	}
	if tp.ClassWeight != "balanced" {
		return d, nil, nil
	}
	counts := make([]float64, d.k)
	for _, c := range d.class {
		counts[c]++
	}
	present := 0
	for _, c := range counts {
		if c > 0 {
			present++
		}
	}
	w := make([]float64, n)
	for i, c := range d.class {
		w[i] = float64(n) / (float64(present) * counts[c])
	}
	return d, w, nil
}

// workers returns how many goroutines n_jobs asks for (joblib's rule:
// nil or -1 = all CPUs, -2 = all but one, ...).
func workers(nJobs *int) int {
	cpus := runtime.GOMAXPROCS(0)
	if nJobs == nil {
		return cpus
	}
	if *nJobs < 0 {
		return max(1, cpus+1+*nJobs)
	}
	return *nJobs
}

// argmax returns the index of the first largest value.
func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
