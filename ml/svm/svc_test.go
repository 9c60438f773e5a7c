package svm

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/internal/mltest"
	"gonum.org/v1/gonum/mat"
)

type svcFixture struct {
	LibsvmSeedFor42 uint32 `json:"libsvm_seed_for_42"`
	Datasets        []struct {
		File  string `json:"file"`
		Train []int  `json:"train"`
		Test  []int  `json:"test"`
		Cases []struct {
			Name        string      `json:"name"`
			Params      ml.Params   `json:"params"`
			Accuracy    float64     `json:"accuracy"`
			Predictions []float64   `json:"predictions"`
			NSupport    []int       `json:"n_support"`
			Support     []int       `json:"support"`
			Intercept   []float64   `json:"intercept"`
			Gamma       float64     `json:"gamma"`
			DecisionOVO [][]float64 `json:"decision_ovo"`
			DecisionOVR [][]float64 `json:"decision_ovr"`
			Proba       [][]float64 `json:"proba"`
			ProbA       []float64   `json:"prob_a"`
			ProbB       []float64   `json:"prob_b"`
		} `json:"cases"`
	} `json:"datasets"`
}

func loadFixture(t *testing.T) svcFixture {
	t.Helper()
	var fx svcFixture
	mltest.ReadJSON(t, "sklearn_svc.json", &fx)
	return fx
}

func newSVCFor(t *testing.T, p ml.Params) *SVC {
	t.Helper()
	est, err := Specs()[0].New(ml.Classification, p)
	if err != nil {
		t.Fatalf("New(%v): %v", p, err)
	}
	return est.(*SVC)
}

// relClose reports whether a and b agree to tol relative to max(1,|b|).
func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func TestLibsvmSeedMatchesNumpy(t *testing.T) {
	fx := loadFixture(t)
	if got := libsvmSeed(42); got != fx.LibsvmSeedFor42 {
		t.Fatalf("libsvmSeed(42) = %d, numpy gives %d", got, fx.LibsvmSeedFor42)
	}
}

func TestSVCMatchesScikitLearn(t *testing.T) {
	fx := loadFixture(t)
	for _, ds := range fx.Datasets {
		Xtr, ytr, Xte, yte := mltest.LoadSplit(t, ds.File, ds.Train, ds.Test)
		for _, c := range ds.Cases {
			t.Run(ds.File+"/"+c.Name, func(t *testing.T) {
				m := newSVCFor(t, c.Params)
				if err := m.Fit(context.Background(), Xtr, ytr, nil); err != nil {
					t.Fatal(err)
				}
				pred := m.Predict(Xte)
				acc := mltest.Accuracy(pred, yte)
				if math.Abs(acc-c.Accuracy) > 0.01 {
					t.Errorf("accuracy %.4f, scikit-learn %.4f", acc, c.Accuracy)
				}
				differ := 0
				for i := range pred {
					if pred[i] != c.Predictions[i] {
						differ++
					}
				}
				if differ > 0 {
					t.Errorf("%d of %d predictions differ from scikit-learn's", differ, len(pred))
				}
				if m.GammaValue != c.Gamma {
					t.Errorf("gamma %v, scikit-learn %v", m.GammaValue, c.Gamma)
				}
				if !slices.Equal(m.NSupport, c.NSupport) {
					t.Errorf("n_support %v, scikit-learn %v", m.NSupport, c.NSupport)
				}
				// support_ indexes the training rows, as Support does.
				if !slices.Equal(m.Support, c.Support) {
					t.Errorf("support %v, scikit-learn %v", m.Support, c.Support)
				}
				for p, want := range c.Intercept {
					if !relClose(-m.Rho[p], want, 1e-9) {
						t.Errorf("intercept[%d] = %v, scikit-learn %v", p, -m.Rho[p], want)
					}
				}
				ovo := m.withShape("ovo").DecisionFunction(Xte)
				ovr := m.DecisionFunction(Xte)
				for i := range c.DecisionOVO {
					for j := range c.DecisionOVO[i] {
						if got := ovo.At(i, j); !relClose(got, c.DecisionOVO[i][j], 1e-9) {
							t.Fatalf("ovo decision[%d][%d] = %v, scikit-learn %v", i, j, got, c.DecisionOVO[i][j])
						}
					}
					for j := range c.DecisionOVR[i] {
						if got := ovr.At(i, j); !relClose(got, c.DecisionOVR[i][j], 1e-9) {
							t.Fatalf("ovr decision[%d][%d] = %v, scikit-learn %v", i, j, got, c.DecisionOVR[i][j])
						}
					}
				}
				proba := m.PredictProba(Xte)
				if c.Proba == nil {
					if proba != nil {
						t.Errorf("PredictProba with probability=false returned a matrix")
					}
					return
				}
				for p := range c.ProbA {
					if !relClose(m.ProbA[p], c.ProbA[p], 1e-9) || !relClose(m.ProbB[p], c.ProbB[p], 1e-9) {
						t.Errorf("Platt pair %d: A=%v B=%v, scikit-learn A=%v B=%v", p, m.ProbA[p], m.ProbB[p], c.ProbA[p], c.ProbB[p])
					}
				}
				for i := range c.Proba {
					sum := 0.0
					for j := range c.Proba[i] {
						sum += proba.At(i, j)
						if got := proba.At(i, j); math.Abs(got-c.Proba[i][j]) > 1e-9 {
							t.Fatalf("proba[%d][%d] = %v, scikit-learn %v", i, j, got, c.Proba[i][j])
						}
					}
					if math.Abs(sum-1) > 1e-9 {
						t.Fatalf("probabilities of row %d sum to %v", i, sum)
					}
				}
			})
		}
	}
}

