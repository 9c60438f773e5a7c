package linear

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"gonum.org/v1/gonum/mat"
)

// LinearRegression is ordinary least squares, as scikit-learn's
// LinearRegression: with FitIntercept, X and y are centred first and the
// intercept is mean(y) - mean(X)·Coef. The coefficients are the
// minimum-norm least-squares solution from a singular value decomposition
// with singular values below eps·s_max treated as zero (LAPACK gelsd, as
// scipy.linalg.lstsq), so collinear features get equal shares.
type LinearRegression struct {
	FitIntercept bool      `json:"fit_intercept"`
	NFeatures    int       `json:"n_features"`
	Coef         []float64 `json:"coef"`
	Intercept    float64   `json:"intercept"`
}

// Ridge is scikit-learn's Ridge with solver "auto" on dense data, i.e.
// "cholesky": it minimises ||y - Xw||² + Alpha·||w||² by solving the normal
// equations (X'X + αI)w = X'y, or the kernel form (XX' + αI)a = y, w = X'a,
// when there are more features than samples. The intercept is fitted by
// centring. If the system is not positive definite it falls back, as
// scikit-learn, to the SVD solution.
type Ridge struct {
	Alpha        float64   `json:"alpha"`
	FitIntercept bool      `json:"fit_intercept"`
	NFeatures    int       `json:"n_features"`
	Coef         []float64 `json:"coef"`
	Intercept    float64   `json:"intercept"`
}

func linearRegressionSpec() ml.Spec {
	return ml.Spec{
		Name:  "linear_regression",
		Tasks: []ml.Task{ml.Regression},
		Doc:   "Ordinary least squares (scikit-learn LinearRegression), minimum-norm solution via SVD.",
		Params: []ml.Param{
			{Name: "fit_intercept", Type: "bool", Default: true, Doc: "fit an intercept by centring X and y"},
		},
		New: func(task ml.Task, p ml.Params) (ml.Estimator, error) {
			spec := linearRegressionSpec()
			if task != ml.Regression {
				return nil, errs.Errorf(errs.Invalid, "%s does regression only, not %s", spec.Name, task)
			}
			r := newParamReader(spec, p)
			m := &LinearRegression{FitIntercept: r.bool("fit_intercept")}
			if r.err != nil {
				return nil, r.err
			}
			return m, nil
		},
	}
}

func ridgeSpec() ml.Spec {
	return ml.Spec{
		Name:  "ridge",
		Tasks: []ml.Task{ml.Regression},
		Doc:   "Ridge regression (scikit-learn Ridge, cholesky solver): least squares with an L2 penalty alpha·||w||².",
		Params: []ml.Param{
			{Name: "alpha", Type: "float", Default: 1.0, Doc: "L2 penalty strength, >= 0"},
			{Name: "fit_intercept", Type: "bool", Default: true, Doc: "fit an unpenalised intercept by centring X and y"},
		},
		New: func(task ml.Task, p ml.Params) (ml.Estimator, error) {
			spec := ridgeSpec()
			if task != ml.Regression {
				return nil, errs.Errorf(errs.Invalid, "%s does regression only, not %s", spec.Name, task)
			}
			r := newParamReader(spec, p)
			m := &Ridge{Alpha: r.float("alpha", nonNegative), FitIntercept: r.bool("fit_intercept")}
			if r.err != nil {
				return nil, r.err
			}
			return m, nil
		},
	}
}

// Fit computes the least-squares coefficients.
func (m *LinearRegression) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	coef, b, err := fitCentered(ctx, "linear_regression", X, y, m.FitIntercept, minNormLstsq)
	if err != nil {
		return err
	}
	_, m.NFeatures = X.Dims()
	m.Coef, m.Intercept = coef, b
	return nil
}

// Predict returns X·Coef + Intercept.
func (m *LinearRegression) Predict(X *mat.Dense) []float64 {
	checkPredictX("linear_regression", X, m.NFeatures)
	return linearPredict(X, m.Coef, m.Intercept)
}

// Fit computes the ridge coefficients by Cholesky, as scikit-learn does,
// or by an SVD when the system is not positive definite.
func (m *Ridge) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	solve := func(Xc *mat.Dense, yc *mat.VecDense) ([]float64, error) {
		if coef, ok := ridgeCholesky(Xc, yc, m.Alpha); ok {
			return coef, nil
		}
		return ridgeSVD(Xc, yc, m.Alpha)
	}
	coef, b, err := fitCentered(ctx, "ridge", X, y, m.FitIntercept, solve)
	if err != nil {
		return err
	}
	_, m.NFeatures = X.Dims()
	m.Coef, m.Intercept = coef, b
	return nil
}

// fitCentered is the fit of LinearRegression and Ridge: it checks X and y,
// centres them when fitIntercept, solves the centred problem with solve,
// and returns the coefficients and the intercept.
func fitCentered(ctx context.Context, name string, X *mat.Dense, y []float64, fitIntercept bool,
	solve func(Xc *mat.Dense, yc *mat.VecDense) ([]float64, error)) ([]float64, float64, error) {
	if err := checkXY(name, X, y); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	Xc, yc, xMean, yMean := center(X, y, fitIntercept)
	coef, err := solve(Xc, yc)
	if err != nil {
		return nil, 0, fmt.Errorf("fit %s: %w", name, err)
	}
	return coef, intercept(xMean, yMean, coef, fitIntercept), nil
}

