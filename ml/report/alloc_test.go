package report

import (
	"io"
	"runtime"
	"testing"
)

// TestPlotAllocatesOneImage bounds the memory one plot allocates on the
// heap: at most its 700×450 RGBA image (1.26 MB; on Linux the image is
// mapped outside the heap, see TestPlotImageIsOffTheHeap) once, plus the
// PNG encoder's buffers and the drawing, never a second copy of the image
// for the drawing context (which made 4.2 MB), nor a compress/flate
// compressor (about 1.1 MB) that deflateRuns does not need.
func TestPlotAllocatesOneImage(t *testing.T) {
	series := []Series{{Name: "loss", Steps: []float64{0, 1, 2, 3}, Values: []float64{1, 0.5, 0.3, 0.2}}}
	render := func() {
		if err := WriteLearningCurvePNG(io.Discard, series, "Training", "loss"); err != nil {
			t.Fatal(err)
		}
	}
	render() // warm up lazily built fonts and tables
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	render()
	runtime.ReadMemStats(&after)
	const image = 700 * 450 * 4
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("one plot allocates %.2f MB (its image is %.2f MB)", float64(got)/1e6, float64(image)/1e6)
	if got > 2*image {
		t.Fatalf("one plot allocates %d bytes, more than twice its %d-byte image", got, image)
	}
}

// A Renderer reuses the image and the glyphs of the plot before: a
// second plot allocates less than half of its image.
func TestRendererReusesItsBuffers(t *testing.T) {
	series := []Series{{Name: "loss", Steps: []float64{0, 1, 2, 3}, Values: []float64{1, 0.5, 0.3, 0.2}}}
	sp, err := learningCurvePlot(series, "Training", "loss")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer()
	if err := r.writePNG(io.Discard, sp); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := r.writePNG(io.Discard, sp); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	const image = 700 * 450 * 4
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("a second plot allocates %.2f MB (its image is %.2f MB)", float64(got)/1e6, float64(image)/1e6)
	if got > image/2 {
		t.Fatalf("a second plot through the renderer allocates %d bytes, more than half its %d-byte image", got, image)
	}
}
