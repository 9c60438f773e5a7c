package onnx

import (
	"encoding/binary"
	"math"
	"slices"
)

// An exported model is serialised in protobuf's wire format by the small
// encoder below rather than by the protobuf library: linking that library
// costs every mlrun command a few tenths of a millisecond of package
// initialisation at startup (descriptor registration, hashing the
// executable), and its first use in a process about a millisecond of
// reflection. The encoder writes each message's fields in field-number
// order, as proto.Marshal with Deterministic does, so that the bytes are
// protobuf's (TestEncodingMatchesProtobuf checks every exported model).
//
// The wire format in brief: a message is a sequence of fields, each a tag
// (a varint holding field number << 3 | wire type) and a value. Varints
// hold 7 bits a byte, low bits first; negative int32 and int64 values take
// ten bytes (their 64-bit two's complement). A length-delimited value is
// its length as a varint and then its bytes: strings, bytes, nested
// messages and packed repeated numbers. A repeated field that is not packed
// repeats its tag for every element.

// Wire types of protobuf's encoding, which the encoder writes and
// ReadModelInfo reads.
const (
	wireVarint     = 0 // int32, int64, uint64, enums
	wireFixed64    = 1 // double
	wireBytes      = 2 // string, bytes, messages, packed repeated fields
	wireStartGroup = 3 // deprecated groups, which ONNX does not use
	wireEndGroup   = 4
	wireFixed32    = 5 // float
)

// maxFieldNumber is the largest field number protobuf allows.
const maxFieldNumber = 1<<29 - 1

// marshalModel returns m serialised.
func marshalModel(m *modelProto) []byte {
	var e encoder
	e.varint(1, m.irVersion)
	e.string(2, m.producerName)
	e.string(6, m.docString)
	e.message(7, func(e *encoder) { e.graph(&m.graph) })
	for _, o := range m.opsetImports {
		e.message(8, func(e *encoder) {
			e.string(1, o.domain)
			e.varint(2, o.version)
		})
	}
	for _, p := range m.metadata {
		e.message(14, func(e *encoder) { e.entry(p) })
	}
	return e.b
}

// encoder appends the fields of a message to b.
type encoder struct {
	b []byte
}

// tag appends the tag of field num with wire type wire.
func (e *encoder) tag(num, wire int) {
	e.b = binary.AppendUvarint(e.b, uint64(num)<<3|uint64(wire))
}

// varint appends an int64 (or int32, or enum) field.
func (e *encoder) varint(num int, v int64) {
	e.tag(num, wireVarint)
	e.b = binary.AppendUvarint(e.b, uint64(v))
}

// string appends a string (or bytes) field, even an empty one.
func (e *encoder) string(num int, s string) {
	e.tag(num, wireBytes)
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

// float appends a float field.
func (e *encoder) float(num int, f float32) {
	e.tag(num, wireFixed32)
	e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(f))
}

// message appends a length-delimited field whose contents fill appends.
// The contents go straight into b, and their length is inserted before
// them once known.
func (e *encoder) message(num int, fill func(*encoder)) {
	e.tag(num, wireBytes)
	start := len(e.b)
	fill(e)
	var length [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(length[:], uint64(len(e.b)-start))
	e.b = slices.Insert(e.b, start, length[:n]...)
}

// packed appends the elements of vs as a packed repeated field, each with
// add, unless vs is empty (then the field is absent, as in protobuf).
func packed[T any](e *encoder, num int, vs []T, add func(b []byte, v T) []byte) {
	if len(vs) == 0 {
		return
	}
	e.message(num, func(e *encoder) {
		for _, v := range vs {
			e.b = add(e.b, v)
		}
	})
}

// entry appends the fields of a StringStringEntryProto.
func (e *encoder) entry(p stringEntry) {
	e.string(1, p.key)
	e.string(2, p.value)
}

// graph appends the fields of a GraphProto.
func (e *encoder) graph(g *graphProto) {
	for i := range g.nodes {
		e.message(1, func(e *encoder) { e.node(&g.nodes[i]) })
	}
	e.string(2, g.name)
	for i := range g.initializers {
		e.message(5, func(e *encoder) { e.tensor(&g.initializers[i]) })
	}
	for i := range g.inputs {
		e.message(11, func(e *encoder) { e.valueInfo(&g.inputs[i]) })
	}
	for i := range g.outputs {
		e.message(12, func(e *encoder) { e.valueInfo(&g.outputs[i]) })
	}
}

// node appends the fields of a NodeProto.
func (e *encoder) node(n *nodeProto) {
	for _, s := range n.inputs {
		e.string(1, s)
	}
	for _, s := range n.outputs {
		e.string(2, s)
	}
	e.string(3, n.name)
	e.string(4, n.opType)
	for i := range n.attributes {
		e.message(5, func(e *encoder) { e.attribute(&n.attributes[i]) })
	}
	e.string(7, n.domain)
}

// attribute appends the fields of an AttributeProto: its name, the value
// field its type names, and the type.
func (e *encoder) attribute(a *attributeProto) {
	e.string(1, a.name)
	switch a.typ {
	case attrInt:
		e.varint(3, a.i)
	case attrString:
		e.string(4, a.s)
	}
	for _, f := range a.floats { // proto2 without [packed = true]: one tag each
		e.float(7, f)
	}
	for _, i := range a.ints {
		e.varint(8, i)
	}
	for _, s := range a.strings {
		e.string(9, s)
	}
	e.varint(20, int64(a.typ))
}

// tensor appends the fields of a TensorProto.
func (e *encoder) tensor(t *tensorProto) {
	for _, d := range t.dims { // not packed
		e.varint(1, d)
	}
	e.varint(2, int64(t.dataType))
	packed(e, 4, t.floatData, func(b []byte, f float32) []byte {
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	})
	packed(e, 7, t.int64Data, func(b []byte, i int64) []byte {
		return binary.AppendUvarint(b, uint64(i))
	})
	e.string(8, t.name)
	packed(e, 10, t.doubleData, func(b []byte, f float64) []byte {
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	})
}

// valueInfo appends the fields of a ValueInfoProto whose type is a tensor
// type.
func (e *encoder) valueInfo(v *valueInfoProto) {
	e.string(1, v.name)
	e.message(2, func(e *encoder) { // TypeProto
		e.message(1, func(e *encoder) { // TypeProto.Tensor
			e.varint(1, int64(v.elemType))
			e.message(2, func(e *encoder) { // TensorShapeProto
				for _, d := range v.shape {
					e.message(1, func(e *encoder) { e.dimension(d) })
				}
			})
		})
	})
}

// dimension appends the fields of a TensorShapeProto.Dimension.
func (e *encoder) dimension(d dimension) {
	if d.param != "" {
		e.string(2, d.param)
	} else {
		e.varint(1, d.value)
	}
}
