package project

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	exprast "github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Expression roots: the names an expression may start with.
var exprRoots = []string{"params", "steps", "metrics", "run"}

// runFields are the fields of run.
var runFields = []string{"experiment_id", "id", "name"}

// Expr is one compiled expression: a `when:` condition or one ${{ }} of a
// `with:` value.
type Expr struct {
	Source string // the expression without its ${{ }} wrapper
	Pos    Pos    // where the YAML value holding it starts

	field   string // e.g. entry_points.main.steps[2].when
	program *vm.Program
}

// Eval evaluates the expression in env (see the package documentation for
// its shape). Errors are errs.Invalid naming the position and the field.
func (e *Expr) Eval(env map[string]any) (any, error) {
	out, err := expr.Run(e.program, env)
	if err != nil {
		return nil, fieldf(e.Pos, e.field, "${{ %s }}: %s", flatten(e.Source), exprMessage(err))
	}
	return out, nil
}

// EvalBool evaluates a condition; a result that is not a bool is an error.
func (e *Expr) EvalBool(env map[string]any) (bool, error) {
	out, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fieldf(e.Pos, e.field, "${{ %s }} gave %v (%T), not true or false", flatten(e.Source), out, out)
	}
	return b, nil
}

// exprMessage returns expr's message without its source excerpt.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// refScope is what an expression may refer to: the declared parameters
// and the steps upstream of the step holding it.
type refScope struct {
	params   map[string]int
	declared string              // declared parameter names, for messages
	self     string              // the step holding the expression
	steps    map[string]*Step    // all steps by name
	upstream map[string]bool     // transitive needs of self
	outputs  map[string][]string // declared outputs by step name
	typed    map[string]any      // an environment with the parameters typed, for checking conditions
	programs *programs           // compiled so far in the file; nil: none kept
}

// programs keeps the expressions of one file compiled by source: entry
// points and steps repeat the same ones (${{ params.data }}), and compiling
// is most of the time a project takes to load. One expr configuration
// serves every expression of the file (expr.Compile builds a new one, with
// its map of builtins, for each), and each source is parsed once.
type programs struct {
	plain   *conf.Config // expr.Compile's defaults
	asBool  *conf.Config // the same with expr.AsBool
	sources map[string]*source
}

// source is what the text of one expression gives, whatever the step
// holding it: its program, and the names it refers to, to be checked
// against each holder's scope.
type source struct {
	program *vm.Program
	err     error // parsing or compiling src
	boolErr error // compiling src as a condition (expr.AsBool)
	hasBool bool  // boolErr is known
	raw     bool  // src calls raw
	lets    map[string]bool
	names   []name // in the order exprast.Walk visits them
}

// name is an identifier, or a member path a.b["c"] (its root and leading
// constant properties, as memberPath gives them), that an expression reads.
type name struct {
	member bool
	root   string // the identifier, or the member path's root
	path   []string
}

func newPrograms() *programs {
	asBool := conf.CreateNew()
	expr.AsBool()(asBool)
	return &programs{plain: conf.CreateNew(), asBool: asBool, sources: map[string]*source{}}
}

// source returns what src gives, parsing and compiling it once. Compiling
// is expr.Compile's, step by step, with the file's configuration.
func (p *programs) source(src string, asBool bool) *source {
	s, ok := p.sources[src]
	if !ok {
		s = &source{lets: map[string]bool{}}
		p.sources[src] = s
		tree, err := parser.ParseWithConfig(src, p.plain)
		if err != nil {
			s.err = err
			return s
		}
		// The names are read before the checker patches the tree.
		s.raw = findRaw(tree.Node)
		exprast.Walk(&tree.Node, letCollector(s.lets))
		exprast.Walk(&tree.Node, (*nameCollector)(&s.names))
		s.program, s.err = compileTree(tree, p.plain)
	}
	if asBool && s.err == nil && !s.hasBool {
		_, s.boolErr = checker.ParseCheck(src, p.asBool)
		s.hasBool = true
	}
	return s
}

