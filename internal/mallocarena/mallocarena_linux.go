//go:build linux && cgo

package mallocarena

/*
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// mlrun_one_malloc_arena limits glibc to its main arena unless the user
// chose a limit.
__attribute__((constructor)) static void mlrun_one_malloc_arena(void) {
#ifdef M_ARENA_MAX
	const char *max = getenv("MALLOC_ARENA_MAX");
	const char *tunables = getenv("GLIBC_TUNABLES");
	if ((max != NULL && max[0] != '\0') || (tunables != NULL && strstr(tunables, "arena_max") != NULL)) {
		return;
	}
	mallopt(M_ARENA_MAX, 1);
#endif
}

// mlrun_malloc_info writes malloc_info's XML report into buf (at most n
// bytes, NUL-terminated) and returns its length, or -1.
static long mlrun_malloc_info(char *buf, size_t n) {
#ifdef M_ARENA_MAX
	FILE *f = fmemopen(buf, n, "w");
	if (f == NULL) {
		return -1;
	}
	if (malloc_info(0, f) != 0) {
		fclose(f);
		return -1;
	}
	long len = ftell(f);
	fclose(f);
	return len;
#else
	return -1;
#endif
}

// mlrun_malloc_free allocates and frees n bytes, on the calling thread.
static void mlrun_malloc_free(size_t n) {
	free(malloc(n));
}
*/
import "C"

import (
	"bytes"
	"fmt"
	"unsafe"
)

// arenas returns the number of arenas malloc has made (malloc_info's
// heaps), for tests.
func arenas() (int, error) {
	buf := make([]byte, 1<<20)
	n := C.mlrun_malloc_info((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if n < 0 {
		return 0, fmt.Errorf("malloc_info failed")
	}
	return bytes.Count(buf[:n], []byte("<heap nr=")), nil
}

// mallocFree allocates and frees n bytes of C memory on the calling
// thread, for tests: a thread's first allocation is where glibc gives it
// an arena.
func mallocFree(n int) { C.mlrun_malloc_free(C.size_t(n)) }
