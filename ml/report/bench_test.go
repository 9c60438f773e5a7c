package report

import (
	"io"
	"math"
	"testing"
)

// irisLikePlots renders the three plots of the iris pipeline (learning
// curve, confusion matrix, projection) to io.Discard.
func irisLikePlots(tb testing.TB) {
	steps := make([]float64, 30)
	loss := make([]float64, 30)
	for i := range steps {
		steps[i], loss[i] = float64(i), math.Exp(-float64(i)/8)
	}
	if err := WriteLearningCurvePNG(io.Discard, []Series{{Name: "loss", Steps: steps, Values: loss}}, "Training history: logistic_regression", "loss"); err != nil {
		tb.Fatal(err)
	}
	if err := WriteConfusionMatrixPNG(io.Discard, [][]int{{15, 0, 0}, {0, 11, 1}, {0, 0, 11}}, irisNames, "Confusion matrix (logistic_regression)"); err != nil {
		tb.Fatal(err)
	}
	if err := WriteProjectionPNG(io.Discard, testProjection(), "Test set on its principal components (logistic_regression)"); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkIrisPlots renders the iris pipeline's three plots (for
// profiling: go test -bench IrisPlots -cpuprofile).
func BenchmarkIrisPlots(b *testing.B) {
	for b.Loop() {
		irisLikePlots(b)
	}
}