// compileTree checks, optimizes and compiles a parsed expression as
// expr.Compile does.
func compileTree(tree *parser.Tree, config *conf.Config) (*vm.Program, error) {
	if _, err := new(checker.Checker).PatchAndCheck(tree, config); err != nil {
		return nil, err
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fileError *file.Error
			if errors.As(err, &fileError) {
				return nil, fileError.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, config)
}

// compileExpr compiles src and checks its references against scope.
// asBool asks for a condition.
func compileExpr(src string, pos Pos, field string, scope *refScope, asBool bool) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fieldf(pos, field, "an expression is empty")
	}
	progs := scope.programs
	if progs == nil {
		progs = newPrograms()
	}
	// Compiling with AsBool refuses what is surely not a bool (1 + 2); the
	// program run is the one without it, so that EvalBool can report a
	// value of the wrong type itself.
	s := progs.source(src, asBool)
	err := s.err
	if err == nil && asBool {
		err = s.boolErr
	}
	if err != nil {
		return nil, fieldf(pos, field, "${{ %s }}: %s", flatten(src), compileMessage(err))
	}
	if s.raw {
		return nil, fieldf(pos, field, "${{ %s }}: raw(...) can only wrap a whole ${{ }} of a shell command, such as the run: of a command step", flatten(src))
	}
	if msg := scope.checkNames(s.names, s.lets); msg != "" {
		return nil, fieldf(pos, field, "${{ %s }}: %s", flatten(src), msg)
	}
	if asBool && scope.typed != nil {
		// With the parameters typed, a condition whose type is known and
		// is not bool (`when: params.C`) is refused now. One that does not
		// compile typed (`"C" in params`) is left to run time.
		if typed, err := expr.Compile(src, expr.Env(scope.typed)); err == nil {
			if t := typed.Node().Type(); t != nil && t.Kind() != reflect.Bool && t.Kind() != reflect.Interface {
				return nil, fieldf(pos, field, "${{ %s }} gives a %s, not true or false", flatten(src), t)
			}
		}
	}
	return &Expr{Source: src, Pos: pos, field: field, program: s.program}, nil
}

// rawFunc is the name of the marker that pastes an expression's value into
// a shell command without quoting it: ${{ raw(params.flags) }}.
const rawFunc = "raw"

// rawCall returns the argument of a call raw(x), or nil when n is not one.
func rawCall(n exprast.Node) exprast.Node {
	call, ok := n.(*exprast.CallNode)
	if !ok {
		return nil
	}
	if id, ok := call.Callee.(*exprast.IdentifierNode); !ok || id.Value != rawFunc || len(call.Arguments) != 1 {
		return nil
	}
	return call.Arguments[0]
}

// findRaw reports whether the expression calls raw anywhere.
func findRaw(n exprast.Node) bool {
	found := false
	exprast.Walk(&n, rawFinder(func() { found = true }))
	return found
}

// rawFinder calls its function for every call of raw.
type rawFinder func()

// Visit implements exprast.Visitor.
func (f rawFinder) Visit(n *exprast.Node) {
	if call, ok := (*n).(*exprast.CallNode); ok {
		if id, ok := call.Callee.(*exprast.IdentifierNode); ok && id.Value == rawFunc {
			f()
		}
	}
}

// unwrapRaw returns the expression inside ${{ raw(expr) }} and true, or
// src and false when src is not one call of raw.
func unwrapRaw(src string) (string, bool) {
	if !strings.Contains(src, rawFunc) {
		return src, false // no call of raw without its name
	}
	tree, err := parser.Parse(src)
	if err != nil || rawCall(tree.Node) == nil {
		return src, false
	}
	// The whole source is the call: its argument is what lies between the
	// first "(" and the last ")".
	t := strings.TrimSpace(src)
	open, end := strings.IndexByte(t, '('), strings.LastIndexByte(t, ')')
	if open < 0 || end <= open {
		return src, false
	}
	return strings.TrimSpace(t[open+1 : end]), true
}

