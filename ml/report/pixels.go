package report

import (
	"runtime"
	"unsafe"
)

// pixels is the memory of a plot's image, then of its encoder's tokens. A
// Renderer keeps them from plot to plot. Where the system allows (see mapPixels), the memory is mapped
// for it rather than taken from the Go heap: in a fresh process, the first
// write to every 4 KB page of a heap allocation costs a page fault (about
// 300 for a plot, most of the cost of its drawing), where mapped memory is
// asked for in huge pages (a fault per 2 MB) and filled in at once; and it
// adds nothing to the heap whose growth triggers garbage collections.
type pixels struct {
	buf []byte
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

// tail returns room for k tokens of the PNG encoder (see
// appendDeflateRuns) in p after its first n bytes (an image), or nil where
// there is not as much. Mapped pixels are in memory there already (a huge
// page, or filled in by newPixels), where new heap memory would fault its
// pages in. It is valid while p is, and leaves the first n bytes alone.
func (p *pixels) tail(n, k int) []uint32 {
	const align = 64
	off := (n + align - 1) &^ (align - 1)
	if off+4*k > len(p.buf) {
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
	p.buf = nil
}
