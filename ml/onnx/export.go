package onnx

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/linear"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/naivebayes"
	"github.com/mlrun/mlrun/ml/neighbors"
	"github.com/mlrun/mlrun/ml/preprocess"
	"github.com/mlrun/mlrun/ml/svm"
	"github.com/mlrun/mlrun/ml/tree"
)

// Output names of exported models.
const (
	OutputLabel         = "label"
	OutputProbabilities = "probabilities"
	OutputVariable      = "variable"
)

// Metadata keys of exported models.
const (
	MetaEstimator = "mlrun.estimator"
	MetaTask      = "mlrun.task"
	MetaTarget    = "mlrun.target"
	MetaClasses   = "mlrun.classes"
)

// SpecVersion is the ONNX release whose onnx-ml.proto the files are
// written with (MLmodel's onnx_version).
const SpecVersion = "1.23.0"

// batch is the name of the symbolic batch dimension.
const batch = "N"

// Export returns the ONNX model of m, preprocessing included. An estimator
// or setting that ONNX cannot express (SVC with break_ties, a class absent
// from the training data) is an Invalid error that says why.
func Export(m *modelfile.Model) ([]byte, error) {
	mp, err := exportModel(m)
	if err != nil {
		return nil, err
	}
	return marshalModel(mp), nil
}

