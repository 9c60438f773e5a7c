package report

import (
	"bytes"
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// samplePlots are one plot of every kind, with rotated tick labels (long
// class names) and a regression projection among them.
func samplePlots(t testing.TB) map[string]*sizedPlot {
	t.Helper()
	plots := map[string]*sizedPlot{}
	add := func(name string, sp *sizedPlot, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plots[name] = sp
	}
	sp, err := confusionMatrixPlot([][]int{{15, 0, 0}, {0, 11, 1}, {0, 2, 9}}, []string{"setosa", "versicolor with a long name", "virginica"}, "Confusion matrix")
	add("confusion", sp, err)
	sp, err = rocCurvePlot([]float64{0, 0.1, 0.5, 1}, []float64{0, 0.6, 0.9, 1}, 0.83, "")
	add("roc", sp, err)
	sp, err = learningCurvePlot([]Series{{Name: "loss", Steps: []float64{0, 1, 2, 3}, Values: []float64{1, 0.5, 0.3, 0.2}}}, "Training", "loss")
	add("learning curve", sp, err)
	sp, err = projectionPlot(testProjection(), "Test set on its principal components")
	add("projection", sp, err)
	r := &Projection{PC1: []float64{1, 2, 3}, PC2: []float64{0, 0, 0}, TrueValue: []float64{10, 20, 30}, PredictedValue: []float64{12.5, 19, 31}, Target: "y"}
	sp, err = projectionPlot(r, "Predicted vs true")
	add("residuals", sp, err)
	return plots
}

// The drawing shortcuts (glyphs copied rather than resampled and taken
// from a cache, no second white background, polygons filled by
// fastCanvas) give exactly the pixels of gonum's plain drawing, with the
// glyphs of other plots in the cache too.
func TestDrawingShortcutsChangeNoPixel(t *testing.T) {
	plots := samplePlots(t)
	maps.Copy(plots, irisPlots(t))
	glyphs := &glyphCache{}
	for round := range 2 {
		for _, name := range slices.Sorted(maps.Keys(plots)) {
			sp := plots[name]
			plain := drawPlot(sp, true)
			fast := image.NewRGBA(sp.bounds())
			drawInto(fast, sp, false, glyphs)
			if fast.Rect != plain.Rect {
				t.Fatalf("%s: %v, plainly drawn %v", name, fast.Rect, plain.Rect)
			}
			if n := differentPixels(fast, plain); n > 0 {
				t.Errorf("%s, round %d: %d of %d pixels differ from the plain drawing", name, round, n, len(fast.Pix)/4)
			}
		}
	}
	if len(glyphs.faces) == 0 {
		t.Error("no face went through the glyph cache")
	}
}

// differentPixels counts the pixels in which a and b differ.
func differentPixels(a, b *image.RGBA) int {
	n := 0
	for i := 0; i+3 < len(a.Pix); i += 4 {
		if !bytes.Equal(a.Pix[i:i+4], b.Pix[i:i+4]) {
			n++
		}
	}
	return n
}

// encodePNG writes a PNG any decoder reads back as the very pixels
// image/png would have written: opaque plots as RGB, and translucent
// pixels (premultiplied in image.RGBA) as RGBA.
func TestEncodePNGKeepsEveryPixel(t *testing.T) {
	images := map[string]*image.RGBA{}
	for name, sp := range samplePlots(t) {
		images[name] = drawPlot(sp, false)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := image.NewRGBA(image.Rect(3, 5, 40, 31)) // not at the origin
	for y := noisy.Rect.Min.Y; y < noisy.Rect.Max.Y; y++ {
		for x := noisy.Rect.Min.X; x < noisy.Rect.Max.X; x++ {
			a := []uint8{0, 255, uint8(rng.IntN(256))}[rng.IntN(3)]
			noisy.Set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a})
		}
	}
	images["translucent noise"] = noisy
	for name, img := range images {
		var ours, std bytes.Buffer
		if err := encodePNG(&ours, img); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := png.Encode(&std, img); err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(&ours)
		if err != nil {
			t.Fatalf("%s: our PNG does not decode: %v", name, err)
		}
		want, _ := png.Decode(&std)
		if got.Bounds().Size() != want.Bounds().Size() {
			t.Fatalf("%s: %v, image/png %v", name, got.Bounds(), want.Bounds())
		}
		bad := 0
		g, w := got.Bounds().Min, want.Bounds().Min
		for y := range want.Bounds().Dy() {
			for x := range want.Bounds().Dx() {
				if color.NRGBAModel.Convert(got.At(g.X+x, g.Y+y)) != color.NRGBAModel.Convert(want.At(w.X+x, w.Y+y)) {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d pixels differ from what image/png writes", name, bad)
		}
		if name == "confusion" && ours.Len() > 2*std.Len() {
			t.Errorf("%s: %d bytes, image/png at its default level %d", name, ours.Len(), std.Len())
		}
	}
}

// Plots drawn at the same time on several goroutines (a run draws its
// plots in the background) through one Renderer are byte for byte the
// plots drawn one by one with fresh buffers.
func TestConcurrentRendersAreIdentical(t *testing.T) {
	plots := samplePlots(t)
	want := map[string][]byte{}
	for name, sp := range plots {
		var b bytes.Buffer
		if err := writePNG(&b, sp); err != nil {
			t.Fatal(err)
		}
		want[name] = b.Bytes()
	}
	type result struct {
		name string
		data []byte
		err  error
	}
	results := make(chan result)
	shared := NewRenderer() // its buffers go from plot to plot, of every size
	for range 4 {
		// Plots of their own: drawing one plot is not safe for concurrent
		// use, only drawing different ones is.
		own := samplePlots(t)
		for name, sp := range own {
			go func() {
				var b bytes.Buffer
				err := shared.writePNG(&b, sp)
				results <- result{name, b.Bytes(), err}
			}()
		}
	}
	for range 4 * len(want) {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s: %v", r.name, r.err)
		}
		if !bytes.Equal(r.data, want[r.name]) {
			t.Errorf("%s: drawn concurrently, it differs from the plot drawn alone", r.name)
		}
	}
}

// decodePNG decodes a PNG and returns its pixels as non-premultiplied RGBA,
// row by row from the top left, and its colour model.
func decodePNG(t *testing.T, data []byte) (image.Rectangle, []color.NRGBA, color.Model) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	b := img.Bounds()
	var px []color.NRGBA
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px = append(px, color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA))
		}
	}
	return b, px, img.ColorModel()
}

