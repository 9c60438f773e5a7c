package steps

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/decomp"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/report"
)

// writeProjection writes the embeddings view of the evaluated data:
// projection.csv (every row on the first two principal components of the
// features the model sees, with its true and predicted value) and
// projection.png (those points coloured by true class, misclassified rows
// marked; predicted against true values for a regressor). A data set of
// fewer than two rows has no projection.
func writeProjection(log Logger, plots *report.Renderer, step string, model *modelfile.Model, ds *dataset.Dataset, pred *modelfile.Prediction, prefix string) error {
	if ds.Rows < 2 {
		return nil
	}
	X, err := model.Preprocess.Transform(ds.Features)
	if err != nil {
		return err
	}
	pca, Z, err := decomp.FitTransform(X, 2)
	if err != nil {
		return fmt.Errorf("step %s: projection: %w", step, err)
	}
	n, k := Z.Dims()
	p := &report.Projection{PC1: make([]float64, n), PC2: make([]float64, n), Ratio1: pca.ExplainedVarianceRatio[0], Target: model.Target.Name}
	for i := range n {
		p.PC1[i] = Z.At(i, 0)
		if k > 1 {
			p.PC2[i] = Z.At(i, 1)
		}
	}
	if k > 1 {
		p.Ratio2 = pca.ExplainedVarianceRatio[1]
	}
	title := "Test set on its principal components (" + model.EstimatorName + ")"
	if model.Task == ml.Regression {
		title = "Predicted vs true (" + model.EstimatorName + ")"
		p.TrueValue = ds.Target.Y
		for _, v := range pred.Labels {
			f, _ := v.(float64)
			p.PredictedValue = append(p.PredictedValue, f)
		}
	} else {
		p.Classes = evalLabels(model, ds) // the model's classes and any it never saw
		for i, y := range ds.Target.Y {
			p.True = append(p.True, ds.Target.Classes[int(y)])
			p.Predicted = append(p.Predicted, fmt.Sprint(pred.Labels[i]))
		}
	}
	var csv bytes.Buffer
	if err := report.WriteProjectionCSV(&csv, p); err != nil {
		return err
	}
	if err := log.WriteArtifact(context.Background(), prefix+"projection.csv", csv.Bytes()); err != nil {
		return err
	}
	path, err := log.ArtifactPath(prefix + "projection.png")
	if err != nil {
		return err
	}
	return plots.ProjectionPNG(path, p, title)
}
