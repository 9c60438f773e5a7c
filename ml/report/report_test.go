package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/mlrun/mlrun/errs"
)

var irisNames = []string{"setosa", "versicolor", "virginica"}

// decode reads a PNG file and returns the image and its colour histogram.
func decode(t *testing.T, path string) (image.Image, map[color.RGBA]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	hist := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			hist[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return img, hist
}

// renderTwice renders with render into two files and checks the bytes match.
func renderTwice(t *testing.T, name string, render func(path string) error) string {
	t.Helper()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a-"+name), filepath.Join(dir, "b-"+name)
	if err := render(a); err != nil {
		t.Fatal(err)
	}
	if err := render(b); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if !bytes.Equal(x, y) {
		t.Fatalf("%s: two renders of the same input differ", name)
	}
	return a
}

func TestConfusionMatrixPNG(t *testing.T) {
	cm := [][]int{{15, 0, 0}, {0, 11, 0}, {0, 0, 12}}
	path := renderTwice(t, "cm.png", func(p string) error {
		return ConfusionMatrixPNG(p, cm, irisNames, "iris")
	})
	img, hist := decode(t, path)
	// About 5.5 in square at dpi dots per inch.
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 5*dpi || h < 5*dpi || w > 7*dpi || h > 7*dpi {
		t.Fatalf("image is %d×%d pixels", w, h)
	}
	if len(hist) < 20 {
		t.Fatalf("image has only %d colours: blank?", len(hist))
	}
	// Zero cells are the palette's lightest colour, the largest count its
	// darkest: both cover a good part of the image.
	pal := newRamp(256)
	light := color.RGBAModel.Convert(pal[0]).(color.RGBA)
	dark := color.RGBAModel.Convert(pal[255]).(color.RGBA)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	if hist[light] < total/5 {
		t.Errorf("zero cells cover %d of %d pixels", hist[light], total)
	}
	if hist[dark] < total/30 {
		t.Errorf("the 15 cell covers %d of %d pixels", hist[dark], total)
	}
	// The count on the darkest cell is written in white: inside the box of
	// dark pixels, some are near-white.
	box := image.Rectangle{Min: img.Bounds().Max, Max: img.Bounds().Min}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == dark {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	whiteText := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA); c.R > 200 && c.G > 200 && c.B > 200 {
				whiteText++
			}
		}
	}
	if whiteText < 50 {
		t.Errorf("the darkest cell %v holds %d near-white pixels: its count is not written in white", box, whiteText)
	}

	// The counts are drawn: scaling every count keeps the colours but
	// changes the numbers, hence the image.
	other := filepath.Join(t.TempDir(), "other.png")
	if err := ConfusionMatrixPNG(other, [][]int{{30, 0, 0}, {0, 22, 0}, {0, 0, 24}}, irisNames, "iris"); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(path)
	y, _ := os.ReadFile(other)
	if bytes.Equal(x, y) {
		t.Error("different counts give the same image")
	}
}

func TestConfusionMatrixRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cm   [][]int
		cls  []string
		want string
	}{
		{"no classes", nil, nil, "at least one class"},
		{"rows", [][]int{{1, 0}}, []string{"a", "b"}, "1 rows for 2 classes"},
		{"ragged", [][]int{{1, 0}, {1}}, []string{"a", "b"}, "row 2 of the confusion matrix has 1 counts"},
		{"negative", [][]int{{1, -1}, {0, 1}}, []string{"a", "b"}, "negative count"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".png")
			err := ConfusionMatrixPNG(path, tc.cm, tc.cls, "")
			if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an Invalid error containing %q", err, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("a file was written for bad input")
			}
		})
	}
}

