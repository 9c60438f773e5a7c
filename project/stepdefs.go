package project

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/steps/schema"
)

// Step is one step of a steps entry point.
type Step struct {
	Name  string
	Uses  string      // the step kind's name
	Kind  schema.Kind // the kind named by Uses
	With  []*Input    // in file order
	Needs []string    // the steps this one runs after: as written, or the previous step by default
	When  *Expr       // nil when the step always runs
	Pos   Pos         // where the step's name is written
}

// Input is one entry of a step's `with:` mapping.
type Input struct {
	Name  string
	Value *Value
	Pos   Pos // where the input's name is written
}

// EvalWith evaluates every input of the step in env (see Value.Eval) and
// returns them by name, ready for steps.Resolve.
func (s *Step) EvalWith(env map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(s.With))
	for _, in := range s.With {
		v, err := in.Value.Eval(env)
		if err != nil {
			return nil, err
		}
		out[in.Name] = v
	}
	return out, nil
}

// isStepName reports whether s looks like a step name: a letter or '_',
// then letters, digits, '_' or '-' (the regexp ^[A-Za-z_][A-Za-z0-9_-]*$
// written out: package-level regexps are compiled by every mlrun process).
func isStepName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// stepKeys are the keys a step may have.
const stepKeys = "name, uses, with, needs, when"

// draft is a step while its entry point is being read.
type draft struct {
	step     *Step
	field    string // entry_points.E.steps[i]
	index    int    // position in the file
	with     *node  // nil when absent
	withPos  Pos
	when     *node // nil when absent
	needs    *node // nil when absent: the previous step
	needsPos Pos
	deps     []int // indexes of the needed steps
}

// parseSteps reads, checks and orders the steps of an entry point.
func (ep *EntryPoint) parseSteps(n *node, field string, kinds schema.Kinds, progs *programs) error {
	if n.kind != seqNode || len(n.items) == 0 {
		return fieldf(n.pos, field, "must be a non-empty list of steps, not %s", n.describe())
	}
	drafts := make([]*draft, len(n.items))
	byName := map[string]*draft{}
	for i, item := range n.items {
		d, err := parseStep(item, fmt.Sprintf("%s[%d]", field, i), i, kinds)
		if err != nil {
			return err
		}
		if first, ok := byName[d.step.Name]; ok {
			return fieldf(d.step.Pos, d.field+".name", "step name %q is used twice (first at %s)", d.step.Name, first.step.Pos)
		}
		byName[d.step.Name] = d
		drafts[i] = d
	}
	if err := resolveNeeds(drafts, byName); err != nil {
		return err
	}
	if err := findCycle(drafts); err != nil {
		return err
	}
	order := topoOrder(drafts)

	// upstream[i] is the set of steps that step i runs after, directly or not.
	upstream := make([]map[string]bool, len(drafts))
	for _, i := range order {
		up := map[string]bool{}
		for _, j := range drafts[i].deps {
			up[drafts[j].step.Name] = true
			for name := range upstream[j] {
				up[name] = true
			}
		}
		upstream[i] = up
	}
	all := map[string]*Step{}
	outputs := map[string][]string{}
	for _, d := range drafts {
		all[d.step.Name] = d.step
		for _, o := range d.step.Kind.Outputs() {
			outputs[d.step.Name] = append(outputs[d.step.Name], o.Name)
		}
	}
	typed := typedEnv(ep.Params)
	for i, d := range drafts {
		scope := &refScope{
			params:   ep.byName,
			declared: ep.declared(),
			self:     d.step.Name,
			steps:    all,
			upstream: upstream[i],
			outputs:  outputs,
			typed:    typed,
			programs: progs,
		}
		if err := d.compile(scope); err != nil {
			return err
		}
	}
	for _, i := range order {
		ep.Steps = append(ep.Steps, drafts[i].step)
	}
	return nil
}

