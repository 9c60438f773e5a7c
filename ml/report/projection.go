package report

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mlrun/mlrun/errs"
)

// Projection is the embeddings view of a test set: every row's coordinates
// on the first two principal components of its features, and the true and
// predicted values.
type Projection struct {
	// PC1 and PC2 are the coordinates (PC2 is all zeros with one feature).
	PC1, PC2 []float64
	// Ratio1 and Ratio2 are the components' explained variance ratios.
	Ratio1, Ratio2 float64
	// Classification: the true and predicted class names of each row.
	True, Predicted []string
	// Classes are the class names in colour order.
	Classes []string
	// Regression: the true and predicted values of each row.
	TrueValue, PredictedValue []float64
	// Target names the target column (axis labels of the regression plot).
	Target string
}

// regression reports whether p describes a regressor's predictions.
func (p *Projection) regression() bool { return p.TrueValue != nil }

func (p *Projection) check() error {
	n := len(p.PC1)
	if n == 0 {
		return errs.Errorf(errs.Invalid, "the projection has no rows")
	}
	if len(p.PC2) != n {
		return errs.Errorf(errs.Invalid, "the projection has %d PC1 but %d PC2 coordinates", n, len(p.PC2))
	}
	if p.regression() {
		if len(p.TrueValue) != n || len(p.PredictedValue) != n {
			return errs.Errorf(errs.Invalid, "the projection has %d rows but %d true and %d predicted values", n, len(p.TrueValue), len(p.PredictedValue))
		}
		return nil
	}
	if len(p.True) != n || len(p.Predicted) != n {
		return errs.Errorf(errs.Invalid, "the projection has %d rows but %d true and %d predicted classes", n, len(p.True), len(p.Predicted))
	}
	return nil
}

// WriteProjectionCSV writes the projection's coordinates, one row per test
// row: row,pc1,pc2,true,predicted then correct (classification) or residual
// = predicted - true (regression).
func WriteProjectionCSV(w io.Writer, p *Projection) error {
	if err := p.check(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	last := "correct"
	if p.regression() {
		last = "residual"
	}
	if err := cw.Write([]string{"row", "pc1", "pc2", "true", "predicted", last}); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for i := range p.PC1 {
		rec := []string{strconv.Itoa(i), f(p.PC1[i]), f(p.PC2[i])}
		if p.regression() {
			rec = append(rec, f(p.TrueValue[i]), f(p.PredictedValue[i]), f(p.PredictedValue[i]-p.TrueValue[i]))
		} else {
			rec = append(rec, p.True[i], p.Predicted[i], strconv.FormatBool(p.True[i] == p.Predicted[i]))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ProjectionPNG writes the projection plot to path; see WriteProjectionPNG.
func ProjectionPNG(path string, p *Projection, title string) error {
	return (*Renderer)(nil).ProjectionPNG(path, p, title)
}

// ProjectionPNG writes the plot of the package function ProjectionPNG, reusing r's buffers.
func (r *Renderer) ProjectionPNG(path string, p *Projection, title string) error {
	return r.save(path, projectionKey(p, title), func() (*sizedPlot, error) { return projectionPlot(p, title) })
}

// WriteProjectionPNG draws the embeddings view as PNG. For a classifier:
// the rows on the first two principal components, coloured by true class,
// misclassified rows circled in black, each axis labelled with its share of
// the variance. For a regressor: predicted against true values, the
// diagonal of perfect predictions and each residual as a segment.
func WriteProjectionPNG(w io.Writer, p *Projection, title string) error {
	sp, err := projectionPlot(p, title)
	if err != nil {
		return err
	}
	return writePNG(w, sp)
}

// projectionPlot builds the plot WriteProjectionPNG draws.
func projectionPlot(p *Projection, title string) (*sizedPlot, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if p.regression() {
		return residualPlot(p, title)
	}
	pl := newPlot(title, fmt.Sprintf("PC1 (%.1f%% of variance)", 100*p.Ratio1), fmt.Sprintf("PC2 (%.1f%% of variance)", 100*p.Ratio2))
	pl.Add(lightGrid())
	index := map[string]int{}
	for i, c := range p.Classes {
		index[c] = i
	}
	groups := make([]plotter.XYs, len(p.Classes))
	var wrong plotter.XYs
	for i := range p.PC1 {
		xy := plotter.XY{X: p.PC1[i], Y: p.PC2[i]}
		c, ok := index[p.True[i]]
		if !ok {
			return nil, errs.Errorf(errs.Invalid, "row %d has class %q, which is not among the %d classes", i, p.True[i], len(p.Classes))
		}
		groups[c] = append(groups[c], xy)
		if p.True[i] != p.Predicted[i] {
			wrong = append(wrong, xy)
		}
	}
	for c, xys := range groups {
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("projection of class %s: %w", p.Classes[c], err)
		}
		s.Color = plotutil.Color(c)
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(3)
		pl.Add(s)
		pl.Legend.Add(p.Classes[c], s)
	}
	if len(wrong) > 0 {
		s, err := plotter.NewScatter(wrong)
		if err != nil {
			return nil, fmt.Errorf("misclassified points: %w", err)
		}
		s.Color = color.Black
		s.Shape = draw.RingGlyph{}
		s.Radius = vg.Points(6)
		pl.Add(s)
		pl.Legend.Add(fmt.Sprintf("misclassified (%d)", len(wrong)), s)
	}
	return &sizedPlot{pl, 7 * vg.Inch, 5.5 * vg.Inch}, nil
}

// residualPlot draws predicted against true values with residuals.
func residualPlot(p *Projection, title string) (*sizedPlot, error) {
	target := p.Target
	if target == "" {
		target = "target"
	}
	pl := newPlot(title, "true "+target, "predicted "+target)
	pl.Add(lightGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	var pts plotter.XYs
	for i := range p.TrueValue {
		t, y := p.TrueValue[i], p.PredictedValue[i]
		if math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			return nil, errs.Errorf(errs.Invalid, "row %d has a non-finite true or predicted value", i)
		}
		lo, hi = math.Min(lo, math.Min(t, y)), math.Max(hi, math.Max(t, y))
		pts = append(pts, plotter.XY{X: t, Y: y})
	}
	for _, pt := range pts {
		seg, err := plotter.NewLine(plotter.XYs{{X: pt.X, Y: pt.X}, {X: pt.X, Y: pt.Y}})
		if err != nil {
			return nil, fmt.Errorf("residual: %w", err)
		}
		seg.Color = color.NRGBA{R: 214, G: 39, B: 40, A: 150}
		seg.Width = vg.Points(1)
		pl.Add(seg)
	}
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, fmt.Errorf("diagonal: %w", err)
	}
	diag.Color = color.Gray{Y: 110}
	diag.Width = vg.Points(1)
	diag.Dashes = []vg.Length{vg.Points(5), vg.Points(4)}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, fmt.Errorf("predictions: %w", err)
	}
	s.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(3)
	pl.Add(diag, s)
	pl.Legend.Add("prediction", s)
	pl.Legend.Add("residual", &plotter.Line{LineStyle: draw.LineStyle{Color: color.RGBA{R: 214, G: 39, B: 40, A: 255}, Width: vg.Points(1)}})
	pl.Legend.Add("perfect prediction", diag)
	pl.Legend.Top = true
	pl.Legend.Left = true
	return &sizedPlot{pl, 6 * vg.Inch, 6 * vg.Inch}, nil
}
