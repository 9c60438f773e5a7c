package steps

import (
	"context"
	"fmt"
	"strconv"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/registry"
	"github.com/mlrun/mlrun/tracking"
)

// Register is the step kind that registers a model (by default the one the
// run's train step wrote at artifact path "model") as the next version of a
// registered model, and optionally points an alias at it or moves it to a
// stage.
//
// To register only good models, gate the step with its generic when:
// field, e.g. `when: "metrics.accuracy >= 0.95"`. The pipeline evaluates it
// before the step runs; when it is false the step is skipped and the
// pipeline records the decision and its reason in the run's tag
// mlrun.step.<name>. Register itself does no gating.
type Register struct{}

// Name implements Kind.
func (Register) Name() string { return "register" }

// Doc implements Kind.
func (Register) Doc() string {
	return "register the run's model in the model registry, with an optional alias or stage (gate it with when:, e.g. metrics.accuracy >= 0.95)"
}

// Inputs implements Kind.
func (Register) Inputs() []Input {
	return []Input{
		{Name: "name", Type: String, Required: true, Doc: "registered model name (created if missing)"},
		{Name: "model_uri", Type: String, Doc: "model to register: runs:/<run>/<path> or models:/...; default runs:/<this run>/model"},
		{Name: "alias", Type: String, Doc: "alias to point at the new version, e.g. champion (moved if it exists)"},
		{Name: "stage", Type: String, Doc: "stage of the new version: None, Staging, Production or Archived"},
		{Name: "description", Type: String, Doc: "description of the new version"},
		{Name: "tags", Type: Map, Doc: "tags of the new version, name: value"},
	}
}

// Outputs implements Kind.
func (Register) Outputs() []Output {
	return []Output{
		{Name: "version", Type: Int, Doc: "the new version number"},
		{Name: "model_uri", Type: String, Doc: "models:/<name>/<version>"},
	}
}

// Check implements Kind: the name, alias, stage, model URI and tags are
// valid, before any run exists.
func (Register) Check(in Values) error {
	if name, ok := in["name"].(string); ok {
		if err := tracking.ValidateModelName(name); err != nil {
			return fmt.Errorf("input \"name\": %s", errs.Message(err))
		}
	}
	if alias, ok := in["alias"].(string); ok && alias != "" {
		if err := tracking.ValidateAlias(alias); err != nil {
			return fmt.Errorf("input \"alias\": %s", errs.Message(err))
		}
	}
	if stage, ok := in["stage"].(string); ok && stage != "" {
		if _, err := tracking.ParseStage(stage); err != nil {
			return fmt.Errorf("input \"stage\": %s", errs.Message(err))
		}
	}
	if uri, ok := in["model_uri"].(string); ok && uri != "" {
		if _, err := tracking.ParseModelURI(uri); err != nil {
			return fmt.Errorf("input \"model_uri\": %s", errs.Message(err))
		}
	}
	_, err := registerTags(in, false)
	return err
}

// registerTags returns the "tags" input as text. Before the run (running
// false) a nil value is an expression not evaluated yet, and passes.
func registerTags(in Values, running bool) (map[string]string, error) {
	m, _ := in["tags"].(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		switch v.(type) {
		case string, int, int64, uint64, float64, bool:
			out[k] = fmt.Sprint(v)
		case nil:
			if running {
				return nil, fmt.Errorf("input \"tags\": tag %q has no value", k)
			}
		default:
			return nil, fmt.Errorf("input \"tags\": tag %q must be a text, number or bool, not %v", k, v)
		}
	}
	return out, nil
}

// Run implements Kind. It records on the run the tags
// mlrun.register.<step> ("registered <name> version <v>") and
// mlrun.registered_model ("<name>/<v>").
func (r Register) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	if err := r.Check(in); err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	tags, err := registerTags(in, true)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	st := env.Store
	name, _ := in["name"].(string)
	uri, _ := in["model_uri"].(string)
	if uri == "" {
		uri = "runs:/" + env.RunID + "/model"
	}
	req := registry.Request{Name: name, ModelURI: uri}
	req.Alias, _ = in["alias"].(string)
	req.Stage, _ = in["stage"].(string)
	req.Description, _ = in["description"].(string)
	req.Tags = tags
	mv, err := registry.Register(ctx, st, nil, req)
	if err != nil {
		if errs.Code(err) == errs.Internal {
			return nil, fmt.Errorf("step %s: register %s: %w", env.Step, uri, err)
		}
		return nil, errs.Errorf(errs.Code(err), "step %s: %w", env.Step, err)
	}
	v := strconv.Itoa(mv.Version)
	runTags := map[string]string{
		"mlrun.register." + env.Step: "registered " + mv.Name + " version " + v,
		"mlrun.registered_model":     mv.Name + "/" + v,
	}
	if err := env.Log.SetTags(ctx, runTags); err != nil {
		return nil, err
	}
	if env.Stderr != nil {
		fmt.Fprintf(env.Stderr, "mlrun: registered model %s version %s from %s\n", mv.Name, v, uri)
	}
	return &Result{Outputs: map[string]any{"version": mv.Version, "model_uri": "models:/" + mv.Name + "/" + v}}, nil
}
