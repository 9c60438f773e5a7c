package report

import (
	"io"
	"runtime"
	"testing"
	"unsafe"
)

// newPixels gives zeroed, writable memory of at least the size asked for,
// mapped on Linux (outside the Go heap, aligned on a huge page), which
// release gives back.
func TestNewPixels(t *testing.T) {
	for _, n := range []int{1, 4096, 700 * 450 * 4, hugePage, 3<<20 + 5} {
		p := newPixels(n)
		if len(p.buf) < n {
			t.Fatalf("newPixels(%d) has %d bytes", n, len(p.buf))
		}
		for i := 0; i < n; i += 997 {
			if p.buf[i] != 0 {
				t.Fatalf("newPixels(%d): byte %d is %d, not 0", n, i, p.buf[i])
			}
			p.buf[i] = 0xff
		}
		p.buf[n-1] = 0xff
		if runtime.GOOS == "linux" {
			if p.unmap == nil {
				t.Fatalf("newPixels(%d) is not mapped", n)
			}
			if a := uintptr(unsafe.Pointer(&p.buf[0])); a%hugePage != 0 {
				t.Errorf("newPixels(%d) at %#x, not aligned on a huge page", n, a)
			}
		}
		p.release()
		if p.buf != nil || p.unmap != nil {
			t.Fatal("released pixels keep their memory")
		}
		p.release() // a second release does nothing
	}
}

// A Renderer gives a plot the free pixels of an earlier one when they are
// large enough, new ones otherwise, and keeps at most keep free ones.
func TestRendererReusesPixelsThatFit(t *testing.T) {
	r := NewRenderer()
	small := r.get(1000)
	r.put(small)
	big := r.get(5 << 20)
	if big == small {
		t.Fatal("pixels of 1000 bytes serve 5 MB")
	}
	r.put(big)
	if got := r.get(4 << 20); got != big {
		t.Error("a plot of 4 MB does not reuse the free 5 MB")
	} else {
		r.put(got)
	}
	if got := r.get(500); got != small && got != big {
		t.Error("a plot of 500 bytes takes new pixels")
	}
	var held []*pixels
	for range keep + 3 {
		held = append(held, r.get(100))
	}
	for _, p := range held {
		r.put(p)
	}
	if len(r.pixels) != keep {
		t.Fatalf("the renderer keeps %d free pixels, not %d", len(r.pixels), keep)
	}
	released := 0
	for _, p := range held {
		if p.buf == nil {
			released++
		}
	}
	if released != 3 {
		t.Errorf("%d pixels beyond keep were released, not 3", released)
	}
}

// On Linux, a plot's image is not on the Go heap: a first plot through a
// new Renderer allocates less than half its image there.
func TestPlotImageIsOffTheHeap(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pixels are mapped on Linux only")
	}
	series := []Series{{Name: "loss", Steps: []float64{0, 1, 2, 3}, Values: []float64{1, 0.5, 0.3, 0.2}}}
	sp, err := learningCurvePlot(series, "Training", "loss")
	if err != nil {
		t.Fatal(err)
	}
	if err := NewRenderer().writePNG(io.Discard, sp); err != nil { // fonts, tables
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := NewRenderer().writePNG(io.Discard, sp); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	const image = 700 * 450 * 4
	if got := after.TotalAlloc - before.TotalAlloc; got > image/2 {
		t.Fatalf("a first plot allocates %d bytes on the heap, more than half its %d-byte image", got, image)
	}
}

// Pixels lend the memory after an image to the encoder's tokens, when
// there is room for them.
func TestPixelsTail(t *testing.T) {
	const n = 700 * 450 * 4
	mapped := newPixels(n + 64 + 4*tokensFor(n))
	defer mapped.release()
	heap := &pixels{buf: make([]byte, n+64+4*tokensFor(n))}
	for _, p := range []*pixels{mapped, heap} {
		tail := p.tail(n, tokensFor(n))
		if tail == nil || cap(tail) != tokensFor(n) || len(tail) != 0 {
			t.Fatalf("the tail has length %d and room %d, not 0 and %d", len(tail), cap(tail), tokensFor(n))
		}
		start := uintptr(unsafe.Pointer(&p.buf[0]))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(tail)))
		if at < start+n || at+4*uintptr(cap(tail)) > start+uintptr(len(p.buf)) {
			t.Fatalf("the tail at %#x..%#x is not after the image %#x..%#x within the pixels", at, at+4*uintptr(cap(tail)), start, start+n)
		}
		if p.tail(len(p.buf)-100, 100) != nil {
			t.Error("pixels lend more memory than they have")
		}
	}
}
