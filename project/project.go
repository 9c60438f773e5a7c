package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/steps/schema"
)

// maxFileSize bounds the MLproject file we are willing to read.
const maxFileSize = 4 << 20

// Pos is a position in the MLproject file.
type Pos struct {
	File         string
	Line, Column int
}

// String returns "file:line:col".
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// Project is a loaded and validated MLproject file.
type Project struct {
	Dir         string // absolute path of the project directory
	File        string // the MLproject file: the directory as given to Load joined with the file name
	Name        string
	EntryPoints map[string]*EntryPoint

	// MLflow's environment fields, kept as plain values (string, list,
	// mapping); mlrun does not use them. Nil when absent.
	PythonEnv, CondaEnv, DockerEnv any

	// Schedules is the raw value of the top-level `schedules` key (plain Go
	// values: map[string]any, []any, string, int, float64, bool, nil),
	// reserved for the scheduler; SchedulesPos is where it is written.
	// Nil and the zero Pos when absent.
	Schedules    any
	SchedulesPos Pos
	// SchedulesSection is the same value with the positions of its parts.
	SchedulesSection *Section
}

// EntryPoint is one entry point: either a shell command template (as in
// MLflow) or a pipeline of steps.
type EntryPoint struct {
	Name    string
	Params  []*Param // in file order
	Command string   // the template as written; empty for a steps entry point
	Steps   []*Step  // topological order, ties broken by file order
	// Sweep is the raw value of the entry point's `sweep` key (plain Go
	// values), reserved for parameter sweeps; SweepPos is where it is
	// written. Nil and the zero Pos when absent.
	Sweep    any
	SweepPos Pos
	// Resources is the raw value of the entry point's `resources` key
	// (what a cluster job asks for; package executor reads it), and
	// ResourcesPos where it is written. Nil and the zero Pos when absent.
	Resources    any
	ResourcesPos Pos
	Pos          Pos // where the entry point's name is written

	dir      string         // absolute project directory, for path parameters
	template []commandPart  // the parsed command
	byName   map[string]int // index of each parameter in Params
}

// Param declares one parameter of an entry point.
type Param struct {
	Name     string
	Type     string // float, int, string, bool, path or uri
	Default  any    // typed: float64, int, string or bool; nil when Required
	Required bool   // no default was given
	Pos      Pos    // where the parameter's name is written

	defaultText string // the default as logged
}

// Parameter types.
const (
	TypeFloat  = "float"
	TypeInt    = "int"
	TypeString = "string"
	TypeBool   = "bool"
	TypePath   = "path"
	TypeURI    = "uri"
)

// paramTypes lists the parameter types, for error messages.
var paramTypes = []string{TypeBool, TypeFloat, TypeInt, TypePath, TypeString, TypeURI}

// Load reads the MLproject file in dir and validates it against the step
// kinds: every error is an errs.Invalid naming FILE:LINE:COL and the field.
// A directory without an MLproject file is an errs.NotFound.
func Load(dir string, kinds schema.Kinds) (*Project, error) {
	if kinds == nil {
		kinds = noKinds{}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("load project %s: %w", dir, err)
	}
	name, err := findProjectFile(dir)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, name)
	src, err := readFile(file)
	if err != nil {
		return nil, err
	}
	return parse(file, abs, src, kinds)
}

// findProjectFile returns the name of the file in dir whose lower-cased
// name is "mlproject".
func findProjectFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errs.Errorf(errs.NotFound, "project directory %s does not exist", dir)
	}
	if err != nil {
		return "", fmt.Errorf("load project %s: %w", dir, err)
	}
	var found []string
	for _, e := range entries {
		if strings.ToLower(e.Name()) == "mlproject" && !e.IsDir() {
			found = append(found, e.Name())
		}
	}
	switch len(found) {
	case 0:
		return "", errs.Errorf(errs.NotFound, "no MLproject file in %s", dir)
	case 1:
		return found[0], nil
	}
	return "", errs.Errorf(errs.Invalid, "%s holds several MLproject files (%s); keep one", dir, strings.Join(found, ", "))
}

// readFile reads the project file, refusing huge ones.
func readFile(file string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("load project: %w", err)
	}
	if info.Size() > maxFileSize {
		return nil, errs.Errorf(errs.Invalid, "%s is %d bytes; an MLproject file may hold at most %d", file, info.Size(), maxFileSize)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load project: %w", err)
	}
	return src, nil
}

