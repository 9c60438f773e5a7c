// Package metrics scores predictions as scikit-learn 1.2.1 does:
// classification (accuracy, confusion matrix, precision/recall/F1, log
// loss, ROC AUC and curve, classification report) and regression (R², MAE,
// RMSE). Values agree with scikit-learn to the last bit or within 1e-12:
// sums use NumPy's pairwise summation and the arithmetic follows
// scikit-learn's order of operations.
//
// Class labels are class indices 0..k-1 stored as float64, as everywhere
// in mlrun's ml packages. yTrue and yPred (or scores) must have the same
// length: a mismatch is a programming error and panics.
package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// checkLen panics when two per-sample slices differ in length.
func checkLen(what string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("metrics: %s: %d true labels but %d predictions", what, a, b))
	}
}

// classIndex returns v as a class index in [0, k), or -1 when v is not one.
func classIndex(v float64, k int) int {
	if v >= 0 && v < float64(k) && v == math.Trunc(v) {
		return int(v)
	}
	return -1
}

// Accuracy returns the fraction of predictions equal to the true labels,
// as accuracy_score. It returns NaN for no samples.
func Accuracy(yTrue, yPred []float64) float64 {
	checkLen("Accuracy", len(yTrue), len(yPred))
	correct := 0
	for i, t := range yTrue {
		if t == yPred[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(yTrue))
}

// ConfusionMatrix returns the k×k matrix whose entry [i][j] counts samples
// of true class i predicted as class j, as confusion_matrix with
// labels=range(k). Samples whose true or predicted label is not a class
// index below k are left out, as scikit-learn leaves out labels not listed.
func ConfusionMatrix(yTrue, yPred []float64, k int) [][]int {
	checkLen("ConfusionMatrix", len(yTrue), len(yPred))
	cells := make([]int, k*k)
	m := make([][]int, k)
	for i := range m {
		m[i] = cells[i*k : (i+1)*k : (i+1)*k]
	}
	for i, t := range yTrue {
		ti, pi := classIndex(t, k), classIndex(yPred[i], k)
		if ti >= 0 && pi >= 0 {
			m[ti][pi]++
		}
	}
	return m
}

// Scores are precision, recall, F1 and support for one class or one average.
// It encodes as one entry of classification_report(output_dict=True).
type Scores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1-score"`
	Support   int     `json:"support"`
}

// PRF holds per-class precision, recall, F1 and support, with their macro
// average (the unweighted mean over classes) and weighted average (weighted
// by support). The averages' Support is the total support.
type PRF struct {
	PerClass []Scores
	Macro    Scores
	Weighted Scores
	// Micro pools every class's counts; with every sample's labels below k
	// its precision, recall and F1 equal the accuracy.
	Micro Scores
	// Present reports, per class, whether it occurs in yTrue or yPred.
	Present []bool
}

// PrecisionRecallF1 returns precision_recall_fscore_support's values for
// labels=range(k): per class (average=None) plus the macro, weighted and
// micro averages. A ratio with a zero denominator is 0, scikit-learn's
// zero_division="warn" result (here without a warning).
func PrecisionRecallF1(yTrue, yPred []float64, k int) PRF {
	checkLen("PrecisionRecallF1", len(yTrue), len(yPred))
	tp := make([]int, k)
	predSum := make([]int, k)
	trueSum := make([]int, k)
	present := make([]bool, k)
	for i, t := range yTrue {
		ti, pi := classIndex(t, k), classIndex(yPred[i], k)
		if ti >= 0 {
			trueSum[ti]++
			present[ti] = true
		}
		if pi >= 0 {
			predSum[pi]++
			present[pi] = true
		}
		if ti >= 0 && ti == pi {
			tp[ti]++
		}
	}
	out := PRF{PerClass: make([]Scores, k), Present: present}
	precision := make([]float64, k)
	recall := make([]float64, k)
	f1 := make([]float64, k)
	weighted := make([]float64, k)
	totalTP, totalPred, totalTrue := 0, 0, 0
	for c := 0; c < k; c++ {
		precision[c] = safeDiv(float64(tp[c]), float64(predSum[c]))
		recall[c] = safeDiv(float64(tp[c]), float64(trueSum[c]))
		f1[c] = fScore(precision[c], recall[c])
		out.PerClass[c] = Scores{Precision: precision[c], Recall: recall[c], F1: f1[c], Support: trueSum[c]}
		totalTP += tp[c]
		totalPred += predSum[c]
		totalTrue += trueSum[c]
	}
	out.Macro = Scores{
		Precision: mean(precision),
		Recall:    mean(recall),
		F1:        mean(f1),
		Support:   totalTrue,
	}
	out.Weighted = Scores{Support: totalTrue}
	if totalTrue > 0 {
		// np.average(x, weights=support) = sum(x*support) / sum(support).
		avg := func(x []float64) float64 {
			for c := range x {
				weighted[c] = x[c] * float64(trueSum[c])
			}
			return pairwiseSum(weighted) / float64(totalTrue)
		}
		out.Weighted.Precision = avg(precision)
		out.Weighted.Recall = avg(recall)
		out.Weighted.F1 = avg(f1)
	}
	mp := safeDiv(float64(totalTP), float64(totalPred))
	mr := safeDiv(float64(totalTP), float64(totalTrue))
	out.Micro = Scores{Precision: mp, Recall: mr, F1: fScore(mp, mr), Support: totalTrue}
	return out
}

// safeDiv returns num/den, or 0 when den is 0 (zero_division="warn").
func safeDiv(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return num / den
}

// fScore is F1 computed as scikit-learn does: 2·p·r / (p + r), 0 when
// p + r is 0.
func fScore(p, r float64) float64 {
	den := p + r
	if den == 0 {
		den = 1
	}
	return 2 * p * r / den
}

// LogLoss returns the mean negative log-likelihood of the true classes, as
// log_loss(yTrue, proba, labels=range(k)) in scikit-learn 1.2.1: each
// probability is clipped to [eps, 1-eps] with eps the float64 machine
// epsilon (2.22e-16, 1.2.1's eps="auto"), and each row is divided by its
// sum. A true label that is not a class index below proba's column count
// gives NaN.
func LogLoss(yTrue []float64, proba mat.Matrix) float64 {
	n, k := proba.Dims()
	checkLen("LogLoss", len(yTrue), n)
	const eps = 0x1p-52
	loss := make([]float64, n)
	row := make([]float64, k)
	for i, t := range yTrue {
		c := classIndex(t, k)
		if c < 0 {
			return math.NaN()
		}
		for j := range row {
			row[j] = min(max(proba.At(i, j), eps), 1-eps)
		}
		loss[i] = -math.Log(row[c] / pairwiseSum(row))
	}
	return mean(loss)
}

// mean is NumPy's mean: the pairwise sum divided by the count.
func mean(x []float64) float64 {
	return pairwiseSum(x) / float64(len(x))
}

// pairwiseSum adds x as NumPy's add.reduce does for a contiguous float64
// array (pairwise_sum in numpy/core/src/umath/loops_utils.h), so that
// sums and means agree with NumPy to the last bit.
func pairwiseSum(x []float64) float64 {
	n := len(x)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += x[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += x[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(x[:n2]) + pairwiseSum(x[n2:])
	}
}
