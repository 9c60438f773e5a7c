package linear

import (
	"math"
	"runtime"

	"github.com/mlrun/mlrun/ml/internal/parallel"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// chunkRows is the number of samples one goroutine handles at a time.
// Partial sums are per chunk and added in chunk order, so results do not
// depend on the number of goroutines.
const chunkRows = 1024

// logLoss is scikit-learn's LinearModelLoss with HalfMultinomialLoss (k
// classes) or HalfBinomialLoss (k = 1, labels 0/1):
//
//	f(w) = Σ_i s_i·loss(y_i, x_i·W' + b) + l2/2·||W||²   (b unpenalised)
//
// The parameter vector is laid out as scikit-learn's: for the multinomial
// loss w[j*k+c] is the weight of feature j for class c, with the intercepts
// at j = p; for the binomial loss w[j] with the intercept at w[p].
type logLoss struct {
	X            *mat.Dense
	y            []int     // class index (multinomial) or 0/1 (binomial)
	sw           []float64 // sample weights
	k            int       // number of classes, 1 for the binomial loss
	p            int       // number of features
	fitIntercept bool
	l2           float64

	// Work space, reused across evaluations.
	W, b    []float64   // W row-major k×p, b k
	partial [][]float64 // per chunk: gradient k×(p+1) then the loss
}

func newLogLoss(X *mat.Dense, y []int, sw []float64, k int, fitIntercept bool, l2 float64) *logLoss {
	n, p := X.Dims()
	chunks := (n + chunkRows - 1) / chunkRows
	l := &logLoss{X: X, y: y, sw: sw, k: k, p: p, fitIntercept: fitIntercept, l2: l2,
		W: make([]float64, k*p), b: make([]float64, k), partial: make([][]float64, chunks)}
	for i := range l.partial {
		l.partial[i] = make([]float64, k*(p+1)+1)
	}
	return l
}

// dim is the length of the parameter vector.
func (l *logLoss) dim() int {
	if l.fitIntercept {
		return l.k * (l.p + 1)
	}
	return l.k * l.p
}

// unpack copies the parameter vector w into W and b.
func (l *logLoss) unpack(w []float64) {
	k, p := l.k, l.p
	for j := 0; j < p; j++ {
		for c := 0; c < k; c++ {
			l.W[c*p+j] = w[j*k+c]
		}
	}
	for c := 0; c < k; c++ {
		if l.fitIntercept {
			l.b[c] = w[p*k+c]
		} else {
			l.b[c] = 0
		}
	}
}

// eval returns f(w) and writes ∇f(w) into grad.
func (l *logLoss) eval(w, grad []float64) float64 {
	l.unpack(w)
	chunks := len(l.partial)
	workers := min(runtime.GOMAXPROCS(0), chunks)
	parallel.Do(workers, func(first int) {
		for c := first; c < chunks; c += max(workers, 1) {
			l.chunk(c)
		}
	})

	// Sum the chunks in order: gradient by class (k×p, then k intercepts).
	k, p := l.k, l.p
	sum := l.partial[0]
	for c := 1; c < chunks; c++ {
		floats.Add(sum, l.partial[c])
	}
	loss := sum[k*(p+1)]
	loss += 0.5 * l.l2 * floats.Dot(l.W, l.W)
	for j := 0; j < p; j++ {
		for c := 0; c < k; c++ {
			grad[j*k+c] = sum[c*p+j] + l.l2*l.W[c*p+j]
		}
	}
	if l.fitIntercept {
		for c := 0; c < k; c++ {
			grad[p*k+c] = sum[k*p+c]
		}
	}
	return loss
}

// chunk computes the loss and the gradient of the samples of chunk ci into
// l.partial[ci].
func (l *logLoss) chunk(ci int) {
	n, _ := l.X.Dims()
	k, p := l.k, l.p
	out := l.partial[ci]
	clear(out)
	gW := out[:k*p]
	gb := out[k*p : k*p+k]
	scores := make([]float64, k) // per-class scores, then the pointwise gradient
	loss := 0.0
	for i := ci * chunkRows; i < min(n, (ci+1)*chunkRows); i++ {
		x := l.X.RawRowView(i)[:p]
		s := l.sw[i]
		for c := 0; c < k; c++ {
			scores[c] = floats.Dot(l.W[c*p:(c+1)*p], x) + l.b[c]
		}
		if k == 1 {
			li, gi := halfBinomial(float64(l.y[i]), scores[0])
			loss += s * li
			scores[0] = s * gi
		} else {
			loss += s * halfMultinomial(l.y[i], scores)
			for c := range scores {
				scores[c] *= s
			}
		}
		// scores now holds the pointwise gradient.
		for c := 0; c < k; c++ {
			floats.AddScaled(gW[c*p:(c+1)*p], scores[c], x)
			gb[c] += scores[c]
		}
	}
	out[k*(p+1)] = loss
}

// halfMultinomial returns the multinomial loss log Σ exp(raw) - raw[y] and
// replaces raw with the gradient softmax(raw) - onehot(y).
func halfMultinomial(y int, raw []float64) float64 {
	maxv := raw[0]
	for _, v := range raw[1:] {
		if v > maxv {
			maxv = v
		}
	}
	rawY := raw[y]
	sum := 0.0
	for c, v := range raw {
		// exp(0) is exactly 1: the largest score (and any tie) needs no
		// call, which saves a third of them for three classes.
		if d := v - maxv; d == 0 {
			raw[c] = 1
		} else {
			raw[c] = math.Exp(d)
		}
		sum += raw[c]
	}
	loss := math.Log(sum) + maxv - rawY
	for c := range raw {
		raw[c] /= sum
	}
	raw[y]--
	return loss
}

// halfBinomial returns log(1+exp(raw)) - y·raw and its derivative
// expit(raw) - y, computed stably as scikit-learn's closs_grad_half_binomial.
func halfBinomial(y, raw float64) (loss, grad float64) {
	if raw <= 0 {
		e := math.Exp(raw)
		if raw <= -37 {
			loss = e - y*raw
		} else {
			loss = math.Log1p(e) - y*raw
		}
		return loss, ((1-y)*e - y) / (1 + e)
	}
	e := math.Exp(-raw)
	if raw <= 18 {
		loss = math.Log1p(e) + (1-y)*raw
	} else {
		loss = e + (1-y)*raw
	}
	return loss, ((1 - y) - y*e) / (1 + e)
}