// parse validates the bytes of the project file.
func parse(file, absDir string, src []byte, kinds schema.Kinds) (*Project, error) {
	root, err := parseYAML(file, src)
	if err != nil {
		var ye *yamlError
		if errors.As(err, &ye) {
			return nil, errs.Errorf(errs.Invalid, "%s:%d:%d: invalid YAML: %s", file, ye.line, ye.column, ye.message)
		}
		return nil, err
	}
	if root.kind != mapNode {
		return nil, invalidf(root.pos, "the file must be a mapping with name and entry_points, not %s", root.describe())
	}
	p := &Project{Dir: absDir, File: file, EntryPoints: map[string]*EntryPoint{}}
	var envKeys []string
	for _, e := range root.entries {
		switch e.key {
		case "name":
			if e.value.isNull() {
				continue
			}
			if e.value.kind != scalarNode {
				return nil, fieldf(e.value.pos, "name", "must be a string, not %s", e.value.describe())
			}
			p.Name = e.value.text
		case "python_env":
			p.PythonEnv = e.value.plain()
			envKeys = append(envKeys, e.key)
		case "conda_env":
			p.CondaEnv = e.value.plain()
			envKeys = append(envKeys, e.key)
		case "docker_env":
			p.DockerEnv = e.value.plain()
			envKeys = append(envKeys, e.key)
		case "schedules":
			p.Schedules = e.value.plain()
			p.SchedulesPos = e.keyPos
			p.SchedulesSection = e.value.exported()
		case "entry_points":
			if err := p.parseEntryPoints(e.value, kinds, newPrograms()); err != nil {
				return nil, err
			}
		default:
			return nil, fieldf(e.keyPos, e.key, "unknown top-level key (known: name, entry_points, python_env, conda_env, docker_env, schedules)")
		}
		if len(envKeys) > 1 {
			return nil, fieldf(e.keyPos, e.key, "a project may set at most one of python_env, conda_env and docker_env, and %s is set too", envKeys[0])
		}
	}
	return p, nil
}

// parseEntryPoints reads the entry_points mapping.
func (p *Project) parseEntryPoints(n *node, kinds schema.Kinds, progs *programs) error {
	if n.isNull() {
		return nil
	}
	if n.kind != mapNode {
		return fieldf(n.pos, "entry_points", "must be a mapping of entry point names, not %s", n.describe())
	}
	for _, e := range n.entries {
		ep, err := parseEntryPoint(p, e, kinds, progs)
		if err != nil {
			return err
		}
		p.EntryPoints[e.key] = ep
	}
	return nil
}

// EntryPoint returns the named entry point. A name ending in .py or .sh
// that is not declared but names a file in the project directory runs that
// file with python or bash, as MLflow does.
func (p *Project) EntryPoint(name string) (*EntryPoint, error) {
	if ep, ok := p.EntryPoints[name]; ok {
		return ep, nil
	}
	if ep := p.scriptEntryPoint(name); ep != nil {
		return ep, nil
	}
	names := make([]string, 0, len(p.EntryPoints))
	for n := range p.EntryPoints {
		names = append(names, n)
	}
	sort.Strings(names)
	has := "it has none"
	if len(names) > 0 {
		has = "it has: " + strings.Join(names, ", ")
	}
	return nil, errs.Errorf(errs.NotFound, "entry point %q not found in %s (%s)", name, p.File, has)
}

// scriptEntryPoint returns an entry point running the .py or .sh file
// name, or nil when name is not such a file of the project.
func (p *Project) scriptEntryPoint(name string) *EntryPoint {
	var interpreter string
	switch {
	case strings.HasSuffix(name, ".py"):
		interpreter = "python"
	case strings.HasSuffix(name, ".sh"):
		interpreter = "bash"
	default:
		return nil
	}
	if !filepath.IsLocal(name) {
		return nil
	}
	info, err := os.Stat(filepath.Join(p.Dir, name))
	if err != nil || !info.Mode().IsRegular() {
		return nil
	}
	command := interpreter + " " + shellQuote(name)
	return &EntryPoint{
		Name:     name,
		Command:  escapeBraces(command),
		Pos:      Pos{File: p.File, Line: 1, Column: 1},
		dir:      p.Dir,
		template: []commandPart{{text: command}},
		byName:   map[string]int{},
	}
}

// invalidf returns an errs.Invalid error "POS: message".
func invalidf(pos Pos, format string, args ...any) error {
	return errs.Errorf(errs.Invalid, "%s: %s", pos, oneLine(fmt.Sprintf(format, args...)))
}

// fieldf returns an errs.Invalid error "POS: FIELD: message".
func fieldf(pos Pos, field, format string, args ...any) error {
	return errs.Errorf(errs.Invalid, "%s: %s: %s", pos, field, oneLine(fmt.Sprintf(format, args...)))
}

// lineBreaks escapes line breaks so that a message stays on one line.
var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`)

// oneLine returns msg with its line breaks escaped.
func oneLine(msg string) string { return lineBreaks.Replace(msg) }

// quoteList formats names as "a", "b", "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// Describe names a plain YAML value (as this package decodes them) for
// error messages: null, a mapping, a list, the string "x", the bool true,
// the number 0.5.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the bool %v", x)
	}
	return fmt.Sprintf("the number %v", v)
}

// noKinds is the schema.Kinds of a reader given none: every step kind is
// unknown.
type noKinds struct{}

func (noKinds) Schema(string) (schema.Kind, bool) { return nil, false }
func (noKinds) Names() []string                   { return nil }
