package onnx

// Threshold32 exposes threshold32 to the external tests.
var Threshold32 = threshold32
