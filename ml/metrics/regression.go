package metrics

import "math"

// R2 returns the coefficient of determination, as r2_score: 1 - SSres/SStot.
// As in scikit-learn 1.2.1 (force_finite=True), a perfect prediction scores
// 1 and a constant yTrue predicted imperfectly scores 0. It returns NaN for
// fewer than two samples.
func R2(yTrue, yPred []float64) float64 {
	checkLen("R2", len(yTrue), len(yPred))
	n := len(yTrue)
	if n < 2 {
		return math.NaN()
	}
	sq := make([]float64, n)
	for i, t := range yTrue {
		d := t - yPred[i]
		sq[i] = d * d
	}
	num := pairwiseSum(sq)
	avg := mean(yTrue)
	for i, t := range yTrue {
		d := t - avg
		sq[i] = d * d
	}
	den := pairwiseSum(sq)
	switch {
	case num == 0:
		return 1
	case den == 0:
		return 0
	}
	return 1 - num/den
}

// MAE returns the mean absolute error, as mean_absolute_error. It returns
// NaN for no samples.
func MAE(yTrue, yPred []float64) float64 {
	checkLen("MAE", len(yTrue), len(yPred))
	abs := make([]float64, len(yTrue))
	for i, t := range yTrue {
		abs[i] = math.Abs(yPred[i] - t)
	}
	return mean(abs)
}

// RMSE returns the root mean squared error, as
// mean_squared_error(squared=False). It returns NaN for no samples.
func RMSE(yTrue, yPred []float64) float64 {
	checkLen("RMSE", len(yTrue), len(yPred))
	sq := make([]float64, len(yTrue))
	for i, t := range yTrue {
		d := t - yPred[i]
		sq[i] = d * d
	}
	return math.Sqrt(mean(sq))
}
