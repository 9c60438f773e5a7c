// Package project reads and validates an MLproject file: MLflow's format
// (name, entry_points with parameters and a command, python_env,
// conda_env, docker_env) plus mlrun's pipelines of steps.
//
// # The file
//
// The project file is the one file in the project directory whose
// lower-cased name is "mlproject". Load parses it keeping every field's
// line and column, and checks all of it before anything runs: every error
// is an errs.Invalid whose message is one sentence starting with
// FILE:LINE:COL and the field path, for example
//
//	examples/iris/MLproject:12:15: entry_points.main.steps[1].uses: unknown step kind "trian" (known: command, evaluate, load, log, ...)
//
// The top-level keys `schedules` and, per entry point, `sweep` are
// reserved for schedules and parameter sweeps: Load keeps their values
// (Project.Schedules, EntryPoint.Sweep) without checking them.
//
// # Entry points
//
// An entry point has exactly one of:
//
//   - command: a shell command in Python's str.format syntax, as in MLflow:
//     {name} is replaced by the shell-quoted value of the declared
//     parameter name, {{ and }} are literal braces. Undeclared parameters
//     given with -P are appended as " --name value".
//   - steps: a list of steps, each running a built-in step kind. Such an
//     entry point takes only its declared parameters: an undeclared -P is
//     an error naming the declared ones (and the closest: did you mean C?).
//
// An entry point name ending in .py or .sh that is not declared runs that
// file of the project with python or bash, as MLflow does.
//
// Parameters are declared as `name: type` (required) or
// `name: {type: t, default: v}` (type defaults to string). Types are
// float, int, string, bool, path (a local file or directory, relative to
// the project directory, that must exist; its value becomes the absolute
// path) and uri.
//
// # Steps
//
//	steps:
//	  - name: load                  # unique; [A-Za-z_][A-Za-z0-9_-]*
//	    uses: load                  # a step kind
//	    with: {path: "${{ params.data }}"}
//	  - name: train
//	    uses: train
//	    needs: [load]               # default: the previous step; [] for none
//	    when: "params.C > 0"        # optional condition
//	    with:
//	      train: "${{ steps.load.outputs.dataset }}"
//
// Steps run in an order where each comes after the steps it needs
// (EntryPoint.Steps holds that order, ties broken by file order).
//
// # Expressions
//
// Expressions use the expr language (https://expr-lang.org): arithmetic,
// comparisons, `and`/`or`/`not`, `a ? b : c`, `in`, string and list
// built-ins such as len, upper, split, map and filter.
//
// In a `with:` value, any string may hold expressions written
// ${{ expr }}. Lists and mappings may hold such strings at any depth;
// mapping keys are never expressions. A string that is exactly one
// ${{ expr }} (nothing around it, not even spaces) takes the expression's
// value with its own type: a number, a bool, a list, a data set, a model.
// A string with text around its expressions is a string: each value is
// formatted in (numbers as Python prints them, so 1.0 and 1e-05; bools as
// true/false; null as nothing; lists and mappings as JSON). An expression
// ends at the first "}}" after its "${{"; there is no escape for a literal
// "${{".
//
// In a shell command (an input its kind declares Shell, such as the run:
// of a command step), every ${{ expr }} is replaced by its value quoted as
// one shell word, as Python's shlex.quote does and as {name} in a command
// entry point is: `echo ${{ params.msg }}` with msg "x; rm -rf ~" runs
// echo 'x; rm -rf ~'. Write ${{ }} outside shell quotes ("${{ … }}" would
// keep the added quotes as text). A step that really wants the value read
// as shell code says so with ${{ raw(expr) }}, which pastes the value as
// is; raw(...) must wrap the whole expression and is refused elsewhere.
//
// A `when:` condition is one expression, bare or wrapped in ${{ }}, that
// must give true or false; the step is skipped when it gives false.
//
// An expression sees these names:
//
//	params.<name>                 the entry point's parameters, typed (a path is absolute)
//	steps.<step>.outputs.<name>   an output of an upstream step
//	steps.<step>.metrics.<key>    a metric an upstream step logged
//	metrics.<key>                 the run's latest metrics so far
//	run.id, run.name, run.experiment_id
//
// Load checks every expression: it must compile, start from one of these
// names (or a name it declares with let), name declared parameters, and
// read only steps it runs after through needs (directly or not), and
// only outputs their kinds declare. A step's inputs are checked against
// its kind's declarations, and the values without expressions by the
// kind's Check, before any run exists.
//
// At run time the caller builds the environment as nested maps:
//
//	map[string]any{
//		"params":  map[string]any{"C": 1.0},
//		"steps":   map[string]any{"load": map[string]any{"outputs": map[string]any{...}, "metrics": map[string]any{...}}},
//		"metrics": map[string]any{"train_accuracy": 0.97},
//		"run":     map[string]any{"id": "...", "name": "...", "experiment_id": "0"},
//	}
//
// and calls Step.EvalWith, Value.Eval or Expr.EvalBool; expressions are
// compiled once by Load, so evaluating them is cheap. Errors name the
// position and field of the expression.
package project
