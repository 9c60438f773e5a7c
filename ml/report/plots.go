// Package report renders the evaluation artifacts a person opens after a
// run: a confusion-matrix heat map, a ROC curve and learning curves as PNG
// images (drawn with gonum.org/v1/plot), and a self-contained HTML
// classification report.
//
// Rendering is deterministic: the same input gives byte-identical PNG and
// HTML files, so artifacts can be compared and cached by content.
package report

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"strconv"
	"sync"

	"git.sr.ht/~sbinet/gg"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mlrun/mlrun/errs"
)

// dpi is the resolution of the PNG images.
const dpi = 100

// blues are the stops of ColorBrewer's sequential "Blues" scheme, from
// light to dark; the heat map interpolates between them.
var blues = []color.RGBA{
	{247, 251, 255, 255}, {222, 235, 247, 255}, {198, 219, 239, 255},
	{158, 202, 225, 255}, {107, 174, 214, 255}, {66, 146, 198, 255},
	{33, 113, 181, 255}, {8, 81, 156, 255}, {8, 48, 107, 255},
}

// ramp is a palette of colours interpolated along blues.
type ramp []color.Color

// Colors implements palette.Palette.
func (r ramp) Colors() []color.Color { return r }

// newRamp returns n colours evenly spread along the blues stops.
func newRamp(n int) ramp {
	r := make(ramp, n)
	for i := range r {
		t := float64(i) / float64(n-1) * float64(len(blues)-1)
		k := min(int(t), len(blues)-2)
		f := t - float64(k)
		a, b := blues[k], blues[k+1]
		mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + f*(float64(y)-float64(x)))) }
		r[i] = color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
	}
	return r
}

// sizedPlot is a plot and the size of the image it is drawn on.
type sizedPlot struct {
	p    *plot.Plot
	w, h vg.Length
}

// writePNG draws sp and writes it as PNG, with fresh buffers.
func writePNG(out io.Writer, sp *sizedPlot) error {
	return (*Renderer)(nil).writePNG(out, sp)
}

// drawPlot draws sp on a w×h image (rounded to whole pixels). Unless plain
// is set (tests compare the two), it takes shortcuts that change no pixel:
// glyphs are copied rather than resampled (glyphCopier), the plot's white
// background is not painted over the image's white, and polygons are
// filled and glyphs taken from a cache by fastCanvas.
func drawPlot(sp *sizedPlot, plain bool) *image.RGBA {
	img := image.NewRGBA(sp.bounds())
	drawInto(img, sp, plain, &glyphCache{})
	return img
}

// bounds returns the rectangle of sp's image in pixels.
func (sp *sizedPlot) bounds() image.Rectangle {
	return image.Rect(0, 0, int(sp.w/vg.Inch*dpi+0.5), int(sp.h/vg.Inch*dpi+0.5))
}

// drawInto draws sp on img, whatever img held before (vgimg paints it all
// white first), taking glyphs from glyphs unless plain; see drawPlot.
func drawInto(img *image.RGBA, sp *sizedPlot, plain bool, glyphs *glyphCache) {
	// The canvas draws straight into img: vgimg's own constructor would
	// allocate the image, then a copy of it for its drawing context, which
	// costs a fifth of a plot.
	ctx := gg.NewContextForRGBA(img)
	ctx.SetLineCapButt() // as vgimg.NewWith sets up its own context
	ctx.InvertY()
	p := *sp.p // the shortcuts change a copy
	if !plain {
		ctx.SetInterpolator(glyphCopier{xdraw.BiLinear})
		// vgimg paints the whole image white; the plot's own white
		// background would paint it again through the rasterizer (a
		// tenth of a plot's time).
		if p.BackgroundColor == color.White {
			p.BackgroundColor = nil
		}
	}
	c := vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(dpi))
	var canvas vg.CanvasSizer = c
	if !plain {
		canvas = newFastCanvas(c, ctx, img, glyphs)
	}
	m := vg.Inch / 8
	p.Draw(draw.Crop(draw.New(canvas), m, -m, m, -m))
}

// glyphCopier is the interpolator the canvas draws text with: gg places
// every glyph mask with an affine transform, and for upright text that
// transform is a whole-pixel translation, which the generic bilinear path
// samples pixel by pixel through interfaces (a sixth of a plot's time). A
// translation is a copy: draw.Copy composes the same pixels (each bilinear
// sample falls exactly on a source pixel) through image/draw's fast glyph
// path. Rotated text goes to bilinearGlyphOver, the bilinear interpolator's
// arithmetic without its interface calls.
type glyphCopier struct{ xdraw.Interpolator }

