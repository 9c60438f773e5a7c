package report

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapPixels maps an anonymous private region of at least n bytes aligned
// on a huge page, asks for huge pages (where transparent huge pages are
// enabled for regions that ask, a plot's image is one or a few page faults
// rather than hundreds) and fills in its first n bytes at once
// (MADV_POPULATE_WRITE, Linux 5.14: one system call rather than a fault
// per page, where huge pages are not to be had). It returns the region and
// the function that unmaps it, or nil where mapping fails.
func mapPixels(n int) ([]byte, func()) {
	if n <= 0 {
		return nil, nil
	}
	size := uintptr(n+hugePage-1) &^ (hugePage - 1)
	// Twice the alignment more than needed, then the aligned part kept.
	p, err := unix.MmapPtr(-1, 0, nil, size+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil
	}
	start := uintptr(p)
	aligned := (start + hugePage - 1) &^ (hugePage - 1)
	// Unmapping the ends of a fresh mapping fails only on bad arguments;
	// a failure would leave address space unused, nothing worse.
	if head := aligned - start; head > 0 {
		_ = unix.MunmapPtr(p, head)
	}
	if tail := start + size + hugePage - (aligned + size); tail > 0 {
		_ = unix.MunmapPtr(unsafe.Add(p, aligned-start+size), tail)
	}
	base := unsafe.Add(p, aligned-start)
	buf := unsafe.Slice((*byte)(base), size)
	// Advice only: without it the pages come one fault at a time.
	_ = unix.Madvise(buf, unix.MADV_HUGEPAGE)
	page := os.Getpagesize()
	_ = unix.Madvise(buf[:(n+page-1)/page*page], unix.MADV_POPULATE_WRITE)
	return buf, func() { _ = unix.MunmapPtr(base, size) }
}
