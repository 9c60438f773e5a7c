package metrics

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"gonum.org/v1/gonum/mat"
)

const tol = 1e-12

// classCase mirrors one classification entry of testdata/sklearn_metrics.json.
type classCase struct {
	Name             string      `json:"name"`
	K                int         `json:"k"`
	YTrue            []float64   `json:"y_true"`
	YPred            []float64   `json:"y_pred"`
	Proba            [][]float64 `json:"proba"`
	Accuracy         float64     `json:"accuracy"`
	Confusion        [][]int     `json:"confusion_matrix"`
	Precision        []float64   `json:"precision"`
	Recall           []float64   `json:"recall"`
	F1               []float64   `json:"f1"`
	Support          []int       `json:"support"`
	Macro            []float64   `json:"macro"`
	Weighted         []float64   `json:"weighted"`
	LogLoss          float64     `json:"log_loss"`
	LossProba        [][]float64 `json:"loss_proba"`
	LossProbaLogLoss float64     `json:"loss_proba_log_loss"`
	ROCAUC           *float64    `json:"roc_auc"`
	ROCCurve         *struct {
		FPR        nanFloats `json:"fpr"`
		TPR        nanFloats `json:"tpr"`
		Thresholds nanFloats `json:"thresholds"`
	} `json:"roc_curve"`
	TargetNames []string `json:"target_names"`
	ReportJSON  string   `json:"report_json"`
}

type fixture struct {
	Classification []classCase `json:"classification"`
	Regression     []struct {
		Name  string    `json:"name"`
		YTrue []float64 `json:"y_true"`
		YPred []float64 `json:"y_pred"`
		R2    float64   `json:"r2"`
		MAE   float64   `json:"mae"`
		RMSE  float64   `json:"rmse"`
	} `json:"regression"`
}

// nanFloats decodes a JSON array whose nulls stand for NaN.
type nanFloats []float64

func (f *nanFloats) UnmarshalJSON(data []byte) error {
	var raw []*float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*f = make([]float64, len(raw))
	for i, p := range raw {
		(*f)[i] = math.NaN()
		if p != nil {
			(*f)[i] = *p
		}
	}
	return nil
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	data, err := os.ReadFile("testdata/sklearn_metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Classification) < 5 || len(f.Regression) < 3 {
		t.Fatal("fixture has too few cases")
	}
	return f
}

