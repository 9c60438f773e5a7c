// Package storetest is the conformance suite of tracking.Store: one set of
// tests that every store adapter (sqlite, postgres, ...) runs against
// itself, as restic's backend test suite does. An adapter's test calls
//
//	storetest.Run(t, &storetest.Harness{Open: ..., Reopen: ..., Exec: ...})
//
// The suite checks the contract as callers see it: CRUD of experiments,
// runs, params, metrics and tags; MLflow's search syntax, ordering and
// paging; the latest-metric rule and metric history; param immutability;
// delete and restore; the model registry (versions, aliases, stages); the
// schedules and their leases; the step cache; concurrent writers; and the
// error codes (errs.NotFound, errs.Conflict, errs.Invalid).
package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Harness is how the suite reaches a store under test.
type Harness struct {
	// Open returns a new, empty store (holding only the Default
	// experiment), closed when the test ends.
	Open func(tb testing.TB) tracking.Store
	// Reopen returns another handle on the same data as st, as a second
	// process would open it, closed when the test ends.
	Reopen func(tb testing.TB, st tracking.Store) tracking.Store
	// Exec runs one SQL statement on st's database, with '?' placeholders,
	// to set up states the contract cannot create (a run with a chosen id,
	// an old heartbeat, a deleted experiment). Nil for stores that are not
	// SQL databases: the tests that need it are skipped.
	Exec func(tb testing.TB, st tracking.Store, query string, args ...any)
}

// exec runs a setup statement through the harness, or skips the test.
func (h *Harness) exec(tb testing.TB, st tracking.Store, query string, args ...any) {
	tb.Helper()
	if h.Exec == nil {
		tb.Skip("the store has no SQL access for setting up this test")
	}
	h.Exec(tb, st, query, args...)
}

// Run runs every test of the suite as a subtest of t.
func Run(t *testing.T, h *Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, *Harness)
	}{
		{"Experiments", testExperiments},
		{"RunCRUD", testRunCRUD},
		{"ParamsAreImmutable", testParamsAreImmutable},
		{"Validation", testValidation},
		{"LatestMetricRuleAndNaN", testLatestMetricRuleAndNaN},
		{"LoggingToDeletedRun", testLoggingToDeletedRun},
		{"ResolveRunID", testResolveRunID},
		{"ReapDeadRuns", testReapDeadRuns},
		{"ClaimRun", testClaimRun},
		{"PageTokenFormat", testPageTokenFormat},
		{"CountRuns", testCountRuns},
		{"SearchFilters", testSearchFilters},
		{"SearchOrderBy", testSearchOrderBy},
		{"SearchDuration", testSearchDuration},
		{"SearchPaging", testSearchPaging},
		{"SearchPagingAcrossMissingValues", testSearchPagingAcrossMissingValues},
		{"RegisteredModelsAndVersions", testRegisteredModelsAndVersions},
		{"ModelVersionSourceChecks", testModelVersionSourceChecks},
		{"ConcurrentVersionNumbering", testConcurrentVersionNumbering},
		{"Stages", testStages},
		{"Aliases", testAliases},
		{"AliasMoveIsAtomic", testAliasMoveIsAtomic},
		{"DeleteVersionsAndModels", testDeleteVersionsAndModels},
		{"ScheduleCRUD", testScheduleCRUD},
		{"ClaimFireLease", testClaimFireLease},
		{"ClaimFireConcurrent", testClaimFireConcurrent},
		{"QueuedEndAndReap", testQueuedEndAndReap},
		{"ApplySchedules", testApplySchedules},
		{"ScheduleExecutor", testScheduleExecutor},
		{"RunByTag", testRunByTag},
		{"StepCache", testStepCache},
		{"ConcurrentWriters", testConcurrentWriters},
		{"AttributeIN", testAttributeIN},
		{"Purge", testPurge},
		{"ExperimentAdmin", testExperimentAdmin},
		{"RegistryAdmin", testRegistryAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

func mustCreateRun(tb testing.TB, s tracking.Store, nr tracking.NewRun) *tracking.RunInfo {
	tb.Helper()
	info, err := s.CreateRun(context.Background(), nr)
	if err != nil {
		tb.Fatalf("CreateRun(%+v): %v", nr, err)
	}
	return info
}

func mustLog(tb testing.TB, s tracking.Store, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) {
	tb.Helper()
	if err := s.LogBatch(context.Background(), runID, metrics, params, tags); err != nil {
		tb.Fatalf("LogBatch(%s): %v", runID, err)
	}
}

func mustGetRun(tb testing.TB, s tracking.Store, id string) *tracking.Run {
	tb.Helper()
	r, err := s.GetRun(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetRun(%s): %v", id, err)
	}
	return r
}

// wantCode fails unless err is an *errs.Error with code and a message
// containing every string of contains.
func wantCode(tb testing.TB, what string, err error, code string, contains ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s: no error, want %s", what, code)
	}
	if errs.Code(err) != code {
		tb.Fatalf("%s: error code %q (%v), want %s", what, errs.Code(err), err, code)
	}
	for _, c := range contains {
		if !strings.Contains(errs.Message(err), c) {
			tb.Fatalf("%s: message %q does not contain %q", what, errs.Message(err), c)
		}
	}
}
