package executor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mlrun/mlrun/project"
)

// resourceKeys are the keys of an entry point's resources: section.
var resourceKeys = []string{"account", "args", "cpus", "gpus", "mem", "partition", "time"}

// EntryPointResources reads the entry point's resources: section, e.g.
//
//	resources: {partition: gpu, time: "2:00:00", mem: 8G, cpus: 4, gpus: 1, args: ["--qos=high"]}
//
// A missing section gives empty Resources; a bad one an errs.Invalid error
// naming the file, line and key.
func EntryPointResources(ep *project.EntryPoint) (Resources, error) {
	return ParseResources(ep.Resources, ep.ResourcesPos, "entry_points."+ep.Name+".resources")
}

// ParseResources reads a resources mapping (plain YAML values) written at
// pos; field names it in errors, which are errs.Invalid "FILE:LINE:COL:
// FIELD.KEY: message". Nil gives empty Resources.
func ParseResources(v any, pos project.Pos, field string) (Resources, error) {
	var r Resources
	if v == nil {
		return r, nil
	}
	bad := func(key, format string, args ...any) error {
		f := field
		if key != "" {
			f += "." + key
		}
		return project.FieldErrorf(pos, f, format, args...)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return r, bad("", "must be a mapping with the keys %s, not %s", strings.Join(resourceKeys, ", "), project.Describe(v))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		str := func() (string, error) {
			switch x := v.(type) {
			case string:
				if x == "" {
					return "", bad(k, "must not be empty")
				}
				return x, nil
			case int, int64, float64:
				return fmt.Sprint(x), nil
			}
			return "", bad(k, "must be a string, not %s", project.Describe(v))
		}
		var err error
		switch k {
		case "partition":
			r.Partition, err = str()
		case "time":
			r.Time, err = str()
		case "mem":
			r.Mem, err = str()
		case "gpus":
			r.GPUs, err = str()
		case "account":
			r.Account, err = str()
		case "cpus":
			n, ok := v.(int)
			if !ok || n < 1 {
				return r, bad(k, "must be a whole number of at least 1, not %s", project.Describe(v))
			}
			r.CPUs = n
		case "args":
			list, ok := v.([]any)
			if !ok {
				return r, bad(k, "must be a list of sbatch arguments, not %s", project.Describe(v))
			}
			for i, a := range list {
				s, ok := a.(string)
				if !ok {
					return r, bad(fmt.Sprintf("%s[%d]", k, i), "must be a string, not %s", project.Describe(a))
				}
				r.Args = append(r.Args, s)
			}
		default:
			return r, bad(k, "unknown key (known: %s)", strings.Join(resourceKeys, ", "))
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}
