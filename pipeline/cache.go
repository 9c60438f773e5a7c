package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// The step cache. A step whose kind is steps.Cacheable gets a key: the
// sha256 of its kind, mlrun's version, its evaluated inputs (upstream
// outputs by the key of the step that made them), the content of its path
// inputs and of the files the kind names (a command's scripts). After the
// step succeeds, an entry records what it did: its outputs, the params,
// metrics, tags and data versions it logged, and the artifacts it wrote,
// with their hashes. A later step with the same key replays the entry on its
// own run instead of running, unless a recorded file was deleted or changed.

const cacheFormat = 1

// cacheEntry is what a cached step did.
type cacheEntry struct {
	Format      int                     `json:"format"`
	Key         string                  `json:"key"`
	Kind        string                  `json:"kind"`
	Step        string                  `json:"step"`
	RunID       string                  `json:"run_id"`
	ArtifactDir string                  `json:"artifact_dir"`           // the source run's artifacts as it wrote them (its staging directory)
	ArtifactURI string                  `json:"artifact_uri,omitempty"` // the source run's artifact location, read through its repository
	Outputs     map[string]cachedOutput `json:"outputs"`
	Metrics     map[string]float64      `json:"metrics"` // the step's result metrics
	Params      map[string]string       `json:"params,omitempty"`
	Points      []tracking.Metric       `json:"points,omitempty"`
	Tags        map[string]string       `json:"tags,omitempty"`
	Datasets    map[string]string       `json:"datasets,omitempty"`
	Artifacts   []cachedFile            `json:"artifacts,omitempty"`
}

// cachedOutput is one output: a plain value as JSON, a data set as a gob
// file in the cache directory, or a model as its artifact directory.
type cachedOutput struct {
	JSON    json.RawMessage `json:"json,omitempty"`
	Dataset string          `json:"dataset,omitempty"` // file in the cache directory
	SHA256  string          `json:"sha256,omitempty"`
	Model   string          `json:"model,omitempty"` // artifact path of the model directory
}

type cachedFile struct {
	Path   string `json:"path"` // relative to the run's artifact directory
	SHA256 string `json:"sha256"`
}

// stepCache holds what one run needs to use the cache.
type stepCache struct {
	store      tracking.StepCache
	dir        string // where data set outputs are kept
	version    string
	modelSpecs func(string) (ml.Spec, bool)
	flight     *flightGroup
	digests    map[any]string // output value → "<key>/<name>", for downstream keys
	// self replaces this run's id and artifact directory in string inputs,
	// so that "this run's model" is the same input on every run.
	self *strings.Replacer
	// artifactURI is this run's artifact location; artifacts opens the
	// source runs' locations.
	artifactURI string
	artifacts   *artifact.Schemes
}

// flightGroup lets concurrent trials of a sweep that need the same step
// wait for the one that runs it, then reuse its entry. It also remembers
// the entries its trials found intact and the data sets they decoded, so
// that the next trials neither read, verify nor decode them again.
type flightGroup struct {
	mu       sync.Mutex
	calls    map[string]chan struct{}
	entries  map[string]*cacheEntry      // by key, found intact
	datasets map[string]*dataset.Dataset // by file in the cache directory; each use gets a copy
}

func newFlightGroup() *flightGroup {
	return &flightGroup{calls: map[string]chan struct{}{}, entries: map[string]*cacheEntry{},
		datasets: map[string]*dataset.Dataset{}}
}

// entry returns the entry of key an earlier lookup found intact, or nil.
func (g *flightGroup) entry(key string) *cacheEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.entries[key]
}

// keep remembers an entry found intact.
func (g *flightGroup) keep(key string, e *cacheEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.entries[key] = e
}

// dataset returns a copy of the data set decoded from file, decoding it
// the first time.
func (g *flightGroup) dataset(file string, decode func() (*dataset.Dataset, error)) (*dataset.Dataset, error) {
	g.mu.Lock()
	ds, ok := g.datasets[file]
	g.mu.Unlock()
	if !ok {
		var err error
		if ds, err = decode(); err != nil {
			return nil, err
		}
		if ds.Features == nil || ds.Target == nil {
			return ds, nil // nothing to copy from: not kept
		}
		g.mu.Lock()
		g.datasets[file] = ds
		g.mu.Unlock()
	}
	// Steps get their own copy, which they may change.
	all := make([]int, ds.Rows)
	for i := range all {
		all[i] = i
	}
	return ds.Subset(all), nil
}

// enter returns (nil, true) for the first caller of key, who must call
// leave; later callers get a channel that closes when the first leaves.
func (g *flightGroup) enter(key string) (<-chan struct{}, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch, ok := g.calls[key]; ok {
		return ch, false
	}
	g.calls[key] = make(chan struct{})
	return nil, true
}

