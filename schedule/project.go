package schedule

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/steps/schema"
)

// scheduleKeys are the keys of one entry of an MLproject's schedules list.
var scheduleKeys = []string{"name", "cron", "entry_point", "parameters", "timezone", "overlap", "missed", "experiment", "executor", "resources"}

// Executors are the values of a schedule's executor.
const (
	ExecutorLocal = "local" // a child process of the scheduler (also "")
	ExecutorSlurm = "slurm" // the child submits the run as a Slurm job
)

// CheckProject checks that the schedule's entry point exists in p and
// that its parameters resolve (types, required parameters, existing
// paths), as `mlrun run` would check them before a run.
func CheckProject(s *Schedule, p *project.Project) error {
	_, err := checkProject(s, p)
	return err
}

// checkProject is CheckProject that also says which key of the schedule
// is at fault: entry_point or parameters, or "" when the error names its
// own position in the MLproject.
func checkProject(s *Schedule, p *project.Project) (field string, err error) {
	ep, err := p.EntryPoint(s.EntryPoint)
	if err != nil {
		return "entry_point", err
	}
	kvs := make([]project.KV, len(s.Params))
	for i, kv := range s.Params {
		kvs[i] = project.KV{Key: kv.Key, Value: kv.Value}
	}
	if _, err := ep.ResolveParams(kvs); err != nil {
		return "parameters", errs.Errorf(errs.Code(err), "schedule %s: %s", s.Name, errs.Message(err))
	}
	if s.Executor == ExecutorSlurm {
		// Already "FILE:LINE:COL: entry_points.EP.resources...: ...".
		if _, err := executor.EntryPointResources(ep); err != nil {
			return "", err
		}
	}
	return "", nil
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
//	    executor: slurm           # local (default) or slurm
//	    resources: {time: "30"}   # with slurm: as an entry point's resources
//
// Every schedule is validated, including its entry point and parameters
// against p. Errors are errs.Invalid starting FILE:LINE:COL: and the
// field, e.g. "MLproject:9:11: schedules[0].cron: ...", as Load's are (the
// positions come from the project's parsed tree). The schedules returned
// have defaults filled in, ProjectDir set to p.Dir and Source to the
// MLproject file's absolute path; an absent or empty list gives none.
func FromProject(p *project.Project) ([]*Schedule, error) {
	sec := p.SchedulesSection
	if sec == nil || sec.Plain == nil {
		return nil, nil
	}
	if !sec.IsList() {
		return nil, project.FieldErrorf(p.SchedulesPos, "schedules", "must be a list of schedules, each with name and cron")
	}
	source := ProjectSource(p)
	seen := map[string]int{}
	var out []*Schedule
	for i, item := range sec.Items {
		field := fmt.Sprintf("schedules[%d]", i)
		entryPos := item.Pos
		if len(item.Entries) > 0 {
			entryPos = item.Entries[0].KeyPos
		}
		// bad names the entry (key "") or one of its keys.
		bad := func(key, format string, args ...any) error {
			if key == "" {
				return project.FieldErrorf(entryPos, field, format, args...)
			}
			pos := entryPos
			if e := item.Entry(key); e != nil {
				pos = e.KeyPos
			}
			return project.FieldErrorf(pos, field+"."+key, format, args...)
		}
		if !item.IsMapping() {
			return nil, bad("", "must be a mapping with name, cron, entry_point, parameters, ..., not %s", project.Describe(item.Plain))
		}
		s := &Schedule{ProjectDir: p.Dir, Source: source}
		var resources *project.SectionEntry
		for _, e := range item.Entries {
			v := e.Value.Plain
			switch e.Key {
			case "parameters":
				params, err := paramsOf(v)
				if err != nil {
					return nil, bad(e.Key, "%s", err)
				}
				s.Params = params
			case "resources":
				resources = &e
			case "name", "cron", "entry_point", "timezone", "overlap", "missed", "experiment", "executor":
				text, ok := v.(string)
				if !ok {
					if v == nil {
						continue
					}
					return nil, bad(e.Key, "must be a string, not %s", project.Describe(v))
				}
				switch e.Key {
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
				case "executor":
					s.Executor = text
				}
			default:
				return nil, bad(e.Key, "unknown schedule key (known: %s)", strings.Join(scheduleKeys, ", "))
			}
		}
		if s.Name == "" {
			return nil, bad("", "needs a name")
		}
		if s.Cron == "" {
			return nil, bad("", "schedule %s needs a cron expression (cron: \"0 3 * * *\", @daily, @every 1h, ...)", s.Name)
		}
		if j, dup := seen[s.Name]; dup {
			return nil, bad("name", "schedule %q is declared twice (also schedules[%d])", s.Name, j)
		}
		seen[s.Name] = i
		if resources != nil {
			res, err := executor.ParseResources(resources.Value.Plain, resources.KeyPos, field+".resources")
			if err != nil {
				return nil, err
			}
			s.Resources = res
		}
		s.SetDefaults()
		if key, err := validate(s); err != nil {
			return nil, bad(key, "%s", errs.Message(err))
		}
		if key, err := checkProject(s, p); err != nil {
			if key == "" {
				return nil, err
			}
			return nil, bad(key, "%s", errs.Message(err))
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

// ProjectSource is the Source of the schedules applied from p: the
// absolute path of its MLproject file.
func ProjectSource(p *project.Project) string {
	return filepath.Join(p.Dir, filepath.Base(p.File))
}
