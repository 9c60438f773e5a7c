package decomp

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/mlrun/mlrun/ml/internal/mltest"
)

type pcaCase struct {
	Source                 string      `json:"source"`
	Scaled                 bool        `json:"scaled"`
	K                      int         `json:"k"`
	Transformed            [][]float64 `json:"transformed"`
	Components             [][]float64 `json:"components"`
	ExplainedVariance      []float64   `json:"explained_variance"`
	ExplainedVarianceRatio []float64   `json:"explained_variance_ratio"`
	Mean                   []float64   `json:"mean"`
}

// standardise scales every column to mean 0 and population std 1, as
// StandardScaler.
func standardise(X *mat.Dense) {
	n, p := X.Dims()
	for j := range p {
		m, v := 0.0, 0.0
		for i := range n {
			m += X.At(i, j)
		}
		m /= float64(n)
		for i := range n {
			d := X.At(i, j) - m
			v += d * d
		}
		s := math.Sqrt(v / float64(n))
		for i := range n {
			X.Set(i, j, (X.At(i, j)-m)/s)
		}
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// FitTransform matches scikit-learn's PCA(svd_solver="full"), signs
// included (svd_flip), on iris and wine (pca.json, testdata/gen.py).
func TestFitTransformMatchesScikitLearn(t *testing.T) {
	var cases map[string]pcaCase
	mltest.ReadJSON(t, "pca.json", &cases)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			X, _ := mltest.LoadCSV(t, c.Source+".csv")
			if c.Scaled {
				standardise(X)
			}
			pca, Z, err := FitTransform(X, c.K)
			if err != nil {
				t.Fatal(err)
			}
			const tol = 1e-9
			for i, row := range c.Transformed {
				for j, want := range row {
					if got := Z.At(i, j); !near(got, want, tol) {
						t.Fatalf("transformed[%d][%d] = %v, scikit-learn %v", i, j, got, want)
					}
				}
			}
			for i, row := range c.Components {
				for j, want := range row {
					if got := pca.Components.At(i, j); !near(got, want, tol) {
						t.Fatalf("components[%d][%d] = %v, scikit-learn %v", i, j, got, want)
					}
				}
			}
			for i := range c.ExplainedVariance {
				if !near(pca.ExplainedVariance[i], c.ExplainedVariance[i], tol) || !near(pca.ExplainedVarianceRatio[i], c.ExplainedVarianceRatio[i], tol) {
					t.Errorf("explained variance %d: %v (%v), scikit-learn %v (%v)", i, pca.ExplainedVariance[i], pca.ExplainedVarianceRatio[i], c.ExplainedVariance[i], c.ExplainedVarianceRatio[i])
				}
			}
			for j, want := range c.Mean {
				if !near(pca.Mean[j], want, tol) {
					t.Errorf("mean[%d] = %v, want %v", j, pca.Mean[j], want)
				}
			}
		})
	}
}

func TestFitTransformEdges(t *testing.T) {
	if _, _, err := FitTransform(mat.NewDense(1, 3, []float64{1, 2, 3}), 2); err == nil {
		t.Error("one row accepted")
	}
	// One feature: a single component, capped.
	pca, Z, err := FitTransform(mat.NewDense(3, 1, []float64{1, 2, 6}), 2)
	if err != nil {
		t.Fatal(err)
	}
	if r, c := Z.Dims(); r != 3 || c != 1 || pca.ExplainedVarianceRatio[0] != 1 {
		t.Errorf("dims %d×%d, ratio %v", r, c, pca.ExplainedVarianceRatio)
	}
	// svd_flip: the largest |score| is positive (6 is farthest from the mean 3).
	if Z.At(2, 0) <= 0 {
		t.Errorf("scores %v: the largest absolute score must be positive", mat.Col(nil, 0, Z))
	}
	if _, _, err := FitTransform(mat.NewDense(2, 1, []float64{1, math.NaN()}), 1); err == nil {
		t.Error("NaN accepted")
	}
}
