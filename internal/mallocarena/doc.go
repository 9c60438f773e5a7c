// Package mallocarena keeps a process's C allocations in one malloc arena
// (glibc's main arena). Importing it is all there is to it: its C
// constructor runs before the Go runtime starts, so before any thread has
// an arena of its own. cmd/mlrun imports it for that effect.
//
// Why: glibc gives each thread that calls malloc an arena of its own (up
// to eight per core), and grows a thread's arena a few pages at a time,
// each time with an mprotect call, which takes the process's memory map
// lock for writing and so stalls the page faults of every other thread.
// mlrun's C code is SQLite, called on whichever of the Go runtime's
// threads runs the goroutine at the time: an iris run spread its SQLite
// allocations over several arenas and made about 200 mprotect calls. In
// the main arena, which grows with brk 128 KiB at a time, it makes 11.
// Threads that allocate at the same moment now take turns for the arena's
// lock, but rarely: SQLite's allocations are small, and most are served
// by glibc's per-thread cache or SQLite's per-connection lookaside memory
// without taking it.
//
// A user's MALLOC_ARENA_MAX, or arena_max in GLIBC_TUNABLES, wins.
// On other systems, without cgo, or with a C library that has no arenas
// (musl), it does nothing.
package mallocarena
