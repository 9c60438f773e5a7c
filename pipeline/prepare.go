package pipeline

import (
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/steps"
)

// Plan is an entry point whose parameters have been checked: everything a
// run needs that can be known before the run exists.
type Plan struct {
	Project    *project.Project
	EntryPoint *project.EntryPoint
	Params     *project.Params
	Command    string // rendered command, for command entry points
}

// Prepare checks the request without creating anything: the entry point
// exists, the parameters are complete and well typed, and every step input
// that depends only on parameters passes its kind's checks (so that C=-1 or
// an unknown estimator is reported before a run exists).
func Prepare(req Request, kinds *steps.Registry) (*Plan, error) {
	name := req.EntryPoint
	if name == "" {
		name = "main"
	}
	ep, err := req.Project.EntryPoint(name)
	if err != nil {
		return nil, err
	}
	params, err := ep.ResolveParams(req.Params)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Project: req.Project, EntryPoint: ep, Params: params}
	if len(ep.Steps) == 0 {
		if plan.Command, err = ep.RenderCommand(params); err != nil {
			return nil, err
		}
	}
	if err := checkSteps(ep, params, kinds); err != nil {
		return nil, err
	}
	return plan, nil
}

// checkSteps evaluates the inputs that need nothing but parameters and
// hands them to each kind's Check.
func checkSteps(ep *project.EntryPoint, params *project.Params, kinds *steps.Registry) error {
	env := map[string]any{"params": params.Values, "steps": map[string]any{}, "metrics": map[string]any{},
		"run": map[string]any{"id": "", "name": "", "experiment_id": ""}}
	for _, st := range ep.Steps {
		kind, ok := kinds.Lookup(st.Uses)
		if !ok {
			return errs.Errorf(errs.Invalid, "%s: unknown step kind %q", st.Pos, st.Uses)
		}
		// A step whose condition is already false will not run: nothing to check.
		if st.When != nil {
			if run, err := st.When.EvalBool(env); err == nil && !run {
				continue
			}
		}
		decl := map[string]steps.Input{}
		for _, in := range kind.Inputs() {
			decl[in.Name] = in
		}
		values := steps.Values{}
		for _, in := range st.With {
			v, err := in.Value.Eval(env)
			if err != nil || v == nil {
				continue // needs an earlier step's output: checked when it runs
			}
			cv, err := steps.Convert(decl[in.Name].Type, v)
			if err != nil {
				return errs.Errorf(errs.Invalid, "%s: step %s: input %q: %v", in.Pos, st.Name, in.Name, err)
			}
			values[in.Name] = cv
		}
		if err := kind.Check(values); err != nil {
			return errs.Errorf(errs.Invalid, "%s: step %s: %v", st.Pos, st.Name, err)
		}
	}
	return nil
}
