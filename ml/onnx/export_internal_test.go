package onnx

import (
	"google.golang.org/protobuf/proto"

	"github.com/mlrun/mlrun/ml/modelfile"
	pb "github.com/mlrun/mlrun/ml/onnx/onnxpb"
)

// Threshold32 exposes threshold32 to the external tests.
var Threshold32 = threshold32

// ModelEncodings returns the bytes Export writes for m and those
// proto.Marshal (deterministic) gives for the same model built with the
// generated types of package onnxpb, for the external tests.
func ModelEncodings(m *modelfile.Model) (ours, protobufs []byte, err error) {
	mp, err := exportModel(m)
	if err != nil {
		return nil, nil, err
	}
	protobufs, err = proto.MarshalOptions{Deterministic: true}.Marshal(toProtobuf(mp))
	if err != nil {
		return nil, nil, err
	}
	return marshalModel(mp), protobufs, nil
}

// toProtobuf returns m as the generated ModelProto, with every field the
// encoder writes set: singular fields always (even when empty), repeated
// fields as they are, and the value field of an attribute that its type
// names.
func toProtobuf(m *modelProto) *pb.ModelProto {
	out := &pb.ModelProto{
		IrVersion:    proto.Int64(m.irVersion),
		ProducerName: proto.String(m.producerName),
		DocString:    proto.String(m.docString),
		Graph:        graphToProtobuf(&m.graph),
	}
	for _, o := range m.opsetImports {
		out.OpsetImport = append(out.OpsetImport, &pb.OperatorSetIdProto{Domain: proto.String(o.domain), Version: proto.Int64(o.version)})
	}
	for _, p := range m.metadata {
		out.MetadataProps = append(out.MetadataProps, &pb.StringStringEntryProto{Key: proto.String(p.key), Value: proto.String(p.value)})
	}
	return out
}

func graphToProtobuf(g *graphProto) *pb.GraphProto {
	out := &pb.GraphProto{Name: proto.String(g.name)}
	for _, n := range g.nodes {
		pn := &pb.NodeProto{Input: n.inputs, Output: n.outputs, Name: proto.String(n.name),
			OpType: proto.String(n.opType), Domain: proto.String(n.domain)}
		for _, a := range n.attributes {
			pa := &pb.AttributeProto{Name: proto.String(a.name), Type: pb.AttributeProto_AttributeType(a.typ).Enum(),
				Floats: a.floats, Ints: a.ints}
			switch a.typ {
			case attrInt:
				pa.I = proto.Int64(a.i)
			case attrString:
				pa.S = append([]byte{}, a.s...) // not nil: present even when empty
			}
			for _, s := range a.strings {
				pa.Strings = append(pa.Strings, []byte(s))
			}
			pn.Attribute = append(pn.Attribute, pa)
		}
		out.Node = append(out.Node, pn)
	}
	for _, t := range g.initializers {
		out.Initializer = append(out.Initializer, &pb.TensorProto{Dims: t.dims, DataType: proto.Int32(int32(t.dataType)),
			FloatData: t.floatData, Int64Data: t.int64Data, Name: proto.String(t.name), DoubleData: t.doubleData})
	}
	for _, v := range g.inputs {
		out.Input = append(out.Input, valueInfoToProtobuf(v))
	}
	for _, v := range g.outputs {
		out.Output = append(out.Output, valueInfoToProtobuf(v))
	}
	return out
}

func valueInfoToProtobuf(v valueInfoProto) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range v.shape {
		pd := &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d.value}}
		if d.param != "" {
			pd.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: d.param}
		}
		shape.Dim = append(shape.Dim, pd)
	}
	return &pb.ValueInfoProto{Name: proto.String(v.name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(v.elemType)), Shape: shape}}}}
}