// Transform implements draw.Transformer.
func (g glyphCopier) Transform(dst xdraw.Image, s2d f64.Aff3, src image.Image, sr image.Rectangle, op xdraw.Op, opts *xdraw.Options) {
	tx, ty := s2d[2], s2d[5]
	if s2d[0] == 1 && s2d[1] == 0 && s2d[3] == 0 && s2d[4] == 1 && tx == math.Trunc(tx) && ty == math.Trunc(ty) &&
		math.Abs(tx) < 1<<30 && math.Abs(ty) < 1<<30 {
		xdraw.Copy(dst, sr.Min.Add(image.Pt(int(tx), int(ty))), src, sr, op, opts)
		return
	}
	if g.Interpolator == xdraw.BiLinear && op == xdraw.Over && opts != nil && opts.DstMask == nil {
		d, dOK := dst.(*image.RGBA)
		u, uOK := src.(*image.Uniform)
		m, mOK := opts.SrcMask.(*image.Alpha)
		if dOK && uOK && mOK {
			bilinearGlyphOver(d, s2d, u, sr, m, opts.SrcMaskP)
			return
		}
	}
	g.Interpolator.Transform(dst, s2d, src, sr, op, opts)
}

// newPlot returns a plot with a title, axis labels, sans-serif text and
// tick labels without needless trailing zeros.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	useTextHandler(p, newTextHandler())
	p.Title.Text = title
	p.Title.TextStyle.Font.Variant = "Sans"
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Variant = "Sans"
		a.Label.TextStyle.Font.Size = vg.Points(12)
		a.Tick.Label.Font.Variant = "Sans"
		a.Tick.Label.Font.Size = vg.Points(10)
		a.Tick.Marker = &onceTicks{ticks: shortTicks}
	}
	p.Legend.TextStyle.Font.Variant = "Sans"
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	return p
}

// onceTicks is a plot.Ticker that computes the ticks of an axis once for
// its range: gonum asks an axis for its ticks five times while it lays out
// and draws a plot (for its extent, its size, the width of its labels,
// its drawing and its glyph boxes), which all read the same ticks. It is
// safe for concurrent use (a plot drawn twice at once); the ticks it
// returns are shared, and only read.
type onceTicks struct {
	ticks    func(min, max float64) []plot.Tick
	mu       sync.Mutex
	min, max float64
	last     []plot.Tick // the ticks of min to max; nil before any
}

// Ticks implements plot.Ticker.
func (o *onceTicks) Ticks(min, max float64) []plot.Tick {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil || min != o.min || max != o.max {
		o.last, o.min, o.max = o.ticks(min, max), min, max
		if o.last == nil {
			o.last = []plot.Tick{}
		}
	}
	return o.last
}

// shortTicks are gonum's default ticks labelled in the shortest form
// ("25" rather than "25.00").
func shortTicks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 6, 64)
		}
	}
	return ticks
}

// lightGrid returns light grey grid lines.
func lightGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	return g
}

// confusionGrid presents a confusion matrix as a heat-map grid: column c is
// predicted class c, grid row r is true class k-1-r so that the first
// class is at the top.
type confusionGrid struct{ cm [][]int }

// Dims implements plotter.GridXYZ.
func (g confusionGrid) Dims() (c, r int) { return len(g.cm), len(g.cm) }

// Z implements plotter.GridXYZ.
func (g confusionGrid) Z(c, r int) float64 { return float64(g.cm[len(g.cm)-1-r][c]) }

// X implements plotter.GridXYZ.
func (g confusionGrid) X(c int) float64 { return float64(c) }

// Y implements plotter.GridXYZ.
func (g confusionGrid) Y(r int) float64 { return float64(r) }

// checkConfusion rejects a matrix that is not k×k with non-negative counts.
func checkConfusion(cm [][]int, classNames []string) error {
	k := len(classNames)
	if k == 0 {
		return errs.Errorf(errs.Invalid, "a confusion matrix needs at least one class")
	}
	if len(cm) != k {
		return errs.Errorf(errs.Invalid, "the confusion matrix has %d rows for %d classes", len(cm), k)
	}
	for i, row := range cm {
		if len(row) != k {
			return errs.Errorf(errs.Invalid, "row %d of the confusion matrix has %d counts for %d classes", i+1, len(row), k)
		}
		for _, v := range row {
			if v < 0 {
				return errs.Errorf(errs.Invalid, "the confusion matrix has a negative count %d", v)
			}
		}
	}
	return nil
}

// ConfusionMatrixPNG writes the confusion matrix cm (cm[i][j] = samples of
// true class i predicted as class j) to path as an annotated heat map; see
// WriteConfusionMatrixPNG.
func ConfusionMatrixPNG(path string, cm [][]int, classNames []string, title string) error {
	return (*Renderer)(nil).ConfusionMatrixPNG(path, cm, classNames, title)
}

