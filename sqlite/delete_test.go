package sqlite_test

import (
	"context"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// TestSetRunsDeletedIsOneTransaction: an unknown id among several changes
// nothing; known ids change together.
func TestSetRunsDeletedIsOneTransaction(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := mustCreateRun(t, s, tracking.NewRun{}).ID
	b := mustCreateRun(t, s, tracking.NewRun{}).ID
	err := s.SetRunsDeleted(ctx, []string{a, "0123456789abcdef0123456789abcdef", b}, true)
	wantCode(t, "unknown id", err, errs.NotFound, "0123456789abcdef0123456789abcdef")
	for _, id := range []string{a, b} {
		if st := mustGetRun(t, s, id).Info.LifecycleStage; st != tracking.LifecycleActive {
			t.Errorf("run %s is %s after a failed delete", id, st)
		}
	}
	if err := s.SetRunsDeleted(ctx, []string{a, b}, true); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b} {
		if r := mustGetRun(t, s, id); r.Info.LifecycleStage != tracking.LifecycleDeleted {
			t.Errorf("run %s is %s after delete", id, r.Info.LifecycleStage)
		}
	}
	if err := s.SetRunsDeleted(ctx, []string{b}, false); err != nil {
		t.Fatal(err)
	}
	if st := mustGetRun(t, s, b).Info.LifecycleStage; st != tracking.LifecycleActive {
		t.Errorf("run %s is %s after restore", b, st)
	}
}
