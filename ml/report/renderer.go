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
	pixels sync.Pool // *[]byte
	zlibs  sync.Pool // *zlib.Writer
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
	var pix *[]byte
	if r != nil {
		pix, _ = r.pixels.Get().(*[]byte)
	}
	if n := 4 * rect.Dx() * rect.Dy(); pix == nil || cap(*pix) < n {
		buf := make([]byte, n)
		pix = &buf
	} else {
		*pix = (*pix)[:n]
	}
	img := &image.RGBA{Pix: *pix, Stride: 4 * rect.Dx(), Rect: rect}
	drawInto(img, sp, false)
	var zw *zlib.Writer
	if r != nil {
		zw, _ = r.zlibs.Get().(*zlib.Writer)
		if zw == nil {
			zw, _ = zlib.NewWriterLevel(nil, zlib.BestSpeed) // Reset before use
		}
	}
	err := encodePNG(out, img, zw)
	if r != nil {
		r.pixels.Put(pix)
		r.zlibs.Put(zw)
	}
	if err != nil {
		return fmt.Errorf("write png: %w", err)
	}
	return nil
}
