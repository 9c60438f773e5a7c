package report

import (
	"bytes"
	"compress/zlib"
	"image"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// irisPlots are the three plots of the iris pipeline (learning curve,
// confusion matrix, projection).
func irisPlots(tb testing.TB) map[string]*sizedPlot {
	steps := make([]float64, 30)
	loss := make([]float64, 30)
	for i := range steps {
		steps[i], loss[i] = float64(i), math.Exp(-float64(i)/8)
	}
	lc, err := learningCurvePlot([]Series{{Name: "loss", Steps: steps, Values: loss}}, "Training history: logistic_regression", "loss")
	if err != nil {
		tb.Fatal(err)
	}
	cm, err := confusionMatrixPlot([][]int{{15, 0, 0}, {0, 11, 1}, {0, 0, 11}}, irisNames, "Confusion matrix (logistic_regression)")
	if err != nil {
		tb.Fatal(err)
	}
	pr, err := projectionPlot(testProjection(), "Test set on its principal components (logistic_regression)")
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]*sizedPlot{"iris learning curve": lc, "iris confusion": cm, "iris projection": pr}
}

// irisLikePlots renders the three plots of the iris pipeline to io.Discard.
func irisLikePlots(tb testing.TB) {
	for _, sp := range irisPlots(tb) {
		if err := writePNG(io.Discard, sp); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkIrisPlots renders the iris pipeline's three plots (for
// profiling: go test -bench IrisPlots -cpuprofile).
func BenchmarkIrisPlots(b *testing.B) {
	for b.Loop() {
		irisLikePlots(b)
	}
}

// BenchmarkPlotPNG times, for every kind of plot and the iris pipeline's, its drawing and its
// encoding by encodePNGZlib (the encoder before deflateRuns) and by
// encodePNG, on the same image in the same run, and reports the size of
// each file.
func BenchmarkPlotPNG(b *testing.B) {
	plots := samplePlots(b)
	maps.Copy(plots, irisPlots(b))
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		sp := plots[name]
		img := drawPlot(sp, false)
		glyphs := &glyphCache{} // as a Renderer keeps them
		b.Run(name+"/draw", func(b *testing.B) {
			for b.Loop() {
				drawInto(img, sp, false, glyphs)
			}
		})
		for _, enc := range []struct {
			name   string
			encode func(io.Writer, *image.RGBA, *zlib.Writer) error
		}{{"zlib", encodePNGZlib}, {"runs", func(w io.Writer, img *image.RGBA, _ *zlib.Writer) error { return encodePNG(w, img) }}} {
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

// BenchmarkSweepPlots writes the plots of the trials of a sweep through
// one Renderer, as a sweep's process does: every trial's learning curve
// differs, its confusion matrix and projection take one of a few values.
func BenchmarkSweepPlots(b *testing.B) {
	dir := b.TempDir()
	r := NewRenderer()
	steps := make([]float64, 30)
	loss := make([]float64, 30)
	cms := [][][]int{{{15, 0, 0}, {0, 11, 1}, {0, 0, 11}}, {{15, 0, 0}, {0, 10, 2}, {0, 0, 11}}, {{15, 0, 0}, {0, 12, 0}, {0, 1, 10}}}
	trial := 0
	for b.Loop() {
		for i := range steps {
			steps[i], loss[i] = float64(i), math.Exp(-float64(i)/(8+float64(trial%100)/10))
		}
		if err := r.LearningCurvePNG(filepath.Join(dir, "learning_curve.png"), []Series{{Name: "loss", Steps: steps, Values: loss}}, "Training history: logistic_regression", "loss"); err != nil {
			b.Fatal(err)
		}
		if err := r.ConfusionMatrixPNG(filepath.Join(dir, "confusion_matrix.png"), cms[trial%len(cms)], irisNames, "Confusion matrix (logistic_regression)"); err != nil {
			b.Fatal(err)
		}
		p := testProjection()
		p.Ratio1 += float64(trial%3) / 100
		if err := r.ProjectionPNG(filepath.Join(dir, "projection.png"), p, "Test set on its principal components (logistic_regression)"); err != nil {
			b.Fatal(err)
		}
		trial++
	}
}
