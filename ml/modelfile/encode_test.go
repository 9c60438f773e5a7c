package modelfile

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"

	"github.com/mlrun/mlrun/ml"
)

// yamlTrickyStrings are strings YAML reads as something else, or that go-yaml
// quotes for another reason, and plain ones.
var yamlTrickyStrings = []string{
	"", "model", "dev", "v1.2.3", "0.1.0-dev+abc", "yes", "No", "true", "FALSE", "null", "Null", "~",
	"on", "off", "y", "n", "1", "-1", "012", "1e3", "1E-5", "12e4567", "0x1F", "0o17", "0b101", ".inf",
	"-.Inf", ".nan", "1_000", "+12", "3.14", "12:30:45", "2025-03-04", "2025-03-04 04:06:07.123456",
	"2025-03-04T04:06:07Z", "-", "- a", "a -b", "a: b", "a:b", "a:", "http://x", "#x", "a #b", "a#b",
	"@x", "`x", "!tag", "&anchor", "*alias", "|", ">", "%x", "[a]", "{a}", "a]", "a,b", ", a", " lead",
	"trail ", "it's", "'q'", `"q"`, `back\slash`, "?x", "? x", "a ? b", "=", "<<", "model/sub dir",
	"123456789012345678901234567890ab", "00000000000000000000000000000000", "1234567890e1234567890123456789012",
	`[{"name": "x", "type": "double", "required": true}]`, "CPUExecutionProvider", "é", "tab\there", "new\nline",
	"logistic_regression", "model.json", "Infinity", "infinity.", "NaN.nan", "Nan.", "True_value", "e.5abc",
	"falsey", "nulls", "Yes_no", "FALSE.", "E12345", "inf.inf", "a-b-c-d", "a/b/c", "x-.inf", "Ox1234",
}

// plainForSure never claims a string go-yaml would quote.
func TestPlainForSureAgreesWithGoYAML(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "aeEfilnNosTtuxyY019._-/: #'"
	plain := 0
	for range 200000 {
		b := make([]byte, 1+rng.IntN(9))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		v := string(b)
		if plainForSure(v) {
			plain++
			if token.IsNeedQuoted(v) {
				t.Fatalf("plainForSure(%q), yet go-yaml quotes it", v)
			}
		}
	}
	for _, v := range yamlTrickyStrings {
		if plainForSure(v) && token.IsNeedQuoted(v) {
			t.Fatalf("plainForSure(%q), yet go-yaml quotes it", v)
		}
	}
	if plain < 1000 {
		t.Errorf("plainForSure held for %d strings only", plain)
	}
}

// randomMLmodel returns an MLmodel document with strings drawn from
// yamlTrickyStrings and the optional parts present or not.
func randomMLmodel(rng *rand.Rand) mlmodel {
	s := func() string { return yamlTrickyStrings[rng.IntN(len(yamlTrickyStrings))] }
	doc := mlmodel{
		ArtifactPath: s(),
		Flavors: flavors{
			MLrun:          &mlrunFlavor{Data: s(), Estimator: s(), FormatVersion: rng.IntN(3), Task: ml.Task(s())},
			PythonFunction: pyfuncFlavor{Data: s(), Env: s(), LoaderModule: s()},
		},
		MLrunVersion:   s(),
		ModelSizeBytes: rng.Int64N(1 << 40),
		ModelUUID:      s(),
		RunID:          s(),
		Signature:      sigYAML{Inputs: s(), Outputs: s()},
		UTCTimeCreated: s(),
	}
	if rng.IntN(2) == 0 {
		providers := make([]string, rng.IntN(3))
		for i := range providers {
			providers[i] = s()
		}
		doc.Flavors.ONNX = &onnxFlavor{Data: s(), ONNXVersion: s(), Providers: providers}
		if rng.IntN(3) == 0 {
			code := s()
			doc.Flavors.ONNX.Code = &code
		}
	}
	if rng.IntN(2) == 0 {
		doc.SavedInputExampleInfo = &exampleInfo{ArtifactPath: s(), PandasOrient: s(), ServingInputPath: s(), Type: s()}
	}
	if rng.IntN(3) == 0 {
		params := s()
		doc.Signature.Params = &params
	}
	return doc
}