// parseStep reads one step's mapping; references to other steps are
// checked later.
func parseStep(n *node, field string, index int, kinds schema.Kinds) (*draft, error) {
	if n.kind != mapNode {
		return nil, fieldf(n.pos, field, "a step must be a mapping with name and uses, not %s", n.describe())
	}
	d := &draft{step: &Step{Pos: n.pos}, field: field, index: index}
	var namePos Pos
	var uses *node
	for _, e := range n.entries {
		switch e.key {
		case "name":
			s, ok := e.value.value.(string)
			if e.value.kind != scalarNode || !ok || !isStepName(s) {
				return nil, fieldf(e.value.pos, field+".name", "a step name is a letter or _ followed by letters, digits, _ or -, not %s", e.value.describe())
			}
			d.step.Name, namePos = s, e.keyPos
		case "uses":
			uses = e.value
		case "with":
			if !e.value.isNull() && e.value.kind != mapNode {
				return nil, fieldf(e.value.pos, field+".with", "must be a mapping of input names, not %s", e.value.describe())
			}
			d.with, d.withPos = e.value, e.keyPos
		case "needs":
			if !e.value.isNull() {
				d.needs, d.needsPos = e.value, e.keyPos
			}
		case "when":
			if !e.value.isNull() {
				d.when = e.value
			}
		default:
			return nil, fieldf(e.keyPos, field+"."+e.key, "unknown step key (known: %s)", stepKeys)
		}
	}
	if d.step.Name == "" {
		return nil, fieldf(n.pos, field, "a step needs a name")
	}
	d.step.Pos = namePos
	if uses == nil || uses.isNull() {
		return nil, fieldf(n.pos, field, "step %q needs uses: the step kind it runs", d.step.Name)
	}
	kindName, ok := uses.value.(string)
	if uses.kind != scalarNode || !ok {
		return nil, fieldf(uses.pos, field+".uses", "must be a step kind's name, not %s", uses.describe())
	}
	kind, ok := kinds.Schema(kindName)
	if !ok {
		return nil, fieldf(uses.pos, field+".uses", "unknown step kind %q (known: %s)", kindName, strings.Join(kinds.Names(), ", "))
	}
	d.step.Uses, d.step.Kind = kindName, kind
	return d, nil
}

// resolveNeeds fills each draft's deps from its needs, or with the
// previous step when needs is absent.
func resolveNeeds(drafts []*draft, byName map[string]*draft) error {
	for i, d := range drafts {
		if d.needs == nil {
			if i > 0 {
				d.deps = []int{i - 1}
				d.step.Needs = []string{drafts[i-1].step.Name}
			}
			continue
		}
		items := []*node{d.needs}
		if d.needs.kind == seqNode {
			items = d.needs.items
		}
		d.step.Needs = []string{}
		for j, it := range items {
			f := d.field + ".needs"
			if d.needs.kind == seqNode {
				f = fmt.Sprintf("%s[%d]", f, j)
			}
			name, ok := it.value.(string)
			if it.kind != scalarNode || !ok {
				return fieldf(it.pos, f, "must be a step name, not %s", it.describe())
			}
			dep, ok := byName[name]
			switch {
			case !ok:
				return fieldf(it.pos, f, "there is no step %q (steps: %s)", name, strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
			case dep == d:
				return fieldf(it.pos, f, "step %q cannot need itself", name)
			case contains(d.step.Needs, name):
				continue
			}
			d.deps = append(d.deps, dep.index)
			d.step.Needs = append(d.step.Needs, name)
		}
	}
	return nil
}

// findCycle reports a cycle in the needs, naming its steps from the one
// written first.
func findCycle(drafts []*draft) error {
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(drafts))
	var stack []int
	var cycle []int
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = active
		stack = append(stack, i)
		for _, j := range drafts[i].deps {
			switch state[j] {
			case active:
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == j {
						cycle = append([]int(nil), stack[k:]...)
						break
					}
				}
				return true
			case unvisited:
				if visit(j) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return false
	}
	for i := range drafts {
		if state[i] == unvisited && visit(i) {
			break
		}
	}
	if cycle == nil {
		return nil
	}
	// Start the cycle at the step written first.
	start := 0
	for k, i := range cycle {
		if i < cycle[start] {
			start = k
		}
	}
	cycle = append(cycle[start:], cycle[:start]...)
	names := make([]string, 0, len(cycle)+1)
	for _, i := range cycle {
		names = append(names, drafts[i].step.Name)
	}
	names = append(names, names[0])
	first := drafts[cycle[0]]
	pos := first.needsPos
	if first.needs == nil {
		pos = first.step.Pos
	}
	return fieldf(pos, first.field+".needs", "the steps' needs form a cycle: %s", strings.Join(names, " -> "))
}

