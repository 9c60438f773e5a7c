// Package modelfile writes and reads the model directory that `mlrun train`
// produces and `mlrun serve` loads. The layout follows MLflow's model
// directory so that MLflow tooling can list and inspect it, but the payload
// is mlrun's own portable JSON: Python cannot load it.
//
// # Directory layout
//
//	model/
//	  MLmodel                     YAML metadata, MLflow's keys (below)
//	  model.json                  the fitted model: estimator, preprocessing, classes
//	  input_example.json          first rows of the raw training features, pandas "split" orient
//	  serving_input_example.json  the same rows as a ready-to-POST /invocations body
//	  model.onnx                  the same model in ONNX (package ml/onnx), when Model.ONNX is set
//
// The two example files are written only when Save is given an example
// frame. Save writes everything into a temporary sibling directory and
// renames it into place, so a reader never sees a half-written model.
//
// # MLmodel
//
// Keys are written in alphabetical order, as MLflow's yaml.safe_dump does:
//
//	artifact_path: model                 last element of the directory path (MLflow 2.x key)
//	flavors:
//	  mlrun:
//	    data: model.json                 the payload file, relative to the directory
//	    estimator: logistic_regression   ml.Spec name
//	    format_version: 1                version of model.json's layout
//	    task: classification             or regression
//	  python_function:
//	    data: model.json
//	    env: none                        mlrun models need no Python environment
//	    loader_module: mlrun.pyfunc      there is no such Python module: MLflow
//	                                     can list the model but not load it
//	mlrun_version: dev                   version of the mlrun that wrote the model
//	model_size_bytes: 1234               total size of the other files (as MLflow, MLmodel excluded)
//	model_uuid: 0123…cdef                32 lowercase hex digits, random
//	run_id: 0123…cdef                    the training run
//	saved_input_example_info:            only with an input example
//	  artifact_path: input_example.json
//	  pandas_orient: split
//	  serving_input_path: serving_input_example.json
//	  type: dataframe
//	signature:
//	  inputs: '[{"name": "x", "type": "double", "required": true}, …]'
//	  outputs: '[{"name": "species", "type": "string", "required": true}]'
//	  params: null
//	utc_time_created: '2025-01-02 03:04:05.123456'
//
// With Model.ONNX set, flavors also hold MLflow's onnx flavor and
// python_function loads model.onnx, so mlflow.pyfunc.load_model works in a
// Python with onnxruntime (mlrun itself still loads model.json):
//
//	onnx:
//	  code: null
//	  data: model.onnx
//	  onnx_version: 1.23.0           the ONNX release of the onnx-ml.proto written
//	  providers:
//	  - CPUExecutionProvider
//	python_function:
//	  data: model.onnx
//	  env: none
//	  loader_module: mlflow.onnx
//
// mlflow_version is deliberately absent. signature.inputs and .outputs are
// JSON strings, as in MLflow: one column spec per raw input column, type
// "double" for numeric and "string" for categorical columns, all required.
// The output is one named column: the target name with type "string" for
// classifiers (the predicted class name) and "double" for regressors.
//
// # model.json (format_version 1)
//
//	{
//	  "format": "mlrun.model",          fixed; anything else is not an mlrun model
//	  "format_version": 1,              readers refuse versions newer than they know
//	  "estimator": "nearest_centroid",  ml.Spec name, looked up on load
//	  "task": "classification",         "classification" or "regression"
//	  "hyperparameters": {...},         the scikit-learn-named values the estimator was built with
//	  "target": {
//	    "name": "species",              the target column
//	    "classes": ["setosa", …]        class names in class-index order; [] for regression
//	  },
//	  "preprocess": {...},              the fitted preprocess.Pipeline (its own "version")
//	  "state": {...},                   the fitted estimator as encoding/json writes it
//	  "sha256": "…"                     checksum, see below
//	}
//
// sha256 is the lowercase hex SHA-256 of the values of estimator, task,
// hyperparameters, target, preprocess and state, in that order, each as
// compact JSON text (the file's text with insignificant whitespace removed,
// as encoding/json.Compact does) followed by one newline byte. Any change
// to a number or name in those values therefore fails the check on load.
// float64 values are written by encoding/json in their shortest exact
// form, so a loaded model predicts bit-identically to the saved one.
//
// # Predictions
//
// Predict applies the preprocessing and the estimator to a raw frame. For
// classifiers the labels are always the class names as strings (also when
// the target column held numbers, e.g. "0" and "1"), and Proba holds one
// probability per class in Classes order when the estimator is an
// ml.Classifier. For regressors the labels are float64 and Proba is nil.
package modelfile