// Predict returns X·Coef + Intercept.
func (m *Ridge) Predict(X *mat.Dense) []float64 {
	checkPredictX("ridge", X, m.NFeatures)
	return linearPredict(X, m.Coef, m.Intercept)
}

func linearPredict(X *mat.Dense, coef []float64, b float64) []float64 {
	n, _ := X.Dims()
	out := make([]float64, n)
	for i := range out {
		out[i] = dot(X.RawRowView(i)[:len(coef)], coef) + b
	}
	return out
}

// center returns copies of X and y minus their column means (when
// fitIntercept), and the means.
func center(X *mat.Dense, y []float64, fitIntercept bool) (*mat.Dense, *mat.VecDense, []float64, float64) {
	n, p := X.Dims()
	Xc := mat.DenseCopyOf(X)
	yc := mat.NewVecDense(n, append([]float64(nil), y...))
	xMean := make([]float64, p)
	yMean := 0.0
	if !fitIntercept {
		return Xc, yc, xMean, yMean
	}
	for i := 0; i < n; i++ {
		for j, v := range X.RawRowView(i)[:p] {
			xMean[j] += v
		}
		yMean += y[i]
	}
	for j := range xMean {
		xMean[j] /= float64(n)
	}
	yMean /= float64(n)
	for i := 0; i < n; i++ {
		row := Xc.RawRowView(i)[:p]
		for j := range row {
			row[j] -= xMean[j]
		}
		yc.SetVec(i, y[i]-yMean)
	}
	return Xc, yc, xMean, yMean
}

func intercept(xMean []float64, yMean float64, coef []float64, fitIntercept bool) float64 {
	if !fitIntercept {
		return 0
	}
	return yMean - dot(xMean, coef)
}

// minNormLstsq returns the minimum-norm w minimising ||Xw - y||, ignoring
// singular values <= eps·s_max as LAPACK's gelsd does with scipy's default
// cond.
func minNormLstsq(X *mat.Dense, y *mat.VecDense) ([]float64, error) {
	_, p := X.Dims()
	var svd mat.SVD
	if !svd.Factorize(X, mat.SVDThin) {
		return nil, fmt.Errorf("singular value decomposition did not converge")
	}
	coef := make([]float64, p)
	rank := svd.Rank(epsilon)
	if rank == 0 { // X is all zeros
		return coef, nil
	}
	w := mat.NewVecDense(p, coef)
	svd.SolveVecTo(w, y, rank)
	return coef, nil
}

// ridgeCholesky solves the ridge normal equations by Cholesky, in primal
// or kernel form. ok is false when the system is not positive definite.
func ridgeCholesky(X *mat.Dense, y *mat.VecDense, alpha float64) ([]float64, bool) {
	n, p := X.Dims()
	var chol mat.Cholesky
	coef := make([]float64, p)
	w := mat.NewVecDense(p, coef)
	if p > n {
		K := mat.NewSymDense(n, nil)
		K.SymOuterK(1, X)
		for i := 0; i < n; i++ {
			K.SetSym(i, i, K.At(i, i)+alpha)
		}
		if !chol.Factorize(K) {
			return nil, false
		}
		var dual mat.VecDense
		if err := chol.SolveVecTo(&dual, y); !isConditionOnly(err) {
			return nil, false
		}
		w.MulVec(X.T(), &dual)
		return coef, true
	}
	A := mat.NewSymDense(p, nil)
	A.SymOuterK(1, X.T())
	for j := 0; j < p; j++ {
		A.SetSym(j, j, A.At(j, j)+alpha)
	}
	if !chol.Factorize(A) {
		return nil, false
	}
	var Xy mat.VecDense
	Xy.MulVec(X.T(), y)
	if err := chol.SolveVecTo(w, &Xy); !isConditionOnly(err) {
		return nil, false
	}
	return coef, true
}

// isConditionOnly reports whether err is nil or only gonum's warning that
// the system is ill-conditioned (the solution is still computed; scipy
// warns in the same case).
func isConditionOnly(err error) bool {
	var c mat.Condition
	return err == nil || errors.As(err, &c)
}

// ridgeSVD is scikit-learn's _solve_svd: w = V·diag(s/(s²+α))·U'y over the
// singular values s > 1e-15.
func ridgeSVD(X *mat.Dense, y *mat.VecDense, alpha float64) ([]float64, error) {
	_, p := X.Dims()
	var svd mat.SVD
	if !svd.Factorize(X, mat.SVDThin) {
		return nil, fmt.Errorf("singular value decomposition did not converge")
	}
	var U, V mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	s := svd.Values(nil)
	var uty mat.VecDense
	uty.MulVec(U.T(), y)
	for i, v := range s {
		if v > 1e-15 {
			uty.SetVec(i, uty.AtVec(i)*v/(v*v+alpha))
		} else {
			uty.SetVec(i, 0)
		}
	}
	coef := make([]float64, p)
	mat.NewVecDense(p, coef).MulVec(&V, &uty)
	return coef, nil
}
