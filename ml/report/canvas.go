package report

import (
	"image"
	"image/color"
	"math"

	"git.sr.ht/~sbinet/gg"
	"github.com/golang/freetype/raster"
	"golang.org/x/image/math/fixed"
	plotfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// fastCanvas is the vgimg canvas a plot is drawn on, with a cheaper fill
// of polygons (heat-map cells, legend boxes): gg fills a path through the
// freetype rasterizer and its RGBAPainter, which blends every pixel of a
// span, even a fully covered pixel of an opaque colour, through four
// divisions. fastCanvas builds the very path gg would, rasterizes it with
// the same rasterizer, and paints with spanPainter, which writes the
// colour itself where the blend gives it and blends as RGBAPainter does
// elsewhere: the pixels are the same. Paths with arcs or curves go to gg.
// It draws text with the faces of a glyphCache.
type fastCanvas struct {
	*vgimg.Canvas
	ctx    *gg.Context
	img    *image.RGBA
	colors []color.Color // the colour stack, as vgimg keeps it
	rast   *raster.Rasterizer
	glyphs *glyphCache
}

// newFastCanvas returns a fastCanvas drawing on c, whose drawing context
// is ctx and whose image is img, taking glyphs from glyphs.
func newFastCanvas(c *vgimg.Canvas, ctx *gg.Context, img *image.RGBA, glyphs *glyphCache) *fastCanvas {
	return &fastCanvas{Canvas: c, ctx: ctx, img: img, colors: []color.Color{color.Black}, glyphs: glyphs}
}

// FillString implements vg.Canvas as vgimg does, with the face of fnt
// from the glyph cache.
func (c *fastCanvas) FillString(fnt plotfont.Face, pt vg.Point, str string) {
	if fnt.Font.Size == 0 {
		return
	}
	c.ctx.Push()
	defer c.ctx.Pop()
	dpi := c.DPI()
	c.ctx.SetFontFace(c.glyphs.face(fnt, dpi))
	_, h := c.Size()
	x, y := pt.X.Dots(dpi), pt.Y.Dots(dpi)
	c.ctx.InvertY()
	c.ctx.DrawString(str, x, h.Dots(dpi)-y)
}

// SetColor implements vg.Canvas.
func (c *fastCanvas) SetColor(clr color.Color) {
	c.Canvas.SetColor(clr)
	if clr == nil {
		clr = color.Black
	}
	c.colors[len(c.colors)-1] = clr
}

// Push implements vg.Canvas.
func (c *fastCanvas) Push() {
	c.Canvas.Push()
	c.colors = append(c.colors, c.colors[len(c.colors)-1])
}

// Pop implements vg.Canvas.
func (c *fastCanvas) Pop() {
	c.Canvas.Pop()
	c.colors = c.colors[:len(c.colors)-1]
}

// Fill implements vg.Canvas.
func (c *fastCanvas) Fill(p vg.Path) {
	for _, comp := range p {
		if comp.Type != vg.MoveComp && comp.Type != vg.LineComp && comp.Type != vg.CloseComp {
			c.Canvas.Fill(p)
			return
		}
	}
	// The path as gg.Context's MoveTo, LineTo, ClosePath and Fill build
	// it from vgimg's calls (gg's path is empty between drawing calls).
	dpi := c.DPI()
	var path raster.Path
	var start fixed.Point26_6
	hasCurrent := false
	point := func(pt vg.Point) fixed.Point26_6 {
		x, y := c.ctx.TransformPoint(pt.X.Dots(dpi), pt.Y.Dots(dpi))
		return fixed.Point26_6{X: fixed.Int26_6(math.Round(x * 64)), Y: fixed.Int26_6(math.Round(y * 64))}
	}
	for _, comp := range p {
		switch {
		case comp.Type == vg.MoveComp || comp.Type == vg.LineComp && !hasCurrent:
			if hasCurrent {
				path.Add1(start)
			}
			start = point(comp.Pos)
			path.Start(start)
			hasCurrent = true
		case comp.Type == vg.LineComp:
			path.Add1(point(comp.Pos))
		case hasCurrent: // vg.CloseComp
			path.Add1(start)
		}
	}
	if hasCurrent {
		path.Add1(start)
	}
	if c.rast == nil {
		b := c.img.Bounds()
		c.rast = raster.NewRasterizer(b.Dx(), b.Dy())
	}
	c.rast.UseNonZeroWinding = true // gg's default fill rule, which vgimg keeps
	c.rast.Clear()
	c.rast.AddPath(path)
	sp := spanPainter{img: c.img}
	sp.cr, sp.cg, sp.cb, sp.ca = c.colors[len(c.colors)-1].RGBA()
	c.rast.Rasterize(&sp)
}

// spanPainter paints spans of the rasterizer in a colour over an image,
// with exactly the arithmetic of raster.RGBAPainter (whose Op is
// draw.Over, as gg uses it), faster where a span covers its pixels fully
// with an opaque colour: that blend gives the colour itself.
type spanPainter struct {
	img            *image.RGBA
	cr, cg, cb, ca uint32 // the colour, alpha-premultiplied, 16 bits
}

// Paint implements raster.Painter.
func (r *spanPainter) Paint(ss []raster.Span, done bool) {
	b := r.img.Bounds()
	const m = 1<<16 - 1
	solid := r.ca == m
	var px [4]byte
	if solid {
		px = [4]byte{uint8(r.cr >> 8), uint8(r.cg >> 8), uint8(r.cb >> 8), 0xff}
	}
	for _, s := range ss {
		if s.Y < b.Min.Y {
			continue
		}
		if s.Y >= b.Max.Y {
			return
		}
		s.X0, s.X1 = max(s.X0, b.Min.X), min(s.X1, b.Max.X)
		if s.X0 >= s.X1 {
			continue
		}
		ma := s.Alpha
		i0 := (s.Y-r.img.Rect.Min.Y)*r.img.Stride + (s.X0-r.img.Rect.Min.X)*4
		i1 := i0 + (s.X1-s.X0)*4
		pix := r.img.Pix[i0:i1:i1]
		if solid && ma == m {
			// a = (m - ca·ma/m)·0x101 = 0, so each channel becomes
			// (c·m/m) >> 8 = c >> 8.
			// The first pixel, then copies doubling the painted part.
			copy(pix, px[:])
			for n := 4; n < len(pix); n *= 2 {
				copy(pix[n:], pix[:n])
			}
			continue
		}
		// The blend of raster.RGBAPainter.Paint (freetype, BSD licence).
		a := (m - (r.ca * ma / m)) * 0x101
		for i := 0; i+3 < len(pix); i += 4 {
			dr, dg, db, da := uint32(pix[i]), uint32(pix[i+1]), uint32(pix[i+2]), uint32(pix[i+3])
			pix[i+0] = uint8((dr*a + r.cr*ma) / m >> 8)
			pix[i+1] = uint8((dg*a + r.cg*ma) / m >> 8)
			pix[i+2] = uint8((db*a + r.cb*ma) / m >> 8)
			pix[i+3] = uint8((da*a + r.ca*ma) / m >> 8)
		}
	}
}
