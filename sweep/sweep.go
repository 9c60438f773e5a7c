package sweep

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
)

// Options are the sweep settings given on the command line; each one set
// overrides the MLproject section's.
type Options struct {
	// MaxTrials is the number of trials of a random search, and for a grid
	// a bound it must not exceed; 0 leaves the section's max_trials.
	MaxTrials int
	// Seed seeds a random search when it is not 0 or SeedSet is true,
	// overriding the section's seed. The CLI should set SeedSet when the
	// seed flag is given, so that a seed of 0 overrides the section's too.
	Seed    uint64
	SeedSet bool
	// UseSection applies the entry point's `sweep:` section (mlrun run
	// --sweep): its parameters and max_trials.
	UseSection bool
}

// Sweep is a checked parameter sweep: the axes to vary and how.
type Sweep struct {
	Axes      []Axis       // in -P order, then the section's (declared parameter order)
	Fixed     []project.KV // single-valued -P (then the section's single values), passed to every trial
	Random    bool         // a random search: some axis is a distribution
	MaxTrials int          // trials of a random search; for a grid 0 or a bound at least its size
	Seed      uint64       // seed of a random search's generator
	Objective string       // "metrics.accuracy"; "" when unset
	Goal      string       // "maximize" or "minimize"; "" when unset
	Parallel  int          // the section's parallel, a default for -j; 0 when unset

	ep *project.EntryPoint // checks every trial's parameters; nil skips the check
}

// Axis is one parameter the sweep varies: either a grid axis (Values,
// Dist empty) or a distribution (Dist set) that a random search draws from.
type Axis struct {
	Name    string
	Type    string    // the parameter's declared type; "" when undeclared
	Values  []string  // grid axis: its values in order, as passed to the run
	Dist    string    // "uniform", "loguniform", "randint" or "choice"; "" for a grid axis
	Args    []float64 // the numeric arguments of a function: (low, high) of a distribution, those of logspace, linspace or range
	Choices []string  // choice's values
	Source  string    // as written, e.g. "0.1,1,10", "logspace(-3, 1, 5)", "[0.01, 0.1]"
}

// Trial is one run of a sweep.
type Trial struct {
	Index  int               // 0-based position in the sweep
	Params []project.KV      // the full -P list of the run: Fixed, then one per axis in axis order
	Values map[string]string // the axes' values only
}

// Parse reads the -P values and the entry point's sweep section. It
// returns (nil, nil) when there is nothing to sweep (every -P
// single-valued and no section requested), so the caller runs a plain run
// (with Unescape(given)). Otherwise every value of every trial has been
// typed and checked with ep.ResolveParams before Parse returns. The
// section is checked whenever the entry point has one, even when it is
// not used. Errors are errs.Invalid naming the parameter and the value.
func Parse(ep *project.EntryPoint, given []project.KV, o Options) (*Sweep, error) {
	if ep == nil {
		return nil, fmt.Errorf("sweep: no entry point")
	}
	sec, err := readSection(ep)
	if err != nil {
		return nil, err
	}
	if o.MaxTrials < 0 || o.MaxTrials > maxTrials {
		return nil, errs.Errorf(errs.Invalid, "the maximum number of trials must be from 1 to %d, not %d", maxTrials, o.MaxTrials)
	}
	if err := project.CheckNames(given); err != nil {
		return nil, err
	}
	s := &Sweep{ep: ep}
	seen := map[string]bool{}
	for _, kv := range given {
		seen[kv.Key] = true
		if err := ep.CheckName(kv.Key); err != nil {
			return nil, err
		}
		sp, err := parseSpec(kv.Value)
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "parameter %q: %v", kv.Key, err)
		}
		if sp.single {
			s.Fixed = append(s.Fixed, project.KV{Key: kv.Key, Value: sp.value})
			continue
		}
		ax, err := buildAxis(lookupParam(ep, kv.Key), sp)
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "parameter %q: %v", kv.Key, err)
		}
		s.Axes = append(s.Axes, ax)
	}
	if len(s.Axes) == 0 && !o.UseSection {
		return nil, nil
	}
	if o.UseSection && sec == nil {
		return nil, errs.Errorf(errs.Invalid, "entry point %q has no sweep section to use (declared at %s); add one or vary a parameter with -P NAME=a,b", ep.Name, ep.Pos)
	}
	if sec != nil {
		s.Objective, s.Goal, s.Parallel = sec.objective, sec.goal, sec.parallel
		if sec.seedSet {
			s.Seed = sec.seed
		}
	}
	if o.UseSection {
		for _, ax := range sec.axes {
			if !seen[ax.Name] {
				s.Axes = append(s.Axes, ax)
			}
		}
		for _, kv := range sec.fixed {
			if !seen[kv.Key] {
				s.Fixed = append(s.Fixed, kv)
			}
		}
		s.MaxTrials = sec.maxTrials
	}
	if o.MaxTrials > 0 {
		s.MaxTrials = o.MaxTrials
	}
	if o.SeedSet || o.Seed != 0 {
		s.Seed = o.Seed
	}
	if len(s.Axes) == 0 {
		return nil, errs.Errorf(errs.Invalid, "the sweep of entry point %q varies no parameter: give a list or a function in sweep.parameters or with -P NAME=a,b", ep.Name)
	}
	for _, ax := range s.Axes {
		s.Random = s.Random || ax.Dist != ""
	}
	if _, err := s.Trials(); err != nil {
		return nil, err
	}
	return s, nil
}

