package naivebayes

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/internal/mltest"
	"gonum.org/v1/gonum/mat"
)

type nbCase struct {
	Name       string      `json:"name"`
	Data       string      `json:"data"`
	Train      []int       `json:"train"`
	Test       []int       `json:"test"`
	Params     ml.Params   `json:"params"`
	Theta      [][]float64 `json:"theta"`
	Var        [][]float64 `json:"var"`
	ClassPrior []float64   `json:"class_prior"`
	Epsilon    float64     `json:"epsilon"`
	Pred       []float64   `json:"pred"`
	Proba      [][]float64 `json:"proba"`
	Accuracy   float64     `json:"accuracy"`
}

func newNB(t testing.TB, p ml.Params) *GaussianNB {
	t.Helper()
	est, err := Specs()[0].New(ml.Classification, p)
	if err != nil {
		t.Fatalf("New(%v): %v", p, err)
	}
	return est.(*GaussianNB)
}

func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(1e-300, math.Max(math.Abs(a), math.Abs(b)))
}

func TestGaussianNBMatchesSklearn(t *testing.T) {
	var fx struct {
		Cases []nbCase `json:"cases"`
	}
	mltest.ReadJSON(t, "sklearn/gaussian_nb.json", &fx)
	if len(fx.Cases) != 12 {
		t.Fatalf("fixture has %d cases, want 12", len(fx.Cases))
	}
	worst := 0.0
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			Xtr, ytr, Xte, yte := mltest.LoadSplit(t, c.Data+".csv", c.Train, c.Test)
			m := newNB(t, c.Params)
			if err := m.Fit(context.Background(), Xtr, ytr, nil); err != nil {
				t.Fatal(err)
			}
			if relDiff(m.Epsilon, c.Epsilon) > 1e-12 {
				t.Errorf("epsilon %v, scikit-learn %v", m.Epsilon, c.Epsilon)
			}
			for k := range c.Theta {
				if relDiff(m.ClassPrior[k], c.ClassPrior[k]) > 1e-15 {
					t.Errorf("class_prior[%d] %v, scikit-learn %v", k, m.ClassPrior[k], c.ClassPrior[k])
				}
				for j := range c.Theta[k] {
					if relDiff(m.Theta[k][j], c.Theta[k][j]) > 1e-12 || relDiff(m.Var[k][j], c.Var[k][j]) > 1e-10 {
						t.Errorf("class %d feature %d: theta %v var %v, scikit-learn %v %v", k, j, m.Theta[k][j], m.Var[k][j], c.Theta[k][j], c.Var[k][j])
					}
				}
			}
			pred := m.Predict(Xte)
			if acc := mltest.Accuracy(pred, yte); math.Abs(acc-c.Accuracy) > 0.01 {
				t.Errorf("test accuracy %.4f, scikit-learn %.4f", acc, c.Accuracy)
			}
			if !slices.Equal(pred, c.Pred) {
				t.Errorf("predictions differ from scikit-learn")
			}
			proba := m.PredictProba(Xte)
			for i, row := range c.Proba {
				for k, want := range row {
					d := math.Abs(proba.At(i, k) - want)
					worst = math.Max(worst, d)
					if d > 1e-9 {
						t.Errorf("proba[%d][%d] = %v, scikit-learn %v", i, k, proba.At(i, k), want)
					}
				}
			}
		})
	}
	t.Logf("largest |Δproba| %.3g", worst)
}

func TestJSONRoundTripAndDeterminism(t *testing.T) {
	X, y := mltest.LoadCSV(t, "wine.csv")
	fit := func() (*GaussianNB, []byte) {
		m := newNB(t, ml.Params{"var_smoothing": 1e-6, "priors": []any{0.3, 0.3, 0.4}})
		return m, mltest.FitJSON(t, m, X, y)
	}
	m, b := fit()
	if _, b2 := fit(); !bytes.Equal(b, b2) {
		t.Errorf("two fits give different JSON")
	}
	fresh := newNB(t, nil)
	if err := json.Unmarshal(b, fresh); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Predict(X), fresh.Predict(X)) || !mat.Equal(m.PredictProba(X), fresh.PredictProba(X)) {
		t.Errorf("predictions differ after a JSON round trip")
	}
	if fresh.NumClasses() != 3 {
		t.Errorf("NumClasses %d after a round trip, want 3", fresh.NumClasses())
	}
}

func TestProbabilitiesSumToOne(t *testing.T) {
	X, y := mltest.LoadCSV(t, "iris.csv")
	m := newNB(t, nil)
	if err := m.Fit(context.Background(), X, y, nil); err != nil {
		t.Fatal(err)
	}
	// Far from every class: the joint log-likelihoods are huge negative
	// numbers, and the log-sum-exp must still normalise them.
	far := mat.NewDense(1, 4, []float64{100, -100, 100, -100})
	row := m.PredictProba(far).RawRowView(0)
	sum := 0.0
	for _, v := range row {
		if math.IsNaN(v) {
			t.Fatalf("NaN probability: %v", row)
		}
		sum += v
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("probabilities %v sum to %v", row, sum)
	}
}

func TestBadHyperparametersAndData(t *testing.T) {
	cases := []struct {
		p    ml.Params
		want string
	}{
		{ml.Params{"var_smoothing": -1e-9}, "var_smoothing"},
		{ml.Params{"var_smoothing": "small"}, "var_smoothing"},
		{ml.Params{"priors": []float64{0.5, 0.6}}, "sum to 1"},
		{ml.Params{"priors": []any{1.5, -0.5}}, "non-negative"},
		{ml.Params{"priors": "uniform"}, "priors"},
		{ml.Params{"priors": []any{"a", "b"}}, "priors"},
		{ml.Params{"alpha": 1.0}, "alpha"},
	}
	for _, c := range cases {
		_, err := Specs()[0].New(ml.Classification, c.p)
		if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want an %s error mentioning %q", c.p, err, errs.Invalid, c.want)
		}
	}
	if _, err := Specs()[0].New(ml.Regression, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("regression task: error %v", err)
	}
	X := mat.NewDense(4, 1, []float64{0, 1, 2, 3})
	m := newNB(t, ml.Params{"priors": []float64{0.5, 0.25, 0.25}})
	if err := m.Fit(context.Background(), X, []float64{0, 1, 0, 1}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("3 priors for 2 classes: error %v", err)
	}
	m = newNB(t, nil)
	if err := m.Fit(context.Background(), X, []float64{0, 2, 0, 2}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("class 1 missing: error %v", err)
	}
	if err := m.Fit(context.Background(), X, []float64{0, 1}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("2 targets for 4 rows: error %v", err)
	}
}
