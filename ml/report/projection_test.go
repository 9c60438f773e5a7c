package report

import (
	"bytes"
	"image/color"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotutil"
)

func testProjection() *Projection {
	return &Projection{
		PC1: []float64{-2, -1.8, 0.1, 0.3, 2, 2.2}, PC2: []float64{0.5, -0.4, 1, -1, 0.2, 0.1},
		Ratio1: 0.7294, Ratio2: 0.2285,
		True:      []string{"setosa", "setosa", "versicolor", "versicolor", "virginica", "virginica"},
		Predicted: []string{"setosa", "setosa", "versicolor", "virginica", "virginica", "virginica"},
		Classes:   irisNames,
	}
}

// The classification view draws every class in its colour and rings the
// misclassified row in black; rendering is deterministic.
func TestProjectionPNG(t *testing.T) {
	path := renderTwice(t, "projection.png", func(p string) error {
		return ProjectionPNG(p, testProjection(), "Test set on its principal components")
	})
	_, hist := decode(t, path)
	for c := range irisNames {
		col := color.RGBAModel.Convert(plotutil.Color(c)).(color.RGBA)
		if hist[col] < 20 {
			t.Errorf("class %d colour %v has %d pixels", c, col, hist[col])
		}
	}
	if hist[color.RGBA{A: 255}] < 20 {
		t.Errorf("no black ring for the misclassified row")
	}
	p := testProjection()
	p.Predicted = p.True
	correct := renderTwice(t, "correct.png", func(path string) error { return ProjectionPNG(path, p, "Test set on its principal components") })
	_, h2 := decode(t, correct)
	if h2[color.RGBA{A: 255}] >= hist[color.RGBA{A: 255}] {
		t.Errorf("without errors the plot has as much black (%d) as with one (%d)", h2[color.RGBA{A: 255}], hist[color.RGBA{A: 255}])
	}
}

func TestProjectionCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteProjectionCSV(&b, testProjection()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 7 || lines[0] != "row,pc1,pc2,true,predicted,correct" || lines[4] != "3,0.3,-1,versicolor,virginica,false" {
		t.Errorf("csv:\n%s", b.String())
	}
	r := &Projection{PC1: []float64{1, 2}, PC2: []float64{0, 0}, TrueValue: []float64{10, 20}, PredictedValue: []float64{12.5, 19}, Target: "y"}
	b.Reset()
	if err := WriteProjectionCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "row,pc1,pc2,true,predicted,residual\n0,1,0,10,12.5,2.5\n1,2,0,20,19,-1\n" {
		t.Errorf("regression csv:\n%s", got)
	}
	renderTwice(t, "residuals.png", func(path string) error { return ProjectionPNG(path, r, "Predicted vs true") })
	bad := testProjection()
	bad.PC2 = bad.PC2[:2]
	if err := WriteProjectionCSV(&b, bad); err == nil {
		t.Error("mismatched lengths accepted")
	}
}
