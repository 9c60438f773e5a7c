package onnx

// The types below are the messages of ONNX's onnx-ml.proto that Export
// writes, with only the fields it sets; encode.go serialises them. The
// comments give each field's name and number in onnx-ml.proto. Package
// onnxpb holds the complete generated types, which the tests use to check
// the encoder's bytes against protobuf's.

// modelProto is ONNX's ModelProto.
type modelProto struct {
	irVersion    int64           // ir_version = 1
	producerName string          // producer_name = 2
	docString    string          // doc_string = 6
	graph        graphProto      // graph = 7
	opsetImports []operatorSetID // opset_import = 8
	metadata     []stringEntry   // metadata_props = 14
}

// operatorSetID is ONNX's OperatorSetIdProto: an operator domain ("" for
// the standard operators) and the version of it the model uses.
type operatorSetID struct {
	domain  string // domain = 1
	version int64  // version = 2
}

// stringEntry is ONNX's StringStringEntryProto, a key and its value.
type stringEntry struct {
	key   string // key = 1
	value string // value = 2
}

// graphProto is ONNX's GraphProto.
type graphProto struct {
	nodes        []nodeProto      // node = 1
	name         string           // name = 2
	initializers []tensorProto    // initializer = 5
	inputs       []valueInfoProto // input = 11
	outputs      []valueInfoProto // output = 12
}

// nodeProto is ONNX's NodeProto, one operator of the graph.
type nodeProto struct {
	inputs     []string         // input = 1
	outputs    []string         // output = 2
	name       string           // name = 3
	opType     string           // op_type = 4
	attributes []attributeProto // attribute = 5
	domain     string           // domain = 7
}

// attributeType is ONNX's AttributeProto.AttributeType, the kind of value
// an attribute holds; only the kinds the exporter writes are listed.
type attributeType int32

// Attribute types (AttributeProto.AttributeType).
const (
	attrInt     attributeType = 2
	attrString  attributeType = 3
	attrFloats  attributeType = 6
	attrInts    attributeType = 7
	attrStrings attributeType = 8
)

// attributeProto is ONNX's AttributeProto, one named operator attribute.
// typ says which of i, s, floats, ints and strings holds its value.
type attributeProto struct {
	name    string        // name = 1
	i       int64         // i = 3, written when typ is attrInt
	s       string        // s = 4 (bytes), written when typ is attrString
	floats  []float32     // floats = 7
	ints    []int64       // ints = 8
	strings []string      // strings = 9 (bytes)
	typ     attributeType // type = 20
}

// dataType is ONNX's TensorProto.DataType, the element type of a tensor;
// only the types the exporter uses are listed.
type dataType int32

// Tensor element types (TensorProto.DataType).
const (
	typeFloat  dataType = 1
	typeInt64  dataType = 7
	typeString dataType = 8
	typeDouble dataType = 11
)

// tensorProto is ONNX's TensorProto, a constant of the graph. One of
// floatData, int64Data and doubleData holds the values, as dataType says.
type tensorProto struct {
	dims       []int64   // dims = 1; none for a scalar
	dataType   dataType  // data_type = 2
	floatData  []float32 // float_data = 4, packed
	int64Data  []int64   // int64_data = 7, packed
	name       string    // name = 8
	doubleData []float64 // double_data = 10, packed
}

// valueInfoProto is ONNX's ValueInfoProto for a tensor: an input or output
// of the graph. Its type is a TypeProto whose tensor_type (a
// TypeProto.Tensor) holds elemType and the shape (a TensorShapeProto).
type valueInfoProto struct {
	name     string      // name = 1
	elemType dataType    // type = 2 → tensor_type = 1 → elem_type = 1
	shape    []dimension // type = 2 → tensor_type = 1 → shape = 2 → dim = 1
}

// dimension is ONNX's TensorShapeProto.Dimension: a symbolic name such as
// the batch dimension "N", or a fixed size when param is empty.
type dimension struct {
	value int64  // dim_value = 1, written when param is empty
	param string // dim_param = 2
}