// ConfusionMatrixPNG writes the plot of the package function ConfusionMatrixPNG, reusing r's buffers.
func (r *Renderer) ConfusionMatrixPNG(path string, cm [][]int, classNames []string, title string) error {
	return r.save(path, confusionKey(cm, classNames, title), func() (*sizedPlot, error) { return confusionMatrixPlot(cm, classNames, title) })
}

// WriteConfusionMatrixPNG writes cm as a PNG heat map: true classes top to
// bottom on the y axis, predicted classes left to right on the x axis, the
// count written in every cell in black on light cells and white on dark.
func WriteConfusionMatrixPNG(w io.Writer, cm [][]int, classNames []string, title string) error {
	sp, err := confusionMatrixPlot(cm, classNames, title)
	if err != nil {
		return err
	}
	return writePNG(w, sp)
}

// confusionMatrixPlot builds the plot WriteConfusionMatrixPNG draws.
func confusionMatrixPlot(cm [][]int, classNames []string, title string) (*sizedPlot, error) {
	if err := checkConfusion(cm, classNames); err != nil {
		return nil, err
	}
	k := len(classNames)
	maxCount := 0
	for _, row := range cm {
		for _, v := range row {
			maxCount = max(maxCount, v)
		}
	}

	p := newPlot(title, "predicted", "true")
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Tick.Label.Font.Size = vg.Points(11)
		a.Tick.Length = 0
		a.Padding = 0
		a.LineStyle.Width = 0
	}

	heat := plotter.NewHeatMap(confusionGrid{cm}, newRamp(256))
	heat.Min, heat.Max = 0, float64(max(maxCount, 1))
	p.Add(heat)

	// Sizes: about an inch per class, within 5 to 14 inches.
	side := vg.Length(math.Min(math.Max(2.5+0.9*float64(k), 5), 14)) * vg.Inch
	cell := (side - 2*vg.Inch) / vg.Length(k)
	fontSize := vg.Length(math.Min(16, math.Max(6, float64(cell)*0.3)))

	xTicks := make([]plot.Tick, k)
	yTicks := make([]plot.Tick, k)
	widest := vg.Length(0)
	for i, name := range classNames {
		xTicks[i] = plot.Tick{Value: float64(i), Label: name}
		yTicks[i] = plot.Tick{Value: float64(k - 1 - i), Label: name}
		widest = max(widest, p.X.Tick.Label.Width(name))
	}
	p.X.Tick.Marker = plot.ConstantTicks(xTicks)
	p.Y.Tick.Marker = plot.ConstantTicks(yTicks)
	if widest > cell*0.95 {
		// Long names would overlap under their cells: slant them.
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop
	}

	// The count in every cell, white on cells darker than half the maximum.
	lab := &plotter.Labels{}
	threshold := float64(maxCount) / 2
	for i, row := range cm {
		for j, v := range row {
			lab.XYs = append(lab.XYs, plotter.XY{X: float64(j), Y: float64(k - 1 - i)})
			lab.Labels = append(lab.Labels, strconv.Itoa(v))
			st := p.X.Tick.Label // a copy with the plot's font and text handler
			st.Font.Size = fontSize
			st.Rotation = 0
			st.XAlign = draw.XCenter
			st.YAlign = draw.YCenter
			st.Color = color.Black
			if float64(v) > threshold {
				st.Color = color.White
			}
			lab.TextStyle = append(lab.TextStyle, st)
		}
	}
	p.Add(lab)

	return &sizedPlot{p, side + widest/2, side}, nil
}

// ROCCurvePNG writes a ROC curve (false positive rate fpr against true
// positive rate tpr, points in threshold order) to path; see WriteROCCurvePNG.
func ROCCurvePNG(path string, fpr, tpr []float64, auc float64, title string) error {
	return (*Renderer)(nil).ROCCurvePNG(path, fpr, tpr, auc, title)
}

// ROCCurvePNG writes the plot of the package function ROCCurvePNG, reusing r's buffers.
func (r *Renderer) ROCCurvePNG(path string, fpr, tpr []float64, auc float64, title string) error {
	return r.save(path, rocKey(fpr, tpr, auc, title), func() (*sizedPlot, error) { return rocCurvePlot(fpr, tpr, auc, title) })
}

// WriteROCCurvePNG writes a ROC curve as PNG: the curve with its AUC in the
// legend, and the dashed diagonal of a random classifier. An empty title
// gives "ROC curve".
func WriteROCCurvePNG(w io.Writer, fpr, tpr []float64, auc float64, title string) error {
	sp, err := rocCurvePlot(fpr, tpr, auc, title)
	if err != nil {
		return err
	}
	return writePNG(w, sp)
}

