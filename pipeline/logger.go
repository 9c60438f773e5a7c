package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/tracking"
)

// runLogger records a step's output on its run; it implements steps.Logger.
type runLogger struct {
	store       tracking.Store
	runID       string
	artifactDir string
}

// LogParams implements steps.Logger.
func (l *runLogger) LogParams(ctx context.Context, params map[string]string) error {
	ps := make([]tracking.Param, 0, len(params))
	for _, k := range sortedKeys(params) {
		ps = append(ps, tracking.Param{Key: k, Value: params[k]})
	}
	return l.store.LogBatch(ctx, l.runID, nil, ps, nil)
}

// LogMetrics implements steps.Logger.
func (l *runLogger) LogMetrics(ctx context.Context, metrics []tracking.Metric) error {
	return l.store.LogBatch(ctx, l.runID, metrics, nil, nil)
}

// SetTags implements steps.Logger.
func (l *runLogger) SetTags(ctx context.Context, tags map[string]string) error {
	ts := make([]tracking.Tag, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		ts = append(ts, tracking.Tag{Key: k, Value: tags[k]})
	}
	return l.store.LogBatch(ctx, l.runID, nil, nil, ts)
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
	if err := os.WriteFile(path, data, 0o644); err != nil {
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
