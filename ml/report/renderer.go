package report

import (
	"compress/zlib"
	"fmt"
	"image"
	"io"
	"sync"
)

// Renderer draws plots reusing the memory of earlier ones (the image's
// pixels, the PNG compressor), which spares the allocation and clearing of
// megabytes per plot: a process keeps one for all its runs, so the trials
// of a sweep share it. The zero value is ready; a nil *Renderer allocates
// afresh for every plot. It is safe for concurrent use.
type Renderer struct {
	// Free buffers, at most keep of each (a sync.Pool would drop them at
	// any garbage collection, which a run of plots triggers often).
	mu     sync.Mutex
	pixels []*[]byte
	zlibs  []*zlib.Writer
}

// keep bounds the free buffers a Renderer holds: as many as plots drawn
// at once by a run on a machine of a few cores.
const keep = 8

// get takes a free pixel buffer and compressor, or nils.
func (r *Renderer) get() (*[]byte, *zlib.Writer) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var pix *[]byte
	var zw *zlib.Writer
	if n := len(r.pixels); n > 0 {
		pix, r.pixels = r.pixels[n-1], r.pixels[:n-1]
	}
	if n := len(r.zlibs); n > 0 {
		zw, r.zlibs = r.zlibs[n-1], r.zlibs[:n-1]
	}
	return pix, zw
}

// put gives buffers back for the next plot.
func (r *Renderer) put(pix *[]byte, zw *zlib.Writer) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pixels) < keep {
		r.pixels = append(r.pixels, pix)
	}
	if zw != nil && len(r.zlibs) < keep {
		r.zlibs = append(r.zlibs, zw)
	}
}

// NewRenderer returns an empty Renderer.
func NewRenderer() *Renderer { return &Renderer{} }

// save builds a plot and writes it to path as PNG.
func (r *Renderer) save(path string, build func() (*sizedPlot, error)) error {
	sp, err := build()
	if err != nil {
		return err
	}
	return saveFile(path, func(w io.Writer) error { return r.writePNG(w, sp) })
}

// writePNG draws sp and writes it as PNG.
func (r *Renderer) writePNG(out io.Writer, sp *sizedPlot) error {
	rect := sp.bounds()
	pix, zw := r.get()
	if n := 4 * rect.Dx() * rect.Dy(); pix == nil || cap(*pix) < n {
		buf := make([]byte, n)
		pix = &buf
	} else {
		*pix = (*pix)[:n]
	}
	img := &image.RGBA{Pix: *pix, Stride: 4 * rect.Dx(), Rect: rect}
	drawInto(img, sp, false)
	if zw == nil && r != nil {
		zw, _ = zlib.NewWriterLevel(nil, zlib.BestSpeed) // Reset before use
	}
	err := encodePNG(out, img, zw)
	r.put(pix, zw)
	if err != nil {
		return fmt.Errorf("write png: %w", err)
	}
	return nil
}
