package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/image/math/fixed"
	plotfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// A Renderer writes a plot of the same inputs as an earlier one from its
// memory, byte for byte the file a fresh rendering writes; other inputs
// give another file; it remembers at most keepFiles plots.
func TestRendererRewritesRememberedPlots(t *testing.T) {
	dir := t.TempDir()
	r := NewRenderer()
	cm := [][]int{{15, 0, 0}, {0, 11, 1}, {0, 0, 11}}
	path := func(name string) string { return filepath.Join(dir, name) }
	read := func(name string) []byte {
		t.Helper()
		data, err := os.ReadFile(path(name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if err := ConfusionMatrixPNG(path("fresh.png"), cm, irisNames, "iris"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.file(confusionKey(cm, irisNames, "iris")); ok {
		t.Fatal("a new renderer remembers a plot")
	}
	for _, name := range []string{"first.png", "again.png"} {
		if err := r.ConfusionMatrixPNG(path(name), cm, irisNames, "iris"); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.file(confusionKey(cm, irisNames, "iris")); !ok {
			t.Fatalf("after %s, the renderer does not remember the plot", name)
		}
		if !bytes.Equal(read(name), read("fresh.png")) {
			t.Errorf("%s differs from the plot a fresh rendering writes", name)
		}
	}
	other := [][]int{{15, 0, 0}, {0, 12, 0}, {0, 0, 11}}
	if err := r.ConfusionMatrixPNG(path("other.png"), other, irisNames, "iris"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read("other.png"), read("fresh.png")) {
		t.Error("another confusion matrix gives the same file")
	}
	// Errors are not remembered, and are errors again.
	for range 2 {
		if err := r.ConfusionMatrixPNG(path("bad.png"), [][]int{{1}}, irisNames, "iris"); err == nil {
			t.Fatal("a 1×1 matrix for 3 classes draws")
		}
	}
	for i := range keepFiles + 5 {
		if err := r.ROCCurvePNG(path("roc.png"), []float64{0, float64(i) / 100, 1}, []float64{0, 0.9, 1}, 0.9, ""); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.files) != keepFiles || len(r.order) != keepFiles {
		t.Errorf("the renderer remembers %d plots (%d in order), not at most %d", len(r.files), len(r.order), keepFiles)
	}
	if _, ok := r.file(confusionKey(cm, irisNames, "iris")); ok {
		t.Error("the renderer still remembers its oldest plot after keepFiles newer ones")
	}
}

// Every input of a plot changes its key, including every field of a
// Projection and a nil slice against an empty one.
func TestPlotKeysCoverEveryInput(t *testing.T) {
	p := testProjection()
	base := projectionKey(p, "t")
	if projectionKey(p, "u") == base {
		t.Error("the title does not change the projection's key")
	}
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		q := *p
		f := reflect.ValueOf(&q).Elem().Field(i)
		switch f.Kind() {
		case reflect.Slice:
			n := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			reflect.Copy(n, f)
			if n.Len() == 0 {
				n = reflect.MakeSlice(f.Type(), 1, 1)
			}
			// Change the last element to a value of its type it does not have.
			last := n.Index(n.Len() - 1)
			switch last.Kind() {
			case reflect.String:
				last.SetString(last.String() + "x")
			case reflect.Float64:
				last.SetFloat(last.Float() + 1)
			default:
				t.Fatalf("field %s: elements of kind %v are not covered by this test", v.Type().Field(i).Name, last.Kind())
			}
			f.Set(n)
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Float64:
			f.SetFloat(f.Float() + 0.5)
		default:
			t.Fatalf("field %s of kind %v is not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
		if projectionKey(&q, "t") == base {
			t.Errorf("field %s does not change the projection's key", v.Type().Field(i).Name)
		}
	}
	empty := *p
	empty.TrueValue = []float64{}
	if projectionKey(&empty, "t") == base {
		t.Error("an empty TrueValue (a regression) has the key of a nil one (a classification)")
	}

	series := []Series{{Name: "loss", Steps: []float64{0, 1}, Values: []float64{1, 0.5}}}
	keys := map[plotKey]string{learningCurveKey(series, "t", "y"): "base"}
	distinct := func(name string, k plotKey) {
		t.Helper()
		if prev, ok := keys[k]; ok {
			t.Errorf("%s has the key of %s", name, prev)
		}
		keys[k] = name
	}
	distinct("another title", learningCurveKey(series, "u", "y"))
	distinct("another y label", learningCurveKey(series, "t", "z"))
	distinct("title and label run together", learningCurveKey(series, "ty", ""))
	distinct("another series name", learningCurveKey([]Series{{Name: "los", Steps: series[0].Steps, Values: series[0].Values}}, "t", "y"))
	distinct("another step", learningCurveKey([]Series{{Name: "loss", Steps: []float64{0, 2}, Values: series[0].Values}}, "t", "y"))
	distinct("another value", learningCurveKey([]Series{{Name: "loss", Steps: series[0].Steps, Values: []float64{1, 0.25}}}, "t", "y"))
	distinct("two series", learningCurveKey(append(series, series[0]), "t", "y"))
	distinct("roc", rocKey([]float64{0, 1}, []float64{0, 1}, 0.5, "t"))
	distinct("roc with another auc", rocKey([]float64{0, 1}, []float64{0, 1}, 0.6, "t"))
	distinct("roc with another fpr", rocKey([]float64{0, 0.5}, []float64{0, 1}, 0.5, "t"))
	distinct("roc with another tpr", rocKey([]float64{0, 1}, []float64{0, 0.5}, 0.5, "t"))
	distinct("confusion", confusionKey([][]int{{1, 0}, {0, 1}}, []string{"a", "b"}, "t"))
	distinct("confusion with another count", confusionKey([][]int{{1, 0}, {1, 1}}, []string{"a", "b"}, "t"))
	distinct("confusion with other names", confusionKey([][]int{{1, 0}, {0, 1}}, []string{"a", "c"}, "t"))
	distinct("confusion with rows split otherwise", confusionKey([][]int{{1}, {0, 0, 1}}, []string{"a", "b"}, "t"))
}

// A glyph cache keeps at most maxFaces faces; a face beyond still draws.
func TestGlyphCacheKeepsAtMostMaxFaces(t *testing.T) {
	g := &glyphCache{}
	base := newPlot("t", "x", "y").Title.TextStyle.Font
	lookup := func(i int) plotfont.Face {
		size := vg.Points(6 + float64(i)/4)
		return plotfont.DefaultCache.Lookup(base, size)
	}
	for i := range maxFaces + 6 {
		g.face(lookup(i), dpi)
	}
	if len(g.faces) != maxFaces {
		t.Fatalf("the cache keeps %d faces, not %d", len(g.faces), maxFaces)
	}
	last := lookup(maxFaces + 5)
	if _, ok := g.faces[faceKey{last.Face, last.Font.Size, dpi}]; ok {
		t.Fatal("a face beyond maxFaces is kept")
	}
	if _, ok := g.faces[faceKey{lookup(0).Face, lookup(0).Font.Size, dpi}]; !ok {
		t.Fatal("the first face is not kept")
	}
	dr, mask, _, adv, ok := g.face(last, dpi).Glyph(fixed.P(3, 7), 'g')
	if !ok || mask == nil || dr.Empty() || adv == 0 {
		t.Fatalf("a face beyond maxFaces draws no 'g': %v %v %v %v", dr, mask, adv, ok)
	}
}

// A repeated plot is a hard link to the first file written with it while
// that file is unchanged; once that file is replaced, the next plot is a
// file of its own again, with the plot's bytes.
func TestRendererLinksARepeatedPlotToItsFirstFile(t *testing.T) {
	dir := t.TempDir()
	r := NewRenderer()
	cm := [][]int{{15, 0, 0}, {0, 11, 1}, {0, 0, 11}}
	path := func(name string) string { return filepath.Join(dir, name) }
	draw := func(name string) os.FileInfo {
		t.Helper()
		if err := r.ConfusionMatrixPNG(path(name), cm, irisNames, "iris"); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path(name))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	first, second := draw("a/first.png"), draw("b/second.png")
	if !os.SameFile(first, second) {
		t.Error("the repeated plot is a file of its own, not a link to the first")
	}
	want, err := os.ReadFile(path("a/first.png"))
	if err != nil {
		t.Fatal(err)
	}
	// Replace the first file (as an artifact is replaced: a new file).
	if err := os.Remove(path("a/first.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path("a/first.png"), []byte("not a plot"), 0o644); err != nil {
		t.Fatal(err)
	}
	draw("c/third.png")
	if got, _ := os.ReadFile(path("c/third.png")); !bytes.Equal(got, want) {
		t.Errorf("after the first file was replaced, the plot holds %q, not the plot", got[:min(len(got), 20)])
	}
	if got, _ := os.ReadFile(path("b/second.png")); !bytes.Equal(got, want) {
		t.Error("replacing the first file changed the second, its link")
	}
}

// A cached face's glyphs, rasterized from outlines loaded once per rune,
// are exactly those of the opentype.Face gonum opens, at every position
// within a pixel, for every face of the plots and a rune the font lacks.
func TestCachedGlyphsAreTheFacesGlyphs(t *testing.T) {
	g := &glyphCache{}
	base := newPlot("t", "x", "y").Title.TextStyle.Font
	runes := []rune("Aagjy0189.,-()_%éü\uFFFF")
	for _, size := range []vg.Length{10, 11, 12, 14, 6.5, 16} {
		f := plotfont.DefaultCache.Lookup(base, size)
		cached := g.face(f, dpi)
		face := f.FontFace(dpi)
		for _, r := range runes {
			for _, sub := range []fixed.Int26_6{0, 1, 13, 32, 63} {
				dot := fixed.Point26_6{X: 5<<6 + sub, Y: 9<<6 + (63 - sub)}
				dr, mask, mp, adv, ok := cached.Glyph(dot, r)
				wdr, wmask, wmp, wadv, wok := face.Glyph(dot, r)
				if dr != wdr || adv != wadv || ok != wok {
					t.Fatalf("size %v, %q at %v: %v %v %v, the face's %v %v %v", size, r, dot, dr, adv, ok, wdr, wadv, wok)
				}
				for y := range dr.Dy() {
					for x := range dr.Dx() {
						_, _, _, a := mask.At(mp.X+x, mp.Y+y).RGBA()
						_, _, _, wa := wmask.At(wmp.X+x, wmp.Y+y).RGBA()
						if a != wa {
							t.Fatalf("size %v, %q at %v: pixel (%d, %d) is %d, the face's %d", size, r, dot, x, y, a, wa)
						}
					}
				}
			}
		}
	}
}