func (g *flightGroup) leave(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.calls[key])
	delete(g.calls, key)
}

// key computes a step's cache key, or "" when the step cannot be cached
// (its kind is not Cacheable, or an input is something the cache cannot
// name).
func (c *stepCache) key(kind steps.Kind, values steps.Values, projectDir string) string {
	cacheable, ok := kind.(steps.Cacheable)
	if !ok {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "mlrun step cache %d\nkind %s\nversion %s\n", cacheFormat, kind.Name(), c.version)
	decl := map[string]steps.Type{}
	for _, in := range kind.Inputs() {
		decl[in.Name] = in.Type
	}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		fmt.Fprintf(h, "input %s\n", name)
		if !c.writeValue(h, values[name]) {
			return ""
		}
		if decl[name] == steps.Path {
			p, _ := values[name].(string)
			if !hashFileInto(h, projectDir, p) {
				return ""
			}
		}
	}
	for _, f := range cacheable.CacheFiles(projectDir, values) {
		fmt.Fprintf(h, "file %s\n", f)
		if !hashFileInto(h, projectDir, f) {
			return ""
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeValue writes a canonical, typed encoding of v; false when v holds
// something without a name in the cache.
func (c *stepCache) writeValue(h hash.Hash, v any) bool {
	switch x := v.(type) {
	case nil:
		fmt.Fprint(h, "nil;")
	case bool:
		fmt.Fprintf(h, "bool:%t;", x)
	case int:
		fmt.Fprintf(h, "int:%d;", x)
	case int64:
		fmt.Fprintf(h, "int:%d;", x)
	case uint64:
		fmt.Fprintf(h, "int:%d;", x)
	case float64:
		fmt.Fprintf(h, "float:%016x;", math.Float64bits(x))
	case string:
		if c.self != nil {
			x = c.self.Replace(x)
		}
		fmt.Fprintf(h, "str:%d:%s;", len(x), x)
	case []any:
		fmt.Fprintf(h, "list:%d[", len(x))
		for _, e := range x {
			if !c.writeValue(h, e) {
				return false
			}
		}
		fmt.Fprint(h, "]")
	case map[string]any:
		fmt.Fprintf(h, "map:%d{", len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			fmt.Fprintf(h, "%d:%s=", len(k), k)
			if !c.writeValue(h, x[k]) {
				return false
			}
		}
		fmt.Fprint(h, "}")
	default:
		d, ok := c.digests[v]
		if !ok {
			return false
		}
		fmt.Fprintf(h, "output:%s;", d)
	}
	return true
}

// hashFileInto writes the content hash of a file or directory tree.
func hashFileInto(h hash.Hash, projectDir, p string) bool {
	if p == "" {
		return true
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(projectDir, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		sum, err := provenance.HashFile(p)
		if err != nil {
			return false
		}
		fmt.Fprintf(h, "sha256:%s;", sum)
		return true
	}
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		sum, err := provenance.HashFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, path)
		fmt.Fprintf(h, "tree:%s:%s;", filepath.ToSlash(rel), sum)
		return nil
	})
	return err == nil
}

