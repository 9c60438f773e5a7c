package project

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/steps/schema"
)

// parseEntryPoint reads one entry of entry_points.
func parseEntryPoint(p *Project, e entry, kinds schema.Kinds, progs *programs) (*EntryPoint, error) {
	field := "entry_points." + e.key
	ep := &EntryPoint{Name: e.key, Pos: e.keyPos, dir: p.Dir, byName: map[string]int{}}
	n := e.value
	if n.isNull() {
		return nil, fieldf(e.keyPos, field, "needs either a command or steps")
	}
	if n.kind != mapNode {
		return nil, fieldf(n.pos, field, "must be a mapping with parameters and a command or steps, not %s", n.describe())
	}
	var command, stepList *entry
	for i := range n.entries {
		c := &n.entries[i]
		switch c.key {
		case "parameters":
			if err := ep.parseParams(c.value, field+".parameters"); err != nil {
				return nil, err
			}
		case "command":
			command = c
		case "steps":
			stepList = c
		case "sweep":
			ep.Sweep = c.value.plain()
			ep.SweepPos = c.keyPos
		case "resources":
			ep.Resources = c.value.plain()
			ep.ResourcesPos = c.keyPos
		default:
			return nil, fieldf(c.keyPos, field+"."+c.key, "unknown entry point key (known: parameters, command, steps, sweep, resources)")
		}
	}
	switch {
	case command != nil && stepList != nil:
		return nil, fieldf(e.keyPos, field, "has both a command and steps; an entry point runs one or the other")
	case command != nil:
		if err := ep.parseCommand(command.value, field+".command"); err != nil {
			return nil, err
		}
	case stepList != nil:
		if err := ep.parseSteps(stepList.value, field+".steps", kinds, progs); err != nil {
			return nil, err
		}
	default:
		return nil, fieldf(e.keyPos, field, "needs either a command or steps")
	}
	return ep, nil
}

// parseParams reads an entry point's parameters mapping.
func (ep *EntryPoint) parseParams(n *node, field string) error {
	if n.isNull() {
		return nil
	}
	if n.kind != mapNode {
		return fieldf(n.pos, field, "must be a mapping of parameter names, not %s", n.describe())
	}
	for _, e := range n.entries {
		pf := field + "." + e.key
		if e.key == "" {
			return fieldf(e.keyPos, pf, "a parameter name may not be empty")
		}
		p := &Param{Name: e.key, Type: TypeString, Required: true, Pos: e.keyPos}
		var def *node
		switch {
		case e.value.kind == scalarNode && !e.value.isNull():
			// A bare type: required, no default.
			p.Type = e.value.text
			if !knownType(p.Type) {
				return fieldf(e.value.pos, pf, "unknown parameter type %q (known: %s)", p.Type, strings.Join(paramTypes, ", "))
			}
		case e.value.kind == mapNode:
			for _, f := range e.value.entries {
				switch f.key {
				case "type":
					if f.value.kind != scalarNode || f.value.isNull() {
						return fieldf(f.value.pos, pf+".type", "must be a type name (%s), not %s", strings.Join(paramTypes, ", "), f.value.describe())
					}
					p.Type = f.value.text
					if !knownType(p.Type) {
						return fieldf(f.value.pos, pf+".type", "unknown parameter type %q (known: %s)", p.Type, strings.Join(paramTypes, ", "))
					}
				case "default":
					def = f.value
				default:
					return fieldf(f.keyPos, pf+"."+f.key, "unknown parameter key (known: type, default)")
				}
			}
		default:
			return fieldf(e.value.pos, pf, "must be a type name or a mapping with type and default, not %s", e.value.describe())
		}
		if !def.isNull() {
			v, text, err := typedDefault(p.Type, def)
			if err != nil {
				return fieldf(def.pos, pf+".default", "%v", err)
			}
			p.Default, p.defaultText, p.Required = v, text, false
		}
		ep.byName[p.Name] = len(ep.Params)
		ep.Params = append(ep.Params, p)
	}
	return nil
}

// knownType reports whether t is a parameter type.
func knownType(t string) bool {
	for _, k := range paramTypes {
		if t == k {
			return true
		}
	}
	return false
}