// rocCurvePlot builds the plot WriteROCCurvePNG draws.
func rocCurvePlot(fpr, tpr []float64, auc float64, title string) (*sizedPlot, error) {
	if len(fpr) != len(tpr) {
		return nil, errs.Errorf(errs.Invalid, "the ROC curve has %d false positive rates but %d true positive rates", len(fpr), len(tpr))
	}
	if len(fpr) < 2 {
		return nil, errs.Errorf(errs.Invalid, "a ROC curve needs at least 2 points, not %d", len(fpr))
	}
	xys := make(plotter.XYs, len(fpr))
	for i := range fpr {
		for _, v := range []float64{fpr[i], tpr[i]} {
			if !(v >= 0 && v <= 1) {
				return nil, errs.Errorf(errs.Invalid, "ROC point %d has a rate %v outside 0..1", i+1, v)
			}
		}
		xys[i] = plotter.XY{X: fpr[i], Y: tpr[i]}
	}
	if title == "" {
		title = "ROC curve"
	}

	p := newPlot(title, "false positive rate", "true positive rate")
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(lightGrid())

	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("roc diagonal: %w", err)
	}
	diag.Color = color.Gray{Y: 130}
	diag.Width = vg.Points(1)
	diag.Dashes = []vg.Length{vg.Points(5), vg.Points(4)}

	curve, err := plotter.NewLine(xys)
	if err != nil {
		return nil, fmt.Errorf("roc curve: %w", err)
	}
	curve.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	curve.Width = vg.Points(2.5)
	p.Add(diag, curve)

	p.Legend.Add(fmt.Sprintf("ROC (AUC = %.3f)", auc), curve)
	p.Legend.Add("random guess", diag)
	p.Legend.Top = false
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = vg.Points(8)
	return &sizedPlot{p, 5.5 * vg.Inch, 5.5 * vg.Inch}, nil
}

// Series is one named curve of a learning-curve plot, such as the training
// loss by iteration.
type Series struct {
	Name   string
	Steps  []float64
	Values []float64
}

// LearningCurvePNG writes series as lines against their steps to path; see
// WriteLearningCurvePNG.
func LearningCurvePNG(path string, series []Series, title, yLabel string) error {
	return (*Renderer)(nil).LearningCurvePNG(path, series, title, yLabel)
}

// LearningCurvePNG writes the plot of the package function LearningCurvePNG, reusing r's buffers.
func (r *Renderer) LearningCurvePNG(path string, series []Series, title, yLabel string) error {
	return r.save(path, learningCurveKey(series, title, yLabel), func() (*sizedPlot, error) { return learningCurvePlot(series, title, yLabel) })
}

// WriteLearningCurvePNG writes series as PNG lines, one colour per series
// with a legend, steps on the x axis and yLabel on the y axis. Non-finite
// values (a diverged loss) are left out; short series also get point marks.
func WriteLearningCurvePNG(w io.Writer, series []Series, title, yLabel string) error {
	sp, err := learningCurvePlot(series, title, yLabel)
	if err != nil {
		return err
	}
	return writePNG(w, sp)
}

// learningCurvePlot builds the plot WriteLearningCurvePNG draws.
func learningCurvePlot(series []Series, title, yLabel string) (*sizedPlot, error) {
	if len(series) == 0 {
		return nil, errs.Errorf(errs.Invalid, "a learning curve needs at least one series")
	}
	p := newPlot(title, "step", yLabel)
	p.Add(lightGrid())

	// The legend goes in the top corner unless the curves end high (an
	// accuracy rising to the top right), then in the bottom corner.
	lo, hi := math.Inf(1), math.Inf(-1)
	var lastSum float64
	drawn := 0
	for i, s := range series {
		if len(s.Steps) != len(s.Values) {
			return nil, errs.Errorf(errs.Invalid, "series %q has %d steps but %d values", s.Name, len(s.Steps), len(s.Values))
		}
		var xys plotter.XYs
		for j := range s.Steps {
			x, y := s.Steps[j], s.Values[j]
			if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: y})
		}
		if len(xys) == 0 {
			continue
		}
		for _, pt := range xys {
			lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
		}
		lastSum += xys[len(xys)-1].Y
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", s.Name, err)
		}
		c := plotutil.Color(i)
		line.Color = c
		line.Width = vg.Points(2)
		p.Add(line)
		thumbs := []plot.Thumbnailer{line}
		if len(xys) <= 40 {
			points.Color = c
			points.Shape = draw.CircleGlyph{}
			points.Radius = vg.Points(2.5)
			p.Add(points)
			thumbs = append(thumbs, points)
		}
		p.Legend.Add(s.Name, thumbs...)
		drawn++
	}
	if drawn == 0 {
		return nil, errs.Errorf(errs.Invalid, "the learning curve has no finite values to draw")
	}
	p.Legend.Top = lastSum/float64(drawn) <= (lo+hi)/2
	return &sizedPlot{p, 7 * vg.Inch, 4.5 * vg.Inch}, nil
}