// lookup returns the usable entry for key, or nil. An entry whose files
// are gone or changed is deleted.
func (c *stepCache) lookup(ctx context.Context, key string) *cacheEntry {
	if e := c.flight.entry(key); e != nil {
		return e // found intact earlier in this sweep
	}
	data, err := c.store.GetStepCache(ctx, key)
	if err != nil || data == nil {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil || e.Format != cacheFormat || !c.intact(ctx, &e) {
		_ = c.store.DeleteStepCache(ctx, key)
		return nil
	}
	c.flight.keep(key, &e)
	return &e
}

// intact reports whether every file the entry points at is there with
// the content it had.
func (c *stepCache) intact(ctx context.Context, e *cacheEntry) bool {
	repo, err := c.source(e)
	if err != nil {
		return false
	}
	for _, f := range e.Artifacts {
		sum, err := artifact.HashFile(ctx, repo, f.Path)
		if err != nil || sum != f.SHA256 {
			return false
		}
	}
	for _, o := range e.Outputs {
		if o.Dataset != "" {
			sum, err := provenance.HashFile(filepath.Join(c.dir, o.Dataset))
			if err != nil || sum != o.SHA256 {
				return false
			}
		}
	}
	return true
}

// replay applies a cached entry to the current run and returns the step's
// result.
func (c *stepCache) replay(ctx context.Context, e *cacheEntry, env *steps.Env, artifactDir string) (*steps.Result, error) {
	// What named the source run now names this one.
	here := strings.NewReplacer(e.RunID, env.RunID, e.ArtifactDir, artifactDir)
	repo, err := c.source(e)
	if err != nil {
		return nil, err
	}
	for _, f := range e.Artifacts {
		dst, err := artifact.Join(artifactDir, filepath.FromSlash(f.Path))
		if err != nil {
			return nil, err
		}
		if err := repo.Get(ctx, f.Path, dst); err != nil {
			return nil, err
		}
	}
	if len(e.Params) > 0 {
		if err := env.Log.LogParams(ctx, rebaseStrings(e.Params, here)); err != nil {
			return nil, err
		}
	}
	if len(e.Points) > 0 {
		if err := env.Log.LogMetrics(ctx, e.Points); err != nil {
			return nil, err
		}
	}
	if len(e.Tags) > 0 {
		if err := env.Log.SetTags(ctx, rebaseStrings(e.Tags, here)); err != nil {
			return nil, err
		}
	}
	for p, sum := range e.Datasets {
		if env.DatasetVersion != nil {
			env.DatasetVersion(p, sum)
		}
	}
	res := &steps.Result{Outputs: map[string]any{}, Metrics: maps.Clone(e.Metrics)}
	for name, o := range e.Outputs {
		v, err := c.decodeOutput(o, artifactDir)
		if err != nil {
			return nil, fmt.Errorf("restore cached output %s of step %s: %w", name, e.Step, err)
		}
		// Outputs that name the source run (runs:/<id>/model, its
		// artifact directory) now name this run.
		res.Outputs[name] = rebase(v, here)
	}
	return res, nil
}

// source returns the repository of the entry's run: its artifact
// location, or for an entry recorded before those were, its directory.
func (c *stepCache) source(e *cacheEntry) (artifact.Repository, error) {
	if e.ArtifactURI == "" {
		return artifact.Local{Root: e.ArtifactDir}, nil
	}
	return c.artifacts.Open(e.ArtifactURI)
}

// rebaseStrings returns m with every value rewritten.
func rebaseStrings(m map[string]string, r *strings.Replacer) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = r.Replace(v)
	}
	return out
}

// rebase rewrites the strings inside v.
func rebase(v any, r *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return r.Replace(x)
	case []any:
		for i := range x {
			x[i] = rebase(x[i], r)
		}
	case map[string]any:
		for k := range x {
			x[k] = rebase(x[k], r)
		}
	}
	return v
}

func (c *stepCache) decodeOutput(o cachedOutput, artifactDir string) (any, error) {
	switch {
	case o.Dataset != "":
		return c.flight.dataset(o.Dataset, func() (*dataset.Dataset, error) {
			f, err := os.Open(filepath.Join(c.dir, o.Dataset))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			var ds dataset.Dataset
			if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&ds); err != nil {
				return nil, err
			}
			return &ds, nil
		})
	case o.Model != "":
		dir, err := artifact.Join(artifactDir, o.Model)
		if err != nil {
			return nil, err
		}
		return modelfile.Load(dir, c.modelSpecs)
	default:
		dec := json.NewDecoder(bytes.NewReader(o.JSON))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		return fromJSONNumbers(v), nil
	}
}

// record stores an entry for a step that just succeeded; it gives up
// quietly (the step simply is not cached) when an output cannot be kept.
func (c *stepCache) record(ctx context.Context, key, kind, step, runID, artifactDir string, res *steps.Result, rec *recordingLogger) {
	e := cacheEntry{Format: cacheFormat, Key: key, Kind: kind, Step: step, RunID: runID, ArtifactDir: artifactDir, ArtifactURI: c.artifactURI,
		Outputs: map[string]cachedOutput{}, Metrics: map[string]float64{},
		Params: rec.params, Points: rec.points, Tags: rec.tags, Datasets: rec.datasets}
	if res != nil {
		for k, v := range res.Metrics {
			e.Metrics[k] = v
		}
		for name, v := range res.Outputs {
			o, ok := c.encodeOutput(key, name, v)
			if !ok {
				return
			}
			e.Outputs[name] = o
		}
	}
	for _, dst := range slices.Sorted(maps.Keys(rec.artifacts)) {
		root, err := artifact.Join(artifactDir, dst)
		if err != nil {
			return
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			sum, err := provenance.HashFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(artifactDir, path)
			e.Artifacts = append(e.Artifacts, cachedFile{Path: filepath.ToSlash(rel), SHA256: sum})
			return nil
		})
		if err != nil {
			return
		}
	}
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	_ = c.store.PutStepCache(ctx, key, kind, step, runID, data)
}

