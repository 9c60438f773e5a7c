//go:build linux && cgo

package mallocarena

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// allocateOnThreads makes n threads at once each allocate C memory: every
// goroutine holds its own thread (runtime.LockOSThread) until all have
// allocated, so that no two share one.
func allocateOnThreads(n int) {
	var locked, allocated, done sync.WaitGroup
	locked.Add(n)
	allocated.Add(n)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			locked.Done()
			locked.Wait()
			mallocFree(64)
			allocated.Done()
			allocated.Wait()
		}()
	}
	done.Wait()
}

// arenasAfterThreads runs TestArenasHelper in a child process with the
// extra environment env and returns the arenas it counted.
func arenasAfterThreads(t *testing.T, env ...string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestArenasHelper$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MALLOC_ARENA_MAX=") && !strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append(env, "MLRUN_ARENAS_HELPER=1")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	var n int
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(line, "arenas %d", &n); err == nil {
			return n
		}
	}
	t.Fatalf("helper process printed no arena count:\n%s", out)
	return 0
}

// TestArenasHelper is the child process of the tests below: eight threads
// allocate, then it prints how many arenas malloc made.
func TestArenasHelper(t *testing.T) {
	if os.Getenv("MLRUN_ARENAS_HELPER") != "1" {
		return // only as a child process
	}
	allocateOnThreads(8)
	n, err := arenas()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("arenas %d\n", n)
}

func TestThreadsShareOneArena(t *testing.T) {
	if n := arenasAfterThreads(t); n != 1 {
		t.Errorf("eight threads that allocate at once made %d malloc arenas, want 1", n)
	}
}

func TestUsersArenaLimitWins(t *testing.T) {
	for _, env := range []string{"MALLOC_ARENA_MAX=4", "GLIBC_TUNABLES=glibc.malloc.arena_max=4"} {
		if n := arenasAfterThreads(t, env); n < 2 || n > 4 {
			t.Errorf("with %s, eight threads that allocate at once made %d malloc arenas, want 2 to 4", env, n)
		}
	}
}