// typedEnv returns an expression environment in which params has the
// entry point's parameters with their types (a struct, so that expr knows
// params.C is a float64), and the rest is untyped. Compiling a condition
// in it finds one that cannot give true or false (`when: params.C`)
// before any run exists.
func typedEnv(params []*Param) map[string]any {
	fields := make([]reflect.StructField, len(params))
	for i, p := range params {
		var zero any = ""
		switch p.Type {
		case TypeFloat:
			zero = 0.0
		case TypeInt:
			zero = 0
		case TypeBool:
			zero = false
		}
		fields[i] = reflect.StructField{
			Name: fmt.Sprintf("P%d", i),
			Type: reflect.TypeOf(zero),
			Tag:  reflect.StructTag(fmt.Sprintf("expr:%q", p.Name)),
		}
	}
	return map[string]any{
		"params":  reflect.New(reflect.StructOf(fields)).Elem().Interface(),
		"steps":   map[string]any{},
		"metrics": map[string]any{},
		"run":     map[string]any{},
	}
}

// flatten writes an expression's source on one line for messages.
func flatten(src string) string { return strings.Join(strings.Fields(src), " ") }

// compileMessage returns a compile error's message with the column where
// it was found.
func compileMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) && fe.Snippet != "" {
		return fmt.Sprintf("%s (at character %d of the expression)", fe.Message, fe.Column+1)
	}
	return exprMessage(err)
}

// letCollector records the names declared with `let` in an expression.
type letCollector map[string]bool

// Visit records a variable declaration.
func (l letCollector) Visit(n *exprast.Node) {
	if v, ok := (*n).(*exprast.VariableDeclaratorNode); ok {
		l[v.Name] = true
	}
}

// nameCollector gathers the names an expression reads, in the order
// exprast.Walk visits them: inner nodes first, so that the shortest prefix
// of a.b.c comes first.
type nameCollector []name

// Visit records an identifier or a member path.
func (c *nameCollector) Visit(n *exprast.Node) {
	switch x := (*n).(type) {
	case *exprast.IdentifierNode:
		*c = append(*c, name{root: x.Value})
	case *exprast.MemberNode:
		root, path := memberPath(x)
		*c = append(*c, name{member: true, root: root, path: path})
	}
}

// checkNames returns the first problem with names (read by an expression
// declaring lets) in s, or "".
func (s *refScope) checkNames(names []name, lets map[string]bool) string {
	for _, n := range names {
		if lets[n.root] {
			continue
		}
		if !n.member {
			if !contains(exprRoots, n.root) {
				return fmt.Sprintf("unknown name %q (an expression starts from %s)", n.root, strings.Join(exprRoots, ", "))
			}
			continue
		}
		if n.root == "" {
			continue
		}
		if msg := s.check(n.root, n.path); msg != "" {
			return msg
		}
	}
	return ""
}

// memberPath returns the root identifier of a.b["c"].d and the leading
// constant property names (stopping at the first computed one).
func memberPath(n exprast.Node) (string, []string) {
	var rev []string // properties from the outermost in, "" for a computed one
	for {
		switch x := n.(type) {
		case *exprast.MemberNode:
			if s, ok := x.Property.(*exprast.StringNode); ok && !x.Method {
				rev = append(rev, s.Value)
			} else {
				rev = append(rev, "")
			}
			n = x.Node
			continue
		case *exprast.ChainNode:
			n = x.Node
			continue
		case *exprast.IdentifierNode:
			var path []string
			for i := len(rev) - 1; i >= 0 && rev[i] != ""; i-- {
				path = append(path, rev[i])
			}
			return x.Value, path
		}
		return "", nil
	}
}

