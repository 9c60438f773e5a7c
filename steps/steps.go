// Package steps holds the step framework: the Kind interface that every
// built-in step kind implements, the declarations of its inputs (so that
// validation and `mlrun steps` help come from one place) and the Registry
// that names the kinds.
package steps

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/mlrun/mlrun/steps/schema"
	"github.com/mlrun/mlrun/tracking"
)

// The declarations of inputs and outputs live in package schema, which the
// MLproject reader imports without linking the kinds; these names keep the
// kinds' code short.
type (
	// Type is schema.Type.
	Type = schema.Type
	// Input is schema.Input.
	Input = schema.Input
	// Output is schema.Output.
	Output = schema.Output
	// Values is schema.Values.
	Values = schema.Values
)

// Input and output types, as in package schema.
const (
	String  = schema.String
	Float   = schema.Float
	Int     = schema.Int
	Bool    = schema.Bool
	Path    = schema.Path
	List    = schema.List
	Map     = schema.Map
	Any     = schema.Any
	Dataset = schema.Dataset
	Model   = schema.Model
)

// Convert is schema.Convert.
func Convert(t Type, v any) (any, error) { return schema.Convert(t, v) }

// Logger records to the step's run. It batches writes: nothing here is the
// slow part of a run.
type Logger interface {
	LogParams(ctx context.Context, params map[string]string) error
	LogMetrics(ctx context.Context, metrics []tracking.Metric) error
	SetTags(ctx context.Context, tags map[string]string) error
	// LogArtifact copies the file or directory src into the run's artifacts at dst
	// (a relative path that may not leave the artifact root).
	LogArtifact(ctx context.Context, src, dst string) error
	// WriteArtifact writes data to the run's artifacts at dst.
	WriteArtifact(ctx context.Context, dst string, data []byte) error
	// ArtifactPath returns the local path of dst inside the run's artifacts,
	// creating its parent directory, for steps that write files themselves.
	ArtifactPath(dst string) (string, error)
}

// Env is what a step sees of its run.
type Env struct {
	RunID        string
	ExperimentID string
	TrackingURI  string // sqlite:///path, for child processes
	ProjectDir   string // absolute
	Step         string // this step's name
	Seed         int64  // the run's seed, for steps that need randomness and were given none
	Params       map[string]any
	Log          Logger
	Store        tracking.Store // the tracking store, for kinds that read it (the registry, ...)
	Stdout       io.Writer      // where a step streams what a person should see
	Stderr       io.Writer
	// DatasetVersion records that the step read a data file: its path
	// relative to the project and the sha256 of its content.
	DatasetVersion func(path, sha256 string)
	// ChildLog, when set, is a file that command steps pass to their
	// process as MLRUN_STEP_LOG (see ChildRecord).
	ChildLog string
	// Progress, when set, is told how long work goes (an estimator's loss
	// per iteration, trees built), for a live display. It may be nil.
	Progress func(key string, step int, value float64)
	// Defer, when set, runs work (drawing a plot) in the background while
	// the run goes on; the run waits for it before it ends and fails if it
	// fails. what names the work in an error ("confusion_matrix.png").
	// Steps call Background, which runs the work at once when Defer is nil.
	Defer func(what string, work func() error)
}

// Background runs work through e.Defer, or now when e.Defer is nil (then
// its error is returned). work must capture what it needs from e before:
// e.Step and e.Log change when the next step starts.
func (e *Env) Background(what string, work func() error) error {
	if e.Defer == nil {
		return work()
	}
	e.Defer(what, work)
	return nil
}

// Result is what a step produced.
type Result struct {
	Outputs map[string]any     // by declared output name
	Metrics map[string]float64 // final values, also readable as steps.<name>.metrics.<key>
}

// Kind is a built-in step kind, such as "command" or "train": its schema
// and how it runs.
type Kind interface {
	schema.Kind
	// Run executes the step.
	Run(ctx context.Context, env *Env, in Values) (*Result, error)
}

// Registry names the step kinds.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry returns a registry of the given kinds.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: map[string]Kind{}}
	for _, k := range kinds {
		r.kinds[k.Name()] = k
	}
	return r
}

// Lookup returns the kind with this name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Schema returns the schema of the kind named name (schema.Kinds). A nil
// registry has no kinds.
func (r *Registry) Schema(name string) (schema.Kind, bool) {
	if r == nil {
		return nil, false
	}
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the kinds' names, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Kinds returns the kinds sorted by name.
func (r *Registry) Kinds() []Kind {
	out := make([]Kind, 0, len(r.kinds))
	for _, n := range r.Names() {
		out = append(out, r.kinds[n])
	}
	return out
}

// Resolve fills defaults into given, checks each value against its
// declared type (converting YAML's numbers where the type asks) and
// reports unknown or missing inputs. It returns the values and an error
// naming the input that is wrong.
func Resolve(k Kind, given map[string]any) (Values, error) {
	decl := map[string]Input{}
	for _, in := range k.Inputs() {
		decl[in.Name] = in
	}
	for name := range given {
		if _, ok := decl[name]; !ok {
			return nil, fmt.Errorf("step kind %q has no input %q", k.Name(), name)
		}
	}
	out := Values{}
	for _, in := range k.Inputs() {
		v, ok := given[in.Name]
		if !ok || v == nil {
			if in.Required && !ok {
				return nil, fmt.Errorf("input %q is required by step kind %q", in.Name, k.Name())
			}
			if in.Default != nil {
				out[in.Name] = in.Default
			}
			continue
		}
		cv, err := Convert(in.Type, v)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		out[in.Name] = cv
	}
	return out, nil
}

// Cacheable is implemented by kinds whose execution may be replaced by the
// recorded effects of an earlier identical execution (the step cache).
// Kinds with effects outside the run (registering a model, serving) do not
// implement it, and always run.
type Cacheable interface {
	// CacheFiles returns the files, relative to the project directory, whose
	// content the step depends on beyond its path-typed inputs (e.g. the
	// scripts a command runs). They are hashed into the step's cache key.
	CacheFiles(projectDir string, in Values) []string
}

// ChildRecord is one thing a command's child process logged through
// `mlrun log`, appended as a JSON line to the file named by MLRUN_STEP_LOG
// so that the step cache can replay it.
type ChildRecord struct {
	Type      string  `json:"type"` // "param", "metric", "tag" or "artifact"
	Key       string  `json:"key,omitempty"`
	Value     string  `json:"value,omitempty"`
	Number    float64 `json:"number,omitempty"`
	Step      int64   `json:"step,omitempty"`
	Timestamp int64   `json:"timestamp,omitempty"`
	Path      string  `json:"path,omitempty"` // artifact destination, relative to the run's artifacts
}