// sameDecodedPixels fails t unless encodePNG and encodePNGZlib (the
// encoder before deflateRuns) write PNGs of img that decode to the same
// size and pixels, and returns encodePNG's.
func sameDecodedPixels(t *testing.T, name string, img *image.RGBA) []byte {
	t.Helper()
	var ours, old bytes.Buffer
	if err := encodePNG(&ours, img); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := encodePNGZlib(&old, img, nil); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	gotRect, got, _ := decodePNG(t, ours.Bytes())
	wantRect, want, _ := decodePNG(t, old.Bytes())
	if gotRect.Size() != wantRect.Size() {
		t.Fatalf("%s: %v, before %v", name, gotRect, wantRect)
	}
	bad := 0
	for i := range want {
		if got[i] != want[i] {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d pixels differ from the encoder before", name, bad, len(want))
	}
	return ours.Bytes()
}

// Every plot, encoded through deflateRuns, decodes to exactly the pixels
// the encoder before it wrote, byte for byte the same on every encoding,
// in a file about as small.
func TestRunDeflatedPlotsKeepEveryPixel(t *testing.T) {
	plots := samplePlots(t)
	for name, sp := range plots {
		img := drawPlot(sp, false)
		if _, ok := deflateRuns(img); !ok {
			t.Fatalf("%s: deflateRuns refuses the plot", name)
		}
		first := sameDecodedPixels(t, name, img)
		var old bytes.Buffer
		if err := encodePNGZlib(&old, img, nil); err != nil {
			t.Fatal(err)
		}
		if len(first) > old.Len()*11/10 {
			t.Errorf("%s: %d bytes, more than a tenth above the %d of compress/flate", name, len(first), old.Len())
		}
		var again bytes.Buffer
		if err := encodePNG(&again, img); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again.Bytes()) {
			t.Errorf("%s: two encodings of the same image differ", name)
		}
		if _, _, model := decodePNG(t, first); model != color.RGBAModel {
			t.Errorf("%s: decodes with colour model %v, not 8-bit RGB", name, model)
		}
	}
}

