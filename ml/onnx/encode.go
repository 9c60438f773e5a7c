package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/mlrun/mlrun/ml/onnx/onnxpb"
)

// The exported model is serialised with protowire, field by field in
// field-number order, as proto.Marshal with Deterministic does: the same
// bytes (TestEncodingMatchesProtobuf checks every exported model), without
// the reflection protobuf sets up on its first use in a process, which
// costs about a millisecond: a twentieth of a whole pipeline run. A model
// using a field this encoder does not write is passed to proto.Marshal.

// marshalModel returns m serialised.
func marshalModel(m *pb.ModelProto) ([]byte, error) {
	if b, ok := appendModel(nil, m); ok {
		return b, nil
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// encoder appends fields; ok turns false at a field it does not write.
type encoder struct {
	b  []byte
	ok bool
}

func (e *encoder) varint(num protowire.Number, v *int64) {
	if v != nil {
		e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(*v))
	}
}

func (e *encoder) varint32(num protowire.Number, v *int32) {
	if v != nil {
		e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(int64(*v)))
	}
}

func (e *encoder) str(num protowire.Number, v *string) {
	if v != nil {
		e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
		e.b = protowire.AppendString(e.b, *v)
	}
}

func (e *encoder) strs(num protowire.Number, vs []string) {
	for _, v := range vs {
		e.str(num, &v)
	}
}

func (e *encoder) bytes(num protowire.Number, v []byte) {
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, v)
}

// message appends a nested message that fill encodes, unless it is nil.
func message[T any](e *encoder, num protowire.Number, m *T, fill func(*encoder, *T)) {
	if m == nil || !e.ok {
		return
	}
	inner := encoder{ok: true}
	fill(&inner, m)
	e.ok = e.ok && inner.ok
	e.bytes(num, inner.b)
}

// packed appends a packed repeated field of n elements, unless it is empty.
func (e *encoder) packed(num protowire.Number, n int, elem func(b []byte, i int) []byte) {
	if n == 0 {
		return
	}
	var body []byte
	for i := range n {
		body = elem(body, i)
	}
	e.bytes(num, body)
}

func appendModel(b []byte, m *pb.ModelProto) ([]byte, bool) {
	if len(m.TrainingInfo)+len(m.Functions)+len(m.Configuration) > 0 {
		return nil, false
	}
	e := &encoder{b: b, ok: true}
	e.varint(1, m.IrVersion)
	e.str(2, m.ProducerName)
	e.str(3, m.ProducerVersion)
	e.str(4, m.Domain)
	e.varint(5, m.ModelVersion)
	e.str(6, m.DocString)
	message(e, 7, m.Graph, fillGraph)
	for _, o := range m.OpsetImport {
		message(e, 8, o, func(e *encoder, o *pb.OperatorSetIdProto) {
			e.str(1, o.Domain)
			e.varint(2, o.Version)
		})
	}
	for _, p := range m.MetadataProps {
		message(e, 14, p, fillEntry)
	}
	return e.b, e.ok
}

func fillEntry(e *encoder, p *pb.StringStringEntryProto) {
	e.str(1, p.Key)
	e.str(2, p.Value)
}

func fillGraph(e *encoder, g *pb.GraphProto) {
	if len(g.SparseInitializer)+len(g.QuantizationAnnotation) > 0 {
		e.ok = false
		return
	}
	for _, n := range g.Node {
		message(e, 1, n, fillNode)
	}
	e.str(2, g.Name)
	for _, t := range g.Initializer {
		message(e, 5, t, fillTensor)
	}
	e.str(10, g.DocString)
	for _, v := range g.Input {
		message(e, 11, v, fillValueInfo)
	}
	for _, v := range g.Output {
		message(e, 12, v, fillValueInfo)
	}
	for _, v := range g.ValueInfo {
		message(e, 13, v, fillValueInfo)
	}
	for _, p := range g.MetadataProps {
		message(e, 16, p, fillEntry)
	}
}

func fillNode(e *encoder, n *pb.NodeProto) {
	if len(n.DeviceConfigurations) > 0 {
		e.ok = false
		return
	}
	e.strs(1, n.Input)
	e.strs(2, n.Output)
	e.str(3, n.Name)
	e.str(4, n.OpType)
	for _, a := range n.Attribute {
		message(e, 5, a, fillAttribute)
	}
	e.str(6, n.DocString)
	e.str(7, n.Domain)
	e.str(8, n.Overload)
	for _, p := range n.MetadataProps {
		message(e, 9, p, fillEntry)
	}
}

