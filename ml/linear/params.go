package linear

import (
	"fmt"
	"math"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

// paramReader reads hyperparameters of one estimator kind and turns every
// problem into a user-facing errs.Invalid error naming the estimator, the
// parameter and the value. The first error sticks; later reads are no-ops.
type paramReader struct {
	estimator string
	p         ml.Params
	err       error
}

// newParamReader fills in spec's defaults and rejects unknown names.
func newParamReader(spec ml.Spec, p ml.Params) *paramReader {
	full, err := spec.WithDefaults(p)
	r := &paramReader{estimator: spec.Name, p: full}
	if err != nil {
		r.err = errs.Errorf(errs.Invalid, "%w", err)
	}
	return r
}

func (r *paramReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = errs.Errorf(errs.Invalid, "%s: "+format, append([]any{r.estimator}, args...)...)
	}
}

func (r *paramReader) wrap(err error) {
	if r.err == nil && err != nil {
		r.err = errs.Errorf(errs.Invalid, "%s: %w", r.estimator, err)
	}
}

// float reads a number and checks it against check, which returns "" when
// the value is fine or a phrase such as "must be > 0".
func (r *paramReader) float(name string, check func(float64) string) float64 {
	if r.err != nil {
		return 0
	}
	v, err := r.p.Float(name)
	if err != nil {
		r.wrap(err)
		return 0
	}
	if math.IsNaN(v) {
		r.fail("hyperparameter %s must be a number, not NaN", name)
		return 0
	}
	if check != nil {
		if msg := check(v); msg != "" {
			r.fail("hyperparameter %s %s, not %v", name, msg, v)
		}
	}
	return v
}

func (r *paramReader) int(name string, min int) int {
	if r.err != nil {
		return 0
	}
	v, err := r.p.Int(name)
	if err != nil {
		r.wrap(err)
		return 0
	}
	if v < min {
		r.fail("hyperparameter %s must be >= %d, not %d", name, min, v)
	}
	return v
}

func (r *paramReader) bool(name string) bool {
	if r.err != nil {
		return false
	}
	v, err := r.p.Bool(name)
	r.wrap(err)
	return v
}

// choice reads a string that must be one of allowed. A nil value reads as
// nullAs when nullAs is not "".
func (r *paramReader) choice(name, nullAs string, allowed ...string) string {
	if r.err != nil {
		return ""
	}
	if r.p.IsNull(name) && nullAs != "" {
		return nullAs
	}
	v, err := r.p.String(name)
	if err != nil {
		r.wrap(err)
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail("hyperparameter %s must be one of %q, not %q", name, allowed, v)
	return ""
}

// optionalInt reads an int that may be nil.
func (r *paramReader) optionalInt(name string) *int {
	if r.err != nil || r.p.IsNull(name) {
		return nil
	}
	v, err := r.p.Int(name)
	if err != nil {
		r.wrap(err)
		return nil
	}
	return &v
}

func positive(v float64) string {
	if v <= 0 || math.IsInf(v, 0) {
		return "must be a finite number > 0"
	}
	return ""
}

func nonNegative(v float64) string {
	if v < 0 || math.IsInf(v, 0) {
		return "must be a finite number >= 0"
	}
	return ""
}

// checkXY validates a training set: X has rows, its values are finite and
// y has one value per row.
func checkXY(estimator string, X *mat.Dense, y []float64) error {
	if X == nil {
		return errs.Errorf(errs.Invalid, "%s: the training data has no rows", estimator)
	}
	n, p := X.Dims()
	if n == 0 || p == 0 {
		return errs.Errorf(errs.Invalid, "%s: the training data is empty (%d rows, %d columns)", estimator, n, p)
	}
	if len(y) != n {
		return errs.Errorf(errs.Invalid, "%s: the training data has %d rows but %d target values", estimator, n, len(y))
	}
	if err := checkFinite(estimator, X); err != nil {
		return err
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errs.Errorf(errs.Invalid, "%s: target value in row %d is %v; targets must be finite", estimator, i, v)
		}
	}
	return nil
}

func checkFinite(estimator string, X *mat.Dense) error {
	n, p := X.Dims()
	for i := 0; i < n; i++ {
		for j, v := range X.RawRowView(i)[:p] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errs.Errorf(errs.Invalid, "%s: feature %d in row %d is %v; features must be finite", estimator, j, i, v)
			}
		}
	}
	return nil
}

// classLabels checks that y holds class indices 0..k-1, each seen at least
// once, and returns them as ints with k.
func classLabels(estimator string, y []float64) ([]int, int, error) {
	labels := make([]int, len(y))
	k := 0
	for i, v := range y {
		if v < 0 || v != math.Trunc(v) || v > 1<<30 {
			return nil, 0, errs.Errorf(errs.Invalid, "%s: target value %v in row %d is not a class index (0, 1, 2, ...)", estimator, v, i)
		}
		labels[i] = int(v)
		k = max(k, labels[i]+1)
	}
	counts := make([]int, k)
	for _, c := range labels {
		counts[c]++
	}
	for c, n := range counts {
		if n == 0 {
			return nil, 0, errs.Errorf(errs.Invalid, "%s: class %d has no training samples; every class 0..%d needs at least one", estimator, c, k-1)
		}
	}
	if k < 2 {
		return nil, 0, errs.Errorf(errs.Invalid, "%s: the training data has only one class; at least 2 are needed", estimator)
	}
	return labels, k, nil
}

// checkPredictX panics with a clear message when X does not have the
// number of features the model was fitted on: Predict has no error return,
// so callers must check shapes first (see the Features methods).
func checkPredictX(estimator string, X *mat.Dense, p int) {
	if r, c := X.Dims(); r > 0 && c != p {
		panic(fmt.Sprintf("%s: predict on %d features, fitted on %d", estimator, c, p))
	}
}
