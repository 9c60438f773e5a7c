// Package sweep turns -P values and an entry point's `sweep:` section into
// the list of trials of a parameter sweep: a grid search (every
// combination exactly once, in a stable order) or a seeded random search.
// It only plans: the caller runs the trials.
//
//	mlrun run examples/iris -P C=0.1,1,10 -P max_iter=100,200   # 6 trials
//	mlrun run examples/iris -P C="logspace(-3, 1, 5)"           # 5 trials
//	mlrun run examples/iris -P C="loguniform(1e-3, 10)" -P max_iter=100,200 --max-trials 20 --sweep-seed 1
//	mlrun run examples/iris --sweep                             # the MLproject's sweep section
//
// # Values
//
// The text after NAME= in -P is one of:
//
//   - a single value, when it has no unescaped comma and is not a call of
//     the functions below: C=0.5. It is passed to every trial as is (with
//     escapes resolved) and is not a sweep axis.
//   - a list, when it has unescaped commas: C=0.1,1,10. White space around
//     items is trimmed. An empty item (C=1,,2 or C=1,2,) is an error, and
//     so is a value listed twice, compared by the parameter's type (C=1,1.0
//     for a float parameter).
//   - a call of one of seven functions, written exactly name(args) with
//     nothing but white space around it (C=logspace(-3,1,5)); a function
//     cannot be an item of a list.
//
// A backslash escapes the characters , \ ( and ): C=a\,b is the single
// value "a,b", and f=range\(1\,2) is the literal text "range(1,2)" rather
// than a call. Before any other character a backslash is kept as written.
// Only the seven function names are recognised, and only when "(" follows
// the name directly, so other text with parentheses, such as f(x), is a
// plain value. When Parse finds nothing to sweep the caller runs a plain
// run with Unescape(given), so escapes mean the same in both cases.
//
// # Generated grids
//
//	logspace(a, b, n)       n values 10^a ... 10^b, like numpy.logspace
//	linspace(a, b, n)       n values from a to b inclusive, like numpy.linspace
//	range(stop)             0, 1, ... below stop
//	range(start, stop)      like Python's range: stop is excluded
//	range(start, stop, step)
//
// Arguments are decimal numbers (1, -0.5, 1e-3). Values are computed
// exactly from the decimal arguments, as start + i*step (never by adding
// up steps), and rounded once to the nearest float64, which is written in
// its shortest form (strconv 'g' format: 0.3, 1e-05, 1e+06). So
// range(0.1, 0.4, 0.1) gives 0.1, 0.2, 0.3 and linspace(0, 1, 11) gives
// 0.3 where numpy, which rounds at each operation, gives
// 0.30000000000000004 (and a fourth value 0.4 for numpy.arange(0.1, 0.4,
// 0.1)). logspace computes 10^x exactly for whole exponents (logspace(-3,
// 1, 5) gives 0.001, 0.01, 0.1, 1, 10; numpy gives 0.09999999999999999)
// and with 160-bit precision otherwise, so every value is the float64
// nearest the exact one; numpy's may differ in the last digit
// (3.162277660168379 for the middle value of logspace(0, 1, 5), where the
// nearest float64 to the square root of 10 is 3.1622776601683795).
//
// For an int parameter, every generated value must be a whole number
// (written without a decimal point) and range takes whole-number
// arguments. Grids generate numbers, so a bool, path or uri parameter
// takes a list instead; a string or undeclared parameter receives the
// numbers as text. An axis has at most 10,000 values.
//
// # Random search
//
//	uniform(a, b)           a float in [a, b)
//	loguniform(a, b)        a float in [a, b) whose logarithm is uniform (0 < a < b);
//	                        for an int parameter, the whole part of one (a, b whole)
//	randint(a, b)           a whole number in [a, b), like numpy.random.randint
//	choice(x, y, z)         one of the values, each equally likely
//
// When any axis is one of these, the sweep is a random search of
// max_trials trials (required: --max-trials on the command line or
// max_trials in the section). Trials are drawn from a math/rand/v2 PCG
// generator seeded with (seed, 0), seed being --sweep-seed, the section's
// seed, or 0: the same seed gives the same trials. List and grid axes are
// drawn from like choice. No two trials are the same
// combination: when every axis is a list, a grid, choice or randint, the
// combinations are drawn without replacement (and asking for more trials
// than there are combinations is an error); otherwise a trial that
// repeats an earlier one is drawn again, up to 1,000 times before giving
// up with an error. Draws are written in the shortest form of their
// float64 (0.5488135039273248).
//
// A distribution needs a float or int parameter: uniform draws floats,
// which an int parameter refuses (use randint); randint gives whole
// numbers for either type. A string, bool, path, uri or undeclared
// parameter takes choice only.
//
// A sweep without distributions is a grid of every combination, each
// once, in lexicographic order (each axis's values in the order written,
// the first axis varying slowest). A max_trials below the grid's size is an error naming the
// size; a sweep runs at most 10,000 trials.
//
// # The MLproject section
//
//	entry_points:
//	  main:
//	    parameters: {C: {type: float, default: 1.0}, max_iter: {type: int, default: 200}}
//	    sweep:
//	      parameters:
//	        C: [0.01, 0.1, 1, 10]            # a YAML list: a grid axis of literal values
//	        max_iter: "range(100, 400, 100)"  # a string reads as a -P value
//	        tol: "loguniform(1e-5, 1e-2)"
//	      max_trials: 20                      # trials of a random search
//	      seed: 0                             # the random search's seed
//	      objective: metrics.accuracy         # optional: the metric to compare trials by
//	      goal: maximize                      # maximize or minimize; needs an objective
//	      parallel: 4                         # optional default for -j
//
// A section parameter given a single value (a number, a bool, or a
// string that is neither a list nor a call) is passed to every trial.
// The section's axes come after the -P axes, in the order the entry
// point declares its parameters, then undeclared ones by name.
//
// The section's parameters and max_trials apply only with mlrun run
// --sweep (Options.UseSection), so -P C=0.1,1,10 -P max_iter=100,200
// always runs exactly those 6 combinations. A -P value for a parameter
// the section also names replaces the section's value. Its objective,
// goal, parallel and seed apply to every sweep of the entry point.
// Command-line --max-trials and --sweep-seed override the section's. The
// section is checked whenever Parse is called, and its errors carry the
// position of the `sweep` key, the only position the project keeps for
// it:
//
//	examples/iris/MLproject:30:5: entry_points.main.sweep.paramters: unknown key (known: parameters, max_trials, seed, objective, goal, parallel)
//
// # Checks
//
// Every value is typed by its parameter's declared type before anything
// runs, and every trial's parameters pass the entry point's ResolveParams
// inside Parse; errors are errs.Invalid naming the parameter and the
// value:
//
//	parameter "C": "abc" in the list "0.1,abc,10" is not a float
package sweep