// typedDefault converts a default written in YAML to the parameter's type
// and returns it with its text as logged.
func typedDefault(typ string, n *node) (any, string, error) {
	if n.kind != scalarNode {
		return nil, "", fmt.Errorf("a %s parameter needs a single value, not %s", typ, n.describe())
	}
	if s, ok := n.value.(string); ok {
		// A string default is read like a value given on the command line.
		v, err := parseValue(typ, s)
		if err != nil {
			return nil, "", err
		}
		return v, paramText(typ, v, s), nil
	}
	switch typ {
	case TypeFloat:
		switch x := n.value.(type) {
		case float64:
			return x, schema.FormatFloat(x), nil
		case int:
			return float64(x), schema.FormatFloat(float64(x)), nil
		}
	case TypeInt:
		switch x := n.value.(type) {
		case int:
			return x, strconv.Itoa(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), strconv.Itoa(int(x)), nil
			}
		}
	case TypeBool:
		if x, ok := n.value.(bool); ok {
			return x, strconv.FormatBool(x), nil
		}
	case TypeString:
		// Numbers and bools are text for a string parameter, as written.
		return n.text, n.text, nil
	case TypePath, TypeURI:
		return parseValueText(typ, n.text)
	}
	return nil, "", fmt.Errorf("%s is not a %s", n.describe(), typ)
}

// parseValueText is parseValue returning the text too.
func parseValueText(typ, s string) (any, string, error) {
	v, err := parseValue(typ, s)
	return v, s, err
}

// hasURIScheme reports whether s starts with the scheme of a URI such as
// s3://bucket or file:///x: a letter, then letters, digits, '+', '.' or
// '-', then ':' (the regexp ^[A-Za-z][A-Za-z0-9+.-]*: written out:
// package-level regexps are compiled by every mlrun process).
func hasURIScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '.' || c == '-'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// parseValue converts a parameter value given as text to its type. Path
// values are returned as written; ResolveParams makes them absolute.
func parseValue(typ, s string) (any, error) {
	switch typ {
	case TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a float", s)
		}
		return f, nil
	case TypeInt:
		i, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			return nil, fmt.Errorf("%q is not an int", s)
		}
		return int(i), nil
	case TypeBool:
		switch strings.ToLower(s) {
		case "true", "t", "1", "yes", "y", "on":
			return true, nil
		case "false", "f", "0", "no", "n", "off":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a bool (use true or false)", s)
	case TypeURI:
		u, err := url.Parse(s)
		if err != nil || len(u.Scheme) < 2 || !hasURIScheme(s) {
			return nil, fmt.Errorf("%q is not a URI (such as s3://bucket/key or https://host/path)", s)
		}
		return s, nil
	case TypePath:
		if s == "" {
			return nil, fmt.Errorf("an empty path is not a path")
		}
		return s, nil
	}
	return s, nil
}

// commandPart is a piece of a command template: literal text, or the name
// of a parameter to substitute.
type commandPart struct {
	text  string
	param string
}

// parseCommand parses the command template, in Python's str.format syntax:
// {name} for a declared parameter, {{ and }} for literal braces.
func (ep *EntryPoint) parseCommand(n *node, field string) error {
	s, ok := n.value.(string)
	if n.kind != scalarNode || !ok {
		return fieldf(n.pos, field, "must be a string, not %s", n.describe())
	}
	if strings.TrimSpace(s) == "" {
		return fieldf(n.pos, field, "is empty")
	}
	parts, err := parseTemplate(s)
	if err != nil {
		return fieldf(n.pos, field, "%v", err)
	}
	for _, p := range parts {
		if p.param == "" {
			continue
		}
		if _, ok := ep.byName[p.param]; !ok {
			return fieldf(n.pos, field, "placeholder {%s} names no declared parameter (declared: %s)", p.param, ep.declared())
		}
	}
	ep.Command = s
	ep.template = parts
	return nil
}

// declared lists the declared parameter names for error messages.
func (ep *EntryPoint) declared() string {
	if len(ep.Params) == 0 {
		return "none"
	}
	names := make([]string, len(ep.Params))
	for i, p := range ep.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// parseTemplate splits a str.format template into parts. It accepts only
// plain named fields: no positional {}, conversions (!r) or format specs.
func parseTemplate(s string) ([]commandPart, error) {
	var parts []commandPart
	var text strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			text.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			text.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("single '}' at character %d (write '}}' for a literal brace)", i+1)
		case c == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				return nil, fmt.Errorf("unclosed '{' at character %d (write '{{' for a literal brace)", i+1)
			}
			name := s[i+1 : i+1+end]
			if name == "" || strings.ContainsAny(name, "!:.[") || isDigits(name) {
				return nil, fmt.Errorf("placeholder {%s} is not supported: write {name} with a declared parameter's name", name)
			}
			if text.Len() > 0 {
				parts = append(parts, commandPart{text: text.String()})
				text.Reset()
			}
			parts = append(parts, commandPart{param: name})
			i += end + 1
		default:
			text.WriteByte(c)
		}
	}
	if text.Len() > 0 {
		parts = append(parts, commandPart{text: text.String()})
	}
	return parts, nil
}

// isDigits reports whether s is all ASCII digits.
func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// escapeBraces doubles the braces in s so that it reads as a template
// holding only text.
func escapeBraces(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}
