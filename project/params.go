package project

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/agnivade/levenshtein"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/steps/schema"
)

// KV is one NAME=VALUE given with -P.
type KV struct{ Key, Value string }

// Params are an entry point's parameter values for one run.
type Params struct {
	// Values holds every declared parameter, typed: float64, int, string or
	// bool; a path parameter holds the absolute path.
	Values map[string]any
	// Strings holds every parameter as it is logged to the run: a float,
	// given or default, as MLflow logs it (schema.FormatFloat: 1.0,
	// 1000000.0, 1e-05); anything else as the user gave it (a path as
	// given, not made absolute) or as the default is written. Undeclared
	// parameters are in it too, as given.
	Strings map[string]string
	// Extra holds the undeclared parameters in the order given; MLflow
	// appends them to a command as --key value.
	Extra []KV

	given map[string]string // the text given with -P, which a command gets as MLflow passes it
}

// CheckNames checks the names of NAME=VALUE pairs: none is empty and none
// is given twice. Errors are errs.Invalid naming the parameter.
func CheckNames(given []KV) error {
	seen := make(map[string]bool, len(given))
	for _, kv := range given {
		if kv.Key == "" {
			return errs.Errorf(errs.Invalid, "a parameter name is empty (in %q); write NAME=VALUE", "="+kv.Value)
		}
		if seen[kv.Key] {
			return errs.Errorf(errs.Invalid, "parameter %q is given more than once", kv.Key)
		}
		seen[kv.Key] = true
	}
	return nil
}

// ResolveParams types the given values against the declared parameters,
// fills defaults and checks that every required parameter has a value and
// that path parameters name existing files (relative to the project
// directory). Errors are errs.Invalid naming the parameter.
func (ep *EntryPoint) ResolveParams(given []KV) (*Params, error) {
	out := &Params{Values: map[string]any{}, Strings: map[string]string{}, given: map[string]string{}}
	if err := CheckNames(given); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, kv := range given {
		seen[kv.Key] = true
		if err := ep.CheckName(kv.Key); err != nil {
			return nil, err
		}
		i, declared := ep.byName[kv.Key]
		if !declared {
			out.Extra = append(out.Extra, kv)
			out.Strings[kv.Key] = kv.Value
			continue
		}
		p := ep.Params[i]
		v, err := parseValue(p.Type, kv.Value)
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "parameter %q: %v (declared at %s)", p.Name, err, p.Pos)
		}
		out.Values[p.Name] = v
		out.Strings[p.Name] = paramText(p.Type, v, kv.Value)
		out.given[p.Name] = kv.Value
	}
	var missing []string
	for _, p := range ep.Params {
		if seen[p.Name] {
			continue
		}
		if p.Required {
			missing = append(missing, p.Name)
			continue
		}
		out.Values[p.Name] = p.Default
		out.Strings[p.Name] = p.defaultText
	}
	if len(missing) > 0 {
		return nil, errs.Errorf(errs.Invalid, "missing value for required parameter(s) %s", quoteList(missing))
	}
	for _, p := range ep.Params {
		if p.Type != TypePath {
			continue
		}
		abs, err := ep.localPath(p, out.Values[p.Name].(string))
		if err != nil {
			return nil, err
		}
		out.Values[p.Name] = abs
	}
	return out, nil
}

// paramText returns the text a parameter is logged as: a float as MLflow
// logs one (schema.FormatFloat: -P C=1 and C=1e0 are both "1.0", 1e6 is
// "1000000.0"), anything else as given.
func paramText(typ string, v any, given string) string {
	if f, ok := v.(float64); ok && typ == TypeFloat {
		return schema.FormatFloat(f)
	}
	return given
}

// CheckName returns an errs.Invalid error when the entry point takes no
// parameter called name. A steps entry point takes only the parameters it
// declares: an undeclared one reaches no step, so it is a mistake (-P c=0.1
// for C), and the error names the declared ones and the closest. A command
// entry point takes any name and appends the undeclared ones to its
// command as --name value, as MLflow does.
func (ep *EntryPoint) CheckName(name string) error {
	if _, ok := ep.byName[name]; ok || len(ep.Steps) == 0 {
		return nil
	}
	msg := fmt.Sprintf("parameter %q is not declared by entry point %q, whose steps would never read it (declared: %s)", name, ep.Name, ep.declared())
	if near := ep.closestParam(name); near != "" {
		msg += fmt.Sprintf("; did you mean %s?", near)
	}
	return errs.Errorf(errs.Invalid, "%s", msg)
}

