package report

import (
	"image"
	"image/draw"
	"slices"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
	plotfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// glyphCache keeps the rasterized glyphs, advances and kernings of the
// faces plots draw text in. vgimg opens a new face for every string and
// the face rasterizes every glyph of it anew; a glyph's mask only depends
// on the face, the rune and the dot's position within its pixel (the face
// places the mask at the dot's whole pixel, see opentype.Face.Glyph), so a
// glyph drawn again is the same mask, taken from here. It is safe for
// concurrent use; the zero value is ready.
type glyphCache struct {
	mu    sync.Mutex
	faces map[faceKey]*cachedFace
}

// faceKey identifies a face as gonum's font.Face.FontFace opens it.
type faceKey struct {
	font *opentype.Font
	size vg.Length
	dpi  float64
}

// maxGlyphs bounds the glyphs a face keeps (a few kilobytes each at
// most); beyond, glyphs are rasterized every time.
const maxGlyphs = 4096

// face returns the cached face of f at dpi.
func (g *glyphCache) face(f plotfont.Face, dpi float64) *cachedFace {
	key := faceKey{f.Face, f.Font.Size, dpi}
	g.mu.Lock()
	defer g.mu.Unlock()
	if cf, ok := g.faces[key]; ok {
		return cf
	}
	if g.faces == nil {
		g.faces = map[faceKey]*cachedFace{}
	}
	face := f.FontFace(dpi)
	cf := &cachedFace{face: face, metrics: face.Metrics(),
		font: f.Face, scale: fixed.Int26_6(0.5 + (f.Font.Size.Points() * dpi * 64 / 72)), // as FontFace's opentype.NewFace
		glyphs: map[glyphKey]cachedGlyph{}, outlines: map[rune]*outline{},
		advances: map[rune]cachedAdvance{}, kerns: map[[2]rune]fixed.Int26_6{}}
	if len(g.faces) < maxFaces {
		g.faces[key] = cf
	}
	return cf
}

// maxFaces bounds the faces a glyphCache keeps (plots use a few: title,
// labels, ticks, legend, and the counts of a confusion matrix, whose size
// depends on the number of classes); beyond, a face serves one string.
const maxFaces = 64

// glyphKey is a rune at a position within a pixel.
type glyphKey struct {
	r    rune
	x, y fixed.Int26_6 // the dot's fractional part, 0 to 63
}

// cachedGlyph is what opentype.Face.Glyph returned for a dot in pixel
// (0, 0): a mask never modified.
type cachedGlyph struct {
	dr      image.Rectangle
	mask    *image.Alpha
	advance fixed.Int26_6
	ok      bool
}

// cachedAdvance is what GlyphAdvance returned.
type cachedAdvance struct {
	advance fixed.Int26_6
	ok      bool
}

// cachedFace is a font.Face answering from its cache, and from the face
// it wraps on a miss. It is safe for concurrent use (the wrapped face is
// not: it reuses its mask).
type cachedFace struct {
	mu      sync.Mutex
	face    font.Face
	metrics font.Metrics
	// font and scale are the face's font and size (in 26.6 pixels per em),
	// buf and rast the memory rasterizing its glyphs (as the face's).
	font     *sfnt.Font
	scale    fixed.Int26_6
	buf      sfnt.Buffer
	rast     vector.Rasterizer
	glyphs   map[glyphKey]cachedGlyph
	outlines map[rune]*outline // by rune, for every position of the rune
	advances map[rune]cachedAdvance
	kerns    map[[2]rune]fixed.Int26_6
}

// Close implements font.Face; the face stays open for later plots.
func (f *cachedFace) Close() error { return nil }

// Glyph implements font.Face.
func (f *cachedFace) Glyph(dot fixed.Point26_6, r rune) (dr image.Rectangle, mask image.Image, maskp image.Point, advance fixed.Int26_6, ok bool) {
	whole := image.Pt(dot.X.Floor(), dot.Y.Floor())
	key := glyphKey{r, dot.X & 63, dot.Y & 63}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, hit := f.glyphs[key]
	if !hit {
		g = f.rasterize(fixed.Point26_6{X: key.x, Y: key.y}, r)
		if len(f.glyphs) < maxGlyphs {
			f.glyphs[key] = g
		}
	}
	if g.mask == nil {
		return g.dr.Add(whole), nil, image.Point{}, g.advance, g.ok
	}
	return g.dr.Add(whole), g.mask, image.Point{}, g.advance, g.ok
}

// outline is what a glyph's rasterizing takes from the font: the same
// for every position of the glyph, where the glyph's mask is not.
type outline struct {
	segments []sfnt.Segment
	bounds   fixed.Rectangle26_6
	advance  fixed.Int26_6
	ok       bool // the font has the glyph
	err      bool // the font could not give it
}

// rasterize returns the glyph of r at dot, exactly as the face's
// opentype.Face.Glyph does (x/image v0.30.0, BSD licence), from the
// outline of r loaded once for all its positions, its mask a new image.
func (f *cachedFace) rasterize(dot fixed.Point26_6, r rune) cachedGlyph {
	o := f.outlines[r]
	if o == nil {
		o = &outline{}
		x, err := f.font.GlyphIndex(&f.buf, r)
		if err == nil {
			o.advance, err = f.font.GlyphAdvance(&f.buf, x, f.scale, font.HintingNone)
		}
		var segments sfnt.Segments
		if err == nil {
			segments, err = f.font.LoadGlyph(&f.buf, x, f.scale, nil)
		}
		if err != nil {
			o.err = true
		} else {
			o.segments = slices.Clone([]sfnt.Segment(segments))
			o.bounds = segments.Bounds()
			o.ok = x != 0
		}
		if len(f.outlines) < maxGlyphs {
			f.outlines[r] = o
		}
	}
	if o.err {
		return cachedGlyph{}
	}
	var dr image.Rectangle
	dBounds := o.bounds.Add(dot)
	dr.Min.X = dBounds.Min.X.Floor()
	dr.Min.Y = dBounds.Min.Y.Floor()
	dr.Max.X = dBounds.Max.X.Ceil()
	dr.Max.Y = dBounds.Max.Y.Ceil()
	width, height := dr.Dx(), dr.Dy()
	if width < 0 || height < 0 {
		return cachedGlyph{}
	}
	biasX := dot.X - fixed.Int26_6(dr.Min.X<<6)
	biasY := dot.Y - fixed.Int26_6(dr.Min.Y<<6)
	mask := image.NewAlpha(image.Rect(0, 0, width, height))
	f.rast.Reset(width, height)
	f.rast.DrawOp = draw.Src
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(p.X+biasX) / 64, float32(p.Y+biasY) / 64
	}
	for _, seg := range o.segments {
		switch seg.Op {
		case sfnt.SegmentOpMoveTo:
			f.rast.MoveTo(pt(seg.Args[0]))
		case sfnt.SegmentOpLineTo:
			f.rast.LineTo(pt(seg.Args[0]))
		case sfnt.SegmentOpQuadTo:
			x1, y1 := pt(seg.Args[0])
			x2, y2 := pt(seg.Args[1])
			f.rast.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(seg.Args[0])
			x2, y2 := pt(seg.Args[1])
			x3, y3 := pt(seg.Args[2])
			f.rast.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	f.rast.Draw(mask, mask.Bounds(), image.Opaque, image.Point{})
	return cachedGlyph{dr: dr, mask: mask, advance: o.advance, ok: o.ok}
}

// GlyphBounds implements font.Face.
func (f *cachedFace) GlyphBounds(r rune) (bounds fixed.Rectangle26_6, advance fixed.Int26_6, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.face.GlyphBounds(r)
}

// GlyphAdvance implements font.Face.
func (f *cachedFace) GlyphAdvance(r rune) (advance fixed.Int26_6, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, hit := f.advances[r]
	if !hit {
		a.advance, a.ok = f.face.GlyphAdvance(r)
		if len(f.advances) < maxGlyphs {
			f.advances[r] = a
		}
	}
	return a.advance, a.ok
}

// Kern implements font.Face.
func (f *cachedFace) Kern(r0, r1 rune) fixed.Int26_6 {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, hit := f.kerns[[2]rune{r0, r1}]
	if !hit {
		k = f.face.Kern(r0, r1)
		if len(f.kerns) < maxGlyphs {
			f.kerns[[2]rune{r0, r1}] = k
		}
	}
	return k
}

// Metrics implements font.Face.
func (f *cachedFace) Metrics() font.Metrics { return f.metrics }
