package schedule

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	yaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/steps/schema"
)

// scheduleKeys are the keys of one entry of an MLproject's schedules list.
var scheduleKeys = []string{"name", "cron", "entry_point", "parameters", "timezone", "overlap", "missed", "experiment"}

// CheckProject checks that the schedule's entry point exists in p and
// that its parameters resolve (types, required parameters, existing
// paths), as `mlrun run` would check them before a run.
func CheckProject(s *Schedule, p *project.Project) error {
	ep, err := p.EntryPoint(s.EntryPoint)
	if err != nil {
		return err
	}
	kvs := make([]project.KV, len(s.Params))
	for i, kv := range s.Params {
		kvs[i] = project.KV{Key: kv.Key, Value: kv.Value}
	}
	if _, err := ep.ResolveParams(kvs); err != nil {
		return errs.Errorf(errs.Code(err), "schedule %s: %s", s.Name, errs.Message(err))
	}
	return nil
}

// FromProject reads the top-level `schedules:` list of a loaded MLproject:
//
//	schedules:
//	  - name: nightly             # required; letters, digits, _ . -
//	    cron: "0 3 * * *"         # required; or @hourly, @daily, @every 30s
//	    entry_point: main         # default main
//	    parameters: {C: 0.5}      # as with -P
//	    timezone: Europe/Paris    # default: the scheduler's local time
//	    overlap: skip             # skip (default), queue or allow
//	    missed: run_once          # run_once (default) or skip
//	    experiment: nightly       # default Default
//
// Every schedule is validated, including its entry point and parameters
// against p. Errors are errs.Invalid starting FILE:LINE:COL: and the
// field, e.g. "MLproject:9:11: schedules[0].cron: ...". The schedules
// returned have defaults filled in, ProjectDir set to p.Dir and Source to
// the MLproject file's absolute path; an absent or empty list gives none.
func FromProject(p *project.Project) ([]*Schedule, error) {
	if p.Schedules == nil {
		return nil, nil
	}
	loc := newLocator(p)
	list, ok := p.Schedules.([]any)
	if !ok {
		return nil, loc.errorf(-1, "", "must be a list of schedules, each with name and cron")
	}
	source := ProjectSource(p)
	seen := map[string]int{}
	var out []*Schedule
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, loc.errorf(i, "", "must be a mapping with name, cron, entry_point, parameters, ..., not %s", project.Describe(item))
		}
		s := &Schedule{ProjectDir: p.Dir, Source: source}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m[k]
			switch k {
			case "parameters":
				params, err := paramsOf(v)
				if err != nil {
					return nil, loc.errorf(i, k, "%s", err)
				}
				s.Params = params
			case "name", "cron", "entry_point", "timezone", "overlap", "missed", "experiment":
				text, ok := v.(string)
				if !ok {
					if v == nil {
						continue
					}
					return nil, loc.errorf(i, k, "must be a string, not %s", project.Describe(v))
				}
				switch k {
				case "name":
					s.Name = text
				case "cron":
					s.Cron = text
				case "entry_point":
					s.EntryPoint = text
				case "timezone":
					s.Timezone = text
				case "overlap":
					s.Overlap = text
				case "missed":
					s.Missed = text
				case "experiment":
					s.Experiment = text
				}
			default:
				return nil, loc.errorf(i, k, "unknown schedule key (known: %s)", strings.Join(scheduleKeys, ", "))
			}
		}
		if s.Name == "" {
			return nil, loc.errorf(i, "", "needs a name")
		}
		if s.Cron == "" {
			return nil, loc.errorf(i, "", "schedule %s needs a cron expression (cron: \"0 3 * * *\", @daily, @every 1h, ...)", s.Name)
		}
		if j, dup := seen[s.Name]; dup {
			return nil, loc.errorf(i, "name", "schedule %q is declared twice (also schedules[%d])", s.Name, j)
		}
		seen[s.Name] = i
		s.SetDefaults()
		if field, err := validate(s); err != nil {
			return nil, loc.errorf(i, field, "%s", errs.Message(err))
		}
		if err := CheckProject(s, p); err != nil {
			field := "entry_point"
			if errs.Code(err) == errs.Invalid {
				field = "parameters"
			}
			return nil, loc.errorf(i, field, "%s", errs.Message(err))
		}
		out = append(out, s)
	}
	return out, nil
}

// paramsOf turns a parameters mapping into KVs sorted by name. Values
// must be scalars; numbers are written as mlrun logs them.
func paramsOf(v any) ([]KV, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a mapping of parameter names to values, not %s", project.Describe(v))
	}
	out := make([]KV, 0, len(m))
	for k, val := range m {
		var text string
		switch x := val.(type) {
		case string:
			text = x
		case bool:
			text = strconv.FormatBool(x)
		case int:
			text = strconv.Itoa(x)
		case float64:
			text = schema.FormatFloat(x)
		default:
			return nil, fmt.Errorf("parameter %q must be a string, number or bool, not %s", k, project.Describe(val))
		}
		out = append(out, KV{Key: k, Value: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// locator finds where entries of the schedules list are written, by
// parsing the MLproject file again with positions. It falls back to the
// position of the schedules key.
type locator struct {
	p    *project.Project
	file *ast.File // nil if the file could not be parsed again
}

func newLocator(p *project.Project) *locator {
	l := &locator{p: p}
	if src, err := os.ReadFile(p.File); err == nil {
		if f, err := parser.ParseBytes(src, 0); err == nil {
			l.file = f
		}
	}
	return l
}

// errorf returns an errs.Invalid error "FILE:LINE:COL: schedules[i].key:
// message"; i < 0 names the list itself, key "" the entry.
func (l *locator) errorf(i int, key, format string, args ...any) error {
	field := "schedules"
	if i >= 0 {
		field = fmt.Sprintf("schedules[%d]", i)
		if key != "" {
			field += "." + key
		}
	}
	return errs.Errorf(errs.Invalid, "%s: %s: %s", l.pos(i, key), field, oneLine(fmt.Sprintf(format, args...)))
}

// pos returns the position of schedules[i] (key "") or of its key.
func (l *locator) pos(i int, key string) project.Pos {
	fallback := l.p.SchedulesPos
	if l.file == nil || i < 0 {
		return fallback
	}
	path, err := yaml.PathString(fmt.Sprintf("$.schedules[%d]", i))
	if err != nil {
		return fallback
	}
	n, err := path.FilterFile(l.file)
	if err != nil || n == nil {
		return fallback
	}
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	}
	target := n.GetToken()
	if len(values) > 0 {
		target = values[0].Key.GetToken() // a mapping's own token may be its first ':'
	}
	for _, mv := range values {
		if tk := mv.Key.GetToken(); key != "" && tk != nil && tk.Value == key {
			target = tk
			break
		}
	}
	if target == nil || target.Position == nil {
		return fallback
	}
	return project.Pos{File: l.p.File, Line: target.Position.Line, Column: target.Position.Column}
}

// ProjectSource is the Source of the schedules applied from p: the
// absolute path of its MLproject file.
func ProjectSource(p *project.Project) string {
	return filepath.Join(p.Dir, filepath.Base(p.File))
}