// The hand-written MLmodel writer gives go-yaml's bytes for every document
// it accepts, and accepts the documents Save writes.
func TestMLmodelYAMLMatchesGoYAML(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	written := 0
	for i := range 5000 {
		doc := randomMLmodel(rng)
		if i == 0 { // a document as Save writes it, with ONNX
			doc = mlmodel{
				ArtifactPath: "model",
				Flavors: flavors{
					MLrun:          &mlrunFlavor{Data: DataFile, Estimator: "logistic_regression", FormatVersion: FormatVersion, Task: ml.Classification},
					ONNX:           &onnxFlavor{Data: ONNXFile, ONNXVersion: "1.23.0", Providers: ONNXProviders},
					PythonFunction: pyfuncFlavor{Data: ONNXFile, Env: "none", LoaderModule: "mlflow.onnx"},
				},
				MLrunVersion: "dev", ModelSizeBytes: 3561, ModelUUID: "33041ae8145255693c5354288c6c3983", RunID: "19db5907de1a6f53fbed6e63e77b453b",
				SavedInputExampleInfo: &exampleInfo{ArtifactPath: InputExampleFile, PandasOrient: "split", ServingInputPath: ServingExampleFile, Type: "dataframe"},
				Signature:             sigYAML{Inputs: mlflowJSON([]byte(`[{"name":"a","type":"double","required":true}]`)), Outputs: `[{"name": "target", "type": "string", "required": true}]`},
				UTCTimeCreated:        "2026-12-06 11:46:30.597846",
			}
		}
		want, err := yaml.MarshalWithOptions(doc, yaml.UseSingleQuote(true))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendMLmodel(nil, &doc)
		if i == 0 && !ok {
			t.Fatalf("the writer refuses a document as Save writes it:\n%s", want)
		}
		if !ok {
			continue
		}
		written++
		if string(got) != string(want) {
			t.Fatalf("document %d: the writer gives\n%s\ngo-yaml gives\n%s", i, got, want)
		}
	}
	if written < 1000 {
		t.Errorf("the writer accepted only %d of 5000 documents", written)
	}
}

// modelJSON.marshalIndent gives json.MarshalIndent's bytes for parts as
// json.Marshal makes them (HTML characters, non-ASCII, line separators,
// nesting), missing parts, and header strings it leaves to encoding/json.
func TestModelJSONMatchesMarshalIndent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	values := []any{
		"plain", "<b>&amp;</b>", "é\u2028\u2029", "tab\t\"quote\" back\\slash", 1.5e-300, -0.0, 42, true, nil,
		[]float64{1, 2.5, -3e20}, map[string]any{"z": []any{}, "a": map[string]any{"<": ">"}, "m": []string{"x", "y"}},
		struct {
			A []int `json:"a"`
			B string
		}{[]int{1}, "&"},
	}
	raw := func() json.RawMessage {
		if rng.IntN(8) == 0 {
			return nil
		}
		b, err := json.Marshal(values[rng.IntN(len(values))])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	headers := []string{Format, "mlrun.model", "", "a<b", "é", `q"`}
	for range 2000 {
		d := modelJSON{
			Format: headers[rng.IntN(len(headers))], FormatVersion: rng.IntN(3),
			Estimator: raw(), Task: raw(), Hyperparameters: raw(), Target: raw(), Preprocess: raw(), State: raw(),
			SHA256: headers[rng.IntN(len(headers))],
		}
		want, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.marshalIndent()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("marshalIndent gives\n%s\njson.MarshalIndent gives\n%s", got, want)
		}
	}
}