// closestParam returns the declared parameter whose name is nearest to
// name: the same but for case, else at most a third of its letters away
// (edit distance); "" when none is that close.
func (ep *EntryPoint) closestParam(name string) string {
	best, bestDist := "", len(name)/3+1
	for _, p := range ep.Params {
		if strings.EqualFold(p.Name, name) {
			return p.Name
		}
		if d := levenshtein.ComputeDistance(strings.ToLower(p.Name), strings.ToLower(name)); d < bestDist {
			best, bestDist = p.Name, d
		}
	}
	return best
}

// localPath returns the absolute path of a path parameter's value, which
// must exist. Relative paths are relative to the project directory.
func (ep *EntryPoint) localPath(p *Param, value string) (string, error) {
	path := value
	if artifact.Scheme(path) == "file" {
		local, err := artifact.FilePath(path)
		if err != nil {
			return "", errs.Errorf(errs.Invalid, "parameter %q: %q is not a local file URI (write file:///absolute/path or a plain path; declared at %s)", p.Name, value, p.Pos)
		}
		path = local
	} else if hasURIScheme(path) && strings.Contains(path, "://") {
		return "", errs.Errorf(errs.Invalid, "parameter %q: %q is a remote URI; a path parameter takes a local path (declared at %s)", p.Name, value, p.Pos)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(ep.dir, path)
	}
	path = filepath.Clean(path)
	if _, err := os.Stat(path); err != nil {
		return "", errs.Errorf(errs.Invalid, "parameter %q: no such file or directory %s (declared at %s)", p.Name, path, p.Pos)
	}
	return path, nil
}

// RenderCommand fills the command template with the parameter values,
// each quoted for a POSIX shell like Python's shlex.quote, and appends the
// undeclared parameters as " --key value". A path parameter is replaced by
// its absolute path; other values by their text as given (as MLflow does:
// -P C=1e-3 puts 1e-3 in the command, though the run logs 0.001), and
// defaults by their logged text.
func (ep *EntryPoint) RenderCommand(p *Params) (string, error) {
	if ep.template == nil {
		return "", errs.Errorf(errs.Invalid, "entry point %q runs steps, not a command", ep.Name)
	}
	var b strings.Builder
	for _, part := range ep.template {
		if part.param == "" {
			b.WriteString(part.text)
			continue
		}
		s, err := commandValue(ep.Params[ep.byName[part.param]], p)
		if err != nil {
			return "", err
		}
		b.WriteString(shellQuote(s))
	}
	for _, kv := range p.Extra {
		b.WriteString(" --")
		b.WriteString(shellQuote(kv.Key))
		b.WriteByte(' ')
		b.WriteString(shellQuote(kv.Value))
	}
	return b.String(), nil
}

// commandValue returns the text a parameter puts in a command.
func commandValue(decl *Param, p *Params) (string, error) {
	if decl.Type == TypePath {
		if v, ok := p.Values[decl.Name].(string); ok {
			return v, nil
		}
	} else if s, ok := p.given[decl.Name]; ok {
		return s, nil
	} else if s, ok := p.Strings[decl.Name]; ok {
		return s, nil
	}
	return "", errs.Errorf(errs.Invalid, "no value for parameter %q of the command (declared at %s)", decl.Name, decl.Pos)
}

// shellSafe reports whether the word s needs no quoting in a POSIX shell:
// whether every character is in Python shlex's safe set (the regexp
// [^A-Za-z0-9_@%+=:,./-] finds none; written out because package-level
// regexps are compiled by every mlrun process).
func shellSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_@%+=:,./-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// shellQuote quotes s for a POSIX shell as Python's shlex.quote does: safe
// words stay as they are, others go in single quotes with each ' written '"'"'.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if shellSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// formatValue formats an expression's value for a string: text as is,
// numbers and bools as Python-like text, null as "", lists and mappings
// as JSON.
func formatValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return schema.FormatFloat(x), nil
	case float32:
		return schema.FormatFloat(float64(x)), nil
	case []any, map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", fmt.Errorf("cannot format %T as text: %w", v, err)
		}
		return string(b), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("cannot put a %T into a string; use the expression alone as the whole value", v)
}
