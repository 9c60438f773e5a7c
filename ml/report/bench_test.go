package report

import (
	"bytes"
	"compress/zlib"
	"image"
	"io"
	"maps"
	"math"
	"slices"
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

// BenchmarkPlotPNG times, for every kind of plot, its drawing and its
// encoding by encodePNGZlib (the encoder before deflateRuns) and by
// encodePNG, on the same image in the same run, and reports the size of
// each file.
func BenchmarkPlotPNG(b *testing.B) {
	plots := samplePlots(b)
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		sp := plots[name]
		img := drawPlot(sp, false)
		b.Run(name+"/draw", func(b *testing.B) {
			for b.Loop() {
				drawInto(img, sp, false)
			}
		})
		for _, enc := range []struct {
			name   string
			encode func(io.Writer, *image.RGBA, *zlib.Writer) error
		}{{"zlib", encodePNGZlib}, {"runs", encodePNG}} {
			b.Run(name+"/encode-"+enc.name, func(b *testing.B) {
				zw, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed)
				var out bytes.Buffer
				for b.Loop() {
					out.Reset()
					if err := enc.encode(&out, img, zw); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(out.Len()), "bytes/file")
			})
		}
	}
}
