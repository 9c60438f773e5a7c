package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// testScheduleExecutor checks that a schedule keeps its executor and
// resources, whether added or applied, and that applying a changed
// executor setting updates the schedule.
func testScheduleExecutor(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	res := tracking.Resources{Partition: "debug", Time: "10", Mem: "150M", CPUs: 2, GPUs: "a100:1", Account: "ml", Args: []string{"--qos=high"}}
	a := newSchedule("a")
	a.Executor, a.Resources = "slurm", res
	if err := s.CreateSchedule(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSchedule(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Executor != "slurm" || !reflect.DeepEqual(got.Resources, res) {
		t.Fatalf("added: executor %q resources %+v; want slurm %+v", got.Executor, got.Resources, res)
	}
	if err := s.CreateSchedule(ctx, newSchedule("local")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSchedule(ctx, "local"); got.Executor != "" || !reflect.DeepEqual(got.Resources, tracking.Resources{}) {
		t.Fatalf("a local schedule reads back executor %q resources %+v", got.Executor, got.Resources)
	}

	src := "/p/MLproject"
	b := newSchedule("b")
	b.Executor, b.Resources = "slurm", tracking.Resources{Time: "5"}
	if _, err := s.ApplySchedules(ctx, src, []*tracking.Schedule{b}); err != nil {
		t.Fatal(err)
	}
	b2 := newSchedule("b")
	b2.Executor, b2.Resources = "slurm", tracking.Resources{Time: "7"}
	changes, err := s.ApplySchedules(ctx, src, []*tracking.Schedule{b2})
	if err != nil {
		t.Fatal(err)
	}
	if !equalChanges(changes, []tracking.Change{{Name: "b", Action: tracking.ActionUpdated}}) {
		t.Fatalf("applying new resources: %v", changes)
	}
	if got, _ := s.GetSchedule(ctx, "b"); got.Executor != "slurm" || got.Resources.Time != "7" {
		t.Fatalf("applied: executor %q resources %+v", got.Executor, got.Resources)
	}
	b3 := newSchedule("b")
	changes, err = s.ApplySchedules(ctx, src, []*tracking.Schedule{b3})
	if err != nil {
		t.Fatal(err)
	}
	if !equalChanges(changes, []tracking.Change{{Name: "b", Action: tracking.ActionUpdated}}) {
		t.Fatalf("applying back to local: %v", changes)
	}
	if got, _ := s.GetSchedule(ctx, "b"); got.Executor != "" || got.Resources.Time != "" {
		t.Fatalf("back to local: executor %q resources %+v", got.Executor, got.Resources)
	}
}