func dense(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

func close(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func checkFloat(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !close(got, want) {
		t.Fatalf("%s = %.17g, want %.17g (diff %.3g)", what, got, want, got-want)
	}
}

func checkFloats(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s has %d values, want %d\ngot  %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range want {
		if !close(got[i], want[i]) {
			t.Fatalf("%s[%d] = %.17g, want %.17g\ngot  %v\nwant %v", what, i, got[i], want[i], got, want)
		}
	}
}

func TestClassificationMatchesSklearn(t *testing.T) {
	for _, c := range loadFixture(t).Classification {
		t.Run(c.Name, func(t *testing.T) {
			checkFloat(t, "accuracy", Accuracy(c.YTrue, c.YPred), c.Accuracy)
			cm := ConfusionMatrix(c.YTrue, c.YPred, c.K)
			for i := range c.Confusion {
				for j := range c.Confusion[i] {
					if cm[i][j] != c.Confusion[i][j] {
						t.Fatalf("confusion matrix = %v, want %v", cm, c.Confusion)
					}
				}
			}
			prf := PrecisionRecallF1(c.YTrue, c.YPred, c.K)
			for i, s := range prf.PerClass {
				checkFloat(t, "precision", s.Precision, c.Precision[i])
				checkFloat(t, "recall", s.Recall, c.Recall[i])
				checkFloat(t, "f1", s.F1, c.F1[i])
				if s.Support != c.Support[i] {
					t.Fatalf("support[%d] = %d, want %d", i, s.Support, c.Support[i])
				}
			}
			checkFloats(t, "macro", []float64{prf.Macro.Precision, prf.Macro.Recall, prf.Macro.F1}, c.Macro)
			checkFloats(t, "weighted", []float64{prf.Weighted.Precision, prf.Weighted.Recall, prf.Weighted.F1}, c.Weighted)

			proba := dense(c.Proba)
			checkFloat(t, "log loss", LogLoss(c.YTrue, proba), c.LogLoss)
			if c.LossProba != nil {
				checkFloat(t, "log loss of unnormalised probabilities", LogLoss(c.YTrue, dense(c.LossProba)), c.LossProbaLogLoss)
			}

			auc, err := ROCAUC(c.YTrue, proba)
			if c.ROCAUC == nil {
				if err == nil || errs.Code(err) != errs.Invalid {
					t.Fatalf("ROC AUC = %v, %v; scikit-learn says it is undefined", auc, err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				checkFloat(t, "ROC AUC", auc, *c.ROCAUC)
			}

			if c.ROCCurve != nil {
				score := make([]float64, len(c.YTrue))
				for i := range score {
					score[i] = c.Proba[i][1]
				}
				fpr, tpr, thr := ROCCurve(c.YTrue, score)
				checkFloats(t, "fpr", fpr, c.ROCCurve.FPR)
				checkFloats(t, "tpr", tpr, c.ROCCurve.TPR)
				checkFloats(t, "thresholds", thr, c.ROCCurve.Thresholds)
			}

			names := c.TargetNames
			if names == nil {
				for i := 0; i < c.K; i++ {
					names = append(names, string(rune('0'+i)))
				}
			}
			got, err := json.Marshal(NewClassificationReport(c.YTrue, c.YPred, names))
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, got, []byte(c.ReportJSON))
		})
	}
}

// compareJSON checks that two JSON objects have the same keys in the same
// order and the same values within tol.
func compareJSON(t *testing.T, got, want []byte) {
	t.Helper()
	gk, wk := topKeys(t, got), topKeys(t, want)
	if strings.Join(gk, "|") != strings.Join(wk, "|") {
		t.Fatalf("report keys = %v, want %v", gk, wk)
	}
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	for key, wv := range w {
		switch wv := wv.(type) {
		case float64:
			gv, ok := g[key].(float64)
			if !ok || !close(gv, wv) {
				t.Fatalf("report[%q] = %v, want %v\ngot  %s\nwant %s", key, g[key], wv, got, want)
			}
		case map[string]any:
			gm, ok := g[key].(map[string]any)
			if !ok || len(gm) != len(wv) {
				t.Fatalf("report[%q] = %v, want %v", key, g[key], wv)
			}
			for field, x := range wv {
				gv, ok := gm[field].(float64)
				if !ok || !close(gv, x.(float64)) {
					t.Fatalf("report[%q][%q] = %v, want %v", key, field, gm[field], x)
				}
			}
		default:
			t.Fatalf("unexpected value %v in scikit-learn's report", wv)
		}
	}
}

func topKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestRegressionMatchesSklearn(t *testing.T) {
	for _, c := range loadFixture(t).Regression {
		t.Run(c.Name, func(t *testing.T) {
			checkFloat(t, "R2", R2(c.YTrue, c.YPred), c.R2)
			checkFloat(t, "MAE", MAE(c.YTrue, c.YPred), c.MAE)
			checkFloat(t, "RMSE", RMSE(c.YTrue, c.YPred), c.RMSE)
		})
	}
}

func TestPairwiseSumMatchesNumpyOrder(t *testing.T) {
	// Adding ones to 1e16 one at a time loses them all (each sum rounds back
	// to even); NumPy's pairwise lanes keep some. Wants are np.sum's results.
	for _, c := range []struct {
		ones int
		want float64
	}{{15, 1.0000000000000014e+16}, {300, 1.0000000000000292e+16}} {
		x := make([]float64, c.ones+1)
		x[0] = 1e16
		for i := 1; i < len(x); i++ {
			x[i] = 1
		}
		if got := pairwiseSum(x); got != c.want {
			t.Fatalf("pairwiseSum(1e16 and %d ones) = %.17g, want %.17g", c.ones, got, c.want)
		}
	}
}

func TestMetricErrors(t *testing.T) {
	if _, err := BinaryROCAUC([]float64{0, 2}, []float64{0.1, 0.9}); err == nil || errs.Code(err) != errs.Invalid {
		t.Fatalf("label 2 in binary ROC AUC: got %v", err)
	}
	bad := mat.NewDense(2, 3, []float64{0.5, 0.5, 0.5, 0.2, 0.3, 0.5})
	if _, err := ROCAUC([]float64{0, 1}, bad); err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Fatalf("rows not summing to 1: got %v", err)
	}
	p := mat.NewDense(2, 2, []float64{0.5, 0.5, 0.5, 0.5})
	if v := LogLoss([]float64{0, 5}, p); !math.IsNaN(v) {
		t.Fatalf("LogLoss with label 5 of 2 classes = %v, want NaN", v)
	}
	if v := R2([]float64{1}, []float64{1}); !math.IsNaN(v) {
		t.Fatalf("R2 of one sample = %v, want NaN", v)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Accuracy with different lengths did not panic")
		}
	}()
	Accuracy([]float64{1, 2}, []float64{1})
}

func BenchmarkIrisSizedReport(b *testing.B) {
	y := make([]float64, 38)
	p := make([]float64, 38)
	for i := range y {
		y[i] = float64(i % 3)
		p[i] = float64((i * 7) % 3)
	}
	names := []string{"setosa", "versicolor", "virginica"}
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(NewClassificationReport(y, p, names)); err != nil {
			b.Fatal(err)
		}
	}
}
