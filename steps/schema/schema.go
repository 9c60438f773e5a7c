// Package schema declares what a step kind takes and produces: the types
// of its inputs and outputs, and the part of a kind that the MLproject
// reader needs to check a pipeline before anything runs. Package steps
// holds the kinds themselves; package project reads MLproject files
// against the schemas the kinds hand it, without linking the kinds.
package schema

import "fmt"

// Type is the declared type of a step input or output.
type Type string

// Input and output types.
const (
	String  Type = "string"
	Float   Type = "float"
	Int     Type = "int"
	Bool    Type = "bool"
	Path    Type = "path"    // a file path, relative to the project directory
	List    Type = "list"    // a YAML sequence
	Map     Type = "map"     // a YAML mapping
	Any     Type = "any"     // any YAML value
	Dataset Type = "dataset" // an in-memory data set (output of load or split)
	Model   Type = "model"   // a fitted model (output of train)
)

// Input declares one input a kind takes in `with:`.
type Input struct {
	Name     string
	Type     Type
	Default  any // used when the input is not given; nil with Required false means "unset"
	Required bool
	Doc      string
	// Shell marks a shell command (the run of a command step): the value
	// of every ${{ expr }} in it is shell-quoted as one word, unless the
	// expression is wrapped in raw(...).
	Shell bool
}

// Output declares one output a kind produces, readable by later steps as
// steps.<name>.outputs.<output>.
type Output struct {
	Name string
	Type Type
	Doc  string
}

// Values are a step's inputs after defaults are filled and types checked.
type Values map[string]any

// Kind is what the MLproject reader sees of a step kind: its name, what
// it takes and produces, and the checks of its input values.
type Kind interface {
	// Name is the kind's name as written in `uses:`.
	Name() string
	// Doc is one line saying what the kind does.
	Doc() string
	// Inputs declares what `with:` may hold.
	Inputs() []Input
	// Outputs declares what later steps can read.
	Outputs() []Output
	// Check validates input values before any run exists, beyond their
	// declared types (e.g. an unknown estimator, C=-1). Values holding
	// expressions that only resolve at run time are absent from in.
	Check(in Values) error
}

// Kinds names the step kinds a reader may meet.
type Kinds interface {
	// Schema returns the kind named name.
	Schema(name string) (Kind, bool)
	// Names returns the kinds' names, sorted.
	Names() []string
}

// Convert checks v against t and converts numbers and strings where t asks:
// an int for a float, a whole float for an int, a number or bool for a string.
func Convert(t Type, v any) (any, error) {
	switch t {
	case Any, Dataset, Model:
		return v, nil
	case String, Path:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, uint64, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case uint64:
			return int(x), nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		}
	case Bool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
	case List:
		if x, ok := v.([]any); ok {
			return x, nil
		}
	case Map:
		if x, ok := v.(map[string]any); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("want a %s, got %v (%T)", t, v, v)
}
