package onnx

import "fmt"

// Operator set domains and the versions the exported models import.
const (
	domainML  = "ai.onnx.ml"
	opsetONNX = 13 // standard operators (Unsqueeze and ReduceSum take axes as an input)
	opsetML   = 3  // ai.onnx.ml (TreeEnsemble* with opset 3, LabelEncoder 2, the rest 1)
	irVersion = 8
)

// graph accumulates the nodes, constants, inputs and outputs of one model.
type graph struct {
	nodes   []nodeProto
	inits   []tensorProto
	inputs  []valueInfoProto
	outputs []valueInfoProto
	names   map[string]bool
	counter int
}

// newGraph returns an empty graph.
func newGraph() *graph { return &graph{names: map[string]bool{}} }

// fresh returns a tensor name not used yet, starting with prefix.
func (g *graph) fresh(prefix string) string {
	for {
		g.counter++
		name := fmt.Sprintf("%s_%d", prefix, g.counter)
		if !g.names[name] {
			g.names[name] = true
			return name
		}
	}
}

// reserve marks an input or output name as used.
func (g *graph) reserve(name string) { g.names[name] = true }

// floats returns a FLOATS attribute.
func floats(name string, v []float32) attributeProto {
	return attributeProto{name: name, typ: attrFloats, floats: v}
}

// ints returns an INTS attribute.
func ints(name string, v []int64) attributeProto {
	return attributeProto{name: name, typ: attrInts, ints: v}
}

// intAttr returns an INT attribute.
func intAttr(name string, v int64) attributeProto {
	return attributeProto{name: name, typ: attrInt, i: v}
}

// str returns a STRING attribute.
func str(name, v string) attributeProto {
	return attributeProto{name: name, typ: attrString, s: v}
}

// strs returns a STRINGS attribute.
func strs(name string, v []string) attributeProto {
	return attributeProto{name: name, typ: attrStrings, strings: v}
}

// node adds an operator of the standard domain (domain "") or of
// ai.onnx.ml and returns its outputs, freshly named after the operator
// unless outs names them.
func (g *graph) node(domain, op string, inputs []string, nOut int, outs []string, attrs ...attributeProto) []string {
	if outs == nil {
		for range nOut {
			outs = append(outs, g.fresh(op))
		}
	}
	g.nodes = append(g.nodes, nodeProto{
		opType: op, domain: domain, name: g.fresh("n_" + op),
		inputs: inputs, outputs: outs, attributes: attrs,
	})
	return outs
}

// op adds a standard operator with one output.
func (g *graph) op(op string, inputs []string, attrs ...attributeProto) string {
	return g.node("", op, inputs, 1, nil, attrs...)[0]
}

// ml adds an ai.onnx.ml operator with one output.
func (g *graph) ml(op string, inputs []string, attrs ...attributeProto) string {
	return g.node(domainML, op, inputs, 1, nil, attrs...)[0]
}

// constDouble adds a double constant of the given shape.
func (g *graph) constDouble(prefix string, dims []int64, v []float64) string {
	name := g.fresh(prefix)
	g.inits = append(g.inits, tensorProto{name: name, dims: dims, dataType: typeDouble, doubleData: v})
	return name
}

// constFloat adds a float scalar constant.
func (g *graph) constFloat(prefix string, v float64) string {
	name := g.fresh(prefix)
	g.inits = append(g.inits, tensorProto{name: name, dataType: typeFloat, floatData: []float32{float32(v)}})
	return name
}

// constInt64 adds an int64 constant of the given shape.
func (g *graph) constInt64(prefix string, dims []int64, v []int64) string {
	name := g.fresh(prefix)
	g.inits = append(g.inits, tensorProto{name: name, dims: dims, dataType: typeInt64, int64Data: v})
	return name
}

// cast converts x to the element type to.
func (g *graph) cast(x string, to dataType) string {
	return g.op("Cast", []string{x}, intAttr("to", int64(to)))
}

// dims returns the shape of a value whose first dimension is the symbolic
// batch dimension and whose others have the fixed sizes.
func dims(batch string, fixed ...int64) []dimension {
	d := []dimension{{param: batch}}
	for _, v := range fixed {
		d = append(d, dimension{value: v})
	}
	return d
}

// valueInfo returns the description of a tensor input or output.
func valueInfo(name string, et dataType, shape []dimension) valueInfoProto {
	return valueInfoProto{name: name, elemType: et, shape: shape}
}

// model wraps the graph into a ModelProto.
func (g *graph) model(name, doc string, meta map[string]string) *modelProto {
	m := &modelProto{
		irVersion:    irVersion,
		producerName: "mlrun",
		docString:    doc,
		opsetImports: []operatorSetID{{domain: "", version: opsetONNX}, {domain: domainML, version: opsetML}},
		graph:        graphProto{name: name, nodes: g.nodes, initializers: g.inits, inputs: g.inputs, outputs: g.outputs},
	}
	for _, k := range sortedKeys(meta) {
		m.metadata = append(m.metadata, stringEntry{key: k, value: meta[k]})
	}
	return m
}
