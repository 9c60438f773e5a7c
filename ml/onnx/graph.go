package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	pb "github.com/mlrun/mlrun/ml/onnx/onnxpb"
)

// Operator set domains and the versions the exported models import.
const (
	domainML  = "ai.onnx.ml"
	opsetONNX = 13 // standard operators (Unsqueeze and ReduceSum take axes as an input)
	opsetML   = 3  // ai.onnx.ml (TreeEnsemble* with opset 3, LabelEncoder 2, the rest 1)
	irVersion = 8
)

// graph accumulates the nodes, constants, inputs and outputs of one model.
type graph struct {
	nodes   []*pb.NodeProto
	inits   []*pb.TensorProto
	inputs  []*pb.ValueInfoProto
	outputs []*pb.ValueInfoProto
	names   map[string]bool
	counter int
}

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

// attr is one node attribute.
type attr = *pb.AttributeProto

func floats(name string, v []float32) attr {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOATS.Enum(), Floats: v}
}

func ints(name string, v []int64) attr {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

func intAttr(name string, v int64) attr {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func str(name, v string) attr {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func strs(name string, v []string) attr {
	b := make([][]byte, len(v))
	for i, s := range v {
		b[i] = []byte(s)
	}
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_STRINGS.Enum(), Strings: b}
}

// node adds an operator of the standard domain (domain "") or of
// ai.onnx.ml and returns its outputs, freshly named after the operator
// unless outs names them.
func (g *graph) node(domain, op string, inputs []string, nOut int, outs []string, attrs ...attr) []string {
	if outs == nil {
		for range nOut {
			outs = append(outs, g.fresh(op))
		}
	}
	g.nodes = append(g.nodes, &pb.NodeProto{
		OpType: proto.String(op), Domain: proto.String(domain), Name: proto.String(g.fresh("n_" + op)),
		Input: inputs, Output: outs, Attribute: attrs,
	})
	return outs
}

// op adds a standard operator with one output.
func (g *graph) op(op string, inputs []string, attrs ...attr) string {
	return g.node("", op, inputs, 1, nil, attrs...)[0]
}

// ml adds an ai.onnx.ml operator with one output.
func (g *graph) ml(op string, inputs []string, attrs ...attr) string {
	return g.node(domainML, op, inputs, 1, nil, attrs...)[0]
}

// constDouble adds a double constant of the given shape.
func (g *graph) constDouble(prefix string, dims []int64, v []float64) string {
	name := g.fresh(prefix)
	g.inits = append(g.inits, &pb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(pb.TensorProto_DOUBLE)), DoubleData: v})
	return name
}

// constFloat adds a float scalar constant.
func (g *graph) constFloat(prefix string, v float64) string {
	name := g.fresh(prefix)
	g.inits = append(g.inits, &pb.TensorProto{Name: proto.String(name),
		DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: []float32{float32(v)}})
	return name
}

// constInt64 adds an int64 constant of the given shape.
func (g *graph) constInt64(prefix string, dims []int64, v []int64) string {
	name := g.fresh(prefix)
	g.inits = append(g.inits, &pb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: v})
	return name
}

// cast converts x to the element type to.
func (g *graph) cast(x string, to pb.TensorProto_DataType) string {
	return g.op("Cast", []string{x}, intAttr("to", int64(to)))
}

// dim is one dimension of a value's shape: a fixed size, or a symbolic
// name when value is negative.
func dims(batch string, fixed ...int64) []*pb.TensorShapeProto_Dimension {
	d := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: batch}}}
	for _, v := range fixed {
		d = append(d, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
	}
	return d
}

func valueInfo(name string, et pb.TensorProto_DataType, shape []*pb.TensorShapeProto_Dimension) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(et)), Shape: &pb.TensorShapeProto{Dim: shape}}}}}
}

// model wraps the graph into a ModelProto.
func (g *graph) model(name, doc string, meta map[string]string) *pb.ModelProto {
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(irVersion),
		ProducerName: proto.String("mlrun"),
		DocString:    proto.String(doc),
		OpsetImport: []*pb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(opsetONNX)},
			{Domain: proto.String(domainML), Version: proto.Int64(opsetML)},
		},
		Graph: &pb.GraphProto{Name: proto.String(name), Node: g.nodes, Initializer: g.inits,
			Input: g.inputs, Output: g.outputs},
	}
	for _, k := range sortedKeys(meta) {
		m.MetadataProps = append(m.MetadataProps, &pb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	return m
}
