package report

import (
	"math"
	"strings"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// textHandler lays out and draws a plot's text as gonum's text.Plain does,
// measuring each string once: laying out a plot measures its tick labels,
// title and legend many times, and every measure of gonum's font.Face
// allocates a 1.5 KB sfnt.Buffer (a quarter of a plot's garbage). The
// widths are font.Face.Width's, so the text lands on the same pixels. It is
// safe for concurrent use.
type textHandler struct {
	text.Plain
	mu     sync.Mutex
	widths map[widthKey]vg.Length
	// plain makes it text.Plain (for tests).
	plain bool
}

// widthKey is a string in a font.
type widthKey struct {
	font font.Font
	txt  string
}

// maxWidths bounds the strings a textHandler remembers (a plot has a few
// tens; a plot of many class names, a few hundred).
const maxWidths = 4096

// newTextHandler returns a textHandler with gonum's default fonts.
func newTextHandler() *textHandler {
	return &textHandler{Plain: text.Plain{Fonts: font.DefaultCache}}
}

// width returns the width of txt in fnt, whose face is face.
func (h *textHandler) width(face font.Face, fnt font.Font, txt string) vg.Length {
	key := widthKey{fnt, txt}
	h.mu.Lock()
	w, ok := h.widths[key]
	h.mu.Unlock()
	if ok {
		return w
	}
	w = face.Width(txt)
	h.mu.Lock()
	if h.widths == nil {
		h.widths = map[widthKey]vg.Length{}
	}
	if len(h.widths) < maxWidths {
		h.widths[key] = w
	}
	h.mu.Unlock()
	return w
}

// Box implements text.Handler as text.Plain does.
func (h *textHandler) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	if h.plain {
		return h.Plain.Box(txt, fnt)
	}
	face := h.Fonts.Lookup(fnt, fnt.Size)
	ext := face.Extents()
	return h.width(face, fnt, txt), ext.Ascent, ext.Descent
}

// Draw implements text.Handler with text.Plain's arithmetic (gonum plot
// v0.17.0, BSD licence).
func (h *textHandler) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	if h.plain {
		h.Plain.Draw(c, txt, sty, pt)
		return
	}
	txt = strings.TrimRight(txt, "\n")
	if len(txt) == 0 {
		return
	}

	fnt := h.Fonts.Lookup(sty.Font, sty.Font.Size)
	c.SetColor(sty.Color)

	if sty.Rotation != 0 {
		c.Push()
		c.Rotate(sty.Rotation)
	}

	sin64, cos64 := math.Sincos(sty.Rotation)
	cos := vg.Length(cos64)
	sin := vg.Length(sin64)
	pt.X, pt.Y = pt.Y*sin+pt.X*cos, pt.Y*cos-pt.X*sin

	lines := h.Lines(txt)
	ht := sty.Height(txt)
	pt.Y += ht*vg.Length(sty.YAlign) - fnt.Extents().Ascent
	for i, line := range lines {
		xoffs := vg.Length(sty.XAlign) * h.width(fnt, sty.Font, line)
		n := vg.Length(len(lines) - i)
		c.FillString(fnt, pt.Add(vg.Point{X: xoffs, Y: n * sty.Font.Size}), line)
	}

	if sty.Rotation != 0 {
		c.Pop()
	}
}

// useTextHandler makes h the text handler of p's title, axes and legend.
func useTextHandler(p *plot.Plot, h text.Handler) {
	p.TextHandler = h
	p.Title.TextStyle.Handler = h
	p.Legend.TextStyle.Handler = h
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Handler = h
		a.Tick.Label.Handler = h
	}
}