// check returns what is wrong with the reference root.path, or "".
func (s *refScope) check(root string, path []string) string {
	if len(path) == 0 {
		return ""
	}
	switch root {
	case "params":
		if _, ok := s.params[path[0]]; !ok {
			return fmt.Sprintf("params.%s: no parameter %q is declared (declared: %s)", path[0], path[0], s.declared)
		}
	case "run":
		if !contains(runFields, path[0]) {
			return fmt.Sprintf("run.%s: run has no field %q (it has: %s)", path[0], path[0], strings.Join(runFields, ", "))
		}
	case "steps":
		name := path[0]
		switch {
		case name == s.self:
			return fmt.Sprintf("steps.%s: a step cannot read its own outputs or metrics", name)
		case s.steps[name] == nil:
			return fmt.Sprintf("steps.%s: there is no step %q (steps: %s)", name, name, strings.Join(slices.Sorted(maps.Keys(s.steps)), ", "))
		case !s.upstream[name]:
			return fmt.Sprintf("steps.%s: step %q is not upstream of step %q; add it to needs", name, name, s.self)
		}
		if len(path) < 2 {
			return ""
		}
		switch path[1] {
		case "metrics":
			return ""
		case "outputs":
			if len(path) < 3 {
				return ""
			}
			outs := s.outputs[name]
			if !contains(outs, path[2]) {
				has := "none"
				if len(outs) > 0 {
					has = strings.Join(outs, ", ")
				}
				return fmt.Sprintf("steps.%s.outputs.%s: step kind %q has no output %q (outputs: %s)", name, path[2], s.steps[name].Uses, path[2], has)
			}
		default:
			return fmt.Sprintf("steps.%s.%s: a step has outputs and metrics, not %q", name, path[1], path[1])
		}
	}
	return ""
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Value is the value of one `with:` input: the YAML value as written, with
// every ${{ expr }} in its strings compiled.
type Value struct {
	raw   any         // plain YAML value as written
	pos   Pos         // where the value starts
	parts []valuePart // for a string holding ${{ }}: its text and expressions
	list  []*Value    // for a list
	keys  []string    // for a mapping: its keys in file order
	items map[string]*Value
	exprs int // number of ${{ }} in this value and below
}

// valuePart is literal text or an expression of a templated string.
type valuePart struct {
	text  string
	expr  *Expr
	quote bool // a value in a shell command: shell-quoted as one word
}

// Raw returns the value as written in YAML: string, int, float64, bool,
// nil, []any or map[string]any, with its ${{ }} unresolved. Callers must
// not modify it.
func (v *Value) Raw() any { return v.raw }

// Static reports whether the value holds no ${{ }}.
func (v *Value) Static() bool { return v.exprs == 0 }

// Exprs returns the expressions in the value, in file order.
func (v *Value) Exprs() []*Expr {
	var out []*Expr
	for _, p := range v.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	for _, it := range v.list {
		out = append(out, it.Exprs()...)
	}
	for _, k := range v.keys {
		out = append(out, v.items[k].Exprs()...)
	}
	return out
}

// Eval resolves the value's expressions in env, recursively through lists
// and mappings. A string that is exactly one ${{ expr }} becomes the
// expression's value, keeping its type; a string with text around its
// expressions becomes a string with their values formatted in. Lists and
// mappings are fresh copies.
func (v *Value) Eval(env map[string]any) (any, error) {
	switch {
	case v.parts != nil:
		if len(v.parts) == 1 && v.parts[0].expr != nil && !v.parts[0].quote {
			return v.parts[0].expr.Eval(env)
		}
		var b strings.Builder
		for _, p := range v.parts {
			if p.expr == nil {
				b.WriteString(p.text)
				continue
			}
			out, err := p.expr.Eval(env)
			if err != nil {
				return nil, err
			}
			s, err := formatValue(out)
			if err != nil {
				return nil, fieldf(p.expr.Pos, p.expr.field, "${{ %s }}: %v", flatten(p.expr.Source), err)
			}
			if p.quote {
				s = shellQuote(s)
			}
			b.WriteString(s)
		}
		return b.String(), nil
	case v.list != nil:
		out := make([]any, len(v.list))
		for i, it := range v.list {
			x, err := it.Eval(env)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case v.items != nil:
		out := make(map[string]any, len(v.items))
		for _, k := range v.keys {
			x, err := v.items[k].Eval(env)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return v.raw, nil
}

// compileValue builds the Value of a YAML node, compiling its templates.
// In a shell command (shell), every expression's value is shell-quoted
// unless it is written raw(expr).
func compileValue(n *node, field string, scope *refScope, shell bool) (*Value, error) {
	v := &Value{raw: n.plain(), pos: n.pos}
	switch n.kind {
	case seqNode:
		v.list = make([]*Value, len(n.items))
		for i, it := range n.items {
			c, err := compileValue(it, fmt.Sprintf("%s[%d]", field, i), scope, shell)
			if err != nil {
				return nil, err
			}
			v.list[i] = c
			v.exprs += c.exprs
		}
	case mapNode:
		v.items = make(map[string]*Value, len(n.entries))
		for _, e := range n.entries {
			c, err := compileValue(e.value, field+"."+e.key, scope, shell)
			if err != nil {
				return nil, err
			}
			v.keys = append(v.keys, e.key)
			v.items[e.key] = c
			v.exprs += c.exprs
		}
	default:
		s, ok := n.value.(string)
		if !ok || !strings.Contains(s, "${{") {
			return v, nil
		}
		parts, err := splitTemplate(s)
		if err != nil {
			return nil, fieldf(n.pos, field, "%v", err)
		}
		for _, p := range parts {
			if !p.isExpr {
				v.parts = append(v.parts, valuePart{text: p.text})
				continue
			}
			src, raw := unwrapRaw(p.source)
			if raw && !shell {
				return nil, fieldf(n.pos, field, "${{ %s }}: raw(...) is for a shell command, such as the run: of a command step; here a value is never quoted", flatten(p.source))
			}
			e, err := compileExpr(src, n.pos, field, scope, false)
			if err != nil {
				return nil, err
			}
			v.parts = append(v.parts, valuePart{expr: e, quote: shell && !raw})
			v.exprs++
		}
	}
	return v, nil
}

// templatePart is text or the source of one ${{ }} in a string.
type templatePart struct {
	text   string
	source string
	isExpr bool
}

// splitTemplate splits s at its ${{ ... }} markers. An expression ends at
// the first "}}" after its "${{".
func splitTemplate(s string) ([]templatePart, error) {
	var parts []templatePart
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			break
		}
		if i > 0 {
			parts = append(parts, templatePart{text: s[:i]})
		}
		rest := s[i+3:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("a ${{ has no closing }}")
		}
		src := strings.TrimSpace(rest[:j])
		if src == "" {
			return nil, fmt.Errorf("an expression ${{ }} is empty")
		}
		parts = append(parts, templatePart{source: src, isExpr: true})
		s = rest[j+2:]
	}
	if s != "" {
		parts = append(parts, templatePart{text: s})
	}
	return parts, nil
}

// unwrapCondition returns the expression of a `when:` string, accepting a
// bare expression or one wrapped in ${{ }}.
func unwrapCondition(s string) (string, error) {
	t := strings.TrimSpace(s)
	if !strings.Contains(t, "${{") {
		return t, nil
	}
	parts, err := splitTemplate(t)
	if err != nil {
		return "", err
	}
	if len(parts) != 1 || !parts[0].isExpr {
		return "", errors.New("a condition is one expression, bare or wrapped in ${{ }}, with no text around it")
	}
	return parts[0].source, nil
}

// Refs returns the names the expression reads, such as "metrics.accuracy"
// or "params.C", in the order they appear, each once.
func (e *Expr) Refs() []string {
	tree, err := parser.Parse(e.Source)
	if err != nil {
		return nil
	}
	c := &refCollector{seen: map[string]bool{}}
	exprast.Walk(&tree.Node, c)
	return c.refs
}

// refCollector gathers the outermost member paths of an expression.
type refCollector struct {
	seen map[string]bool
	refs []string
}

// Visit records a.b.c once; Walk visits a.b before a.b.c, so a longer path
// replaces its prefix.
func (c *refCollector) Visit(n *exprast.Node) {
	m, ok := (*n).(*exprast.MemberNode)
	if !ok {
		return
	}
	root, path := memberPath(m)
	if root == "" || len(path) == 0 {
		return
	}
	ref := root + "." + strings.Join(path, ".")
	if c.seen[ref] {
		return
	}
	for i, r := range c.refs {
		if strings.HasPrefix(ref, r+".") {
			c.refs[i] = ref
			c.seen[ref] = true
			return
		}
	}
	c.seen[ref] = true
	c.refs = append(c.refs, ref)
}