func TestROCCurvePNG(t *testing.T) {
	fpr := []float64{0, 0, 0.1, 0.1, 0.3, 0.5, 1}
	tpr := []float64{0, 0.4, 0.6, 0.85, 0.9, 1, 1}
	path := renderTwice(t, "roc.png", func(p string) error { return ROCCurvePNG(p, fpr, tpr, 0.9125, "") })
	img, hist := decode(t, path)
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 55*dpi/10 || h != 55*dpi/10 {
		t.Fatalf("image is %d×%d pixels, want 5.5 in at %d dpi", w, h, dpi)
	}
	if hist[color.RGBA{31, 119, 180, 255}] < 500 {
		t.Errorf("the curve colour covers only %d pixels", hist[color.RGBA{31, 119, 180, 255}])
	}
	if len(hist) < 20 {
		t.Fatalf("image has only %d colours", len(hist))
	}

	for _, tc := range []struct {
		fpr, tpr []float64
		want     string
	}{
		{[]float64{0, 1}, []float64{0}, "2 false positive rates but 1"},
		{[]float64{0}, []float64{0}, "at least 2 points"},
		{[]float64{0, 1.5}, []float64{0, 1}, "outside 0..1"},
		{[]float64{0, math.NaN()}, []float64{0, 1}, "outside 0..1"},
	} {
		if err := ROCCurvePNG(filepath.Join(t.TempDir(), "x.png"), tc.fpr, tc.tpr, 0.5, ""); errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fpr %v tpr %v: got %v, want %q", tc.fpr, tc.tpr, err, tc.want)
		}
	}
}

