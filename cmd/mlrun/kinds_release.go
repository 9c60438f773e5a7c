//go:build !mlrun_testpanic

package main

import "github.com/mlrun/mlrun/steps"

// testKinds are extra step kinds for mlrun's own end-to-end tests; a
// release build has none (see kinds_testpanic.go).
func testKinds() []steps.Kind { return nil }
