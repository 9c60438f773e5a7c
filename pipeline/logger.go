package pipeline

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/tracking"
)

// runLogger records a step's output on its run; it implements
// steps.Logger. Params, metrics and tags are buffered and written in one
// transaction by flush: logging is never the slow part of a run. The
// runner flushes before a step that reads the run's metrics, before a
// command and when the run ends; in between, what was logged reaches the
// store at most flushDelay after it was logged (a timer flushes it), so a
// long step never hides what the steps before it logged. Artifacts are
// written to the staging directory artifactDir, which flush also publishes
// to the run's repository (a no-op when that is the local directory
// itself).
type runLogger struct {
	store       tracking.Store
	runID       string
	artifactDir string
	staging     *artifact.Staging
	// bg runs what steps defer (plots); execute waits for it.
	bg *background
	// shared stores the bytes WriteArtifact writes once across the runs
	// sharing it (a sweep's trials), or within this run.
	shared *artifact.SharedFiles

	// flushing is held by a flush from taking what is buffered until it is
	// written, so that two flushes (the timer's and the runner's) write in
	// the order the values were logged.
	flushing sync.Mutex

	mu      sync.Mutex
	params  []tracking.Param
	metrics []tracking.Metric
	tags    []tracking.Tag
	// latest is, by key, the latest point logged through l (MLflow's
	// rule, tracking.NewerMetric): the run's latest metrics as long as
	// nothing else logged to the run (see latestMetrics).
	latest map[string]tracking.Metric
	// outside is set once something other than l may have logged metrics
	// to the run: a command's process, or a run created elsewhere.
	outside bool
	// timer flushes what is buffered flushDelay after it was logged; nil
	// while nothing waits. timerErr is the timer's failed flush, returned
	// by the next flush.
	timer    *time.Timer
	timerErr error
}

// flushDelay is how long logged values may wait in a runLogger's buffer
// before a timer writes them.
const flushDelay = 200 * time.Millisecond

// LogParams implements steps.Logger.
func (l *runLogger) LogParams(ctx context.Context, params map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(params)) {
		l.params = append(l.params, tracking.Param{Key: k, Value: params[k]})
	}
	l.armLocked()
	return nil
}

// LogMetrics implements steps.Logger.
func (l *runLogger) LogMetrics(ctx context.Context, metrics []tracking.Metric) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.metrics = append(l.metrics, metrics...)
	if l.latest == nil {
		l.latest = map[string]tracking.Metric{}
	}
	for _, m := range metrics {
		if cur, ok := l.latest[m.Key]; !ok || tracking.NewerMetric(m, cur) {
			l.latest[m.Key] = m
		}
	}
	l.armLocked()
	return nil
}

// loggedElsewhere tells l that something else may log metrics to the run.
func (l *runLogger) loggedElsewhere() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outside = true
}

// latestMetrics returns the run's latest metric values, by key: from what
// was logged through l when nothing else logged to the run, else read from
// the store after a flush.
func (l *runLogger) latestMetrics(ctx context.Context) (map[string]any, error) {
	l.mu.Lock()
	if !l.outside {
		m := make(map[string]any, len(l.latest))
		for k, x := range l.latest {
			m[k] = x.Value
		}
		l.mu.Unlock()
		return m, nil
	}
	l.mu.Unlock()
	if err := l.flush(ctx); err != nil {
		return nil, err
	}
	run, err := l.store.GetRun(ctx, l.runID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(run.Metrics))
	for _, x := range run.Metrics {
		m[x.Key] = x.Value
	}
	return m, nil
}

// SetTags implements steps.Logger.
func (l *runLogger) SetTags(ctx context.Context, tags map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		l.tags = append(l.tags, tracking.Tag{Key: k, Value: tags[k]})
	}
	l.armLocked()
	return nil
}

// armLocked starts the timer that flushes what was just logged, unless it
// runs already. l.mu is held.
func (l *runLogger) armLocked() {
	if l.timer == nil {
		l.timer = time.AfterFunc(flushDelay, l.timedFlush)
	}
}

// timedFlush is the timer's flush of the buffered values (artifacts are
// published by the runner's flushes only, between steps); its error waits
// for the next flush.
func (l *runLogger) timedFlush() {
	if err := l.write(context.Background(), false); err != nil {
		l.mu.Lock()
		if l.timerErr == nil {
			l.timerErr = err
		}
		l.mu.Unlock()
	}
}

// flush writes what was logged since the last flush, in one transaction,
// and returns the error of a timed flush that failed since.
func (l *runLogger) flush(ctx context.Context) error {
	err := l.write(ctx, true)
	l.mu.Lock()
	if l.timerErr != nil {
		err, l.timerErr = l.timerErr, nil
	}
	l.mu.Unlock()
	return err
}

// write takes what is buffered and writes it, stopping the timer; sync
// also publishes the staged artifacts.
func (l *runLogger) write(ctx context.Context, sync bool) error {
	l.flushing.Lock()
	defer l.flushing.Unlock()
	l.mu.Lock()
	params, metrics, tags := l.params, l.metrics, l.tags
	l.params, l.metrics, l.tags = nil, nil, nil
	if l.timer != nil {
		l.timer.Stop() // when it already fired, its flush finds nothing
		l.timer = nil
	}
	l.mu.Unlock()
	if len(params)+len(metrics)+len(tags) > 0 {
		if err := l.store.LogBatch(ctx, l.runID, metrics, params, tags); err != nil {
			return err
		}
	}
	if !sync {
		return nil
	}
	return l.staging.Sync(ctx)
}

// newRunLogger returns the logger of a run whose artifacts are staged in
// staging. Its background work takes slots from bgSlots, shared with other
// runs (the trials of a sweep); when bgSlots is nil, the run has its own,
// one per processor.
func newRunLogger(st tracking.Store, runID string, staging *artifact.Staging, bgSlots chan struct{}) *runLogger {
	if bgSlots == nil {
		bgSlots = newBackgroundSlots()
	}
	return &runLogger{store: st, runID: runID, artifactDir: staging.Dir, staging: staging, bg: newBackground(bgSlots),
		shared: &artifact.SharedFiles{}}
}

// sharing returns l storing the artifact bytes it writes once with the
// other runs of shared (see artifact.SharedFiles); nil leaves l its own.
func (l *runLogger) sharing(shared *artifact.SharedFiles) *runLogger {
	if shared != nil {
		l.shared = shared
	}
	return l
}

// LogArtifact implements steps.Logger.
func (l *runLogger) LogArtifact(ctx context.Context, src, dst string) error {
	target, err := artifact.Join(l.artifactDir, dst)
	if err != nil {
		return err
	}
	return artifact.Copy(src, target)
}

// WriteArtifact implements steps.Logger.
func (l *runLogger) WriteArtifact(ctx context.Context, dst string, data []byte) error {
	path, err := l.ArtifactPath(dst)
	if err != nil {
		return err
	}
	if err := l.shared.Write(path, data); err != nil {
		return fmt.Errorf("write artifact %s: %w", dst, err)
	}
	return nil
}

// ArtifactPath implements steps.Logger.
func (l *runLogger) ArtifactPath(dst string) (string, error) {
	path, err := artifact.Join(l.artifactDir, dst)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create artifact directory: %w", err)
	}
	return path, nil
}
