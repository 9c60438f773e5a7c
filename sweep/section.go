package sweep

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
)

// This file reads an entry point's `sweep:` section.

// sectionKeys lists the keys of a sweep section, for messages.
var sectionKeys = []string{"parameters", "max_trials", "seed", "objective", "goal", "parallel"}

// section is a checked sweep section.
type section struct {
	axes      []Axis       // in the parameters' declared order, then undeclared ones by name
	fixed     []project.KV // parameters the section gives one value
	maxTrials int
	seed      uint64
	seedSet   bool
	objective string
	goal      string
	parallel  int
}

// sectionError returns an errs.Invalid "POS: entry_points.EP.sweep.FIELD: message".
func sectionError(ep *project.EntryPoint, field, format string, args ...any) error {
	path := "entry_points." + ep.Name + ".sweep"
	if field != "" {
		path += "." + field
	}
	return errs.Errorf(errs.Invalid, "%s: %s: %s", ep.SweepPos, path, fmt.Sprintf(format, args...))
}

// readSection checks ep's sweep section; it returns nil when the entry
// point has none. Errors carry the position of the `sweep` key, the only
// position the project keeps for the section.
func readSection(ep *project.EntryPoint) (*section, error) {
	if ep.Sweep == nil {
		if ep.SweepPos.Line == 0 {
			return nil, nil
		}
		return &section{}, nil // `sweep:` written with nothing under it
	}
	m, ok := ep.Sweep.(map[string]any)
	if !ok {
		return nil, sectionError(ep, "", "must be a mapping with the keys %s, not %s", strings.Join(sectionKeys, ", "), project.Describe(ep.Sweep))
	}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		known := false
		for _, s := range sectionKeys {
			known = known || k == s
		}
		if !known {
			return nil, sectionError(ep, k, "unknown key (known: %s)", strings.Join(sectionKeys, ", "))
		}
	}
	sec := &section{}
	var err error
	if v, ok := m["max_trials"]; ok {
		if sec.maxTrials, err = positiveInt(ep, "max_trials", v, maxTrials); err != nil {
			return nil, err
		}
	}
	if v, ok := m["parallel"]; ok {
		if sec.parallel, err = positiveInt(ep, "parallel", v, math.MaxInt32); err != nil {
			return nil, err
		}
	}
	if v, ok := m["seed"]; ok {
		i, isInt := v.(int)
		if !isInt || i < 0 {
			return nil, sectionError(ep, "seed", "must be a whole number from 0 up, not %s", project.Describe(v))
		}
		sec.seed, sec.seedSet = uint64(i), true
	}
	if v, ok := m["objective"]; ok {
		s, isString := v.(string)
		if !isString {
			return nil, sectionError(ep, "objective", "must be a string such as metrics.accuracy, not %s", project.Describe(v))
		}
		if _, err := ParseObjective(s); err != nil {
			return nil, sectionError(ep, "objective", "%s", errs.Message(err))
		}
		sec.objective = strings.TrimSpace(s)
	}
	if v, ok := m["goal"]; ok {
		s, _ := v.(string)
		if s != "maximize" && s != "minimize" {
			return nil, sectionError(ep, "goal", "must be maximize or minimize, not %s", project.Describe(v))
		}
		if sec.objective == "" {
			return nil, sectionError(ep, "goal", "needs an objective (such as objective: metrics.accuracy)")
		}
		sec.goal = s
	}
	if v, ok := m["parameters"]; ok && v != nil {
		params, isMap := v.(map[string]any)
		if !isMap {
			return nil, sectionError(ep, "parameters", "must be a mapping from parameter names to values, not %s", project.Describe(v))
		}
		if err := sec.readParams(ep, params); err != nil {
			return nil, err
		}
	}
	return sec, nil
}

// positiveInt reads a whole number from 1 to max.
func positiveInt(ep *project.EntryPoint, field string, v any, max int) (int, error) {
	i, ok := v.(int)
	if !ok || i < 1 || i > max {
		return 0, sectionError(ep, field, "must be a whole number from 1 to %d, not %s", max, project.Describe(v))
	}
	return i, nil
}

// readParams reads sweep.parameters: a YAML list is a grid axis of
// literal values, a string is read as a -P value (a list, a function or
// one value), and a number or bool is one value.
func (sec *section) readParams(ep *project.EntryPoint, params map[string]any) error {
	for _, name := range paramOrder(ep, params) {
		field := "parameters." + name
		p := lookupParam(ep, name)
		fail := func(err error) error { return sectionError(ep, field, "%v", err) }
		switch v := params[name].(type) {
		case []any:
			if len(v) == 0 {
				return sectionError(ep, field, "is an empty list")
			}
			items := make([]string, len(v))
			for i, it := range v {
				s, ok := scalarText(it)
				if !ok {
					return sectionError(ep, field, "item %d must be a number, a string or a bool, not %s", i+1, project.Describe(it))
				}
				items[i] = s
			}
			source := "[" + strings.Join(items, ", ") + "]"
			ax := Axis{Name: name, Type: p.typ, Values: items, Source: source}
			if len(items) > maxValues {
				return sectionError(ep, field, "has %d values, more than %d", len(items), maxValues)
			}
			if err := checkValues(p, items, "the list "+source); err != nil {
				return fail(err)
			}
			sec.axes = append(sec.axes, ax)
		case string:
			sp, err := parseSpec(v)
			if err != nil {
				return fail(err)
			}
			if sp.single {
				sec.fixed = append(sec.fixed, project.KV{Key: name, Value: sp.value})
				continue
			}
			ax, err := buildAxis(p, sp)
			if err != nil {
				return fail(err)
			}
			sec.axes = append(sec.axes, ax)
		default:
			s, ok := scalarText(v)
			if !ok {
				return sectionError(ep, field, "must be a list, a string or one value, not %s", project.Describe(v))
			}
			sec.fixed = append(sec.fixed, project.KV{Key: name, Value: s})
		}
	}
	return nil
}

// paramOrder returns the names of params: the declared parameters in
// their declared order, then the undeclared ones sorted (the project
// keeps the section as a Go map, which has no order).
func paramOrder(ep *project.EntryPoint, params map[string]any) []string {
	var names []string
	declared := map[string]bool{}
	for _, p := range ep.Params {
		declared[p.Name] = true
		if _, ok := params[p.Name]; ok {
			names = append(names, p.Name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !declared[k] {
			names = append(names, k)
		}
	}
	return names
}

// scalarText formats a YAML scalar as a parameter value: numbers in their
// shortest form, bools as true/false.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// isMetricKey reports whether key is an MLflow metric key: one or more
// letters, digits, and _ - . / and space (the regexp ^[A-Za-z0-9_\-./ ]+$
// written out: package-level regexps are compiled by every mlrun process).
func isMetricKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '-' || c == '.' || c == '/' || c == ' ':
		default:
			return false
		}
	}
	return true
}

// ParseObjective reads an objective written "metrics.KEY" and returns
// KEY, the metric the sweep compares trials by; anything else is an
// errs.Invalid.
func ParseObjective(s string) (string, error) {
	t := strings.TrimSpace(s)
	key, ok := strings.CutPrefix(t, "metrics.")
	if !ok || key == "" || key != strings.TrimSpace(key) || !isMetricKey(key) {
		return "", errs.Errorf(errs.Invalid, "objective %q must name a metric as metrics.KEY, such as metrics.accuracy", s)
	}
	return key, nil
}
