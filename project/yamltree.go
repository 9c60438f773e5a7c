package project

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// This file turns go-yaml's AST into a small tree of nodes that keep their
// positions but hide YAML's details (anchors, aliases, merge keys, tags).
// The rest of the package reads only this tree.

// Limits that keep hostile input cheap.
const (
	maxDepth        = 200     // nesting of mappings and sequences
	maxExpandedSize = 1000000 // values after expanding aliases
)

// nodeKind says what a node holds.
type nodeKind int

const (
	scalarNode nodeKind = iota
	mapNode
	seqNode
)

// node is one YAML value with its position.
type node struct {
	kind    nodeKind
	pos     Pos
	value   any    // scalars: string, int, float64, bool or nil
	text    string // scalars: the source text (a string's value for strings)
	entries []entry
	items   []*node
	size    int // number of values below and including this one, aliases expanded
}

// entry is one key: value pair of a mapping.
type entry struct {
	key    string
	keyPos Pos
	value  *node
}

// isNull reports whether n is absent or YAML null.
func (n *node) isNull() bool {
	return n == nil || (n.kind == scalarNode && n.value == nil)
}

// describe names the kind of value n holds, for error messages.
func (n *node) describe() string {
	switch {
	case n.isNull():
		return "null"
	case n.kind == mapNode:
		return "a mapping"
	case n.kind == seqNode:
		return "a list"
	}
	switch n.value.(type) {
	case string:
		return fmt.Sprintf("the string %q", n.value)
	case bool:
		return fmt.Sprintf("the bool %v", n.value)
	default:
		return fmt.Sprintf("the number %s", n.text)
	}
}

// plain returns n as plain Go values: string, int, float64, bool, nil,
// []any and map[string]any.
func (n *node) plain() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case mapNode:
		m := make(map[string]any, len(n.entries))
		for _, e := range n.entries {
			m[e.key] = e.value.plain()
		}
		return m
	case seqNode:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = it.plain()
		}
		return l
	}
	return n.value
}

// yamlError is a YAML syntax error with its position and a one-line message.
type yamlError struct {
	line, column int
	message      string
}

// parseYAML parses src into a node tree. A syntax error comes back as a
// *yamlError; other errors name the position in file.
func parseYAML(file string, src []byte) (*node, error) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, toYAMLError(err)
	}
	if len(f.Docs) > 1 {
		pos := Pos{File: file, Line: 1, Column: 1}
		if d := f.Docs[1]; d.Start != nil {
			pos = tokenPos(file, d.Start)
		} else if d.Body != nil {
			pos = tokenPos(file, d.Body.GetToken())
		}
		return nil, invalidf(pos, "the file holds several YAML documents; an MLproject file holds one")
	}
	c := &converter{file: file, anchors: map[string]*node{}}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return &node{kind: mapNode, pos: Pos{File: file, Line: 1, Column: 1}, size: 1}, nil
	}
	return c.convert(f.Docs[0].Body, 0)
}

// toYAMLError extracts the position and the message from a go-yaml error,
// leaving out its multi-line source excerpt.
func toYAMLError(err error) *yamlError {
	ye := &yamlError{line: 1, column: 1, message: err.Error()}
	var e yaml.Error
	if errors.As(err, &e) {
		ye.message = e.GetMessage()
		if tk := e.GetToken(); tk != nil && tk.Position != nil {
			ye.line, ye.column = tk.Position.Line, tk.Position.Column
		}
	}
	// Keep the message to one line whatever the library put in it.
	if i := strings.IndexByte(ye.message, '\n'); i >= 0 {
		ye.message = ye.message[:i]
	}
	ye.message = strings.TrimSuffix(strings.TrimSpace(ye.message), ".")
	return ye
}

// Error returns the message without a position.
func (e *yamlError) Error() string { return e.message }

// converter holds the anchors seen so far while converting one document.
type converter struct {
	file    string
	anchors map[string]*node
}

// tokenPos returns the position of tk in file.
func tokenPos(file string, tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: file, Line: 1, Column: 1}
	}
	return Pos{File: file, Line: tk.Position.Line, Column: tk.Position.Column}
}

