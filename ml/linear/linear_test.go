package linear

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/internal/mltest"
	"gonum.org/v1/gonum/mat"
)

type regressionCase struct {
	Name      string    `json:"name"`
	Data      string    `json:"data"`
	Estimator string    `json:"estimator"`
	Train     []int     `json:"train"`
	Test      []int     `json:"test"`
	Params    ml.Params `json:"params"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
	Pred      []float64 `json:"pred"`
}

func TestRegressorsMatchSklearn(t *testing.T) {
	var fx struct {
		Cases []regressionCase `json:"cases"`
	}
	mltest.ReadJSON(t, "sklearn/regression.json", &fx)
	if len(fx.Cases) < 20 {
		t.Fatalf("fixture has %d cases", len(fx.Cases))
	}
	worst := 0.0
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			Xtr, ytr, Xte, _ := mltest.LoadSplit(t, c.Data+".csv", c.Train, c.Test)
			est := newEstimator(t, c.Estimator, ml.Regression, c.Params)
			if err := est.Fit(context.Background(), Xtr, ytr, nil); err != nil {
				t.Fatal(err)
			}
			pred := est.Predict(Xte)
			scale := 0.0
			for _, v := range c.Pred {
				scale = math.Max(scale, math.Abs(v))
			}
			maxRel := 0.0
			for i, want := range c.Pred {
				maxRel = math.Max(maxRel, math.Abs(pred[i]-want)/scale)
			}
			worst = math.Max(worst, maxRel)
			if maxRel > 1e-6 {
				t.Errorf("predictions differ from scikit-learn by %.3g relative to max |y| (> 1e-6)", maxRel)
			}
			var coef []float64
			var b float64
			switch m := est.(type) {
			case *LinearRegression:
				coef, b = m.Coef, m.Intercept
			case *Ridge:
				coef, b = m.Coef, m.Intercept
			}
			for j, want := range c.Coef {
				if math.Abs(coef[j]-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("coef[%d] = %v, scikit-learn %v", j, coef[j], want)
				}
			}
			if math.Abs(b-c.Intercept) > 1e-6*math.Max(1, math.Abs(c.Intercept)) {
				t.Errorf("intercept = %v, scikit-learn %v", b, c.Intercept)
			}
		})
	}
	t.Logf("largest relative prediction difference: %.3g", worst)
}

// TestLogisticKnownIris checks the scikit-learn 1.2.1 figures for
// LogisticRegression(max_iter=200, random_state=42) on iris split with
// train_test_split(random_state=42), in this environment (scipy 1.10.1):
// 99 iterations there, test accuracy 1.0.
func TestLogisticKnownIris(t *testing.T) {
	var fx struct {
		Cases []logisticCase `json:"cases"`
	}
	mltest.ReadJSON(t, "sklearn/logistic.json", &fx)
	i := slices.IndexFunc(fx.Cases, func(c logisticCase) bool { return c.Name == "iris_C1_it200" })
	c := fx.Cases[i]
	Xtr, ytr, Xte, yte := c.prepare(t)
	est := newEstimator(t, "logistic_regression", ml.Classification, ml.Params{"max_iter": 200, "random_state": 42})
	var losses []float64
	err := est.Fit(context.Background(), Xtr, ytr, func(key string, step int, v float64) {
		if key != "train_loss" || step != len(losses)+1 {
			t.Fatalf("progress(%q, %d): want train_loss step %d", key, step, len(losses)+1)
		}
		losses = append(losses, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	m := est.(*LogisticRegression)
	if n := m.NIter[0]; n < 95 || n > 105 || len(losses) != n {
		t.Errorf("n_iter %d (scikit-learn 99), %d progress reports", n, len(losses))
	}
	if losses[len(losses)-1] >= losses[0] {
		t.Errorf("train_loss did not decrease: %v -> %v", losses[0], losses[len(losses)-1])
	}
	if acc := mltest.Accuracy(m.Predict(Xte), yte); acc != 1 {
		t.Errorf("test accuracy %v, want 1", acc)
	}
	proba := m.PredictProba(mat.NewDense(1, 4, []float64{5.1, 3.5, 1.4, 0.2}))
	want := []float64{9.74718798e-01, 2.52811262e-02, 7.57338858e-08}
	for k, w := range want {
		if math.Abs(proba.At(0, k)-w) > 1e-5 {
			t.Errorf("predict_proba[%d] = %.9g, scikit-learn %.9g", k, proba.At(0, k), w)
		}
	}
	wantRow0 := []float64{-0.3893886207204877, 0.9202310410118602, -2.33103131900437, -0.9832192645544271}
	for j, w := range wantRow0 {
		if math.Abs(m.Coef[0][j]-w) > 1e-3 {
			t.Errorf("coef[0][%d] = %.6f, scikit-learn %.6f", j, m.Coef[0][j], w)
		}
	}
}

// fitted returns one fitted estimator of every kind with its test data.
func fitted(t *testing.T) []struct {
	name string
	est  ml.Estimator
	X    *mat.Dense
} {
	t.Helper()
	Xi, yi := mltest.LoadCSV(t, "iris.csv")
	Xr, yr := mltest.LoadCSV(t, "regression.csv")
	var out []struct {
		name string
		est  ml.Estimator
		X    *mat.Dense
	}
	add := func(name string, task ml.Task, p ml.Params, X *mat.Dense, y []float64) {
		est := newEstimator(t, name, task, p)
		if err := est.Fit(context.Background(), X, y, nil); err != nil {
			t.Fatalf("fit %s: %v", name, err)
		}
		out = append(out, struct {
			name string
			est  ml.Estimator
			X    *mat.Dense
		}{name, est, X})
	}
	add("logistic_regression", ml.Classification, ml.Params{"max_iter": 300}, Xi, yi)
	add("logistic_regression", ml.Classification, ml.Params{"multi_class": "ovr", "class_weight": "balanced"}, Xi, yi)
	Xb, yb := mltest.Subset(Xi, yi, []int{0, 1, 2, 3, 4, 5, 50, 51, 52, 53, 54, 55, 56})
	for i := range yb {
		yb[i] = min(yb[i], 1)
	}
	add("logistic_regression", ml.Classification, ml.Params{"C": 0.5}, Xb, yb)
	add("linear_regression", ml.Regression, nil, Xr, yr)
	add("ridge", ml.Regression, ml.Params{"alpha": 0.3}, Xr, yr)
	return out
}

func TestJSONRoundTripPredictsIdentically(t *testing.T) {
	for _, f := range fitted(t) {
		b, err := json.Marshal(f.est)
		if err != nil {
			t.Fatal(err)
		}
		// A fresh estimator from Spec.New with other hyperparameters: the
		// JSON must restore everything.
		var task ml.Task = ml.Regression
		if _, ok := f.est.(ml.Classifier); ok {
			task = ml.Classification
		}
		fresh := newEstimator(t, f.name, task, nil)
		if err := json.Unmarshal(b, fresh); err != nil {
			t.Fatalf("%s: unmarshal: %v", f.name, err)
		}
		got, want := fresh.Predict(f.X), f.est.Predict(f.X)
		if !slices.Equal(got, want) {
			t.Errorf("%s: predictions differ after a JSON round trip", f.name)
		}
		if c, ok := f.est.(ml.Classifier); ok {
			pa, pb := c.PredictProba(f.X), fresh.(ml.Classifier).PredictProba(f.X)
			if !mat.Equal(pa, pb) {
				t.Errorf("%s: probabilities differ after a JSON round trip", f.name)
			}
			if c.NumClasses() != fresh.(ml.Classifier).NumClasses() {
				t.Errorf("%s: NumClasses differs after a JSON round trip", f.name)
			}
		}
		b2, _ := json.Marshal(fresh)
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: JSON differs after a round trip:\n%s\n%s", f.name, b, b2)
		}
	}
}

func TestFitIsDeterministic(t *testing.T) {
	a, b := fitted(t), fitted(t)
	for i := range a {
		ja, _ := json.Marshal(a[i].est)
		jb, _ := json.Marshal(b[i].est)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: two fits differ:\n%s\n%s", a[i].name, ja, jb)
		}
	}
}

// TestParallelLossMatchesSequential checks that the chunked, parallel loss
// does not depend on the number of goroutines: compare against a plain
// sequential evaluation on data spanning several chunks.
func TestParallelLossMatchesSequential(t *testing.T) {
	X, y := benchData(3*chunkRows+17, 7, 4)
	labels := make([]int, len(y))
	sw := make([]float64, len(y))
	for i, v := range y {
		labels[i] = int(v)
		sw[i] = 1
	}
	l := newLogLoss(X, labels, sw, 4, true, 0.5)
	w := make([]float64, l.dim())
	for i := range w {
		w[i] = 0.01 * float64(i%5-2)
	}
	g1 := make([]float64, l.dim())
	f1 := l.eval(w, g1)
	// Sequential: chunks one after the other in this goroutine.
	l.unpack(w)
	for c := range l.partial {
		l.chunk(c)
	}
	sum := make([]float64, len(l.partial[0]))
	for _, p := range l.partial {
		for i, v := range p {
			sum[i] += v
		}
	}
	if want := sum[len(sum)-1] + 0.5*0.5*dot(l.W, l.W); f1 != want {
		t.Errorf("loss %v, sequential %v", f1, want)
	}
	// The gradient must also match a numerical derivative, for the
	// multinomial and the binomial loss.
	bin := make([]int, len(labels))
	for i, c := range labels {
		bin[i] = min(c, 1)
	}
	lb := newLogLoss(X, bin, sw, 1, true, 0.5)
	wb := make([]float64, lb.dim())
	for i := range wb {
		wb[i] = 0.02 * float64(i%3-1)
	}
	checkGradient(t, l, w)
	checkGradient(t, lb, wb)
}

func checkGradient(t *testing.T, l *logLoss, w []float64) {
	t.Helper()
	g1 := make([]float64, l.dim())
	l.eval(w, g1)
	for _, j := range []int{0, 5, l.dim() - 1} {
		h := 1e-6
		wp := slices.Clone(w)
		wp[j] += h
		wm := slices.Clone(w)
		wm[j] -= h
		tmp := make([]float64, l.dim())
		num := (l.eval(wp, tmp) - l.eval(wm, tmp)) / (2 * h)
		if math.Abs(num-g1[j]) > 1e-4*math.Max(1, math.Abs(num)) {
			t.Errorf("grad[%d] = %v, numerical %v", j, g1[j], num)
		}
	}
}

func TestBadHyperparameters(t *testing.T) {
	cases := []struct {
		name string
		task ml.Task
		p    ml.Params
		want string // part of the message
	}{
		{"logistic_regression", ml.Classification, ml.Params{"C": 0.0}, "C"},
		{"logistic_regression", ml.Classification, ml.Params{"C": -1}, "-1"},
		{"logistic_regression", ml.Classification, ml.Params{"C": "big"}, "C"},
		{"logistic_regression", ml.Classification, ml.Params{"max_iter": 0}, "max_iter"},
		{"logistic_regression", ml.Classification, ml.Params{"max_iter": 2.5}, "max_iter"},
		{"logistic_regression", ml.Classification, ml.Params{"tol": -1e-3}, "tol"},
		{"logistic_regression", ml.Classification, ml.Params{"penalty": "l1"}, "l1"},
		{"logistic_regression", ml.Classification, ml.Params{"penalty": "l3"}, "penalty"},
		{"logistic_regression", ml.Classification, ml.Params{"class_weight": "even"}, "class_weight"},
		{"logistic_regression", ml.Classification, ml.Params{"multi_class": "crammer"}, "multi_class"},
		{"logistic_regression", ml.Classification, ml.Params{"solver": "saga"}, "saga"},
		{"logistic_regression", ml.Classification, ml.Params{"fit_intercept": "yes"}, "fit_intercept"},
		{"logistic_regression", ml.Classification, ml.Params{"random_state": "x"}, "random_state"},
		{"logistic_regression", ml.Classification, ml.Params{"gamma": 1}, "gamma"},
		{"logistic_regression", ml.Regression, nil, "classification"},
		{"ridge", ml.Regression, ml.Params{"alpha": -0.1}, "alpha"},
		{"ridge", ml.Classification, nil, "regression"},
		{"linear_regression", ml.Regression, ml.Params{"fit_intercept": 1}, "fit_intercept"},
		{"linear_regression", ml.Regression, ml.Params{"alpha": 1}, "alpha"},
	}
	specs := Specs()
	for _, c := range cases {
		i := slices.IndexFunc(specs, func(s ml.Spec) bool { return s.Name == c.name })
		_, err := specs[i].New(c.task, c.p)
		if err == nil {
			t.Errorf("%s %v: no error", c.name, c.p)
			continue
		}
		if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %q (code %s), want code %s mentioning %q", c.name, c.p, err, errs.Code(err), errs.Invalid, c.want)
		}
	}
}

func TestBadTrainingData(t *testing.T) {
	X := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8})
	cases := []struct {
		name string
		y    []float64
		X    *mat.Dense
	}{
		{"one class", []float64{0, 0, 0, 0}, X},
		{"missing class", []float64{0, 2, 0, 2}, X},
		{"not an index", []float64{0, 1.5, 0, 1}, X},
		{"negative", []float64{0, -1, 0, 1}, X},
		{"length", []float64{0, 1, 0}, X},
		{"nan", []float64{0, 1, 0, 1}, mat.NewDense(4, 2, []float64{1, 2, 3, math.NaN(), 5, 6, 7, 8})},
	}
	for _, c := range cases {
		est := newEstimator(t, "logistic_regression", ml.Classification, nil)
		err := est.Fit(context.Background(), c.X, c.y, nil)
		if errs.Code(err) != errs.Invalid {
			t.Errorf("%s: error %v, want an %s error", c.name, err, errs.Invalid)
		}
	}
	est := newEstimator(t, "ridge", ml.Regression, nil)
	if err := est.Fit(context.Background(), X, []float64{1, 2}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("ridge with 2 targets for 4 rows: error %v", err)
	}
}

func TestFitHonoursCancellation(t *testing.T) {
	X, y := benchData(2000, 10, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	est := newEstimator(t, "logistic_regression", ml.Classification, nil)
	if err := est.Fit(ctx, X, y, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a cancelled context: %v", err)
	}
}

func TestSpecsDeclareDefaults(t *testing.T) {
	for _, s := range Specs() {
		if s.Doc == "" || len(s.Tasks) == 0 || s.New == nil {
			t.Errorf("%s: incomplete spec", s.Name)
		}
		for _, task := range s.Tasks {
			if _, err := s.New(task, nil); err != nil {
				t.Errorf("%s: defaults rejected: %v", s.Name, err)
			}
		}
		for _, p := range s.Params {
			if p.Doc == "" || p.Type == "" {
				t.Errorf("%s.%s: missing doc or type", s.Name, p.Name)
			}
		}
	}
}

// TestRidgeSVDFallbackAgrees checks the SVD solver that Ridge falls back to
// when the normal equations are not positive definite: on a well-posed
// problem it must give the Cholesky solution, in primal and kernel form.
func TestRidgeSVDFallbackAgrees(t *testing.T) {
	for _, name := range []string{"regression.csv", "wide.csv"} {
		X, y := mltest.LoadCSV(t, name)
		Xc, yc, _, _ := center(X, y, true)
		chol, ok := ridgeCholesky(Xc, yc, 0.7)
		if !ok {
			t.Fatalf("%s: Cholesky failed", name)
		}
		svd, err := ridgeSVD(Xc, yc, 0.7)
		if err != nil {
			t.Fatal(err)
		}
		for j := range chol {
			if math.Abs(chol[j]-svd[j]) > 1e-9*math.Max(1, math.Abs(chol[j])) {
				t.Errorf("%s coef[%d]: Cholesky %v, SVD %v", name, j, chol[j], svd[j])
			}
		}
	}
}