// topoOrder returns the step indexes so that every step comes after the
// steps it needs, keeping file order where the needs allow.
func topoOrder(drafts []*draft) []int {
	placed := make([]bool, len(drafts))
	order := make([]int, 0, len(drafts))
	for len(order) < len(drafts) {
		progressed := false
		for i, d := range drafts {
			if placed[i] {
				continue
			}
			ready := true
			for _, j := range d.deps {
				if !placed[j] {
					ready = false
					break
				}
			}
			if ready {
				placed[i] = true
				order = append(order, i)
				progressed = true
				break // restart from the top to keep file order
			}
		}
		if !progressed {
			break // a cycle; findCycle has reported it already
		}
	}
	return order
}

// compile compiles the step's expressions and checks its inputs.
func (d *draft) compile(scope *refScope) error {
	if d.when != nil {
		if err := d.compileWhen(scope); err != nil {
			return err
		}
	}
	if d.with != nil {
		shell := map[string]bool{}
		for _, in := range d.step.Kind.Inputs() {
			shell[in.Name] = in.Shell
		}
		for _, e := range d.with.entries {
			v, err := compileValue(e.value, d.field+".with."+e.key, scope, shell[e.key])
			if err != nil {
				return err
			}
			d.step.With = append(d.step.With, &Input{Name: e.key, Value: v, Pos: e.keyPos})
		}
	}
	return d.checkInputs()
}

// compileWhen compiles the step's condition.
func (d *draft) compileWhen(scope *refScope) error {
	field := d.field + ".when"
	n := d.when
	var src string
	switch v := n.value.(type) {
	case bool:
		src = strconv.FormatBool(v)
	case string:
		s, err := unwrapCondition(v)
		if err != nil {
			return fieldf(n.pos, field, "%v", err)
		}
		src = s
	default:
		return fieldf(n.pos, field, "must be an expression such as \"steps.train.metrics.accuracy > 0.9\", not %s", n.describe())
	}
	e, err := compileExpr(src, n.pos, field, scope, true)
	if err != nil {
		return err
	}
	d.step.When = e
	return nil
}

// checkInputs checks the step's inputs against its kind's declarations:
// unknown names, missing required inputs (an input given by an expression
// counts as present) and the types of the static values, then runs the
// kind's own Check on the static values.
func (d *draft) checkInputs() error {
	kind := d.step.Kind
	decl := map[string]schema.Input{}
	var names []string
	for _, in := range kind.Inputs() {
		decl[in.Name] = in
		names = append(names, in.Name)
	}
	given := map[string]*Input{}
	for _, in := range d.step.With {
		if _, ok := decl[in.Name]; !ok {
			has := "none"
			if len(names) > 0 {
				has = strings.Join(names, ", ")
			}
			return fieldf(in.Pos, d.field+".with."+in.Name, "step kind %q has no input %q (inputs: %s)", kind.Name(), in.Name, has)
		}
		given[in.Name] = in
	}
	withPos, withField := d.withPos, d.field+".with"
	if d.with == nil {
		withPos, withField = d.step.Pos, d.field
	}
	values := schema.Values{}
	for _, in := range kind.Inputs() {
		g, ok := given[in.Name]
		if !ok || (g.Value.Static() && g.Value.Raw() == nil) {
			if in.Required {
				if ok {
					return fieldf(g.Value.pos, d.field+".with."+in.Name, "input %q is required by step kind %q and may not be null", in.Name, kind.Name())
				}
				return fieldf(withPos, withField, "input %q is required by step kind %q", in.Name, kind.Name())
			}
			if in.Default != nil {
				values[in.Name] = in.Default
			}
			continue
		}
		field := d.field + ".with." + in.Name
		if !g.Value.Static() {
			if err := checkDynamicType(in, g.Value); err != nil {
				return fieldf(g.Value.pos, field, "%v", err)
			}
			continue
		}
		cv, err := schema.Convert(in.Type, g.Value.Raw())
		if err != nil {
			return fieldf(g.Value.pos, field, "%v", err)
		}
		values[in.Name] = cv
	}
	if err := kind.Check(values); err != nil {
		return fieldf(withPos, withField, "%v", err)
	}
	return nil
}

// checkDynamicType checks what can be known of a value holding
// expressions before they run: a list or mapping has that shape whatever
// its expressions give, and a string with text around its expressions is
// always a string.
func checkDynamicType(in schema.Input, v *Value) error {
	switch {
	case v.list != nil || v.items != nil:
		_, err := schema.Convert(in.Type, v.Raw())
		return err
	case len(v.parts) > 1:
		switch in.Type {
		case schema.Float, schema.Int, schema.Bool, schema.List, schema.Map:
			return fmt.Errorf("want a %s, but text around ${{ }} always makes a string (write the expression alone)", in.Type)
		}
	}
	return nil
}
