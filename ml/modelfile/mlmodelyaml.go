package modelfile

import (
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/token"
)

// appendMLmodel appends doc as the YAML text yaml.MarshalWithOptions(doc,
// yaml.UseSingleQuote(true)) writes, without the encoder's reflection
// (half a millisecond of a model's save on its first use in a process).
// It returns ok=false for a document it does not write the same way (a
// string outside printable ASCII, no ONNX provider): the caller then uses
// go-yaml. TestMLmodelYAMLMatchesGoYAML checks the equality.
func appendMLmodel(b []byte, doc *mlmodel) ([]byte, bool) {
	w := yamlWriter{b: b, ok: doc.Flavors.MLrun != nil}
	w.str(0, "artifact_path", doc.ArtifactPath)
	w.key(0, "flavors")
	if f := doc.Flavors.MLrun; f != nil {
		w.key(2, "mlrun")
		w.str(4, "data", f.Data)
		w.str(4, "estimator", f.Estimator)
		w.int(4, "format_version", int64(f.FormatVersion))
		w.str(4, "task", string(f.Task))
	}
	if f := doc.Flavors.ONNX; f != nil {
		w.key(2, "onnx")
		if f.Code != nil {
			w.str(4, "code", *f.Code)
		} else {
			w.null(4, "code")
		}
		w.str(4, "data", f.Data)
		w.str(4, "onnx_version", f.ONNXVersion)
		w.key(4, "providers")
		w.ok = w.ok && len(f.Providers) > 0
		for _, p := range f.Providers {
			w.b = append(w.b, "    - "...)
			w.scalar(p)
			w.b = append(w.b, '\n')
		}
	}
	w.key(2, "python_function")
	w.str(4, "data", doc.Flavors.PythonFunction.Data)
	w.str(4, "env", doc.Flavors.PythonFunction.Env)
	w.str(4, "loader_module", doc.Flavors.PythonFunction.LoaderModule)
	w.str(0, "mlrun_version", doc.MLrunVersion)
	w.int(0, "model_size_bytes", doc.ModelSizeBytes)
	w.str(0, "model_uuid", doc.ModelUUID)
	w.str(0, "run_id", doc.RunID)
	if ex := doc.SavedInputExampleInfo; ex != nil {
		w.key(0, "saved_input_example_info")
		w.str(2, "artifact_path", ex.ArtifactPath)
		w.str(2, "pandas_orient", ex.PandasOrient)
		w.str(2, "serving_input_path", ex.ServingInputPath)
		w.str(2, "type", ex.Type)
	}
	w.key(0, "signature")
	w.str(2, "inputs", doc.Signature.Inputs)
	w.str(2, "outputs", doc.Signature.Outputs)
	if doc.Signature.Params != nil {
		w.str(2, "params", *doc.Signature.Params)
	} else {
		w.null(2, "params")
	}
	w.str(0, "utc_time_created", doc.UTCTimeCreated)
	return w.b, w.ok
}

// yamlWriter appends block-style YAML lines; ok turns false at a value it
// cannot write as go-yaml does.
type yamlWriter struct {
	b  []byte
	ok bool
}

// key starts "key:" at indent, for a nested block.
func (w *yamlWriter) key(indent int, key string) {
	w.b = append(w.b, "        "[:indent]...)
	w.b = append(w.b, key...)
	w.b = append(w.b, ":\n"...)
}

func (w *yamlWriter) null(indent int, key string) {
	w.b = append(w.b, "        "[:indent]...)
	w.b = append(w.b, key...)
	w.b = append(w.b, ": null\n"...)
}

func (w *yamlWriter) int(indent int, key string, v int64) {
	w.b = append(w.b, "        "[:indent]...)
	w.b = append(w.b, key...)
	w.b = append(w.b, ": "...)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '\n')
}

func (w *yamlWriter) str(indent int, key, v string) {
	w.b = append(w.b, "        "[:indent]...)
	w.b = append(w.b, key...)
	w.b = append(w.b, ": "...)
	w.scalar(v)
	w.b = append(w.b, '\n')
}

// scalar appends a string as go-yaml's encoder does with single quotes:
// plain unless token.IsNeedQuoted, else in '…' with ' doubled. Strings
// with bytes outside printable ASCII are left to go-yaml.
func (w *yamlWriter) scalar(v string) {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			w.ok = false
			return
		}
	}
	if plainForSure(v) || !token.IsNeedQuoted(v) {
		w.b = append(w.b, v...)
		return
	}
	w.b = append(w.b, '\'')
	w.b = append(w.b, strings.ReplaceAll(v, "'", "''")...)
	w.b = append(w.b, '\'')
}

// plainForSure reports, cheaply, that token.IsNeedQuoted(v) is false for
// a name such as logistic_regression or model.json: six or more letters,
// digits and _ . - / that begin with a letter are no YAML keyword (those
// have at most five characters), number, timestamp or indicator.
// IsNeedQuoted itself tries five time layouts and three number parsers.
func plainForSure(v string) bool {
	if len(v) < 6 || !('a' <= v[0] && v[0] <= 'z' || 'A' <= v[0] && v[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/') {
			return false
		}
	}
	return true
}
