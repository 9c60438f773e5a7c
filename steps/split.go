package steps

import (
	"context"
	"fmt"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/split"
)

// Split is the step kind that divides a data set into training and test
// sets, with the same row indices as scikit-learn's train_test_split for
// the same random_state.
type Split struct{}

// Name implements Kind.
func (Split) Name() string { return "split" }

// Doc implements Kind.
func (Split) Doc() string {
	return "split a data set into train and test rows exactly as scikit-learn's train_test_split"
}

// Inputs implements Kind.
func (Split) Inputs() []Input {
	return []Input{
		{Name: "dataset", Type: Dataset, Required: true, Doc: "the data set to split"},
		{Name: "test_size", Type: Float, Default: 0.25, Doc: "test fraction in (0, 1), or a row count"},
		{Name: "train_size", Type: Float, Doc: "train fraction or row count (default: the rest)"},
		{Name: "random_state", Type: Int, Doc: "seed of the shuffle (default: the run's seed)"},
		{Name: "shuffle", Type: Bool, Default: true, Doc: "shuffle before splitting"},
		{Name: "stratify", Type: Bool, Default: false, Doc: "keep each class's share in both sets"},
	}
}

// Outputs implements Kind.
func (Split) Outputs() []Output {
	return []Output{
		{Name: "train", Type: Dataset, Doc: "training rows"},
		{Name: "test", Type: Dataset, Doc: "test rows"},
	}
}

// Check implements Kind.
func (Split) Check(in Values) error {
	for _, name := range []string{"test_size", "train_size"} {
		if v, ok := in[name].(float64); ok && v <= 0 {
			return fmt.Errorf("input %q must be a fraction in (0, 1) or a positive row count, not %v", name, v)
		}
	}
	if rs, ok := in["random_state"].(int); ok && (rs < 0 || rs > 1<<32-1) {
		return fmt.Errorf("input \"random_state\" must be in [0, 2**32), not %d", rs)
	}
	return nil
}

// Run implements Kind.
func (s Split) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	if err := s.Check(in); err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	ds, ok := in["dataset"].(*dataset.Dataset)
	if !ok {
		return nil, errs.Errorf(errs.Invalid, "step %s: input \"dataset\" must be a data set (an output of load or split), not %T", env.Step, in["dataset"])
	}
	o := split.Options{Shuffle: true, Seed: uint32(env.Seed)}
	o.TestSize, _ = in["test_size"].(float64)
	o.TrainSize, _ = in["train_size"].(float64)
	if sh, ok := in["shuffle"].(bool); ok {
		o.Shuffle = sh
	}
	if rs, ok := in["random_state"].(int); ok {
		v := int64(rs)
		o.RandomState = &v
	}
	if st, _ := in["stratify"].(bool); st {
		if ds.Target.Task != ml.Classification {
			return nil, errs.Errorf(errs.Invalid, "step %s: stratify needs a classification target, and %s is a regression target", env.Step, ds.Target.Name)
		}
		o.Stratify = ds.Target.Y
	}
	train, test, err := split.Split(ds.Rows, o)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %s", env.Step, errs.Message(err))
	}
	return &Result{Outputs: map[string]any{"train": ds.Subset(train), "test": ds.Subset(test)}}, nil
}

// CacheFiles implements Cacheable.
func (Split) CacheFiles(string, Values) []string { return nil }