// withShape returns a copy of m with another decision_function_shape.
func (m *SVC) withShape(shape string) *SVC {
	c := *m
	c.DecisionFunctionShape = shape
	return &c
}

func irisSplit(t *testing.T) (Xtr *mat.Dense, ytr []float64, Xte *mat.Dense, yte []float64) {
	t.Helper()
	fx := loadFixture(t)
	ds := fx.Datasets[0]
	return mltest.LoadSplit(t, ds.File, ds.Train, ds.Test)
}

func TestSVCJSONRoundTripAndDeterminism(t *testing.T) {
	Xtr, ytr, Xte, _ := irisSplit(t)
	params := ml.Params{"kernel": "rbf", "probability": true, "random_state": 7, "class_weight": "balanced"}
	fit := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		return mltest.FitJSON(t, newSVCFor(t, params), Xtr, ytr)
	}
	a, b := fit(1), fit(4)
	if string(a) != string(b) {
		t.Fatal("two fits of the same data and random_state give different JSON")
	}
	orig := newSVCFor(t, params)
	if err := orig.Fit(context.Background(), Xtr, ytr, nil); err != nil {
		t.Fatal(err)
	}
	back := newSVCFor(t, nil)
	if err := json.Unmarshal(a, back); err != nil {
		t.Fatal(err)
	}
	p1, p2 := orig.Predict(Xte), back.Predict(Xte)
	q1, q2 := orig.PredictProba(Xte), back.PredictProba(Xte)
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Fatalf("row %d: prediction %v after JSON round trip, %v before", i, p2[i], p1[i])
		}
		for j := 0; j < 3; j++ {
			if q1.At(i, j) != q2.At(i, j) {
				t.Fatalf("row %d: probability %v after JSON round trip, %v before", i, q2.At(i, j), q1.At(i, j))
			}
		}
	}
}

func TestSVCRejectsBadHyperparameters(t *testing.T) {
	cases := []struct {
		params ml.Params
		want   string // a fragment the message must contain
	}{
		{ml.Params{"C": 0.0}, "C"},
		{ml.Params{"C": -1}, "C"},
		{ml.Params{"C": "big"}, "C"},
		{ml.Params{"kernel": "cubic"}, "kernel"},
		{ml.Params{"gamma": "large"}, "gamma"},
		{ml.Params{"gamma": -0.5}, "gamma"},
		{ml.Params{"tol": 0}, "tol"},
		{ml.Params{"degree": -1}, "degree"},
		{ml.Params{"max_iter": 0}, "max_iter"},
		{ml.Params{"probability": "yes"}, "probability"},
		{ml.Params{"class_weight": "even"}, "class_weight"},
		{ml.Params{"random_state": -3}, "random_state"},
		{ml.Params{"decision_function_shape": "ovx"}, "decision_function_shape"},
		{ml.Params{"penalty": "l2"}, "penalty"},
	}
	for _, c := range cases {
		_, err := Specs()[0].New(ml.Classification, c.params)
		if err == nil {
			t.Errorf("New(%v) accepted bad input", c.params)
			continue
		}
		if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%v) = %q (code %s), want an Invalid error naming %s", c.params, err, errs.Code(err), c.want)
		}
	}
	if _, err := Specs()[0].New(ml.Regression, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("New(regression) = %v, want an Invalid error", err)
	}
}