// Trials returns the sweep's trials. A grid gives every combination once,
// in lexicographic order of the axes' values (the first axis varies
// slowest); a random search gives MaxTrials distinct combinations drawn
// from a PCG generator seeded with Seed. Every trial's parameters are
// checked with the entry point's ResolveParams.
func (s *Sweep) Trials() ([]Trial, error) {
	var combos [][]string
	var err error
	if s.Random {
		combos, err = s.draw()
	} else {
		combos, err = s.grid()
	}
	if err != nil {
		return nil, err
	}
	trials := make([]Trial, len(combos))
	for i, combo := range combos {
		t := Trial{Index: i, Params: slices.Clone(s.Fixed), Values: make(map[string]string, len(s.Axes))}
		for j, ax := range s.Axes {
			t.Params = append(t.Params, project.KV{Key: ax.Name, Value: combo[j]})
			t.Values[ax.Name] = combo[j]
		}
		if s.ep != nil {
			if _, err := s.ep.ResolveParams(t.Params); err != nil {
				return nil, errs.Errorf(errs.Code(err), "trial %d of %d (%s): %w", i+1, len(combos), describeValues(s.Axes, combo), err)
			}
		}
		trials[i] = t
	}
	return trials, nil
}

// describeValues writes a trial's axis values as "C=0.1, max_iter=100".
func describeValues(axes []Axis, combo []string) string {
	parts := make([]string, len(axes))
	for i, ax := range axes {
		parts[i] = ax.Name + "=" + combo[i]
	}
	return strings.Join(parts, ", ")
}

// Size returns the number of trials: the grid's combinations, or
// MaxTrials for a random search. A grid too large to count gives
// math.MaxInt; Trials refuses it.
func (s *Sweep) Size() int {
	if s.Random {
		return s.MaxTrials
	}
	n := s.gridSize()
	if n > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}

// Describe returns one line saying what the sweep runs, such as
// "grid over C (3) × max_iter (2) = 6 trials" or "random search: 20
// trials over C (3 values), tol (loguniform(1e-5, 1e-2)), seed 0".
func (s *Sweep) Describe() string {
	parts := make([]string, len(s.Axes))
	if !s.Random {
		for i, ax := range s.Axes {
			parts[i] = fmt.Sprintf("%s (%d)", ax.Name, len(ax.Values))
		}
		return fmt.Sprintf("grid over %s = %s", strings.Join(parts, " × "), plural(s.Size(), "trial"))
	}
	for i, ax := range s.Axes {
		switch {
		case ax.Dist == "":
			parts[i] = fmt.Sprintf("%s (%s)", ax.Name, plural(len(ax.Values), "value"))
		case ax.Source != "":
			parts[i] = fmt.Sprintf("%s (%s)", ax.Name, ax.Source)
		default:
			parts[i] = fmt.Sprintf("%s (%s)", ax.Name, ax.Dist)
		}
	}
	return fmt.Sprintf("random search: %s over %s, seed %d", plural(s.MaxTrials, "trial"), strings.Join(parts, ", "), s.Seed)
}

// plural writes "1 trial" or "6 trials".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// gridSize returns the product of the axes' value counts, saturating at
// math.MaxInt64.
func (s *Sweep) gridSize() int64 {
	size := int64(1)
	for _, ax := range s.Axes {
		size = mulSat(size, int64(len(ax.Values)))
	}
	return size
}

// mulSat returns a*b for a, b >= 0, or math.MaxInt64 when it overflows.
func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// grid returns every combination of the axes' values, the last axis
// varying fastest.
func (s *Sweep) grid() ([][]string, error) {
	for _, ax := range s.Axes {
		if ax.Dist != "" {
			return nil, fmt.Errorf("sweep: axis %q draws from %s but the sweep is not random", ax.Name, ax.Dist)
		}
		if len(ax.Values) == 0 {
			return nil, fmt.Errorf("sweep: axis %q has no values", ax.Name)
		}
	}
	size := s.gridSize()
	switch {
	case size > maxTrials:
		return nil, errs.Errorf(errs.Invalid, "the grid %s has %s combinations, more than the %d trials a sweep may run; use fewer values or a random search", s.axesText(), countText(size), maxTrials)
	case s.MaxTrials > 0 && int64(s.MaxTrials) < size:
		return nil, errs.Errorf(errs.Invalid, "the grid %s has %d combinations, more than max_trials %d; raise max_trials or make an axis a distribution for a random search", s.axesText(), size, s.MaxTrials)
	}
	combos := make([][]string, 0, size)
	idx := make([]int, len(s.Axes))
	for {
		combo := make([]string, len(s.Axes))
		for i, ax := range s.Axes {
			combo[i] = ax.Values[idx[i]]
		}
		combos = append(combos, combo)
		// Advance the last axis; carry into the previous ones.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(s.Axes[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return combos, nil
		}
	}
}