// nodePos returns the position where n starts.
func (c *converter) nodePos(n ast.Node) Pos {
	switch n := n.(type) {
	case *ast.MappingNode:
		if !n.IsFlowStyle && len(n.Values) > 0 {
			return c.nodePos(n.Values[0].Key)
		}
		return tokenPos(c.file, n.Start)
	case *ast.MappingValueNode:
		return c.nodePos(n.Key)
	case *ast.SequenceNode:
		return tokenPos(c.file, n.Start)
	case *ast.LiteralNode:
		return tokenPos(c.file, n.Start)
	}
	return tokenPos(c.file, n.GetToken())
}

// convert turns one go-yaml node into a node.
func (c *converter) convert(n ast.Node, depth int) (*node, error) {
	if n == nil {
		return &node{kind: scalarNode, size: 1, pos: Pos{File: c.file, Line: 1, Column: 1}}, nil
	}
	pos := c.nodePos(n)
	if depth > maxDepth {
		return nil, invalidf(pos, "values are nested more than %d levels deep", maxDepth)
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return &node{kind: scalarNode, pos: pos, text: "null", size: 1}, nil
	case *ast.StringNode:
		return &node{kind: scalarNode, pos: pos, value: n.Value, text: n.Value, size: 1}, nil
	case *ast.LiteralNode:
		s := ""
		if n.Value != nil {
			s = n.Value.Value
		}
		return &node{kind: scalarNode, pos: pos, value: s, text: s, size: 1}, nil
	case *ast.IntegerNode:
		return &node{kind: scalarNode, pos: pos, value: intValue(n.Value), text: n.GetToken().Value, size: 1}, nil
	case *ast.FloatNode:
		return &node{kind: scalarNode, pos: pos, value: n.Value, text: n.GetToken().Value, size: 1}, nil
	case *ast.InfinityNode:
		return &node{kind: scalarNode, pos: pos, value: n.Value, text: n.GetToken().Value, size: 1}, nil
	case *ast.NanNode:
		return &node{kind: scalarNode, pos: pos, value: math.NaN(), text: n.GetToken().Value, size: 1}, nil
	case *ast.BoolNode:
		return &node{kind: scalarNode, pos: pos, value: n.Value, text: n.GetToken().Value, size: 1}, nil
	case *ast.MappingNode:
		return c.convertMapping(pos, n.Values, depth)
	case *ast.MappingValueNode:
		return c.convertMapping(pos, []*ast.MappingValueNode{n}, depth)
	case *ast.MappingKeyNode:
		return c.convert(n.Value, depth+1)
	case *ast.SequenceNode:
		out := &node{kind: seqNode, pos: pos, size: 1}
		for _, v := range n.Values {
			it, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, it)
			out.size = addSize(out.size, it.size)
		}
		if out.size > maxExpandedSize {
			return nil, invalidf(pos, "YAML aliases expand to more than %d values", maxExpandedSize)
		}
		return out, nil
	case *ast.AnchorNode:
		v, err := c.convert(n.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if n.Name != nil && n.Name.GetToken() != nil {
			c.anchors[n.Name.GetToken().Value] = v
		}
		return v, nil
	case *ast.AliasNode:
		name := ""
		if n.Value != nil && n.Value.GetToken() != nil {
			name = n.Value.GetToken().Value
		}
		v, ok := c.anchors[name]
		if !ok {
			return nil, invalidf(pos, "alias *%s refers to no anchor defined before it", name)
		}
		return v, nil
	case *ast.TagNode:
		return c.convertTagged(n, pos, depth)
	}
	return nil, invalidf(pos, "unsupported YAML construct %s", n.Type())
}

