package report

import (
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/mlrun/mlrun/artifact"
)

// Renderer draws plots reusing the memory of earlier ones (the image's
// pixels, the glyphs of their text), which spares the allocation and
// clearing of megabytes per plot: a process keeps one for all its runs, so
// the trials of a sweep share it. It also keeps the files of its latest plots: a plot
// drawn from the same inputs as one of them (the confusion matrix of a
// trial that classifies the test set as another did) is that file, byte for
// byte, so it is written again without drawing. The zero value is ready; a
// nil *Renderer allocates afresh for every plot and keeps nothing. It is
// safe for concurrent use.
type Renderer struct {
	// Free pixel buffers, at most keep (a sync.Pool would drop them at
	// any garbage collection, which a run of plots triggers often).
	mu     sync.Mutex
	pixels []*pixels
	// files are the PNG files of the latest plots by key (at most
	// keepFiles, the oldest in order[0]); they are never modified.
	files map[plotKey][]byte
	order []plotKey
	// shared writes the plots' files: a plot written again (a sweep's
	// trials repeat theirs) is a hard link to its first file while that
	// file is unchanged, since creating a file costs several times more.
	shared artifact.SharedFiles
	// glyphs are the glyphs of the plots' text.
	glyphs glyphCache
}

// keepFiles bounds the plots a Renderer remembers: a sweep's plots that
// repeat (a confusion matrix, a projection) take a few distinct values, a
// few tens of kilobytes each.
const keepFiles = 32

// keep bounds the free pixel buffers a Renderer holds: as many as plots drawn
// at once by a run on a machine of a few cores.
const keep = 8

// get returns pixels of at least n bytes: free ones of the Renderer's
// where they are large enough, else new ones.
func (r *Renderer) get(n int) *pixels {
	if r != nil {
		r.mu.Lock()
		for i := len(r.pixels) - 1; i >= 0; i-- {
			if pix := r.pixels[i]; len(pix.buf) >= n {
				r.pixels = append(r.pixels[:i], r.pixels[i+1:]...)
				r.mu.Unlock()
				return pix
			}
		}
		r.mu.Unlock()
	}
	return newPixels(n)
}

// put gives pixels back for the next plot; beyond keep free ones (or
// without a Renderer) their memory goes back to the system.
func (r *Renderer) put(pix *pixels) {
	if r != nil {
		r.mu.Lock()
		if len(r.pixels) < keep {
			r.pixels = append(r.pixels, pix)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
	pix.release()
}

// NewRenderer returns an empty Renderer.
func NewRenderer() *Renderer { return &Renderer{} }

// save writes to path the plot build returns, whose inputs give key,
// or the file of an earlier plot of the same key.
func (r *Renderer) save(path string, key plotKey, build func() (*sizedPlot, error)) error {
	if data, ok := r.file(key); ok {
		return r.writeFile(path, data)
	}
	sp, err := build()
	if err != nil {
		return err
	}
	data, err := r.render(sp)
	if err != nil {
		return err
	}
	r.remember(key, data)
	return r.writeFile(path, data)
}

// writeFile writes a plot's file to path: a hard link to an earlier file of
// the same plot where the Renderer wrote one (see artifact.SharedFiles),
// else a new file. Nothing is left at path on error.
func (r *Renderer) writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	shared := &artifact.SharedFiles{}
	if r != nil {
		shared = &r.shared
	}
	if err := shared.Write(path, data); err != nil {
		os.Remove(path)
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// file returns the file of the remembered plot of key.
func (r *Renderer) file(key plotKey) ([]byte, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	data, ok := r.files[key]
	return data, ok
}

// remember keeps data, which the caller no longer modifies, as the file of
// the plot of key, forgetting the oldest beyond keepFiles.
func (r *Renderer) remember(key plotKey, data []byte) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.files[key]; ok {
		return // drawn at the same time by another goroutine
	}
	if r.files == nil {
		r.files = map[plotKey][]byte{}
	}
	if len(r.order) == keepFiles {
		delete(r.files, r.order[0])
		r.order = append(r.order[:0], r.order[1:]...)
	}
	r.files[key] = data
	r.order = append(r.order, key)
}

// writePNG draws sp and writes it as PNG.
func (r *Renderer) writePNG(out io.Writer, sp *sizedPlot) error {
	data, err := r.render(sp)
	if err != nil {
		return err
	}
	if _, err := out.Write(data); err != nil {
		return fmt.Errorf("write png: %w", err)
	}
	return nil
}

// render draws sp and returns its PNG file.
func (r *Renderer) render(sp *sizedPlot) ([]byte, error) {
	rect := sp.bounds()
	n := 4 * rect.Dx() * rect.Dy()
	pix := r.get(n + 64 + 4*tokensFor(n)) // the image, then the tokens (see pixels.tail)
	img := &image.RGBA{Pix: pix.buf[:n:n], Stride: 4 * rect.Dx(), Rect: rect}
	glyphs := &glyphCache{}
	if r != nil {
		glyphs = &r.glyphs
	}
	drawInto(img, sp, false, glyphs)
	data, _, err := pngFile(img, pix.tail(n, tokensFor(n)))
	r.put(pix)
	if err != nil {
		return nil, fmt.Errorf("write png: %w", err)
	}
	return data, nil
}
