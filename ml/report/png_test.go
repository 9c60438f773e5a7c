package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// samplePlots are one plot of every kind, with rotated tick labels (long
// class names) and a regression projection among them.
func samplePlots(t *testing.T) map[string]*sizedPlot {
	t.Helper()
	plots := map[string]*sizedPlot{}
	add := func(name string, sp *sizedPlot, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plots[name] = sp
	}
	sp, err := confusionMatrixPlot([][]int{{15, 0, 0}, {0, 11, 1}, {0, 2, 9}}, []string{"setosa", "versicolor with a long name", "virginica"}, "Confusion matrix")
	add("confusion", sp, err)
	sp, err = rocCurvePlot([]float64{0, 0.1, 0.5, 1}, []float64{0, 0.6, 0.9, 1}, 0.83, "")
	add("roc", sp, err)
	sp, err = learningCurvePlot([]Series{{Name: "loss", Steps: []float64{0, 1, 2, 3}, Values: []float64{1, 0.5, 0.3, 0.2}}}, "Training", "loss")
	add("learning curve", sp, err)
	sp, err = projectionPlot(testProjection(), "Test set on its principal components")
	add("projection", sp, err)
	r := &Projection{PC1: []float64{1, 2, 3}, PC2: []float64{0, 0, 0}, TrueValue: []float64{10, 20, 30}, PredictedValue: []float64{12.5, 19, 31}, Target: "y"}
	sp, err = projectionPlot(r, "Predicted vs true")
	add("residuals", sp, err)
	return plots
}

// The drawing shortcuts (glyphs copied rather than resampled, no second
// white background) give exactly the pixels of gonum's plain drawing.
func TestDrawingShortcutsChangeNoPixel(t *testing.T) {
	for name, sp := range samplePlots(t) {
		fast, plain := drawPlot(sp, false), drawPlot(sp, true)
		if fast.Rect != plain.Rect {
			t.Fatalf("%s: %v, plainly drawn %v", name, fast.Rect, plain.Rect)
		}
		if n := differentPixels(fast, plain); n > 0 {
			t.Errorf("%s: %d of %d pixels differ from the plain drawing", name, n, len(fast.Pix)/4)
		}
	}
}

// differentPixels counts the pixels in which a and b differ.
func differentPixels(a, b *image.RGBA) int {
	n := 0
	for i := 0; i+3 < len(a.Pix); i += 4 {
		if !bytes.Equal(a.Pix[i:i+4], b.Pix[i:i+4]) {
			n++
		}
	}
	return n
}

// encodePNG writes a PNG any decoder reads back as the very pixels
// image/png would have written: opaque plots as RGB, and translucent
// pixels (premultiplied in image.RGBA) as RGBA.
func TestEncodePNGKeepsEveryPixel(t *testing.T) {
	images := map[string]*image.RGBA{}
	for name, sp := range samplePlots(t) {
		images[name] = drawPlot(sp, false)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := image.NewRGBA(image.Rect(3, 5, 40, 31)) // not at the origin
	for y := noisy.Rect.Min.Y; y < noisy.Rect.Max.Y; y++ {
		for x := noisy.Rect.Min.X; x < noisy.Rect.Max.X; x++ {
			a := []uint8{0, 255, uint8(rng.IntN(256))}[rng.IntN(3)]
			noisy.Set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a})
		}
	}
	images["translucent noise"] = noisy
	for name, img := range images {
		var ours, std bytes.Buffer
		if err := encodePNG(&ours, img, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := png.Encode(&std, img); err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(&ours)
		if err != nil {
			t.Fatalf("%s: our PNG does not decode: %v", name, err)
		}
		want, _ := png.Decode(&std)
		if got.Bounds().Size() != want.Bounds().Size() {
			t.Fatalf("%s: %v, image/png %v", name, got.Bounds(), want.Bounds())
		}
		bad := 0
		g, w := got.Bounds().Min, want.Bounds().Min
		for y := range want.Bounds().Dy() {
			for x := range want.Bounds().Dx() {
				if color.NRGBAModel.Convert(got.At(g.X+x, g.Y+y)) != color.NRGBAModel.Convert(want.At(w.X+x, w.Y+y)) {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d pixels differ from what image/png writes", name, bad)
		}
		if name == "confusion" && ours.Len() > 2*std.Len() {
			t.Errorf("%s: %d bytes, image/png at its default level %d", name, ours.Len(), std.Len())
		}
	}
}

// Plots drawn at the same time on several goroutines (a run draws its
// plots in the background) through one Renderer are byte for byte the
// plots drawn one by one with fresh buffers.
func TestConcurrentRendersAreIdentical(t *testing.T) {
	plots := samplePlots(t)
	want := map[string][]byte{}
	for name, sp := range plots {
		var b bytes.Buffer
		if err := writePNG(&b, sp); err != nil {
			t.Fatal(err)
		}
		want[name] = b.Bytes()
	}
	type result struct {
		name string
		data []byte
		err  error
	}
	results := make(chan result)
	shared := NewRenderer() // its buffers go from plot to plot, of every size
	for range 4 {
		// Plots of their own: drawing one plot is not safe for concurrent
		// use, only drawing different ones is.
		own := samplePlots(t)
		for name, sp := range own {
			go func() {
				var b bytes.Buffer
				err := shared.writePNG(&b, sp)
				results <- result{name, b.Bytes(), err}
			}()
		}
	}
	for range 4 * len(want) {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s: %v", r.name, r.err)
		}
		if !bytes.Equal(r.data, want[r.name]) {
			t.Errorf("%s: drawn concurrently, it differs from the plot drawn alone", r.name)
		}
	}
}