// convertMapping converts the pairs of a mapping, expanding merge keys
// (<<: *anchor); keys written in the mapping win over merged ones.
func (c *converter) convertMapping(pos Pos, pairs []*ast.MappingValueNode, depth int) (*node, error) {
	out := &node{kind: mapNode, pos: pos, size: 1}
	explicit := map[string]bool{}
	for _, p := range pairs {
		if p == nil || p.Key == nil {
			continue
		}
		if _, ok := p.Key.(*ast.MergeKeyNode); ok {
			continue
		}
		key, _, err := c.key(p.Key, depth)
		if err != nil {
			return nil, err
		}
		explicit[key] = true
	}
	seen := map[string]bool{}
	for _, p := range pairs {
		if p == nil || p.Key == nil {
			continue
		}
		v, err := c.convert(p.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if _, ok := p.Key.(*ast.MergeKeyNode); ok {
			sources := []*node{v}
			if v.kind == seqNode {
				sources = v.items
			}
			for _, src := range sources {
				if src.kind != mapNode {
					return nil, invalidf(v.pos, "a merge key (<<) needs a mapping or a list of mappings, not %s", src.describe())
				}
				for _, e := range src.entries {
					if explicit[e.key] || seen[e.key] {
						continue
					}
					seen[e.key] = true
					out.entries = append(out.entries, e)
					out.size = addSize(out.size, e.value.size)
				}
			}
			continue
		}
		key, keyPos, err := c.key(p.Key, depth)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, invalidf(keyPos, "mapping key %q is written twice", key)
		}
		seen[key] = true
		out.entries = append(out.entries, entry{key: key, keyPos: keyPos, value: v})
		out.size = addSize(out.size, v.size)
	}
	if out.size > maxExpandedSize {
		return nil, invalidf(pos, "YAML aliases expand to more than %d values", maxExpandedSize)
	}
	return out, nil
}

// key returns the text of a mapping key and its position.
func (c *converter) key(k ast.MapKeyNode, depth int) (string, Pos, error) {
	var n ast.Node = k
	if mk, ok := n.(*ast.MappingKeyNode); ok {
		n = mk.Value
	}
	pos := c.nodePos(k)
	if n == nil {
		return "", pos, nil
	}
	kn, err := c.convert(n, depth+1)
	if err != nil {
		return "", pos, err
	}
	if kn.kind != scalarNode {
		return "", pos, invalidf(pos, "mapping keys must be plain strings, not %s", kn.describe())
	}
	return kn.text, pos, nil
}

// convertTagged converts a value with an explicit YAML tag. The standard
// scalar tags convert the value; !!map and !!seq check it; others are refused.
func (c *converter) convertTagged(n *ast.TagNode, pos Pos, depth int) (*node, error) {
	tag := ""
	if n.Start != nil {
		tag = n.Start.Value
	}
	v, err := c.convert(n.Value, depth+1)
	if err != nil {
		return nil, err
	}
	scalar := func() (string, error) {
		if v.kind != scalarNode {
			return "", invalidf(pos, "tag %s needs a scalar, not %s", tag, v.describe())
		}
		return v.text, nil
	}
	switch tag {
	case "!!str":
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		if v.value == nil && v.text == "null" {
			s = ""
		}
		return &node{kind: scalarNode, pos: v.pos, value: s, text: s, size: 1}, nil
	case "!!int":
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		i, perr := strconv.ParseInt(s, 0, 64)
		if perr != nil {
			return nil, invalidf(pos, "%q is not an integer", s)
		}
		return &node{kind: scalarNode, pos: v.pos, value: int(i), text: s, size: 1}, nil
	case "!!float":
		s, err := scalar()
		if err != nil {
			return nil, err
		}
		f, perr := strconv.ParseFloat(s, 64)
		if perr != nil {
			if fv, ok := v.value.(float64); ok {
				f = fv
			} else {
				return nil, invalidf(pos, "%q is not a float", s)
			}
		}
		return &node{kind: scalarNode, pos: v.pos, value: f, text: s, size: 1}, nil
	case "!!bool":
		if _, ok := v.value.(bool); ok {
			return v, nil
		}
		return nil, invalidf(pos, "tag !!bool needs true or false, not %s", v.describe())
	case "!!null":
		return &node{kind: scalarNode, pos: v.pos, text: "null", size: 1}, nil
	case "!!map":
		if v.kind != mapNode {
			return nil, invalidf(pos, "tag !!map needs a mapping, not %s", v.describe())
		}
		return v, nil
	case "!!seq":
		if v.kind != seqNode {
			return nil, invalidf(pos, "tag !!seq needs a list, not %s", v.describe())
		}
		return v, nil
	}
	return nil, invalidf(pos, "unsupported YAML tag %s", tag)
}

// intValue converts go-yaml's int64 or uint64 to an int, or a float64 when
// it does not fit.
func intValue(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int(x)
		}
		return float64(x)
	}
	return v
}

// addSize adds two sizes, saturating instead of overflowing.
func addSize(a, b int) int {
	if a > maxExpandedSize || b > maxExpandedSize {
		return maxExpandedSize + 1
	}
	return a + b
}