func fillAttribute(e *encoder, a *pb.AttributeProto) {
	if a.G != nil || a.SparseTensor != nil || a.Tp != nil || len(a.Graphs)+len(a.SparseTensors)+len(a.TypeProtos) > 0 {
		e.ok = false
		return
	}
	e.str(1, a.Name)
	if a.F != nil {
		e.b = protowire.AppendTag(e.b, 2, protowire.Fixed32Type)
		e.b = protowire.AppendFixed32(e.b, math.Float32bits(*a.F))
	}
	e.varint(3, a.I)
	if a.S != nil {
		e.bytes(4, a.S)
	}
	message(e, 5, a.T, fillTensor)
	for _, f := range a.Floats { // proto2: not packed
		e.b = protowire.AppendTag(e.b, 7, protowire.Fixed32Type)
		e.b = protowire.AppendFixed32(e.b, math.Float32bits(f))
	}
	for _, i := range a.Ints {
		e.b = protowire.AppendTag(e.b, 8, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(i))
	}
	for _, s := range a.Strings {
		e.bytes(9, s)
	}
	for _, t := range a.Tensors {
		message(e, 10, t, fillTensor)
	}
	e.str(13, a.DocString)
	if a.Type != nil {
		e.b = protowire.AppendTag(e.b, 20, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(int64(*a.Type)))
	}
	e.str(21, a.RefAttrName)
}

func fillTensor(e *encoder, t *pb.TensorProto) {
	if t.Segment != nil || len(t.ExternalData) > 0 || t.DataLocation != nil {
		e.ok = false
		return
	}
	for _, d := range t.Dims { // proto2: not packed
		e.b = protowire.AppendTag(e.b, 1, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(d))
	}
	e.varint32(2, t.DataType)
	e.packed(4, len(t.FloatData), func(b []byte, i int) []byte {
		return protowire.AppendFixed32(b, math.Float32bits(t.FloatData[i]))
	})
	e.packed(5, len(t.Int32Data), func(b []byte, i int) []byte {
		return protowire.AppendVarint(b, uint64(int64(t.Int32Data[i])))
	})
	for _, s := range t.StringData {
		e.bytes(6, s)
	}
	e.packed(7, len(t.Int64Data), func(b []byte, i int) []byte {
		return protowire.AppendVarint(b, uint64(t.Int64Data[i]))
	})
	e.str(8, t.Name)
	if t.RawData != nil {
		e.bytes(9, t.RawData)
	}
	e.packed(10, len(t.DoubleData), func(b []byte, i int) []byte {
		return protowire.AppendFixed64(b, math.Float64bits(t.DoubleData[i]))
	})
	e.packed(11, len(t.Uint64Data), func(b []byte, i int) []byte {
		return protowire.AppendVarint(b, t.Uint64Data[i])
	})
	e.str(12, t.DocString)
	for _, p := range t.MetadataProps {
		message(e, 16, p, fillEntry)
	}
}

func fillValueInfo(e *encoder, v *pb.ValueInfoProto) {
	e.str(1, v.Name)
	message(e, 2, v.Type, fillType)
	e.str(3, v.DocString)
	for _, p := range v.MetadataProps {
		message(e, 4, p, fillEntry)
	}
}

func fillType(e *encoder, t *pb.TypeProto) {
	switch v := t.Value.(type) {
	case nil:
	case *pb.TypeProto_TensorType:
		message(e, 1, v.TensorType, func(e *encoder, tt *pb.TypeProto_Tensor) {
			e.varint32(1, tt.ElemType)
			message(e, 2, tt.Shape, func(e *encoder, s *pb.TensorShapeProto) {
				for _, d := range s.Dim {
					message(e, 1, d, fillDimension)
				}
			})
		})
	default:
		e.ok = false
		return
	}
	e.str(6, t.Denotation)
}

func fillDimension(e *encoder, d *pb.TensorShapeProto_Dimension) {
	switch v := d.Value.(type) {
	case *pb.TensorShapeProto_Dimension_DimValue:
		e.b = protowire.AppendTag(e.b, 1, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, uint64(v.DimValue))
	case *pb.TensorShapeProto_Dimension_DimParam:
		e.b = protowire.AppendTag(e.b, 2, protowire.BytesType)
		e.b = protowire.AppendString(e.b, v.DimParam)
	}
	e.str(3, d.Denotation)
}