// deflateRuns codes every shape of run: rows repeating the row above
// (across several rows, longer than a deflate match, with rests of 1 and
// 2 bytes), pixels repeating the one on their left, lone filter bytes,
// literals, images one pixel wide or high, and widths up to the farthest
// distance deflate can copy from.
func TestRunDeflateKeepsEveryPixel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	palette := []color.RGBA{{255, 255, 255, 255}, {0, 0, 0, 255}, {31, 119, 180, 255}, {225, 225, 225, 255}, {250, 250, 251, 255}}
	sizes := []image.Point{{1, 1}, {1, 9}, {9, 1}, {2, 2}, {86, 40}, {87, 40}, {172, 5}, {173, 7}, {300, 60}, {700, 40}, {maxDistance/3 - 1, 3}, {(maxDistance - 1) / 3, 4}}
	for _, size := range sizes {
		for trial := range 4 {
			img := image.NewRGBA(image.Rectangle{Max: size}.Add(image.Pt(trial, -trial)))
			// Rectangles of a few colours on white, and some noise.
			draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
			for range 1 + rng.IntN(12) {
				c := palette[rng.IntN(len(palette))]
				x0, y0 := rng.IntN(size.X), rng.IntN(size.Y)
				x1, y1 := x0+1+rng.IntN(size.X-x0), y0+1+rng.IntN(size.Y-y0)
				draw.Draw(img, image.Rect(x0, y0, x1, y1).Add(img.Rect.Min), image.NewUniform(c), image.Point{}, draw.Src)
			}
			for range rng.IntN(1 + size.X*size.Y/20) {
				img.SetRGBA(img.Rect.Min.X+rng.IntN(size.X), img.Rect.Min.Y+rng.IntN(size.Y),
					color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
			}
			if trial == 3 && size.X*size.Y > 1000 {
				// Noise whose bytes are k with probability 2^-(k+1):
				// its Huffman code is deeper than deflate allows.
				skewed := func() uint8 {
					k := uint8(0)
					for k < 40 && rng.IntN(2) == 0 {
						k++
					}
					return k
				}
				for y := range size.Y {
					for x := range size.X {
						img.SetRGBA(img.Rect.Min.X+x, img.Rect.Min.Y+y, color.RGBA{skewed(), skewed(), skewed(), 255})
					}
				}
			}
			name := fmt.Sprintf("%v trial %d", size, trial)
			if trial == 2 && size.X > 2 && size.Y > 2 {
				// A part of the image, whose rows are apart by more
				// than its width.
				img = img.SubImage(image.Rect(1, 1, size.X-1, size.Y-1).Add(img.Rect.Min)).(*image.RGBA)
				name += " (sub-image)"
			}
			if _, ok := deflateRuns(img); !ok {
				t.Fatalf("%s: deflateRuns refuses an opaque image", name)
			}
			sameDecodedPixels(t, name, img)
		}
	}
}

// An image with a pixel that is not opaque, wherever it is, or too wide
// for deflate to copy the row above, goes to the general encoder, whose
// PNG keeps its alpha.
func TestRunDeflateFallsBack(t *testing.T) {
	for _, at := range []image.Point{{0, 0}, {5, 0}, {0, 3}, {7, 3}, {9, 5}} {
		img := image.NewRGBA(image.Rect(0, 0, 10, 6))
		draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
		img.SetRGBA(at.X, at.Y, color.RGBA{10, 20, 30, 128})
		if _, ok := deflateRuns(img); ok {
			t.Errorf("deflateRuns takes an image translucent at %v", at)
		}
		var out bytes.Buffer
		if err := encodePNG(&out, img); err != nil {
			t.Fatal(err)
		}
		_, px, _ := decodePNG(t, out.Bytes())
		if got, want := px[at.Y*10+at.X], color.NRGBAModel.Convert(img.At(at.X, at.Y)); got != want {
			t.Errorf("translucent pixel at %v decodes as %v, not %v", at, got, want)
		}
		sameDecodedPixels(t, fmt.Sprint("translucent at ", at), img)
	}
	wide := image.NewRGBA(image.Rect(0, 0, (maxDistance-1)/3+1, 2))
	draw.Draw(wide, wide.Rect, image.White, image.Point{}, draw.Src)
	if canRunDeflate(wide.Rect.Dx()) {
		t.Errorf("deflateRuns would take rows of %d pixels, farther apart than deflate reaches", wide.Rect.Dx())
	}
	sameDecodedPixels(t, "too wide", wide)
}

// huffmanLengths gives complete codes (Kraft sum exactly 1) no longer than
// the limit, even for frequencies whose Huffman code is much deeper, and
// lengths only to the symbols that occur.
func TestHuffmanLengthsAreLimitedAndComplete(t *testing.T) {
	fib := make([]int, 40)
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	sparse := make([]int, 286)
	sparse[7], sparse[200], sparse[285] = 5, 1, 1000
	for _, c := range []struct {
		name  string
		freq  []int
		limit uint8
	}{
		{"fibonacci, 15 bits", fib[:30], 15},
		{"fibonacci, 7 bits", fib[:19], 7},
		{"two symbols", []int{0, 3, 0, 9}, 15},
		{"sparse", sparse, 15},
	} {
		lengths := make([]uint8, len(c.freq))
		huffmanLengths(c.freq, c.limit, lengths)
		var kraft float64
		longest := uint8(0)
		for i, l := range lengths {
			if (l > 0) != (c.freq[i] > 0) {
				t.Errorf("%s: symbol %d of frequency %d has length %d", c.name, i, c.freq[i], l)
			}
			if l > 0 {
				kraft += math.Ldexp(1, -int(l))
				longest = max(longest, l)
			}
		}
		if longest > c.limit {
			t.Errorf("%s: a code of %d bits, above the limit of %d", c.name, longest, c.limit)
		}
		if kraft != 1 {
			t.Errorf("%s: Kraft sum %v, not 1", c.name, kraft)
		}
	}
	// Without the limit, the Fibonacci frequencies make a 29-bit code.
	lengths := make([]uint8, 30)
	if got := huffman(fib[:30], lengths); got != 29 {
		t.Errorf("the unlimited code of 30 Fibonacci frequencies is %d bits deep, not 29", got)
	}
}