func (c *stepCache) encodeOutput(key, name string, v any) (cachedOutput, bool) {
	switch x := v.(type) {
	case *dataset.Dataset:
		file := filepath.Join(key[:2], key+"-"+name+".gob")
		path := filepath.Join(c.dir, file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return cachedOutput{}, false
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
		if err != nil {
			return cachedOutput{}, false
		}
		w := bufio.NewWriter(tmp)
		err = gob.NewEncoder(w).Encode(x)
		if err == nil {
			err = w.Flush()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return cachedOutput{}, false
		}
		sum, err := provenance.HashFile(path)
		if err != nil {
			return cachedOutput{}, false
		}
		return cachedOutput{Dataset: file, SHA256: sum}, true
	case *modelfile.Model:
		if x.ArtifactPath == "" {
			return cachedOutput{}, false
		}
		return cachedOutput{Model: x.ArtifactPath}, true
	case nil, bool, int, int64, float64, string, []any, map[string]any:
		data, err := json.Marshal(x)
		if err != nil {
			return cachedOutput{}, false
		}
		return cachedOutput{JSON: data}, true
	}
	return cachedOutput{}, false
}

// fromJSONNumbers turns json.Number into int or float64, recursively.
func fromJSONNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(x.String()); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSONNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSONNumbers(x[k])
		}
	}
	return v
}

// recordingLogger passes everything to the run's logger and remembers it,
// for the cache entry.
type recordingLogger struct {
	inner     steps.Logger
	mu        sync.Mutex
	params    map[string]string
	points    []tracking.Metric
	tags      map[string]string
	datasets  map[string]string
	artifacts map[string]bool // destinations written
}

func newRecordingLogger(inner steps.Logger) *recordingLogger {
	return &recordingLogger{inner: inner, params: map[string]string{}, tags: map[string]string{},
		datasets: map[string]string{}, artifacts: map[string]bool{}}
}

// LogParams implements steps.Logger.
func (r *recordingLogger) LogParams(ctx context.Context, p map[string]string) error {
	r.mu.Lock()
	for k, v := range p {
		r.params[k] = v
	}
	r.mu.Unlock()
	return r.inner.LogParams(ctx, p)
}

// LogMetrics implements steps.Logger.
func (r *recordingLogger) LogMetrics(ctx context.Context, m []tracking.Metric) error {
	r.mu.Lock()
	r.points = append(r.points, m...)
	r.mu.Unlock()
	return r.inner.LogMetrics(ctx, m)
}

// SetTags implements steps.Logger.
func (r *recordingLogger) SetTags(ctx context.Context, t map[string]string) error {
	r.mu.Lock()
	for k, v := range t {
		r.tags[k] = v
	}
	r.mu.Unlock()
	return r.inner.SetTags(ctx, t)
}

// LogArtifact implements steps.Logger.
func (r *recordingLogger) LogArtifact(ctx context.Context, src, dst string) error {
	r.noteArtifact(dst)
	return r.inner.LogArtifact(ctx, src, dst)
}

// WriteArtifact implements steps.Logger.
func (r *recordingLogger) WriteArtifact(ctx context.Context, dst string, data []byte) error {
	r.noteArtifact(dst)
	return r.inner.WriteArtifact(ctx, dst, data)
}

// ArtifactPath implements steps.Logger.
func (r *recordingLogger) ArtifactPath(dst string) (string, error) {
	r.noteArtifact(dst)
	return r.inner.ArtifactPath(dst)
}

func (r *recordingLogger) noteArtifact(dst string) {
	r.mu.Lock()
	r.artifacts[filepath.Clean(dst)] = true
	r.mu.Unlock()
}

// readChildLog adds what a command's process logged through `mlrun log`.
func (r *recordingLogger) readChildLog(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec steps.ChildRecord
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		switch rec.Type {
		case "param":
			r.params[rec.Key] = rec.Value
		case "tag":
			r.tags[rec.Key] = rec.Value
		case "metric":
			r.points = append(r.points, tracking.Metric{Key: rec.Key, Value: rec.Number, Step: rec.Step, Timestamp: rec.Timestamp})
		case "artifact":
			r.artifacts[filepath.Clean(rec.Path)] = true
		}
	}
}

// remember names a step's pointer outputs (data sets, models) by the key
// that produced them, so that the steps reading them get keys of their own.
func (c *stepCache) remember(res *steps.Result, key string) {
	if res == nil {
		return
	}
	for name, v := range res.Outputs {
		if v != nil && reflect.ValueOf(v).Kind() == reflect.Pointer {
			c.digests[v] = key + "/" + name
		}
	}
}
