package onnx_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/onnx"
	"github.com/mlrun/mlrun/ml/onnx/onnxpb"
	"github.com/mlrun/mlrun/ml/preprocess"
)

// protobufInfo is ReadModelInfo done with protobuf: proto.Unmarshal into
// the generated ModelProto, then its metadata_props and the first
// classlabels_* attribute of its graph's nodes.
func protobufInfo(data []byte) (*onnx.ModelInfo, error) {
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, err
	}
	info := &onnx.ModelInfo{Metadata: map[string]string{}}
	for _, p := range mp.GetMetadataProps() {
		info.Metadata[p.GetKey()] = p.GetValue()
	}
	for _, n := range mp.GetGraph().GetNode() {
		for _, a := range n.GetAttribute() {
			switch a.GetName() {
			case "classlabels_strings":
				info.Classes = make([]string, len(a.GetStrings()))
				for i, s := range a.GetStrings() {
					info.Classes[i] = string(s)
				}
				return info, nil
			case "classlabels_ints", "classlabels_int64s":
				info.Classes = make([]string, len(a.GetInts()))
				for i, v := range a.GetInts() {
					info.Classes[i] = strconv.FormatInt(v, 10)
				}
				return info, nil
			}
		}
	}
	return info, nil
}

// sameAsProtobuf checks that ReadModelInfo and protobufInfo agree on data:
// the same answer, or both an error. An error of ReadModelInfo's alone is
// allowed for a group, which protobuf reads and ReadModelInfo refuses.
func sameAsProtobuf(t *testing.T, what string, data []byte) (*onnx.ModelInfo, error) {
	t.Helper()
	got, err := onnx.ReadModelInfo(data)
	want, wantErr := protobufInfo(data)
	switch {
	case err != nil && wantErr == nil && !strings.Contains(err.Error(), "group"):
		t.Errorf("%s: ReadModelInfo fails (%v), protobuf reads %+v", what, err, want)
	case err == nil && wantErr == nil && !reflect.DeepEqual(got, want):
		t.Errorf("%s: ReadModelInfo reads %+v, protobuf %+v", what, got, want)
	}
	return got, err
}

// ReadModelInfo reads what protobuf reads of every exported model. Of the
// small iris ones (logistic regressions, naive Bayes, a linear SVC, a
// decision tree), every prefix is an error unless it ends between two fields
// of the ModelProto (a valid message, also for protobuf), and corrupting
// any byte never panics and never makes it read something else than
// protobuf.
func TestReadModelInfoMatchesProtobuf(t *testing.T) {
	fitEach(t, func(t *testing.T, m *modelfile.Model, _ *dataset.Dataset) {
		data, err := onnx.Export(m)
		if err != nil {
			t.Fatal(err)
		}
		info, err := sameAsProtobuf(t, "the model", data)
		if err != nil {
			t.Fatal(err)
		}
		if info.Metadata[onnx.MetaEstimator] != m.EstimatorName || info.Metadata[onnx.MetaTarget] != m.Target.Name {
			t.Errorf("metadata %v", info.Metadata)
		}
		if testing.Short() || len(data) > 2300 || !strings.HasPrefix(t.Name(), "TestReadModelInfoMatchesProtobuf/iris/") {
			return
		}
		boundaries := map[int]bool{0: true} // where a field of the ModelProto ends
		for n := 0; n < len(data); {
			_, _, size := protowire.ConsumeField(data[n:])
			n += size
			boundaries[n] = true
		}
		for n := range len(data) {
			_, err := sameAsProtobuf(t, "prefix "+strconv.Itoa(n), data[:n])
			if (err == nil) != boundaries[n] {
				t.Errorf("the prefix of %d bytes: error %v, but it ends between two fields: %v", n, err, boundaries[n])
			}
		}
		corrupt := make([]byte, len(data))
		for i, b := range data {
			for _, c := range []byte{0xff, b ^ 0x80, b ^ 0x07} { // a long varint, a varint cut or extended, another wire type
				copy(corrupt, data)
				corrupt[i] = c
				sameAsProtobuf(t, "byte "+strconv.Itoa(i)+" set to "+strconv.Itoa(int(c)), corrupt)
			}
		}
	})
}