// exportModel returns the ONNX model of m (see Export) unserialised.
func exportModel(m *modelfile.Model) (*modelProto, error) {
	if m == nil || m.Estimator == nil || m.Preprocess == nil {
		return nil, fmt.Errorf("export onnx: the model is incomplete")
	}
	g := newGraph()
	x64 := g.preprocess(m.Preprocess)
	nFeatures := int64(m.Preprocess.NumOutputs())
	e := &exporter{g: g, x64: x64, p: nFeatures, classes: m.Target.Classes}
	var err error
	switch est := m.Estimator.(type) {
	case *linear.LogisticRegression:
		err = e.logistic(est)
	case *linear.LinearRegression:
		err = e.linearRegressor(est.Coef, est.Intercept, est.NFeatures)
	case *linear.Ridge:
		err = e.linearRegressor(est.Coef, est.Intercept, est.NFeatures)
	case *svm.SVC:
		err = e.svc(est)
	case *tree.DecisionTree:
		err = e.trees(m.Task, []tree.Tree{est.Tree}, est.NFeatures)
	case *tree.RandomForest:
		err = e.trees(m.Task, est.Trees, est.NFeatures)
	case *neighbors.KNeighborsClassifier:
		err = e.knnClassifier(est)
	case *neighbors.KNeighborsRegressor:
		err = e.knnRegressor(est)
	case *naivebayes.GaussianNB:
		err = e.gaussianNB(est)
	default:
		return nil, errs.Errorf(errs.Invalid, "export onnx: estimator %s (%T) has no ONNX export", m.EstimatorName, m.Estimator)
	}
	if err != nil {
		return nil, fmt.Errorf("export onnx: %s: %w", m.EstimatorName, err)
	}
	classes, _ := json.Marshal(m.Target.Classes)
	meta := map[string]string{MetaEstimator: m.EstimatorName, MetaTask: string(m.Task), MetaTarget: m.Target.Name}
	if m.Task == ml.Classification {
		meta[MetaClasses] = string(classes)
	}
	return g.model(m.EstimatorName, fmt.Sprintf("mlrun %s %s for %q", m.EstimatorName, m.Task, m.Target.Name), meta), nil
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// preprocess adds one input per raw column and the fitted pipeline, and
// returns the name of the double feature matrix [N, p].
func (g *graph) preprocess(p *preprocess.Pipeline) string {
	cols := p.Columns
	single := len(cols) == 1
	axis1 := g.constInt64("axis1", []int64{1}, []int64{1})
	var numeric, means, scales []float64
	var numericCols, blocks []string
	for _, c := range cols {
		g.reserve(c.Name)
		et := typeDouble
		if c.Kind == dataset.Categorical {
			et = typeString
		}
		shape := dims(batch)
		if single {
			shape = dims(batch, 1)
		}
		g.inputs = append(g.inputs, valueInfo(c.Name, et, shape))
	}
	for _, c := range cols {
		if c.Kind != dataset.Numeric {
			continue
		}
		col := c.Name
		if !single {
			col = g.op("Unsqueeze", []string{c.Name, axis1})
		}
		numericCols = append(numericCols, col)
		numeric = append(numeric, 0)
		means = append(means, c.Mean)
		scales = append(scales, c.Scale)
	}
	if len(numericCols) > 0 {
		x := numericCols[0]
		if len(numericCols) > 1 {
			x = g.op("Concat", numericCols, intAttr("axis", 1))
		}
		if p.Scaled {
			n := int64(len(means))
			x = g.op("Sub", []string{x, g.constDouble("mean", []int64{n}, means)})
			x = g.op("Div", []string{x, g.constDouble("scale", []int64{n}, scales)})
		}
		blocks = append(blocks, x)
	}
	for _, c := range cols {
		if c.Kind != dataset.Categorical {
			continue
		}
		in := c.Name
		if single {
			in = g.op("Squeeze", []string{c.Name, axis1})
		}
		zeros := int64(0)
		if p.HandleUnknown == preprocess.UnknownIgnore {
			zeros = 1
		}
		oh := g.ml("OneHotEncoder", []string{in}, strs("cats_strings", c.Categories), intAttr("zeros", zeros))
		blocks = append(blocks, g.cast(oh, typeDouble))
	}
	if len(blocks) == 1 {
		return blocks[0]
	}
	return g.op("Concat", blocks, intAttr("axis", 1))
}

// exporter adds an estimator on top of the preprocessed features.
type exporter struct {
	g       *graph
	x64     string // double features [N, p]
	x32     string // float features [N, p], made on first use
	p       int64
	classes []string
}

// float returns the float32 features.
func (e *exporter) float() string {
	if e.x32 == "" {
		e.x32 = e.g.cast(e.x64, typeFloat)
	}
	return e.x32
}

// checkFeatures says whether the estimator's n features are those the
// preprocessing makes.
func (e *exporter) checkFeatures(n int) error {
	if int64(n) != e.p {
		return fmt.Errorf("the estimator takes %d features but the preprocessing makes %d", n, e.p)
	}
	return nil
}

// classifierOutputs declares the label and (when probs is not empty) the
// probabilities outputs.
func (e *exporter) classifierOutputs(withProba bool) {
	k := int64(len(e.classes))
	e.g.outputs = append(e.g.outputs, valueInfo(OutputLabel, typeString, dims(batch)))
	if withProba {
		e.g.outputs = append(e.g.outputs, valueInfo(OutputProbabilities, typeFloat, dims(batch, k)))
	}
}

// regressorOutput declares the variable output.
func (e *exporter) regressorOutput() {
	e.g.outputs = append(e.g.outputs, valueInfo(OutputVariable, typeFloat, dims(batch, 1)))
}

// f32s returns v converted to float32.
func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// logistic exports LogisticRegression as a LinearClassifier. A single row
// of coefficients (two classes) becomes the rows -w and w, so that the
// scores are -d and d and both LOGISTIC and SOFTMAX give scikit-learn's
// probabilities; one-vs-rest with more classes normalises the sigmoids.
func (e *exporter) logistic(m *linear.LogisticRegression) error {
	if err := e.checkFeatures(m.NFeatures); err != nil {
		return err
	}
	if m.NClasses != len(e.classes) {
		return errs.Errorf(errs.Invalid, "the model has %d class names but the estimator %d classes", len(e.classes), m.NClasses)
	}
	var coef, icpt []float64
	if len(m.Coef) == 1 {
		for _, v := range m.Coef[0] {
			coef = append(coef, -v)
		}
		coef = append(coef, m.Coef[0]...)
		icpt = []float64{-m.Intercept[0], m.Intercept[0]}
	} else {
		for _, row := range m.Coef {
			coef = append(coef, row...)
		}
		icpt = m.Intercept
	}
	post := "LOGISTIC"
	if m.Multinomial {
		post = "SOFTMAX"
	}
	ovr := !m.Multinomial && len(m.Coef) > 1
	probs := []string{OutputProbabilities}
	if ovr {
		probs = []string{e.g.fresh("sigmoids")}
	}
	e.g.node(domainML, "LinearClassifier", []string{e.float()}, 2, []string{OutputLabel, probs[0]},
		floats("coefficients", f32s(coef)), floats("intercepts", f32s(icpt)),
		strs("classlabels_strings", e.classes), intAttr("multi_class", 0), str("post_transform", post))
	if ovr {
		e.g.node(domainML, "Normalizer", probs, 1, []string{OutputProbabilities}, str("norm", "L1"))
	}
	e.classifierOutputs(true)
	return nil
}

// linearRegressor exports X·coef + intercept.
func (e *exporter) linearRegressor(coef []float64, intercept float64, n int) error {
	if err := e.checkFeatures(n); err != nil {
		return err
	}
	e.g.node(domainML, "LinearRegressor", []string{e.float()}, 1, []string{OutputVariable},
		floats("coefficients", f32s(coef)), floats("intercepts", []float32{float32(intercept)}),
		intAttr("targets", 1), str("post_transform", "NONE"))
	e.regressorOutput()
	return nil
}

// svc exports SVC as an SVMClassifier. ONNX Runtime computes libsvm's
// score coef·K + rho, positive for the first class of a pair, where mlrun
// (as libsvm) stores sum - Rho: rho is -Rho.
func (e *exporter) svc(m *svm.SVC) error {
	if err := e.checkFeatures(m.NFeatures); err != nil {
		return err
	}
	k := len(m.Labels)
	if k < 2 {
		return errs.Errorf(errs.Invalid, "the model is not fitted")
	}
	if k != len(e.classes) {
		return errs.Errorf(errs.Invalid, "the training data held %d of the %d classes; ONNX's SVMClassifier can only output the classes it was trained on", k, len(e.classes))
	}
	if m.BreakTies && k > 2 {
		return errs.Errorf(errs.Invalid, "break_ties=true predicts by the one-vs-rest decision function, which ONNX's SVMClassifier cannot express")
	}
	kernel := map[string]string{"linear": "LINEAR", "poly": "POLY", "rbf": "RBF", "sigmoid": "SIGMOID"}[m.Kernel]
	if kernel == "" {
		return errs.Errorf(errs.Invalid, "kernel %q has no ONNX equivalent", m.Kernel)
	}
	labels := make([]string, k)
	for i, c := range m.Labels {
		if c < 0 || c >= len(e.classes) || c != i {
			return errs.Errorf(errs.Invalid, "class index %d does not fit the model's %d classes", c, len(e.classes))
		}
		labels[i] = e.classes[c]
	}
	var sv, coef []float64
	for _, v := range m.SupportVectors {
		sv = append(sv, v...)
	}
	for _, row := range m.DualCoef {
		coef = append(coef, row...)
	}
	rho := make([]float64, len(m.Rho))
	for i, r := range m.Rho {
		rho[i] = -r
	}
	nsv := make([]int64, len(m.NSupport))
	for i, n := range m.NSupport {
		nsv[i] = int64(n)
	}
	withProba := m.Probability && len(m.ProbA) > 0
	attrs := []attributeProto{
		str("kernel_type", kernel),
		floats("kernel_params", []float32{float32(m.GammaValue), float32(m.Coef0), float32(m.Degree)}),
		floats("support_vectors", f32s(sv)), ints("vectors_per_class", nsv),
		floats("coefficients", f32s(coef)), floats("rho", f32s(rho)),
		strs("classlabels_strings", labels), str("post_transform", "NONE"),
	}
	second := e.g.fresh("scores")
	if withProba {
		attrs = append(attrs, floats("prob_a", f32s(m.ProbA)), floats("prob_b", f32s(m.ProbB)))
		second = OutputProbabilities
	}
	e.g.node(domainML, "SVMClassifier", []string{e.float()}, 2, []string{OutputLabel, second}, attrs...)
	e.classifierOutputs(withProba)
	return nil
}

// threshold32 returns the largest float32 not above t: a float32 feature x
// satisfies x <= t exactly when x <= threshold32(t), so ONNX Runtime's
// float32 comparison takes the branch Go's float64 comparison takes.
func threshold32(t float64) float32 {
	f := float32(t)
	if float64(f) > t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// trees exports a decision tree or a forest as a TreeEnsemble. Node ids
// are the Go pre-order indices; leaf values of a forest's classifier are
// divided by the number of trees and summed.
func (e *exporter) trees(task ml.Task, trees []tree.Tree, n int) error {
	if err := e.checkFeatures(n); err != nil {
		return err
	}
	if len(trees) == 0 {
		return errs.Errorf(errs.Invalid, "the model is not fitted")
	}
	classify := task == ml.Classification
	width := trees[0].Width
	if classify && width != len(e.classes) {
		return errs.Errorf(errs.Invalid, "the trees give %d class probabilities but the model has %d classes", width, len(e.classes))
	}
	var (
		treeIDs, nodeIDs, featureIDs, trueIDs, falseIDs []int64
		values                                          []float32
		modes                                           []string
		wTree, wNode, wID                               []int64
		weights                                         []float32
	)
	nt := float64(len(trees))
	for t, tr := range trees {
		if tr.Width != width || len(tr.Feature) == 0 {
			return errs.Errorf(errs.Invalid, "tree %d is malformed", t)
		}
		for i, f := range tr.Feature {
			treeIDs = append(treeIDs, int64(t))
			nodeIDs = append(nodeIDs, int64(i))
			if f >= 0 {
				featureIDs = append(featureIDs, int64(f))
				values = append(values, threshold32(tr.Threshold[i]))
				modes = append(modes, "BRANCH_LEQ")
				trueIDs = append(trueIDs, int64(i+1))
				falseIDs = append(falseIDs, int64(tr.Right[i]))
				continue
			}
			featureIDs = append(featureIDs, 0)
			values = append(values, 0)
			modes = append(modes, "LEAF")
			trueIDs = append(trueIDs, 0)
			falseIDs = append(falseIDs, 0)
			leaf := int(-1 - f)
			if (leaf+1)*width > len(tr.Value) {
				return errs.Errorf(errs.Invalid, "tree %d has a leaf without values", t)
			}
			for c, v := range tr.Value[leaf*width : (leaf+1)*width] {
				wTree = append(wTree, int64(t))
				wNode = append(wNode, int64(i))
				wID = append(wID, int64(c))
				if classify {
					v /= nt
				}
				weights = append(weights, float32(v))
			}
		}
	}
	common := []attributeProto{
		ints("nodes_treeids", treeIDs), ints("nodes_nodeids", nodeIDs), ints("nodes_featureids", featureIDs),
		floats("nodes_values", values), strs("nodes_modes", modes),
		ints("nodes_truenodeids", trueIDs), ints("nodes_falsenodeids", falseIDs),
		str("post_transform", "NONE"),
	}
	if classify {
		// ONNX Runtime labels two-class ensembles by its own binary rule
		// rather than by the larger probability: the label is the argmax of
		// the probabilities here, as in Go (first class on ties).
		out := e.g.node(domainML, "TreeEnsembleClassifier", []string{e.float()}, 2, []string{e.g.fresh("ort_label"), e.g.fresh("proba")},
			append(common, ints("class_treeids", wTree), ints("class_nodeids", wNode), ints("class_ids", wID),
				floats("class_weights", weights), strs("classlabels_strings", e.classes))...)
		e.labelAndProba(out[1], out[1])
		return nil
	}
	e.g.node(domainML, "TreeEnsembleRegressor", []string{e.float()}, 1, []string{OutputVariable},
		append(common, ints("target_treeids", wTree), ints("target_nodeids", wNode), ints("target_ids", wID),
			floats("target_weights", weights), intAttr("n_targets", 1), str("aggregate_function", "AVERAGE"))...)
	e.regressorOutput()
	return nil
}

// neighbours adds the k nearest training rows of every input row: their
// indices [N, k] (int64) and their weights [N, k] (double), ties broken by
// the lower training index as in Go (TopK's rule).
func (e *exporter) neighbours(s neighbors.Settings, t neighbors.TrainingSet) (idx, w string, err error) {
	if err := e.checkFeatures(t.NFeatures); err != nil {
		return "", "", err
	}
	m := int64(len(t.FitX)) / int64(max(t.NFeatures, 1))
	if m == 0 || int64(s.NNeighbors) > m {
		return "", "", errs.Errorf(errs.Invalid, "the model is not fitted")
	}
	g := e.g
	train := g.constDouble("fit_X", []int64{m, e.p}, t.FitX)
	x := g.op("Unsqueeze", []string{e.x64, g.constInt64("axis1", []int64{1}, []int64{1})}) // [N,1,p]
	diff := g.op("Sub", []string{x, train})                                                // [N,m,p]
	axis2 := g.constInt64("axis2", []int64{1}, []int64{2})
	var d string // [N,m]: squared distance for p=2, else the distance
	switch s.P {
	case 2:
		d = g.op("ReduceSum", []string{g.op("Mul", []string{diff, diff}), axis2}, intAttr("keepdims", 0))
	case 1:
		d = g.op("ReduceSum", []string{g.op("Abs", []string{diff}), axis2}, intAttr("keepdims", 0))
	default:
		pw := g.op("Pow", []string{g.op("Abs", []string{diff}), g.constDouble("p", nil, []float64{s.P})})
		d = g.op("Pow", []string{g.op("ReduceSum", []string{pw, axis2}, intAttr("keepdims", 0)), g.constDouble("inv_p", nil, []float64{1 / s.P})})
	}
	out := g.node("", "TopK", []string{d, g.constInt64("k", []int64{1}, []int64{int64(s.NNeighbors)})}, 2, nil,
		intAttr("axis", 1), intAttr("largest", 0), intAttr("sorted", 1))
	dist, idx := out[0], out[1]
	if s.Weights == "uniform" {
		return idx, "", nil
	}
	if s.P == 2 {
		dist = g.op("Sqrt", []string{dist})
	}
	zero := g.constDouble("zero", nil, []float64{0})
	isZero := g.op("Equal", []string{dist, zero})
	isZeroD := g.cast(isZero, typeDouble)
	anyZero := g.op("ReduceMax", []string{isZeroD}, ints("axes", []int64{1}), intAttr("keepdims", 1))
	inv := g.op("Div", []string{g.constDouble("one", nil, []float64{1}), dist})
	w = g.op("Where", []string{g.op("Greater", []string{anyZero, zero}), isZeroD, inv})
	return idx, w, nil
}

// knnClassifier exports the (weighted) class shares of the neighbours.
func (e *exporter) knnClassifier(m *neighbors.KNeighborsClassifier) error {
	if m.NClasses != len(e.classes) {
		return errs.Errorf(errs.Invalid, "the model has %d class names but the estimator %d classes", len(e.classes), m.NClasses)
	}
	idx, w, err := e.neighbours(m.Settings, m.TrainingSet)
	if err != nil {
		return err
	}
	g := e.g
	k := int64(m.NClasses)
	onehot := make([]float64, int64(len(m.Y))*k)
	for r, c := range m.Y {
		onehot[int64(r)*k+int64(c)] = 1
	}
	y := g.constDouble("fit_y", []int64{int64(len(m.Y)), k}, onehot)
	votes := g.op("Gather", []string{y, idx}, intAttr("axis", 0)) // [N,kn,C]
	if w != "" {
		votes = g.op("Mul", []string{votes, g.op("Unsqueeze", []string{w, g.constInt64("axis2", []int64{1}, []int64{2})})})
	}
	sum := g.op("ReduceSum", []string{votes, g.constInt64("axis1", []int64{1}, []int64{1})}, intAttr("keepdims", 0)) // [N,C]
	total := g.op("ReduceSum", []string{sum, g.constInt64("axis1", []int64{1}, []int64{1})}, intAttr("keepdims", 1))
	proba := g.op("Div", []string{sum, total})
	e.labelAndProba(sum, proba)
	return nil
}

// labelAndProba adds the outputs of a classifier built from standard
// operators: the class name of the first largest score and the double
// probabilities cast to float.
func (e *exporter) labelAndProba(scores, proba string) {
	g := e.g
	idx := g.op("ArgMax", []string{scores}, intAttr("axis", 1), intAttr("keepdims", 0))
	keys := make([]int64, len(e.classes))
	for i := range keys {
		keys[i] = int64(i)
	}
	g.node(domainML, "LabelEncoder", []string{idx}, 1, []string{OutputLabel},
		ints("keys_int64s", keys), strs("values_strings", e.classes), str("default_string", ""))
	g.node("", "Cast", []string{proba}, 1, []string{OutputProbabilities}, intAttr("to", int64(typeFloat)))
	e.classifierOutputs(true)
}

// knnRegressor exports the (weighted) mean target of the neighbours.
func (e *exporter) knnRegressor(m *neighbors.KNeighborsRegressor) error {
	idx, w, err := e.neighbours(m.Settings, m.TrainingSet)
	if err != nil {
		return err
	}
	g := e.g
	y := g.constDouble("fit_y", []int64{int64(len(m.Y))}, m.Y)
	vals := g.op("Gather", []string{y, idx}, intAttr("axis", 0)) // [N,kn]
	axis1 := g.constInt64("axis1", []int64{1}, []int64{1})
	var pred string
	if w == "" {
		sum := g.op("ReduceSum", []string{vals, axis1}, intAttr("keepdims", 1))
		pred = g.op("Div", []string{sum, g.constDouble("k", nil, []float64{float64(m.NNeighbors)})})
	} else {
		num := g.op("ReduceSum", []string{g.op("Mul", []string{vals, w}), axis1}, intAttr("keepdims", 1))
		den := g.op("ReduceSum", []string{w, axis1}, intAttr("keepdims", 1))
		pred = g.op("Div", []string{num, den})
	}
	g.node("", "Cast", []string{pred}, 1, []string{OutputVariable}, intAttr("to", int64(typeFloat)))
	e.regressorOutput()
	return nil
}

// gaussianNB exports the joint log-likelihood
// log P(c) + (-½ Σ log(2π var) - ½ Σ (x-θ)²/var) and its softmax.
func (e *exporter) gaussianNB(m *naivebayes.GaussianNB) error {
	if err := e.checkFeatures(m.NFeatures); err != nil {
		return err
	}
	k := len(m.ClassPrior)
	if k != len(e.classes) || len(m.Theta) != k || len(m.Var) != k {
		return errs.Errorf(errs.Invalid, "the model has %d class names but the estimator %d classes", len(e.classes), k)
	}
	g := e.g
	var theta, variance []float64
	logPrior, norm := make([]float64, k), make([]float64, k)
	for c := range k {
		theta = append(theta, m.Theta[c]...)
		variance = append(variance, m.Var[c]...)
		n := 0.0
		for _, v := range m.Var[c] {
			n += math.Log(2 * math.Pi * v)
		}
		norm[c] = -0.5 * n
		logPrior[c] = math.Log(m.ClassPrior[c])
	}
	kk := int64(k)
	x := g.op("Unsqueeze", []string{e.x64, g.constInt64("axis1", []int64{1}, []int64{1})}) // [N,1,p]
	diff := g.op("Sub", []string{x, g.constDouble("theta", []int64{kk, e.p}, theta)})      // [N,C,p]
	q := g.op("Div", []string{g.op("Mul", []string{diff, diff}), g.constDouble("var", []int64{kk, e.p}, variance)})
	sq := g.op("ReduceSum", []string{q, g.constInt64("axis2", []int64{1}, []int64{2})}, intAttr("keepdims", 0)) // [N,C]
	half := g.op("Mul", []string{sq, g.constDouble("half", nil, []float64{0.5})})
	jll := g.op("Add", []string{g.constDouble("log_prior", []int64{kk}, logPrior),
		g.op("Sub", []string{g.constDouble("norm", []int64{kk}, norm), half})})
	proba := g.op("Softmax", []string{jll}, intAttr("axis", 1))
	e.labelAndProba(jll, proba)
	return nil
}
