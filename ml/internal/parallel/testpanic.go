//go:build mlrun_testpanic

package parallel

import "os"

// TestPanicEnv names the environment variable that, in a binary built with
// -tags mlrun_testpanic (only the tests build one), makes every worker
// goroutine started through Do or Catch panic with its value. The tests use
// it to check, with the real binary and a real estimator, that a panic in an
// estimator's goroutine ends the run FAILED with exit 70. A release build
// ignores it.
const TestPanicEnv = "MLRUN_TEST_WORKER_PANIC"

// testPanic panics with $MLRUN_TEST_WORKER_PANIC when it is set.
func testPanic() {
	if msg := os.Getenv(TestPanicEnv); msg != "" {
		panic(msg)
	}
}
