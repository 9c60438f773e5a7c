package steps

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Log is the step kind that records params, metrics, tags and artifacts
// named in `with:` on the run, typically from expressions over earlier
// steps' outputs.
type Log struct{}

// Name implements Kind.
func (Log) Name() string { return "log" }

// Doc implements Kind.
func (Log) Doc() string { return "record params, metrics, tags and artifacts on the run" }

// Inputs implements Kind.
func (Log) Inputs() []Input {
	return []Input{
		{Name: "params", Type: Map, Doc: "name: value; logged as text (params are immutable once logged)"},
		{Name: "metrics", Type: Map, Doc: "name: number"},
		{Name: "tags", Type: Map, Doc: "name: value; logged as text"},
		{Name: "artifacts", Type: List, Doc: "project files or directories to copy into the run's artifacts, under their own relative paths (nothing outside the project, symbolic links resolved)"},
	}
}

// Outputs implements Kind.
func (Log) Outputs() []Output { return nil }

// Check implements Kind.
func (Log) Check(in Values) error {
	if m, ok := in["metrics"].(map[string]any); ok {
		for k, v := range m {
			if _, err := Convert(Float, v); err != nil {
				return fmt.Errorf("metric %q must be a number, not %v", k, v)
			}
		}
	}
	if l, ok := in["artifacts"].([]any); ok {
		for i, v := range l {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("artifacts[%d] must be a path, not %v", i, v)
			}
			if !filepath.IsAbs(s) && !filepath.IsLocal(s) {
				return fmt.Errorf("artifacts[%d] %q leaves the project directory; the log step copies files of the project only", i, s)
			}
		}
	}
	return nil
}

// Run implements Kind.
func (l Log) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	if err := l.Check(in); err != nil {
		return nil, fmt.Errorf("step %s: %w", env.Step, err)
	}
	res := &Result{Metrics: map[string]float64{}}
	if m, ok := in["params"].(map[string]any); ok && len(m) > 0 {
		params := map[string]string{}
		for k, v := range m {
			params[k] = fmt.Sprint(v)
		}
		if err := env.Log.LogParams(ctx, params); err != nil {
			return nil, err
		}
	}
	if m, ok := in["metrics"].(map[string]any); ok && len(m) > 0 {
		now := time.Now().UnixMilli()
		var points []tracking.Metric
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, _ := Convert(Float, m[k])
			res.Metrics[k] = f.(float64)
			points = append(points, tracking.Metric{Key: k, Value: f.(float64), Timestamp: now})
		}
		if err := env.Log.LogMetrics(ctx, points); err != nil {
			return nil, err
		}
	}
	if m, ok := in["tags"].(map[string]any); ok && len(m) > 0 {
		tags := map[string]string{}
		for k, v := range m {
			tags[k] = fmt.Sprint(v)
		}
		if err := env.Log.SetTags(ctx, tags); err != nil {
			return nil, err
		}
	}
	if list, ok := in["artifacts"].([]any); ok {
		for _, v := range list {
			rel := filepath.Clean(v.(string))
			src := rel
			if !filepath.IsAbs(src) {
				src = filepath.Join(env.ProjectDir, rel)
			}
			if _, err := os.Stat(src); err != nil {
				return nil, errs.Errorf(errs.Invalid, "step %s: artifact %s: %v", env.Step, v, err)
			}
			// Only files of the project (the step's working directory),
			// symbolic links resolved: never /etc/passwd or ~/.ssh.
			inside, err := artifact.Inside(env.ProjectDir, src)
			if err != nil {
				return nil, errs.Errorf(errs.Invalid, "step %s: artifact %s: %v", env.Step, v, err)
			}
			if !inside {
				return nil, errs.Errorf(errs.Invalid, "step %s: artifact %s is outside the project directory %s; the log step copies files of the project only", env.Step, v, env.ProjectDir)
			}
			dst := rel
			if filepath.IsAbs(dst) || !filepath.IsLocal(dst) {
				dst = filepath.Base(rel)
			}
			if err := env.Log.LogArtifact(ctx, src, dst); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// lockedWriter serialises writes from the goroutines that copy a child
// process's stdout and stderr into one file.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// CacheFiles implements Cacheable: the artifacts it copies.
func (Log) CacheFiles(projectDir string, in Values) []string {
	files, _ := stringList(in, "artifacts")
	return files
}
