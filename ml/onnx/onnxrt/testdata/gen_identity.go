//go:build ignore

// Writes identity.onnx, the tiny model of the onnxrt tests: y = Identity(x)
// on a double tensor of shape [N]. Run from ml/onnx/onnxrt:
// go run testdata/gen_identity.go
package main

import (
	"os"

	"google.golang.org/protobuf/proto"

	pb "github.com/mlrun/mlrun/ml/onnx/onnxpb"
)

func main() {
	vi := func(name string) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
			TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_DOUBLE)), Shape: &pb.TensorShapeProto{
				Dim: []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}}}}}}
	}
	m := &pb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("mlrun-test"),
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &pb.GraphProto{Name: proto.String("identity"),
			Node:  []*pb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"x"}, Output: []string{"y"}}},
			Input: []*pb.ValueInfoProto{vi("x")}, Output: []*pb.ValueInfoProto{vi("y")}}}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile("testdata/identity.onnx", b, 0o644); err != nil {
		panic(err)
	}
}
