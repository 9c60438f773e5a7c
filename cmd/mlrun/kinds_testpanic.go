//go:build mlrun_testpanic

package main

import (
	"context"

	"github.com/mlrun/mlrun/steps"
)

// testKinds adds the step kind "panic" to a binary built with
// -tags mlrun_testpanic, which only the tests build: it lets them check,
// with the real binary, what a panic in a step does to a run (exit 70, run
// FAILED with the message), whatever bug causes the next one. A release
// build cannot reach it.
func testKinds() []steps.Kind { return []steps.Kind{panicKind{}} }

// panicKind panics with its input "message".
type panicKind struct{}

// Name implements steps.Kind.
func (panicKind) Name() string { return "panic" }

// Doc implements steps.Kind.
func (panicKind) Doc() string { return "panic with the message (test builds only)" }

// Inputs implements steps.Kind.
func (panicKind) Inputs() []steps.Input {
	return []steps.Input{{Name: "message", Type: steps.String, Default: "boom", Doc: "what to panic with"}}
}
func (panicKind) Outputs() []steps.Output  { return nil }
func (panicKind) Check(steps.Values) error { return nil }
func (panicKind) Run(_ context.Context, _ *steps.Env, in steps.Values) (*steps.Result, error) {
	panic(in["message"])
}
