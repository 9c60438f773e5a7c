package pipeline

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/tracking"
)

// runLogger records a step's output on its run; it implements
// steps.Logger. Params, metrics and tags are buffered and written in one
// transaction by flush, which the runner calls after every step: logging is
// never the slow part of a run. Artifacts are written to the staging
// directory artifactDir, which flush also publishes to the run's
// repository (a no-op when that is the local directory itself).
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

	mu      sync.Mutex
	params  []tracking.Param
	metrics []tracking.Metric
	tags    []tracking.Tag
}

// LogParams implements steps.Logger.
func (l *runLogger) LogParams(ctx context.Context, params map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(params)) {
		l.params = append(l.params, tracking.Param{Key: k, Value: params[k]})
	}
	return nil
}

// LogMetrics implements steps.Logger.
func (l *runLogger) LogMetrics(ctx context.Context, metrics []tracking.Metric) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.metrics = append(l.metrics, metrics...)
	return nil
}

// SetTags implements steps.Logger.
func (l *runLogger) SetTags(ctx context.Context, tags map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		l.tags = append(l.tags, tracking.Tag{Key: k, Value: tags[k]})
	}
	return nil
}

// flush writes what was logged since the last flush, in one transaction.
func (l *runLogger) flush(ctx context.Context) error {
	l.mu.Lock()
	params, metrics, tags := l.params, l.metrics, l.tags
	l.params, l.metrics, l.tags = nil, nil, nil
	l.mu.Unlock()
	if len(params)+len(metrics)+len(tags) > 0 {
		if err := l.store.LogBatch(ctx, l.runID, metrics, params, tags); err != nil {
			return err
		}
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
