package report

import (
	"runtime"
	"unsafe"
)

// pixels is the memory of a plot's image and its encoding. A Renderer keeps them from plot
// to plot. Where the system allows (see mapPixels), the memory is mapped
// for it rather than taken from the Go heap: in a fresh process, the first
// write to every 4 KB page of a heap allocation costs a page fault (about
// 300 for a plot, most of the cost of its drawing), where mapped memory is
// asked for in huge pages (a fault per 2 MB) and filled in at once; and it
// adds nothing to the heap whose growth triggers garbage collections.
type pixels struct {
	buf []byte
	// tokens is the memory of the PNG encoder's tokens (see
	// appendDeflateRuns), kept with the pixels.
	tokens []uint32
	// unmap gives mapped memory back (the cleanup that does it when the
	// pixels are no longer referenced, stopped first); nil for heap memory.
	unmap func()
}

// hugePage is the size of the huge pages Linux can back memory with
// (x86-64's and arm64's usual 2 MB), on which mapped pixels are aligned.
const hugePage = 2 << 20

// newPixels returns pixels of at least n bytes, mapped when possible, with
// the first n bytes already in memory.
func newPixels(n int) *pixels {
	buf, unmap := mapPixels(n)
	if buf == nil {
		return &pixels{buf: make([]byte, n)}
	}
	p := &pixels{buf: buf}
	c := runtime.AddCleanup(p, func(f func()) { f() }, unmap)
	p.unmap = func() {
		c.Stop()
		unmap()
	}
	return p
}

// tail returns room for k tokens in mapped pixels after their first n
// bytes (an image), or nil where there is not as much or the pixels are on
// the heap. It is valid while the pixels are, and the first n bytes are
// not touched.
func (p *pixels) tail(n, k int) []uint32 {
	const align = 64
	off := (n + align - 1) &^ (align - 1)
	if p.unmap == nil || off+4*k > len(p.buf) {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&p.buf[off])), k)[:0]
}

// release gives the memory of p back; p, and any slice of its memory, must
// not be used after.
func (p *pixels) release() {
	if p.unmap != nil {
		p.unmap()
		p.unmap = nil
	}
	p.buf, p.tokens = nil, nil
}
