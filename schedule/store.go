package schedule

import "github.com/mlrun/mlrun/tracking"

// Store is what the scheduler needs of the tracking store: schedules and
// their fires, runs found by tag, and reaping runs whose process died.
// Every tracking.Store has it.
type Store interface {
	tracking.ScheduleStore
	tracking.RunStore
}