func TestSVCRejectsBadData(t *testing.T) {
	m := newSVCFor(t, nil)
	X := mat.NewDense(3, 1, []float64{1, 2, 3})
	if err := m.Fit(context.Background(), X, []float64{0, 0, 0}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("one class: %v, want an Invalid error", err)
	}
	if err := m.Fit(context.Background(), X, []float64{0, 1}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("short y: %v, want an Invalid error", err)
	}
	if err := m.Fit(context.Background(), X, []float64{0, 1.5, 1}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("fractional class: %v, want an Invalid error", err)
	}
	X.Set(1, 0, math.NaN())
	if err := m.Fit(context.Background(), X, []float64{0, 1, 1}, nil); errs.Code(err) != errs.Invalid {
		t.Errorf("NaN: %v, want an Invalid error", err)
	}
	if m.Predict(mat.NewDense(1, 1, nil)) != nil {
		t.Error("an unfitted SVC predicted")
	}
}

func TestSVCProgressAndCancel(t *testing.T) {
	Xtr, ytr, _, _ := irisSplit(t)
	m := newSVCFor(t, ml.Params{"kernel": "linear"})
	var steps []int
	err := m.Fit(context.Background(), Xtr, ytr, func(key string, step int, v float64) {
		if key != "smo_iterations" || v < 1 {
			t.Errorf("progress(%q, %d, %v)", key, step, v)
		}
		steps = append(steps, step)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[2] != 2 {
		t.Errorf("progress steps %v, want one per class pair", steps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Fit(ctx, Xtr, ytr, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a cancelled context = %v", err)
	}
}

func TestBinaryDecisionSign(t *testing.T) {
	// Two separable classes on a line: the decision function is positive
	// for class 1, as in scikit-learn.
	X := mat.NewDense(6, 1, []float64{0, 1, 2, 10, 11, 12})
	y := []float64{0, 0, 0, 1, 1, 1}
	m := newSVCFor(t, ml.Params{"kernel": "linear"})
	if err := m.Fit(context.Background(), X, y, nil); err != nil {
		t.Fatal(err)
	}
	d := m.DecisionFunction(mat.NewDense(2, 1, []float64{-5, 20}))
	if !(d.At(0, 0) < 0 && d.At(1, 0) > 0) {
		t.Fatalf("decision %v, want negative then positive", mat.Formatted(d))
	}
	if got := m.Predict(mat.NewDense(2, 1, []float64{-5, 20})); got[0] != 0 || got[1] != 1 {
		t.Fatalf("predictions %v", got)
	}
}

// svcBinaryFixture is testdata/sklearn_svc_binary.json (gen_binary.py).
type svcBinaryFixture struct {
	File  string `json:"file"`
	Train []int  `json:"train"`
	Test  []int  `json:"test"`
	Cases []struct {
		Name        string      `json:"name"`
		Params      ml.Params   `json:"params"`
		Predictions []float64   `json:"predictions"`
		Decision    []float64   `json:"decision"`
		ProbA       []float64   `json:"prob_a"`
		ProbB       []float64   `json:"prob_b"`
		Proba       [][]float64 `json:"proba"`
	} `json:"cases"`
}

// Two classes: scikit-learn's libsvm couples the two Platt probabilities
// as it does for k > 2, instead of taking the sigmoid directly.
func TestBinarySVCProbabilitiesMatchScikitLearn(t *testing.T) {
	var fx svcBinaryFixture
	mltest.ReadJSON(t, "sklearn_svc_binary.json", &fx)
	Xtr, ytr, Xte, _ := mltest.LoadSplit(t, fx.File, fx.Train, fx.Test)
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			m := newSVCFor(t, c.Params)
			if err := m.Fit(context.Background(), Xtr, ytr, nil); err != nil {
				t.Fatal(err)
			}
			if pred := m.Predict(Xte); !slices.Equal(pred, c.Predictions) {
				t.Errorf("predictions differ from scikit-learn's")
			}
			dec := m.DecisionFunction(Xte)
			for i, want := range c.Decision {
				if got := dec.At(i, 0); !relClose(got, want, 1e-7) {
					t.Fatalf("decision[%d] = %v, scikit-learn %v", i, got, want)
				}
			}
			if !relClose(m.ProbA[0], c.ProbA[0], 1e-6) || !relClose(m.ProbB[0], c.ProbB[0], 1e-6) {
				t.Errorf("Platt A=%v B=%v, scikit-learn A=%v B=%v", m.ProbA[0], m.ProbB[0], c.ProbA[0], c.ProbB[0])
			}
			proba := m.PredictProba(Xte)
			worst := 0.0
			for i := range c.Proba {
				for j := range c.Proba[i] {
					worst = math.Max(worst, math.Abs(proba.At(i, j)-c.Proba[i][j]))
				}
			}
			if worst > 1e-6 {
				t.Errorf("probabilities differ from scikit-learn's by up to %.3g (tolerance 1e-6)", worst)
			}
		})
	}
}
