package report

import (
	"image"
	"maps"
	"slices"
	"testing"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// A textHandler measures text as text.Plain does, the first time and from
// its memory.
func TestTextHandlerMeasuresAsPlain(t *testing.T) {
	h := newTextHandler()
	plain := text.Plain{Fonts: font.DefaultCache}
	strs := []string{"", "setosa", "Confusion matrix (logistic_regression)", "AV To", "0.25", "PC1 (72.9% of variance)", "é ü"}
	for round := range 2 {
		for _, variant := range []font.Variant{"Sans", "Serif"} {
			for _, size := range []vg.Length{10, 11, 12, 14, 15.3} {
				fnt := font.Font{Typeface: "Liberation", Variant: variant, Size: size}
				for _, s := range strs {
					w, ht, d := h.Box(s, fnt)
					pw, pht, pd := plain.Box(s, fnt)
					if w != pw || ht != pht || d != pd {
						t.Errorf("round %d, %q in %v: box %v %v %v, text.Plain's %v %v %v", round, s, fnt, w, ht, d, pw, pht, pd)
					}
				}
			}
		}
	}
	if len(h.widths) == 0 {
		t.Error("the handler remembers no width")
	}
}

// Every plot drawn with its textHandler has exactly the pixels of the
// plot drawn with gonum's text.Plain.
func TestTextHandlerDrawsAsPlain(t *testing.T) {
	plots := samplePlots(t)
	maps.Copy(plots, irisPlots(t))
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		sp := plots[name]
		h, ok := sp.p.Title.TextStyle.Handler.(*textHandler)
		if !ok {
			t.Fatalf("%s: the title's text handler is a %T", name, sp.p.Title.TextStyle.Handler)
		}
		ours := image.NewRGBA(sp.bounds())
		drawInto(ours, sp, false, &glyphCache{})
		h.plain = true
		plain := image.NewRGBA(sp.bounds())
		drawInto(plain, sp, false, &glyphCache{})
		h.plain = false
		if n := differentPixels(ours, plain); n > 0 {
			t.Errorf("%s: %d pixels differ from the drawing with text.Plain", name, n)
		}
	}
}
