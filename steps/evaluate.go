package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/metrics"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/report"
	"github.com/mlrun/mlrun/tracking"
)

// Evaluate is the step kind that scores a model on a data set, logs the
// scores as metrics, and writes the artifacts a person looks at: the
// confusion matrix, the ROC curve (binary tasks) and the classification
// report as JSON and HTML.
type Evaluate struct {
	// Plots draws the plots; nil draws with fresh buffers.
	Plots *report.Renderer
}

// Name implements Kind.
func (Evaluate) Name() string { return "evaluate" }

// Doc implements Kind.
func (Evaluate) Doc() string {
	return "score a model on a data set: metrics, confusion_matrix.png, roc_curve.png, classification_report.json/.html"
}

// Inputs implements Kind.
func (Evaluate) Inputs() []Input {
	return []Input{
		{Name: "model", Type: Model, Required: true, Doc: "the model (an output of train)"},
		{Name: "data", Type: Dataset, Required: true, Doc: "the data to score on (usually split's test output)"},
		{Name: "prefix", Type: String, Default: "", Doc: "prefix for the metric names, e.g. val_"},
		{Name: "plots", Type: Bool, Default: true, Doc: "write the PNG and HTML artifacts"},
	}
}

// Outputs implements Kind.
func (Evaluate) Outputs() []Output {
	return []Output{{Name: "predictions", Type: List, Doc: "the predicted labels or values"}}
}

// Check implements Kind.
func (Evaluate) Check(in Values) error { return nil }

// Run implements Kind.
func (e Evaluate) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	model, ok := in["model"].(*modelfile.Model)
	if !ok {
		return nil, errs.Errorf(errs.Invalid, "step %s: input \"model\" must be a model (an output of train), not %T", env.Step, in["model"])
	}
	ds, ok := in["data"].(*dataset.Dataset)
	if !ok {
		return nil, errs.Errorf(errs.Invalid, "step %s: input \"data\" must be a data set (an output of load or split), not %T", env.Step, in["data"])
	}
	if model.Task != ds.Target.Task {
		return nil, errs.Errorf(errs.Invalid, "step %s: the model does %s but the data's target %q is loaded for %s; load it with task: %s", env.Step, model.Task, ds.Target.Name, ds.Target.Task, model.Task)
	}
	prefix, _ := in["prefix"].(string)
	plots, _ := in["plots"].(bool)
	pred, err := model.Predict(ds.Features)
	if err != nil {
		return nil, err
	}
	if plots {
		// The projection (a PCA, its CSV and its plot) is drawn in the
		// background with the other plots; first, as it takes longest.
		log, step := env.Log, env.Step
		if err := env.Background(prefix+"projection.png", func() error { return writeProjection(log, e.Plots, step, model, ds, pred, prefix) }); err != nil {
			return nil, err
		}
	}
	scores := map[string]float64{}
	if model.Task == ml.Regression {
		y := make([]float64, len(pred.Labels))
		for i, v := range pred.Labels {
			y[i], _ = v.(float64)
		}
		scores["r2"] = metrics.R2(ds.Target.Y, y)
		scores["mae"] = metrics.MAE(ds.Target.Y, y)
		scores["rmse"] = metrics.RMSE(ds.Target.Y, y)
	} else {
		skipped, err := classificationScores(env, e.Plots, model, ds, pred, scores, prefix, plots)
		if err != nil {
			return nil, err
		}
		// Why a metric is missing, e.g. log_loss of a model without probabilities.
		tags := map[string]string{}
		for k, why := range skipped {
			tags["mlrun.metric_skipped."+prefix+k] = why
		}
		if len(tags) > 0 {
			if err := env.Log.SetTags(ctx, tags); err != nil {
				return nil, err
			}
		}
	}
	now := time.Now().UnixMilli()
	points := make([]tracking.Metric, 0, len(scores))
	named := map[string]float64{}
	for _, k := range slices.Sorted(maps.Keys(scores)) {
		named[prefix+k] = scores[k]
		points = append(points, tracking.Metric{Key: prefix + k, Value: scores[k], Timestamp: now})
	}
	if err := env.Log.LogMetrics(ctx, points); err != nil {
		return nil, err
	}
	return &Result{Outputs: map[string]any{"predictions": pred.Labels}, Metrics: named}, nil
}

// evalLabels returns the class labels the metrics are computed over: the
// model's classes, then the classes of the data's rows that the model never
// saw (in the data's class order), as scikit-learn's labels= argument.
func evalLabels(model *modelfile.Model, ds *dataset.Dataset) []string {
	labels := slices.Clone(model.Target.Classes)
	present := make([]bool, len(ds.Target.Classes))
	for _, y := range ds.Target.Y {
		present[int(y)] = true
	}
	for c, name := range ds.Target.Classes {
		if present[c] && !slices.Contains(labels, name) {
			labels = append(labels, name)
		}
	}
	return labels
}

