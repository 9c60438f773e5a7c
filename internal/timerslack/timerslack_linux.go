//go:build linux && cgo

package timerslack

/*
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

// MLRUN_SLACK_NS is the timer slack mlrun sets for a short-lived command.
#define MLRUN_SLACK_NS 1000000UL

// mlrun_original_slack is the slack of the process's first thread before
// the constructor ran; 0 until it runs.
static unsigned long mlrun_original_slack;

// mlrun_long_lived reports whether mlrun's arguments name a long-lived
// command: the first argument that is not a flag (nor the value of a root
// flag given as a separate argument), as cmd/mlrun's commandName finds it.
static int mlrun_long_lived(int argc, char **argv) {
	const char *name = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc) {
				name = argv[i + 1];
			}
			break;
		}
		if (strcmp(a, "--tracking-uri") == 0 || strcmp(a, "--artifacts-destination") == 0) {
			i++;
			continue;
		}
		if (a[0] == '-') {
			continue;
		}
		name = a;
		break;
	}
	return strcmp(name, "server") == 0 || strcmp(name, "ui") == 0 ||
		strcmp(name, "serve") == 0 || strcmp(name, "scheduler") == 0;
}

// glibc calls the constructors of the program with its arguments.
__attribute__((constructor)) static void mlrun_set_timer_slack(int argc, char **argv, char **envp) {
	int got = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (got < 0) {
		return;
	}
	mlrun_original_slack = (unsigned long)got;
#ifdef __GLIBC__
	if (argv != NULL && !mlrun_long_lived(argc, argv)) {
		prctl(PR_SET_TIMERSLACK, MLRUN_SLACK_NS, 0, 0, 0);
	}
#endif
}

static unsigned long mlrun_get_slack(void) {
	int got = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	return got < 0 ? 0 : (unsigned long)got;
}

static void mlrun_put_slack(unsigned long ns) {
	prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

static unsigned long mlrun_original(void) { return mlrun_original_slack; }
*/
import "C"

import (
	"os/exec"
	"runtime"
	"unsafe"
)

// Original returns the timer slack, in nanoseconds, the process was
// started with (0 where it cannot be read).
func Original() int { return int(C.mlrun_original()) }

// Current returns the timer slack of the calling thread, in nanoseconds.
func Current() int { return int(C.mlrun_get_slack()) }

// LongLived reports whether mlrun run with args (without the program
// name) keeps its timer slack: whether args name a long-lived command.
func LongLived(args []string) bool {
	argv := make([]*C.char, 0, len(args)+1)
	argv = append(argv, C.CString("mlrun"))
	for _, a := range args {
		argv = append(argv, C.CString(a))
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	return C.mlrun_long_lived(C.int(len(argv)), &argv[0]) != 0
}

// Start starts cmd as cmd.Start does, from a thread whose timer slack is
// the one the process was started with, which the program then keeps.
func Start(cmd *exec.Cmd) error {
	original := C.ulong(Original())
	if original == 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := C.mlrun_get_slack()
	if prev == original {
		return cmd.Start()
	}
	C.mlrun_put_slack(original)
	defer C.mlrun_put_slack(prev)
	return cmd.Start()
}
