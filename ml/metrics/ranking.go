package metrics

import (
	"math"
	"slices"

	"github.com/mlrun/mlrun/errs"
	"gonum.org/v1/gonum/mat"
)

// ROCCurve returns the points of the ROC curve of scores against binary
// labels (1 is the positive class, anything else negative), as roc_curve
// with drop_intermediate=True in scikit-learn 1.2.1: thresholds are the
// distinct scores in decreasing order, collinear points are dropped, and a
// first point (0, 0) is added with threshold max(score)+1. When yTrue has
// no negatives fpr is all NaN, and with no positives tpr is all NaN. It
// returns nil slices for no samples.
func ROCCurve(yTrue, score []float64) (fpr, tpr, thresholds []float64) {
	checkLen("ROCCurve", len(yTrue), len(score))
	n := len(score)
	if n == 0 {
		return nil, nil, nil
	}
	// Stable sort by decreasing score, ties in reverse row order, as
	// np.argsort(score, kind="mergesort")[::-1] does.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case score[a] < score[b]:
			return -1
		case score[a] > score[b]:
			return 1
		}
		return 0
	})
	slices.Reverse(order)

	// Cumulative true and false positives at each distinct threshold.
	fps := make([]float64, 0, n+1)
	tps := make([]float64, 0, n+1)
	thr := make([]float64, 0, n+1)
	positives := 0.0
	for i, row := range order {
		if yTrue[row] == 1 {
			positives++
		}
		if i == n-1 || score[order[i+1]] != score[row] {
			tps = append(tps, positives)
			fps = append(fps, float64(1+i)-positives)
			thr = append(thr, score[row])
		}
	}
	if len(fps) > 2 {
		// Keep the ends and every corner: a point where the second
		// difference of fps or of tps is non-zero (np.diff(x, 2)).
		corner := make([]bool, len(fps))
		corner[0], corner[len(fps)-1] = true, true
		for i := 1; i < len(fps)-1; i++ {
			d2fps := (fps[i+1] - fps[i]) - (fps[i] - fps[i-1])
			d2tps := (tps[i+1] - tps[i]) - (tps[i] - tps[i-1])
			corner[i] = d2fps != 0 || d2tps != 0
		}
		keep := 0
		for i := range fps {
			if corner[i] {
				fps[keep], tps[keep], thr[keep] = fps[i], tps[i], thr[i]
				keep++
			}
		}
		fps, tps, thr = fps[:keep], tps[:keep], thr[:keep]
	}
	fps = slices.Insert(fps, 0, 0)
	tps = slices.Insert(tps, 0, 0)
	thr = slices.Insert(thr, 0, thr[0]+1)
	return ratesOf(fps), ratesOf(tps), thr
}

// ratesOf divides counts by the last (largest) count, or gives NaNs when it
// is zero.
func ratesOf(counts []float64) []float64 {
	out := make([]float64, len(counts))
	last := counts[len(counts)-1]
	for i, c := range counts {
		if last <= 0 {
			out[i] = math.NaN()
		} else {
			out[i] = c / last
		}
	}
	return out
}

// BinaryROCAUC returns the area under the ROC curve of scores against
// binary labels (1 positive, 0 negative), as roc_auc_score(yTrue, score):
// the trapezoidal area under ROCCurve. It fails when yTrue does not hold
// exactly the two classes 0 and 1.
func BinaryROCAUC(yTrue, score []float64) (float64, error) {
	checkLen("BinaryROCAUC", len(yTrue), len(score))
	var zeros, ones int
	for _, t := range yTrue {
		switch t {
		case 0:
			zeros++
		case 1:
			ones++
		default:
			return 0, errs.Errorf(errs.Invalid, "ROC AUC needs binary labels 0 and 1, not %v", t)
		}
	}
	if zeros == 0 || ones == 0 {
		return 0, errs.Errorf(errs.Invalid, "ROC AUC is not defined when the true labels hold only one class")
	}
	fpr, tpr, _ := ROCCurve(yTrue, score)
	return trapezoid(fpr, tpr), nil
}

// trapezoid is np.trapz(y, x): the sum of dx·(y[i+1]+y[i])/2.
func trapezoid(x, y []float64) float64 {
	parts := make([]float64, len(x)-1)
	for i := range parts {
		parts[i] = (x[i+1] - x[i]) * (y[i+1] + y[i]) / 2
	}
	return pairwiseSum(parts)
}

// ROCAUC returns the ROC AUC of class probabilities proba (n×k) against
// class indices yTrue. For k = 2 it is BinaryROCAUC of the second column;
// for k > 2 it is the one-vs-rest macro average, as
// roc_auc_score(yTrue, proba, multi_class="ovr", average="macro",
// labels=range(k)). It fails when a class is absent from yTrue (its AUC is
// undefined), when a label is not a class index below k, or, for k > 2,
// when a row of proba does not sum to 1.
func ROCAUC(yTrue []float64, proba mat.Matrix) (float64, error) {
	n, k := proba.Dims()
	checkLen("ROCAUC", len(yTrue), n)
	if k < 2 {
		return 0, errs.Errorf(errs.Invalid, "ROC AUC needs at least 2 classes, not %d", k)
	}
	for _, t := range yTrue {
		if classIndex(t, k) < 0 {
			return 0, errs.Errorf(errs.Invalid, "ROC AUC got true label %v, which is not a class index below %d", t, k)
		}
	}
	score := make([]float64, n)
	if k == 2 {
		for i := range score {
			score[i] = proba.At(i, 1)
		}
		return BinaryROCAUC(yTrue, score)
	}
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < k; j++ {
			s += proba.At(i, j)
		}
		// np.allclose(1, s): |s - 1| <= 1e-8 + 1e-5*|1|.
		if !(math.Abs(s-1) <= 1e-8+1e-5) {
			return 0, errs.Errorf(errs.Invalid, "multiclass ROC AUC needs probabilities, but row %d of the scores sums to %v instead of 1", i, s)
		}
	}
	isClass := make([]float64, n)
	aucs := make([]float64, k)
	for c := 0; c < k; c++ {
		for i, t := range yTrue {
			isClass[i] = 0
			if int(t) == c {
				isClass[i] = 1
			}
			score[i] = proba.At(i, c)
		}
		auc, err := BinaryROCAUC(isClass, score)
		if err != nil {
			return 0, errs.Errorf(errs.Invalid, "ROC AUC is not defined when class %d is absent from the true labels (or is every label)", c)
		}
		aucs[c] = auc
	}
	return mean(aucs), nil
}
