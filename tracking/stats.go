package tracking

import "context"

// ExperimentStats summarises the runs of one experiment for listings.
type ExperimentStats struct {
	Runs        int   // active runs
	DeletedRuns int   // deleted runs
	Running     int   // active runs with status RUNNING
	LastRun     int64 // latest start time of any run (ms); 0 without runs
}

// ExperimentAdmin is the part of a store that renames, deletes and restores
// experiments, as MLflow's update-, delete- and restore-experiment do.
// Deleting an experiment marks it (not its runs) deleted; restoring makes
// it active again.
type ExperimentAdmin interface {
	// RenameExperiment renames an experiment; errs.Conflict if the name is taken.
	RenameExperiment(ctx context.Context, id, name string) error
	// DeleteExperiment marks an experiment deleted; the Default experiment
	// cannot be deleted (errs.Invalid).
	DeleteExperiment(ctx context.Context, id string) error
	// RestoreExperiment makes a deleted experiment active again.
	RestoreExperiment(ctx context.Context, id string) error
	// ExperimentStats returns run counts and last activity per experiment id,
	// computed in one query.
	ExperimentStats(ctx context.Context) (map[string]ExperimentStats, error)
}
