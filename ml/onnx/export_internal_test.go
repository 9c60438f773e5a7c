package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/mlrun/mlrun/ml/modelfile"
)

// Threshold32 exposes threshold32 to the external tests.
var Threshold32 = threshold32

// ModelEncodings returns the bytes Export writes for m and those
// proto.Marshal gives for the same model, for the external tests.
func ModelEncodings(m *modelfile.Model) (ours, protobufs []byte, err error) {
	mp, err := exportProto(m)
	if err != nil {
		return nil, nil, err
	}
	protobufs, err = proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, nil, err
	}
	ours, ok := appendModel(nil, mp)
	if !ok {
		return nil, nil, fmt.Errorf("the encoder does not write a field of the %s model", m.EstimatorName)
	}
	return ours, protobufs, nil
}
