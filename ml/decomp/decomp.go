// Package decomp holds matrix decompositions used to look at data:
// principal component analysis, as scikit-learn 1.2.1's
// PCA(svd_solver="full") computes it.
package decomp

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/mlrun/mlrun/errs"
)

// PCA is a fitted principal component analysis.
type PCA struct {
	// Mean is the per-feature mean subtracted before projecting.
	Mean []float64
	// Components are the principal axes, k×p, one per row, by decreasing
	// explained variance (scikit-learn's components_).
	Components *mat.Dense
	// ExplainedVariance is the variance along each component (S²/(n-1)).
	ExplainedVariance []float64
	// ExplainedVarianceRatio is each component's share of the total variance.
	ExplainedVarianceRatio []float64
}

// FitTransform fits a PCA with k components on X (n×p) and returns it with
// X projected on the components (n×k), as scikit-learn's fit_transform:
// the thin SVD of the centred X, signs fixed by svd_flip (the largest
// absolute entry of each column of U is positive), scores U·S. k is capped
// at min(n, p); X needs at least two rows.
func FitTransform(X *mat.Dense, k int) (*PCA, *mat.Dense, error) {
	n, p := X.Dims()
	if n < 2 || p < 1 {
		return nil, nil, errs.Errorf(errs.Invalid, "PCA needs at least 2 rows and 1 column, not %d×%d", n, p)
	}
	if k < 1 {
		return nil, nil, errs.Errorf(errs.Invalid, "PCA needs at least one component, not %d", k)
	}
	k = min(k, n, p)
	mean := make([]float64, p)
	for j := range p {
		s := 0.0
		for i := range n {
			s += X.At(i, j)
		}
		mean[j] = s / float64(n)
	}
	c := mat.NewDense(n, p, nil)
	for i := range n {
		for j := range p {
			c.Set(i, j, X.At(i, j)-mean[j])
		}
	}
	for _, v := range c.RawMatrix().Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, errs.Errorf(errs.Invalid, "PCA: the data has a missing or non-finite value")
		}
	}
	var svd mat.SVD
	if !svd.Factorize(c, mat.SVDThin) {
		return nil, nil, errs.Errorf(errs.Failed, "PCA: the singular value decomposition did not converge")
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	s := svd.Values(nil)
	// svd_flip(u, vt), u-based: make the largest |u| of each column positive.
	_, r := u.Dims()
	for col := range r {
		best, sign := 0.0, 1.0
		for i := range n {
			if a := math.Abs(u.At(i, col)); a > best {
				best, sign = a, math.Copysign(1, u.At(i, col))
			}
		}
		if sign < 0 {
			for i := range n {
				u.Set(i, col, -u.At(i, col))
			}
			for j := range p {
				v.Set(j, col, -v.At(j, col))
			}
		}
	}
	total := 0.0
	ev := make([]float64, len(s))
	for i, x := range s {
		ev[i] = x * x / float64(n-1)
		total += ev[i]
	}
	pca := &PCA{Mean: mean, Components: mat.NewDense(k, p, nil), ExplainedVariance: ev[:k], ExplainedVarianceRatio: make([]float64, k)}
	scores := mat.NewDense(n, k, nil)
	for c := range k {
		if total > 0 {
			pca.ExplainedVarianceRatio[c] = ev[c] / total
		}
		for j := range p {
			pca.Components.Set(c, j, v.At(j, c))
		}
		for i := range n {
			scores.Set(i, c, u.At(i, c)*s[c])
		}
	}
	return pca, scores, nil
}