// huffman orders its leaves by frequency and ties by symbol, as a stable
// sort by frequency does: the code lengths, and so the files, do not
// depend on how it sorts. Many ties (frequencies of a few values) make the
// order matter.
func TestHuffmanBreaksTiesBySymbol(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		freq := make([]int, 286)
		for sym := range freq {
			if rng.IntN(3) > 0 {
				freq[sym] = rng.IntN(1 + i%8*i)
			}
		}
		freq[0], freq[285] = 1, 1 // at least two symbols
		got, want := make([]uint8, len(freq)), make([]uint8, len(freq))
		huffman(freq, got)
		stableSortHuffman(freq, want)
		if !slices.Equal(got, want) {
			t.Fatalf("frequencies %v: lengths %v, not those of a stable sort by frequency %v", freq, got, want)
		}
	}
}

// stableSortHuffman is huffman with its leaves ordered by a stable sort
// by frequency of the symbols in order.
func stableSortHuffman(freq []int, lengths []uint8) {
	var leaves []int
	for sym, f := range freq {
		if f > 0 {
			leaves = append(leaves, sym)
		}
	}
	slices.SortStableFunc(leaves, func(a, b int) int { return cmp.Compare(freq[a], freq[b]) })
	// The code of each leaf, built as huffman does from leaves in order.
	n := len(leaves)
	weight, parent := make([]int, 2*n-1), make([]int, 2*n-1)
	for i, sym := range leaves {
		weight[i] = freq[sym]
	}
	nextLeaf, nextNode := 0, n
	lightest := func(made int) int {
		if nextLeaf < n && (nextNode >= made || weight[nextLeaf] <= weight[nextNode]) {
			nextLeaf++
			return nextLeaf - 1
		}
		nextNode++
		return nextNode - 1
	}
	for made := n; made < 2*n-1; made++ {
		a, b := lightest(made), lightest(made)
		weight[made] = weight[a] + weight[b]
		parent[a], parent[b] = made, made
	}
	depth := make([]uint8, 2*n-1)
	clear(lengths)
	for i := 2*n - 3; i >= 0; i-- {
		depth[i] = depth[parent[i]] + 1
		if i < n {
			lengths[leaves[i]] = depth[i]
		}
	}
}

// pngFile builds a plot's file in one allocation of about its size, and
// with the tokens of an earlier image it allocates little more: the
// encoder's output does not grow by copies, nor its tokens.
func TestPNGFileAllocatesItsFileOnce(t *testing.T) {
	plots := samplePlots(t)
	maps.Copy(plots, irisPlots(t))
	var tokens []uint32
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		img := drawPlot(plots[name], false)
		_, tokens, _ = pngFile(img, tokens) // tokens for this size
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		file, toks, err := pngFile(img, tokens)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tokens = toks
		var want bytes.Buffer
		if err := encodePNG(&want, img); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(file, want.Bytes()) {
			t.Errorf("%s: pngFile's file differs from encodePNG's", name)
		}
		got := after.TotalAlloc - before.TotalAlloc
		if limit := uint64(len(file)) + 16<<10; got > limit && !raceEnabled {
			t.Errorf("%s: a file of %d bytes allocates %d bytes, more than %d", name, len(file), got, limit)
		}
		t.Logf("%s: a file of %d bytes allocates %d bytes", name, len(file), got)
	}
}

// equalPrefix counts the leading bytes two slices have in common, for a
// first difference at every position of slices of many lengths.
func TestEqualPrefix(t *testing.T) {
	naive := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 127, 200, 1000, 2800, 4100, 9000} {
		a := make([]byte, n)
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		for diff := 0; diff <= n; diff++ {
			if n > 300 && diff > 70 && diff < n-70 && diff%37 != 0 {
				continue
			}
			b := slices.Clone(a)
			if diff < n {
				b[diff] ^= 1 << (diff % 8)
			}
			for _, cut := range []int{0, 3} {
				bb := b[:max(0, len(b)-cut)]
				if got, want := equalPrefix(a, bb), naive(a, bb); got != want {
					t.Fatalf("n %d, difference at %d, b %d bytes shorter: %d, not %d", n, diff, cut, got, want)
				}
			}
		}
	}
}
