package report

import (
	"image"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
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
		glyphs: map[glyphKey]cachedGlyph{}, advances: map[rune]cachedAdvance{}, kerns: map[[2]rune]fixed.Int26_6{}}
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
	mu       sync.Mutex
	face     font.Face
	metrics  font.Metrics
	glyphs   map[glyphKey]cachedGlyph
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
		var m image.Image
		var mp image.Point
		g.dr, m, mp, g.advance, g.ok = f.face.Glyph(fixed.Point26_6{X: key.x, Y: key.y}, r)
		if m != nil {
			g.mask = copyMask(m, image.Rectangle{Min: mp, Max: mp.Add(g.dr.Size())})
		}
		if len(f.glyphs) < maxGlyphs {
			f.glyphs[key] = g
		}
	}
	if g.mask == nil {
		return g.dr.Add(whole), nil, image.Point{}, g.advance, g.ok
	}
	return g.dr.Add(whole), g.mask, image.Point{}, g.advance, g.ok
}

// copyMask returns the part r of m as an alpha mask with its origin at r.Min.
func copyMask(m image.Image, r image.Rectangle) *image.Alpha {
	out := image.NewAlpha(image.Rectangle{Max: r.Size()})
	if a, ok := m.(*image.Alpha); ok {
		for y := range r.Dy() {
			i := a.PixOffset(r.Min.X, r.Min.Y+y)
			copy(out.Pix[y*out.Stride:y*out.Stride+r.Dx()], a.Pix[i:i+r.Dx()])
		}
		return out
	}
	for y := range r.Dy() {
		for x := range r.Dx() {
			_, _, _, al := m.At(r.Min.X+x, r.Min.Y+y).RGBA()
			out.Pix[y*out.Stride+x] = uint8(al >> 8)
		}
	}
	return out
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
