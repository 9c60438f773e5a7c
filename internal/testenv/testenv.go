// Package testenv decides what a test does when a real service it needs
// (PostgreSQL, Chromium, Slurm, ONNX Runtime, the MLflow client) is not on
// this machine: it skips and says why, unless MLRUN_REQUIRE_INTEGRATION=1
// (set by .ci/run), where a missing service is a failure.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RequireEnv is the environment switch that turns a skip into a failure.
const RequireEnv = "MLRUN_REQUIRE_INTEGRATION"

// Required reports whether missing services must fail tests.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing ends the test because a service is unavailable: a skip that names
// the reason, or a failure when Required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s=1 but %s", RequireEnv, msg)
	}
	t.Skipf("skipped: %s", msg)
}