func TestLearningCurvePNG(t *testing.T) {
	var steps, train, val []float64
	for i := range 51 {
		x := float64(i)
		steps = append(steps, x)
		train = append(train, 1.1/(1+0.2*x)+0.05)
		val = append(val, 1.2/(1+0.15*x)+0.12)
	}
	val[10] = math.NaN() // skipped, not an error
	series := []Series{{"train_loss", steps, train}, {"validation_loss", steps, val}}
	path := renderTwice(t, "lc.png", func(p string) error { return LearningCurvePNG(p, series, "loss", "log loss") })
	img, hist := decode(t, path)
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 7*dpi || h != 45*dpi/10 {
		t.Fatalf("image is %d×%d pixels, want 7 in × 4.5 in at %d dpi", w, h, dpi)
	}
	if len(hist) < 20 {
		t.Fatalf("image has only %d colours", len(hist))
	}

	bad := []struct {
		series []Series
		want   string
	}{
		{nil, "at least one series"},
		{[]Series{{"a", []float64{1, 2}, []float64{1}}}, `"a" has 2 steps but 1 values`},
		{[]Series{{"a", []float64{1}, []float64{math.Inf(1)}}}, "no finite values"},
	}
	for _, tc := range bad {
		err := LearningCurvePNG(filepath.Join(t.TempDir(), "x.png"), tc.series, "", "")
		if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func testReport() ClassReport {
	return ClassReport{
		Classes: []ClassRow{
			{"setosa", Row{1, 1, 1, 15}},
			{"<script>alert(1)</script>", Row{0.9166666666666666, 1, 0.9565217391304348, 11}},
			{"virginica & co", Row{1, 0.9166666666666666, 0.9565217391304348, 12}},
		},
		Accuracy:  0.9736842105263158,
		Macro:     Row{0.9722222222222222, 0.9722222222222222, 0.9710144927536232, 38},
		Weighted:  Row{0.9758771929824561, 0.9736842105263158, 0.9737223493516401, 38},
		Confusion: [][]int{{15, 0, 0}, {0, 11, 0}, {0, 1, 11}},
	}
}

func TestClassificationReportHTML(t *testing.T) {
	var a, b bytes.Buffer
	if err := ClassificationReportHTML(&a, testReport(), `iris <b>"eval"</b>`); err != nil {
		t.Fatal(err)
	}
	if err := ClassificationReportHTML(&b, testReport(), `iris <b>"eval"</b>`); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two renders differ")
	}
	page := a.String()
	for _, bad := range []string{"<script", "<b>", "virginica & co", "ZgotmplZ"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"virginica &amp; co",
		"<title>iris &lt;b&gt;&#34;eval&#34;&lt;/b&gt;</title>",
		"<td class=\"num\">0.917</td>",     // precision of class 2, 3 decimals
		"<td class=\"num\">0.974</td>",     // accuracy
		"<th scope=\"row\">macro avg</th>", // average rows
		"<th scope=\"row\">weighted avg</th>",
		"38 samples",
		"style=\"background:#08306b;color:#fff\">15</td>", // largest count: darkest, white text
		"style=\"background:#f7fbff;color:#000\">0</td>",  // zero: lightest, black text
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<tr><th scope=\"row\">"); n != 3+2+3 {
		t.Errorf("page has %d plain rows with a row header, want 8 (3 classes, 2 averages, 3 matrix rows)", n)
	}

	bad := testReport()
	bad.Confusion = bad.Confusion[:2]
	if err := ClassificationReportHTML(&bytes.Buffer{}, bad, ""); errs.Code(err) != errs.Invalid {
		t.Fatalf("short confusion matrix: got %v", err)
	}
}

// TestWriteSamples renders the iris samples to a directory named by
// MLRUN_REPORT_SAMPLES, for a person to look at; it is skipped otherwise.
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("MLRUN_REPORT_SAMPLES")
	if dir == "" {
		t.Skip("set MLRUN_REPORT_SAMPLES=dir to write sample artifacts")
	}
	if err := ConfusionMatrixPNG(filepath.Join(dir, "cm.png"), [][]int{{15, 0, 0}, {0, 11, 0}, {0, 0, 12}}, irisNames, "iris — confusion matrix"); err != nil {
		t.Fatal(err)
	}
	if err := ROCCurvePNG(filepath.Join(dir, "roc.png"), []float64{0, 0, 0.1, 0.1, 0.3, 0.5, 1}, []float64{0, 0.4, 0.6, 0.85, 0.9, 1, 1}, 0.9125, ""); err != nil {
		t.Fatal(err)
	}
	var steps, train, val []float64
	for i := range 51 {
		x := float64(i)
		steps = append(steps, x)
		train = append(train, 1.1/(1+0.2*x)+0.05)
		val = append(val, 1.2/(1+0.15*x)+0.12)
	}
	if err := LearningCurvePNG(filepath.Join(dir, "lc.png"), []Series{{"train_loss", steps, train}, {"validation_loss", steps, val}}, "logistic regression — loss", "log loss"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ClassificationReportHTML(f, testReport(), "iris — classification report"); err != nil {
		t.Fatal(err)
	}
}

// An axis's ticks are computed once for its range while a plot is laid
// out and drawn, and the plot's pixels are those of ticks computed every
// time gonum asks.
func TestAxisTicksAreComputedOnce(t *testing.T) {
	plots := samplePlots(t)
	maps.Copy(plots, irisPlots(t))
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		sp := plots[name]
		counted, every := *sp.p, *sp.p
		calls := 0
		for _, a := range []*plot.Axis{&counted.X, &counted.Y} {
			if _, ok := a.Tick.Marker.(*onceTicks); !ok {
				continue // the confusion matrix's ticks are its classes
			}
			a.Tick.Marker = &onceTicks{ticks: func(min, max float64) []plot.Tick { calls++; return shortTicks(min, max) }}
		}
		for _, a := range []*plot.Axis{&every.X, &every.Y} {
			if _, ok := a.Tick.Marker.(*onceTicks); ok {
				a.Tick.Marker = plot.TickerFunc(shortTicks)
			}
		}
		got := drawPlot(&sizedPlot{&counted, sp.w, sp.h}, false)
		want := drawPlot(&sizedPlot{&every, sp.w, sp.h}, false)
		if n := differentPixels(got, want); n > 0 {
			t.Errorf("%s: %d pixels differ from the plot whose ticks are computed every time", name, n)
		}
		if name != "confusion" && name != "iris confusion" && calls != 2 {
			t.Errorf("%s: the ticks of its two axes were computed %d times", name, calls)
		}
	}
	// A new range gives its own ticks.
	o := &onceTicks{ticks: shortTicks}
	for _, r := range [][2]float64{{0, 1}, {0, 1}, {0, 29}, {-3, 3}, {0, 1}} {
		if got, want := o.Ticks(r[0], r[1]), shortTicks(r[0], r[1]); !slices.Equal(got, want) {
			t.Errorf("ticks of %v: %v, not %v", r, got, want)
		}
	}
}
