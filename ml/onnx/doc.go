// Package onnx exports mlrun's fitted models to ONNX, the model format that
// ONNX Runtime (Python, C++, the browser, every serving stack) and MLflow's
// onnx flavor load. The files are the ModelProto messages of ONNX's own
// onnx-ml.proto (release SpecVersion), built as plain Go types of this
// package that hold only the fields the exporter sets and written in
// protobuf's wire format by the package's own encoder, byte for byte as
// proto.Marshal (deterministic) writes them: mlrun does not link the
// protobuf library, whose package initialisation every command would pay
// at startup. ReadModelInfo reads a model's metadata and class labels back
// the same way. Package onnxpb holds the types protoc-gen-go generates from
// onnx-ml.proto, for the tests that check both against protobuf.
//
// # Graph
//
// Export builds one graph per model directory (modelfile.Model), with the
// fitted preprocessing inside it:
//
//   - one input per raw column of the model's signature, named after the
//     column: tensor(double) for numeric, tensor(string) for categorical
//     columns, shape [N] (shape [N, 1] when the model has a single column, so
//     that MLflow's pyfunc, which feeds a one-input model the whole frame,
//     fits). Numeric columns are concatenated and standardised (Sub, Div in
//     double); categorical columns go through ai.onnx.ml's OneHotEncoder
//     (zeros=1 when unknown categories are ignored, an error otherwise), in
//     preprocess.Pipeline's feature order.
//   - the estimator, on float32 features for the ai.onnx.ml operators and on
//     double features for the ones built from standard operators:
//     logistic regression → LinearClassifier (LOGISTIC, SOFTMAX, or LOGISTIC
//     then an L1 Normalizer for one-vs-rest), linear regression and ridge →
//     LinearRegressor, SVC → SVMClassifier (libsvm's one-vs-one votes,
//     Platt probabilities and pairwise coupling), decision tree and random
//     forest → TreeEnsembleClassifier / TreeEnsembleRegressor (a forest's
//     leaf probabilities divided by the number of trees; thresholds rounded
//     down to float32 so that float32 features take the same branch as in
//     Go), k-NN and Gaussian naive Bayes → standard operators in double
//     (distances by broadcasting, TopK, Gather; the joint log-likelihood and
//     Softmax), as skl2onnx builds them.
//   - outputs: for classifiers "label" (tensor(string) [N], the class name)
//     and "probabilities" (tensor(float) [N, k], classes in the model's
//     order; absent for an SVC fitted without probability); for regressors
//     "variable" (tensor(float) [N, 1]), skl2onnx's name. No ZipMap.
//
// The model's metadata_props hold the mlrun estimator name, the task, the
// target name and the class names (JSON).
package onnx