// axesText writes the axes as "over C (3) × max_iter (2)" for messages.
func (s *Sweep) axesText() string {
	parts := make([]string, len(s.Axes))
	for i, ax := range s.Axes {
		parts[i] = fmt.Sprintf("%s (%d)", ax.Name, len(ax.Values))
	}
	return "over " + strings.Join(parts, " × ")
}

// countText writes a saturated count.
func countText(n int64) string {
	if n == math.MaxInt64 {
		return "too many"
	}
	return strconv.FormatInt(n, 10)
}

// draw returns MaxTrials distinct combinations drawn at random.
func (s *Sweep) draw() ([][]string, error) {
	if s.MaxTrials <= 0 {
		return nil, errs.Errorf(errs.Invalid, "a random search needs a number of trials: set max_trials in the sweep section or give the maximum number of trials on the command line")
	}
	if s.MaxTrials > maxTrials {
		return nil, errs.Errorf(errs.Invalid, "max_trials %d is more than the %d trials a sweep may run", s.MaxTrials, maxTrials)
	}
	for _, ax := range s.Axes {
		if n, finite := ax.count(); finite && n <= 0 {
			return nil, fmt.Errorf("sweep: axis %q has no values", ax.Name)
		}
	}
	size, finite, uniform := s.space()
	if finite && size < int64(s.MaxTrials) {
		return nil, errs.Errorf(errs.Invalid, "the search space has only %d combinations, fewer than the %d trials asked for; lower max_trials or run the grid", size, s.MaxTrials)
	}
	r := rand.New(rand.NewPCG(s.Seed, 0))
	if finite && uniform {
		return s.drawIndices(r, size), nil
	}
	seen := map[string]bool{}
	combos := make([][]string, 0, s.MaxTrials)
	for len(combos) < s.MaxTrials {
		for attempt := 0; ; attempt++ {
			if attempt == maxRedraws {
				return nil, errs.Errorf(errs.Invalid, "could not draw trial %d unlike the %d before it in %d draws; the search space is too small for max_trials %d", len(combos)+1, len(combos), maxRedraws, s.MaxTrials)
			}
			combo := make([]string, len(s.Axes))
			for i := range s.Axes {
				combo[i] = s.Axes[i].drawOne(r)
			}
			key := strings.Join(combo, "\x00")
			if !seen[key] {
				seen[key] = true
				combos = append(combos, combo)
				break
			}
		}
	}
	return combos, nil
}

// space returns the number of distinct combinations (saturating at
// math.MaxInt64), whether it is finite (no continuous axis), and whether
// every axis draws its values with equal chances.
func (s *Sweep) space() (size int64, finite, uniform bool) {
	size, finite, uniform = 1, true, true
	for i := range s.Axes {
		n, ok := s.Axes[i].count()
		finite = finite && ok
		uniform = uniform && s.Axes[i].uniformIndex()
		size = mulSat(size, n)
	}
	return size, finite, uniform
}

// drawIndices draws MaxTrials distinct combinations of a finite space
// where every value has the same chance, without replacement: the first
// MaxTrials steps of a Fisher–Yates shuffle of the combinations' indices,
// keeping only the swapped positions. Index k decodes to one value per
// axis, the last axis varying fastest as in a grid.
func (s *Sweep) drawIndices(r *rand.Rand, size int64) [][]string {
	swapped := map[int64]int64{}
	at := func(i int64) int64 {
		if v, ok := swapped[i]; ok {
			return v
		}
		return i
	}
	combos := make([][]string, s.MaxTrials)
	for k := int64(0); k < int64(s.MaxTrials); k++ {
		j := k + r.Int64N(size-k)
		picked := at(j)
		swapped[j] = at(k)
		combo := make([]string, len(s.Axes))
		for i := len(s.Axes) - 1; i >= 0; i-- {
			n, _ := s.Axes[i].count()
			combo[i] = s.Axes[i].valueAt(picked % n)
			picked /= n
		}
		combos[k] = combo
	}
	return combos
}

// drawOne draws one value of the axis.
func (a *Axis) drawOne(r *rand.Rand) string {
	switch a.Dist {
	case "":
		return a.Values[r.IntN(len(a.Values))]
	case fnChoice:
		return a.Choices[r.IntN(len(a.Choices))]
	case fnRandint:
		lo, hi := int64(a.Args[0]), int64(a.Args[1])
		return strconv.FormatInt(lo+r.Int64N(hi-lo), 10)
	}
	lo, hi := a.Args[0], a.Args[1]
	var x float64
	if a.Dist == fnLoguniform {
		x = math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*r.Float64())
	} else {
		x = lo + (hi-lo)*r.Float64()
	}
	// Rounding may land on a bound: keep x in [lo, hi).
	x = math.Max(x, lo)
	if x >= hi {
		x = math.Nextafter(hi, lo)
	}
	if a.Type == project.TypeInt {
		return strconv.FormatInt(int64(math.Floor(x)), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
