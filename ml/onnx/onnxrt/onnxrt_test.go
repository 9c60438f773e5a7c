package onnxrt

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/testenv"
	"github.com/mlrun/mlrun/ml/dataset"
)

func TestLibraryLookupOrder(t *testing.T) {
	t.Setenv(EnvLibrary, "/from/env.so")
	if got := Library("/from/flag.so"); got != "/from/flag.so" {
		t.Errorf("flag: %q", got)
	}
	if got := Library(""); got != "/from/env.so" {
		t.Errorf("env: %q", got)
	}
}

func TestOpenMissingLibrarySaysHowToInstall(t *testing.T) {
	for _, lib := range []string{"", filepath.Join(t.TempDir(), "libonnxruntime.so")} {
		_, err := Open(lib)
		if errs.Code(err) != errs.NotFound || !strings.Contains(err.Error(), ".ci/install-onnx.sh") {
			t.Errorf("Open(%q): %v", lib, err)
		}
	}
}

// A model that is not ONNX and frames that do not fit a model are Invalid
// errors, not crashes.
func TestSessionRejectsBadModelsAndFrames(t *testing.T) {
	lib := Library("")
	if lib == "" {
		testenv.Missing(t, "no ONNX Runtime library (run .ci/install-onnx.sh or set %s)", EnvLibrary)
	}
	rt, err := Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.NewSession([]byte("not a model"), 1); errs.Code(err) != errs.Invalid {
		t.Errorf("garbage model: %v", err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "identity.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.Inputs) != 1 || s.Inputs[0].Name != "x" || s.Inputs[0].Type != "double" {
		t.Fatalf("inputs %+v", s.Inputs)
	}
	good := &dataset.Frame{NRows: 2, Columns: []dataset.Column{{Name: "x", Kind: dataset.Numeric, Num: []float64{1.5, -2}}}}
	out, err := s.Predict(good)
	if err != nil {
		t.Fatal(err)
	}
	if y := out["y"]; y == nil || len(y.Numbers) != 2 || y.Numbers[0] != 1.5 || y.Numbers[1] != -2 {
		t.Errorf("identity gave %+v", out["y"])
	}
	for name, f := range map[string]*dataset.Frame{
		"missing column": {NRows: 1, Columns: []dataset.Column{{Name: "z", Kind: dataset.Numeric, Num: []float64{1}}}},
		"text column":    {NRows: 1, Columns: []dataset.Column{{Name: "x", Kind: dataset.Categorical, Str: []string{"a"}}}},
		"NaN":            {NRows: 1, Columns: []dataset.Column{{Name: "x", Kind: dataset.Numeric, Num: []float64{math.NaN()}}}},
		"no rows":        {},
	} {
		if _, err := s.Predict(f); errs.Code(err) != errs.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