// field appends a field of the protobuf wire format.
func field(b []byte, num protowire.Number, v any) []byte {
	switch v := v.(type) {
	case int64: // varint
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v))
	case string: // length-delimited
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendString(b, v)
	case []byte: // length-delimited: a message
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	case uint64: // fixed64
		b = protowire.AppendTag(b, num, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, v)
	case uint32: // fixed32
		b = protowire.AppendTag(b, num, protowire.Fixed32Type)
		return protowire.AppendFixed32(b, v)
	}
	panic("field of an unknown kind")
}

// message returns the fields given as number, value pairs.
func message(fields ...any) []byte {
	var b []byte
	for i := 0; i < len(fields); i += 2 {
		b = field(b, protowire.Number(fields[i].(int)), fields[i+1])
	}
	return b
}

// packedInts returns the varints of vs, the contents of a packed field.
func packedInts(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = protowire.AppendVarint(b, uint64(v))
	}
	return b
}

// Hand-built models with what the exporter does not write: unknown fields
// of every wire type at every level, known fields of an unexpected wire
// type (unknown to protobuf too), packed and unpacked ints, a field or a
// message given twice, other writers' attributes.
func TestReadModelInfoHandBuilt(t *testing.T) {
	unknown := []any{1000, int64(-1), 1001, uint64(7), 1002, "skip me", 1003, uint32(9), 1004, message(1, "nested")}
	withUnknown := func(fields ...any) []byte { return message(append(append([]any{}, unknown...), fields...)...) }
	entry := func(k, v string) []byte { return withUnknown(1, k, 2, v, 3, "extra") }
	ints := func(name string, vs ...int64) []byte {
		fields := []any{1, name, 20, int64(7)}
		for _, v := range vs {
			fields = append(fields, 8, v)
		}
		return withUnknown(fields...)
	}
	classifier := message(1, "X", 2, "label", 4, "LinearClassifier", 7, "ai.onnx.ml",
		5, withUnknown(1, "coefficients", 7, uint32(0x3f800000), 20, int64(6)),
		5, ints("classlabels_ints", 0, 1, 2), 6, "doc")
	tests := []struct {
		name  string
		model []byte
		want  onnx.ModelInfo
	}{
		{"skl2onnx-style", withUnknown(1, int64(8), 7, withUnknown(1, classifier, 2, "g"), 14, entry("a", "1"), 14, entry("b", "2")),
			onnx.ModelInfo{Metadata: map[string]string{"a": "1", "b": "2"}, Classes: []string{"0", "1", "2"}}},
		{"packed and unpacked ints", message(7, message(1, message(5, message(1, "classlabels_int64s", 8, packedInts(5, -3), 8, int64(7), 8, packedInts())))),
			onnx.ModelInfo{Metadata: map[string]string{}, Classes: []string{"5", "-3", "7"}}},
		{"strings", message(7, message(1, message(5, message(1, "classlabels_strings", 9, "setosa", 9, "", 9, "virginica")))),
			onnx.ModelInfo{Metadata: map[string]string{}, Classes: []string{"setosa", "", "virginica"}}},
		{"first classifier", message(7, message(1, message(5, ints("keys_int64s", 1)), 1, message(5, ints("classlabels_ints", 4)), 1, message(5, ints("classlabels_ints", 5)))),
			onnx.ModelInfo{Metadata: map[string]string{}, Classes: []string{"4"}}},
		{"graph given twice", message(7, message(1, message(5, ints("other", 1))), 7, message(1, classifier)),
			onnx.ModelInfo{Metadata: map[string]string{}, Classes: []string{"0", "1", "2"}}},
		{"name given twice", message(7, message(1, message(5, message(1, "classlabels_ints", 1, "other", 8, int64(1))), 1, classifier)),
			onnx.ModelInfo{Metadata: map[string]string{}, Classes: []string{"0", "1", "2"}}},
		{"key given twice", message(14, entry("a", "1"), 14, message(1, "a", 2, "2", 1, "b"), 14, entry("a", "3")),
			onnx.ModelInfo{Metadata: map[string]string{"a": "3", "b": "2"}}},
		{"unexpected wire types", message(7, int64(1), 14, uint32(2), 7, message(1, int64(3), 1, message(5, uint64(4), 5, message(1, uint32(5), 8, uint64(6), 9, int64(7)))), 14, message(1, int64(8), 2, uint32(9))),
			onnx.ModelInfo{Metadata: map[string]string{"": ""}}},
		{"empty", nil, onnx.ModelInfo{Metadata: map[string]string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sameAsProtobuf(t, "the model", tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("read %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// Unknown fields that proto.Marshal writes into every message of an
// exported model are skipped.
func TestReadModelInfoSkipsUnknownFields(t *testing.T) {
	m := fitIris(t)
	data, err := onnx.Export(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnx.ReadModelInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatal(err)
	}
	extra := message(500, int64(1), 501, uint64(2), 502, "three", 503, uint32(4), 504, message(1, "five"))
	addUnknown := func(m proto.Message) { m.ProtoReflect().SetUnknown(extra) }
	addUnknown(&mp)
	addUnknown(mp.Graph)
	for _, n := range mp.Graph.Node {
		addUnknown(n)
		n.DocString = proto.String("a node")
		for _, a := range n.Attribute {
			addUnknown(a)
			a.DocString = proto.String("an attribute")
		}
	}
	for _, p := range mp.MetadataProps {
		addUnknown(p)
	}
	mp.ProducerVersion = proto.String("1")
	mp.TrainingInfo = []*onnxpb.TrainingInfoProto{{Algorithm: &onnxpb.GraphProto{Name: proto.String("train")}}}
	mp.Graph.ValueInfo = mp.Graph.Output
	more, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) <= len(data) {
		t.Fatalf("the model with unknown fields has %d bytes, the exported one %d", len(more), len(data))
	}
	got, err := sameAsProtobuf(t, "the model with unknown fields", more)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || len(got.Classes) != len(m.Target.Classes) {
		t.Errorf("read %+v, without the unknown fields %+v", got, want)
	}
}

// Malformed models are an error that says what is wrong.
func TestReadModelInfoRefusesMalformed(t *testing.T) {
	data, err := onnx.Export(fitIris(t))
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, b byte) []byte { // data with byte i set to b
		out := append([]byte{}, data...)
		out[i] = b
		return out
	}
	plus := func(b ...byte) []byte { return append(append([]byte{}, data...), b...) }
	node := message(1, "X", 5, message(1, "classlabels_ints", 8, int64(1)))
	tests := []struct {
		name  string
		model []byte
		want  string
	}{
		{"field number 0", with(0, 0x00), "invalid field number 0"},
		{"wire type 7", with(0, 0x0f), "invalid wire type 7"},
		{"wire type 6", with(0, 0x0e), "invalid wire type 6"},
		{"group", with(0, 0x0b), "group"},
		{"end of group", with(0, 0x0c), "group"},
		{"field number too large", append(protowire.AppendVarint(nil, uint64(1<<29)<<3), 0), "invalid field number"},
		{"tag too long", plus(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "malformed field tag"},
		{"truncated tag", plus(0x80), "malformed field tag"},
		{"varint over 64 bits", plus(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), "malformed varint"},
		{"truncated varint", plus(0x08, 0xff), "malformed varint"},
		{"truncated fixed64", plus(0x09, 1, 2, 3), "truncated"},
		{"truncated fixed32", plus(0x0d, 1, 2, 3), "truncated"},
		{"length past the end", plus(0x12, 0x05, 'a'), "5 bytes long but 1 are left"},
		{"huge length", plus(0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "bytes long"},
		{"truncated length", plus(0x12, 0x80), "malformed length"},
		{"metadata entry", message(14, []byte{0x0a, 0x03, 'a'}), "metadata_props: field 1: 3 bytes long but 1 are left"},
		{"node", message(7, message(1, []byte{0x0a})), "graph: node: field 1: malformed length"},
		{"attribute", message(7, message(1, message(5, []byte{0x42, 0x01, 0x80}))), "graph: node: attribute: ints: malformed packed varint"},
		{"after the classes", message(7, append(message(1, node), 0x0d)), "graph: field 1: truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := onnx.ReadModelInfo(tt.model)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
			if tt.want != "group" {
				if _, err := protobufInfo(tt.model); err == nil {
					t.Errorf("protobuf reads the model")
				}
			}
		})
	}
}

// fitIris returns a logistic regression fitted on iris.
func fitIris(t *testing.T) *modelfile.Model {
	t.Helper()
	data, err := dataset.Load(dataSets[0].path, dataset.LoadOptions{Target: "target"})
	if err != nil {
		t.Fatal(err)
	}
	return fitModel(t, "logistic_regression", ml.Classification, ml.Params{"max_iter": 500}, preprocess.DefaultOptions(), data, "target")
}
