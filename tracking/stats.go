package tracking

// ExperimentStats summarises the runs of one experiment for listings.
type ExperimentStats struct {
	Runs        int   // active runs
	DeletedRuns int   // deleted runs
	Running     int   // active runs with status RUNNING
	LastRun     int64 // latest start time of any run (ms); 0 without runs
}
