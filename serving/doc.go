// Package serving serves an mlrun model directory over HTTP in MLflow's
// scoring protocol (the protocol of `mlflow models serve`), so that the
// requests of MLflow tutorials and clients work unchanged.
//
// A Server loads the model that a Source names, answers requests from an
// in-memory copy kept behind an atomic pointer, and polls the Source: when
// the Source's token changes (say the alias models:/iris@champion moved to
// another version) it loads the new directory first and then swaps it in,
// so no request fails or waits during the switch. A load that fails keeps
// the old model and is logged.
//
// # Endpoints
//
//	POST /invocations   score rows (below)
//	GET  /ping          200, body "\n" (as MLflow), once a model is loaded
//	GET  /health        the same
//	GET  /version       the mlrun version, as plain text
//	GET  /metadata      JSON: model URI, load time, estimator,
//	                    task, target, classes, signature, run id, model uuid
//
// Any other path is 404 ENDPOINT_NOT_FOUND, another method on a known path
// is 405 BAD_REQUEST (with an Allow header), both as JSON errors.
//
// # Scoring requests
//
// The Content-Type must be application/json or text/csv; the only
// parameter allowed is charset=utf-8. Anything else is 415 BAD_REQUEST
// (this includes MLflow 1.x's "application/json; format=pandas-split").
//
// A JSON body is an object with exactly one of these keys, plus an optional
// "params" object:
//
//	dataframe_split     {"columns": [...], "data": [[...], ...], "index": [...]}
//	                    ("index" is ignored; without "columns" the row values
//	                    are in signature order)
//	dataframe_records   [{"col": value, ...}, ...]
//	instances           a list of rows: row objects {"col": value}, row lists
//	                    in signature order, or bare values for a model with
//	                    one input column
//	inputs              the same lists as instances, or columnar
//	                    {"col": [value, ...], ...}
//	data                MLflow 1.x's pandas-split shape, [[...], ...] with an
//	                    optional sibling "columns" (and "index", ignored); the
//	                    classic tutorial request {"data": [[5.1, 3.5, 1.4, 0.2]]}.
//	                    MLflow 2.x rejects it; mlrun accepts it.
//
// A text/csv body has a header row naming the columns and one row per
// record; cells are trimmed of surrounding spaces, and the column types come
// from the signature.
//
// Every input column of the model's signature must be present, and no other
// column may be (MLflow only warns about extra columns; mlrun rejects them
// so that a misspelt column name is not silently dropped). A "double" column
// takes JSON numbers (integers included) or, in CSV, numeric text; a
// "string" column takes JSON strings or any CSV text. Missing values (JSON
// null; in CSV an empty cell or NA, NaN, nan, null, as the training loader
// reads them) and non-finite numbers are rejected: the model was trained
// without them. Unknown top-level keys are rejected too (MLflow ignores
// them), so that a misspelt "params" is not silently dropped.
//
// # Responses
//
// Success is 200 {"predictions": [...]}, one value per row. For a
// classifier the value is the predicted class name; when every class name of
// the model is an integer literal ("0", "1", "2", as in the Iris CSV) the
// classes are written as JSON integers, as MLflow writes scikit-learn's
// integer labels, and otherwise as strings. A regressor's values are
// numbers.
//
// Probabilities: with "params": {"predict_proba": true} in the JSON body, or
// the query ?proba=true (also for CSV), the response adds "classes" (the
// class names, written as the predictions are) and "probabilities" (one
// list per row, in "classes" order):
//
//	{"predictions": [0], "classes": [0, 1, 2], "probabilities": [[0.97, 0.03, 7.6e-08]]}
//
// Asking a regressor, or a classifier without probabilities (an svc fitted
// with probability: false), for them is a 400 INVALID_PARAMETER_VALUE
// error. Any other key in "params" is an error.
//
// Errors are MLflow's JSON {"error_code": ..., "message": ...}, where the
// message is one sentence naming the problem (the column, the row counted
// from 0 as in the JSON list, the value, the byte offset of a JSON syntax
// error):
//
//	400 BAD_REQUEST              empty body, malformed JSON, a body that is
//	                             not an object, no or several input keys, an
//	                             unknown key, a malformed CSV
//	400 INVALID_PARAMETER_VALUE  the rows do not fit the signature: a missing
//	                             or unknown column, a wrong type, a ragged
//	                             row, a null, NaN or infinite number, no rows,
//	                             a bad "params" value; an unknown category
//	404 ENDPOINT_NOT_FOUND       unknown path
//	405 BAD_REQUEST              wrong method
//	413 BAD_REQUEST              body larger than Options.MaxBodyBytes
//	415 BAD_REQUEST              unsupported Content-Type
//	500 INTERNAL_ERROR           a bug; logged
//
// # ONNX models
//
// A model directory with MLflow's onnx flavor can be served through ONNX
// Runtime (Options.ONNX; see onnx.go): always when it has no mlrun flavor
// (say mlflow.onnx.log_model wrote it), and for mlrun's own models with
// backend "onnx". Requests are decoded and validated exactly as for native
// models, against the MLmodel column signature (or, without one, the
// graph's inputs: one column per input, or columns "0", "1", ... for a
// single [N, k] input); answers and errors have the same shape. Without
// the ONNX Runtime library, loading such a directory fails with a NotFound
// error that says how to install it.
//
// # Defaults
//
// Host "" means 127.0.0.1 (never all interfaces unless asked). Port 0 means
// any free port: the command line's default should be DefaultPort (5000, as
// MLflow). ReloadEvery 0 disables polling: the command line's default should
// be DefaultReloadEvery (2 s).
package serving
