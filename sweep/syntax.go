package sweep

import (
	"fmt"
	"strings"

	"github.com/mlrun/mlrun/project"
)

// This file reads the text of one value as written after NAME= in -P (or
// as a string in the MLproject sweep section): a single value, a list
// separated by commas, or a function call such as logspace(-3, 1, 5).

// Function names, exactly as written in a value.
const (
	fnLogspace   = "logspace"
	fnLinspace   = "linspace"
	fnRange      = "range"
	fnUniform    = "uniform"
	fnLoguniform = "loguniform"
	fnRandint    = "randint"
	fnChoice     = "choice"
)

// funcNames lists the functions a value may call.
var funcNames = []string{fnLogspace, fnLinspace, fnRange, fnUniform, fnLoguniform, fnRandint, fnChoice}

// escapable holds the characters a backslash escapes; before any other
// character a backslash is itself.
const escapable = `,\()`

// char is one byte of a value, with whether a backslash escaped it.
// Working on bytes is safe: the special characters are ASCII and never
// occur inside a multi-byte UTF-8 sequence.
type char struct {
	c       byte
	escaped bool
}

// scan splits s into chars, resolving escapes.
func scan(s string) []char {
	out := make([]char, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(escapable, s[i+1]) >= 0 {
			out = append(out, char{c: s[i+1], escaped: true})
			i++
			continue
		}
		out = append(out, char{c: s[i]})
	}
	return out
}

// text returns the chars as a string, escapes resolved.
func text(cs []char) string {
	b := make([]byte, len(cs))
	for i, c := range cs {
		b[i] = c.c
	}
	return string(b)
}

// splitCommas splits cs at its unescaped commas.
func splitCommas(cs []char) [][]char {
	var parts [][]char
	start := 0
	for i, c := range cs {
		if c.c == ',' && !c.escaped {
			parts = append(parts, cs[start:i])
			start = i + 1
		}
	}
	return append(parts, cs[start:])
}

// trimSpace drops the unescaped-or-not spaces around cs (escapes never
// produce white space, so this is TrimSpace on the text).
func trimSpace(cs []char) []char {
	isSpace := func(c char) bool { return strings.IndexByte(" \t\n\r\v\f", c.c) >= 0 }
	for len(cs) > 0 && isSpace(cs[0]) {
		cs = cs[1:]
	}
	for len(cs) > 0 && isSpace(cs[len(cs)-1]) {
		cs = cs[:len(cs)-1]
	}
	return cs
}

// callName returns the function cs calls: the name of a known function
// followed by an unescaped "(" at its start; "" when there is none.
func callName(cs []char) string {
	for _, name := range funcNames {
		if len(cs) <= len(name) {
			continue
		}
		if text(cs[:len(name)]) == name && cs[len(name)].c == '(' && !cs[len(name)].escaped {
			return name
		}
	}
	return ""
}

// spec is one parameter's value as written.
type spec struct {
	source string   // as written (trimmed when it is a list or a call)
	single bool     // one plain value, in value
	value  string   // the single value, escapes resolved, not trimmed
	list   []string // the items of a list, escapes resolved and trimmed
	fn     string   // the function called, with its arguments in args
	args   []string // escapes resolved and trimmed
}

// parseSpec reads raw, the text after NAME=. Errors are the detail of a
// message about the parameter (the caller names it).
func parseSpec(raw string) (spec, error) {
	cs := scan(raw)
	trimmed := trimSpace(cs)
	if name := callName(trimmed); name != "" {
		source := strings.TrimSpace(raw)
		last := trimmed[len(trimmed)-1]
		if last.c != ')' || last.escaped {
			return spec{}, fmt.Errorf(`%q calls %s but does not end with ")" (write \( for a literal parenthesis)`, source, name)
		}
		inner := trimmed[len(name)+1 : len(trimmed)-1]
		var args []string
		for _, part := range splitCommas(inner) {
			args = append(args, text(trimSpace(part)))
		}
		return spec{source: source, fn: name, args: args}, nil
	}
	parts := splitCommas(cs)
	if len(parts) == 1 {
		return spec{source: raw, single: true, value: text(cs)}, nil
	}
	source := strings.TrimSpace(raw)
	items := make([]string, len(parts))
	for i, part := range parts {
		part = trimSpace(part)
		if len(part) == 0 {
			return spec{}, fmt.Errorf("the list %q has an empty item (write \\, for a literal comma)", source)
		}
		if name := callName(part); name != "" {
			return spec{}, fmt.Errorf(`the list %q holds a call to %s; a function must be the whole value (write \( for a literal parenthesis)`, source, name)
		}
		items[i] = text(part)
	}
	return spec{source: source, list: items}, nil
}

// Unescape returns the -P values of a run that is not a sweep (Parse
// returned nil) with their escapes resolved (\, \\ \( and \) become , \ (
// and )), so that a value means the same with and without a sweep.
func Unescape(given []project.KV) []project.KV {
	out := make([]project.KV, len(given))
	for i, kv := range given {
		out[i] = project.KV{Key: kv.Key, Value: text(scan(kv.Value))}
	}
	return out
}