// classificationScores computes the classification metrics over the union
// of the model's classes and the data's, writes the report artifacts, and
// returns why a metric it could not compute is missing.
func classificationScores(env *Env, renderer *report.Renderer, model *modelfile.Model, ds *dataset.Dataset, pred *modelfile.Prediction, scores map[string]float64, prefix string, plots bool) (map[string]string, error) {
	classes := evalLabels(model, ds)
	index := make(map[string]int, len(classes))
	for i, c := range classes {
		index[c] = i
	}
	k := len(classes)
	yTrue := make([]float64, ds.Rows)
	for i, y := range ds.Target.Y {
		yTrue[i] = float64(index[ds.Target.Classes[int(y)]])
	}
	yPred := make([]float64, len(pred.Labels))
	for i, l := range pred.Labels {
		yPred[i] = float64(index[l.(string)])
	}
	scores["accuracy"] = metrics.Accuracy(yTrue, yPred)
	prf := metrics.PrecisionRecallF1(yTrue, yPred, k)
	scores["precision_macro"], scores["recall_macro"], scores["f1_macro"] = prf.Macro.Precision, prf.Macro.Recall, prf.Macro.F1
	scores["precision_weighted"], scores["recall_weighted"], scores["f1_weighted"] = prf.Weighted.Precision, prf.Weighted.Recall, prf.Weighted.F1
	skipped := map[string]string{}
	var proba *mat.Dense
	if pred.Proba != nil {
		// The model's columns come first; a class it never saw has
		// probability 0, as scikit-learn's metrics do with labels=.
		proba = mat.NewDense(len(pred.Proba), k, nil)
		for i, row := range pred.Proba {
			copy(proba.RawRowView(i), row)
		}
		scores["log_loss"] = metrics.LogLoss(yTrue, proba)
		if absent := absentClass(yTrue, classes); absent != "" {
			skipped["roc_auc"] = fmt.Sprintf("class %q does not occur in the data, so its ROC AUC is undefined", absent)
		} else if auc, err := metrics.ROCAUC(yTrue, proba); err != nil {
			skipped["roc_auc"] = errs.Message(err)
		} else if !math.IsNaN(auc) {
			scores["roc_auc"] = auc
		}
	} else {
		why := "the " + model.EstimatorName + " model gives no class probabilities"
		if p, ok := model.Hyperparameters["probability"].(bool); ok && !p {
			why += " (it was trained with probability: false)"
		}
		skipped["log_loss"], skipped["roc_auc"] = why, why
	}
	rep := metrics.NewClassificationReport(yTrue, yPred, classes)
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := env.Log.WriteArtifact(context.Background(), prefix+"classification_report.json", data); err != nil {
		return nil, err
	}
	if !plots {
		return skipped, nil
	}
	cm := metrics.ConfusionMatrix(yTrue, yPred, k)
	path, err := env.Log.ArtifactPath(prefix + "confusion_matrix.png")
	if err != nil {
		return nil, err
	}
	title := "Confusion matrix (" + model.EstimatorName + ")"
	if err := env.Background(prefix+"confusion_matrix.png", func() error { return renderer.ConfusionMatrixPNG(path, cm, classes, title) }); err != nil {
		return nil, err
	}
	html := report.ClassReport{Accuracy: rep.Accuracy, Confusion: cm,
		Macro:    report.Row{Precision: rep.MacroAvg.Precision, Recall: rep.MacroAvg.Recall, F1: rep.MacroAvg.F1, Support: rep.MacroAvg.Support},
		Weighted: report.Row{Precision: rep.WeightedAvg.Precision, Recall: rep.WeightedAvg.Recall, F1: rep.WeightedAvg.F1, Support: rep.WeightedAvg.Support}}
	for i, c := range classes {
		s := rep.PerClass[i]
		html.Classes = append(html.Classes, report.ClassRow{Name: c, Row: report.Row{Precision: s.Precision, Recall: s.Recall, F1: s.F1, Support: s.Support}})
	}
	// The HTML page is written in the background too: html/template sets
	// itself up on its first use in a process, which costs about a
	// millisecond. env.Log is the next step's once this one returns.
	lg, reportTitle := env.Log, "Classification report: "+model.EstimatorName
	if err := env.Background(prefix+"classification_report.html", func() error {
		var buf bytes.Buffer
		if err := report.ClassificationReportHTML(&buf, html, reportTitle); err != nil {
			return err
		}
		return lg.WriteArtifact(context.Background(), prefix+"classification_report.html", buf.Bytes())
	}); err != nil {
		return nil, err
	}
	if k == 2 && proba != nil {
		score := mat.Col(nil, 1, proba)
		fpr, tpr, _ := metrics.ROCCurve(yTrue, score)
		path, err := env.Log.ArtifactPath(prefix + "roc_curve.png")
		if err != nil {
			return nil, err
		}
		auc, title := scores["roc_auc"], "ROC curve ("+model.EstimatorName+")"
		if err := env.Background(prefix+"roc_curve.png", func() error { return renderer.ROCCurvePNG(path, fpr, tpr, auc, title) }); err != nil {
			return nil, err
		}
	}
	return skipped, nil
}

// absentClass returns the first of classes that no label of yTrue (class
// indices) names, or "".
func absentClass(yTrue []float64, classes []string) string {
	seen := make([]bool, len(classes))
	for _, y := range yTrue {
		seen[int(y)] = true
	}
	if i := slices.Index(seen, false); i >= 0 {
		return classes[i]
	}
	return ""
}

// CacheFiles implements Cacheable.
func (Evaluate) CacheFiles(string, Values) []string { return nil }
