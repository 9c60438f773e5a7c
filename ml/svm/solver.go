package svm

import (
	"container/list"
	"context"
	"math"
)

// This file is a port of the C-SVC part of libsvm's Solver (Fan, Chen and
// Lin, JMLR 6, 2005) as shipped in scikit-learn 1.2.1: SMO with
// second-order working-set selection, shrinking, and a kernel column cache
// holding Q in float32 as libsvm does. Statements follow libsvm's order so
// that floating-point results agree with it as closely as possible.

const (
	tau = 1e-12 // libsvm's TAU: replaces non-positive curvature
	// cancelCheckEvery is how many SMO iterations pass between checks of ctx.
	cancelCheckEvery = 1024
)

// Alpha status values.
const (
	lowerBound int8 = iota
	upperBound
	free
)

// kernel evaluates one of libsvm's kernels.
type kernel struct {
	kind   string // "linear", "poly", "rbf" or "sigmoid"
	gamma  float64
	coef0  float64
	degree int
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// powi is libsvm's integer power by squaring.
func powi(base float64, times int) float64 {
	tmp, ret := base, 1.0
	for t := times; t > 0; t /= 2 {
		if t%2 == 1 {
			ret *= tmp
		}
		tmp *= tmp
	}
	return ret
}

// eval is libsvm's Kernel::k_function, used for prediction.
func (k kernel) eval(x, y []float64) float64 {
	switch k.kind {
	case "linear":
		return dot(x, y)
	case "poly":
		return powi(k.gamma*dot(x, y)+k.coef0, k.degree)
	case "rbf":
		s := 0.0
		for i := range x {
			d := x[i] - y[i]
			s += d * d
		}
		return math.Exp(-k.gamma * s)
	default: // sigmoid
		return math.Tanh(k.gamma*dot(x, y) + k.coef0)
	}
}

// qMatrix is libsvm's SVC_Q: Q[i][j] = y_i y_j K(x_i, x_j), with columns
// cached as float32 and indexed by the sample's index in the problem.
type qMatrix struct {
	x      [][]float64
	y      []int8
	k      kernel
	xsq    []float64 // squared norms, for the rbf training kernel
	qd     []float64 // diagonal, in double precision
	cache  map[int]*list.Element
	lru    *list.List // front = most recently used
	maxCol int
}

type cachedColumn struct {
	i   int
	col []float32
}

func newQMatrix(x [][]float64, y []int8, k kernel, cacheMB float64) *qMatrix {
	l := len(x)
	q := &qMatrix{x: x, y: y, k: k, qd: make([]float64, l), cache: map[int]*list.Element{}, lru: list.New()}
	if k.kind == "rbf" {
		q.xsq = make([]float64, l)
		for i := range x {
			q.xsq[i] = dot(x[i], x[i])
		}
	}
	for i := range x {
		q.qd[i] = q.kernel(i, i)
	}
	q.maxCol = int(cacheMB * (1 << 20) / (4 * float64(max(l, 1))))
	if q.maxCol < 2 {
		q.maxCol = 2
	}
	return q
}

// kernel is libsvm's Kernel::kernel_function for training samples i and j.
func (q *qMatrix) kernel(i, j int) float64 {
	switch q.k.kind {
	case "rbf":
		return math.Exp(-q.k.gamma * (q.xsq[i] + q.xsq[j] - 2*dot(q.x[i], q.x[j])))
	default:
		return q.k.eval(q.x[i], q.x[j])
	}
}

// column returns Q's column i, indexed by sample index.
func (q *qMatrix) column(i int) []float32 {
	if e, ok := q.cache[i]; ok {
		q.lru.MoveToFront(e)
		return e.Value.(*cachedColumn).col
	}
	var col []float32
	if q.lru.Len() >= q.maxCol {
		last := q.lru.Back()
		old := last.Value.(*cachedColumn)
		delete(q.cache, old.i)
		q.lru.Remove(last)
		col = old.col
	} else {
		col = make([]float32, len(q.x))
	}
	yi := float64(q.y[i])
	for j := range q.x {
		col[j] = float32(yi * float64(q.y[j]) * q.kernel(i, j))
	}
	q.cache[i] = q.lru.PushFront(&cachedColumn{i: i, col: col})
	return col
}

// solver holds libsvm's Solver state. Arrays are indexed by position; the
// active set maps a position to the sample index, and shrinking swaps
// positions exactly as libsvm's swap_index does.
type solver struct {
	l          int
	activeSize int
	y          []int8
	g          []float64 // gradient
	gBar       []float64 // gradient with free variables treated as 0
	alpha      []float64
	status     []int8
	p          []float64
	c          []float64
	active     []int // position -> sample index
	q          *qMatrix
	eps        float64
	unshrink   bool
}

// col returns Q's column for the sample at position i; index it with
// s.active[j] to get the entry for position j.
func (s *solver) col(i int) []float32 { return s.q.column(s.active[i]) }

func (s *solver) qd(i int) float64 { return s.q.qd[s.active[i]] }

func (s *solver) updateStatus(i int) {
	switch {
	case s.alpha[i] >= s.c[i]:
		s.status[i] = upperBound
	case s.alpha[i] <= 0:
		s.status[i] = lowerBound
	default:
		s.status[i] = free
	}
}

func (s *solver) swap(i, j int) {
	s.y[i], s.y[j] = s.y[j], s.y[i]
	s.g[i], s.g[j] = s.g[j], s.g[i]
	s.status[i], s.status[j] = s.status[j], s.status[i]
	s.alpha[i], s.alpha[j] = s.alpha[j], s.alpha[i]
	s.p[i], s.p[j] = s.p[j], s.p[i]
	s.active[i], s.active[j] = s.active[j], s.active[i]
	s.gBar[i], s.gBar[j] = s.gBar[j], s.gBar[i]
	s.c[i], s.c[j] = s.c[j], s.c[i]
}

// solveResult is a solved binary C-SVC problem.
type solveResult struct {
	alpha      []float64 // signed: alpha_i * y_i, by sample index
	rho        float64
	iterations int
}

// solveCSVC solves the dual of a binary C-SVC with per-sample bounds c.
// maxIter < 0 means libsvm's default of no limit.
func solveCSVC(ctx context.Context, q *qMatrix, c []float64, eps float64, shrinking bool, maxIter int) (solveResult, error) {
	l := len(q.x)
	s := &solver{
		l: l, activeSize: l, q: q, eps: eps,
		y: append([]int8(nil), q.y...), g: make([]float64, l), gBar: make([]float64, l),
		alpha: make([]float64, l), status: make([]int8, l), p: make([]float64, l),
		c: append([]float64(nil), c...), active: make([]int, l),
	}
	for i := 0; i < l; i++ {
		s.p[i] = -1
		s.active[i] = i
		s.updateStatus(i)
		s.g[i] = s.p[i] // alpha starts at 0, so no column contributes
	}

	iter := 0
	counter := min(l, 1000) + 1
	for {
		if maxIter >= 0 && iter >= maxIter {
			break
		}
		if iter%cancelCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return solveResult{}, err
			}
		}
		counter--
		if counter == 0 {
			counter = min(l, 1000)
			if shrinking {
				s.doShrinking()
			}
		}
		i, j, done := s.selectWorkingSet()
		if done {
			s.reconstructGradient()
			s.activeSize = l
			if i, j, done = s.selectWorkingSet(); done {
				break
			}
			counter = 1 // shrink at the next iteration
		}
		iter++
		s.step(i, j)
	}
	if s.activeSize < l { // stopped by max_iter while shrunk
		s.reconstructGradient()
		s.activeSize = l
	}

	res := solveResult{rho: s.calculateRho(), iterations: iter, alpha: make([]float64, l)}
	for pos := 0; pos < l; pos++ {
		res.alpha[s.active[pos]] = s.alpha[pos] * float64(s.y[pos])
	}
	return res, nil
}

// step updates alpha[i] and alpha[j] and the gradients (one SMO step).
func (s *solver) step(i, j int) {
	qi, qj := s.col(i), s.col(j)
	aj := s.active[j]
	ci, cj := s.c[i], s.c[j]
	oldI, oldJ := s.alpha[i], s.alpha[j]
	alpha := s.alpha

	if s.y[i] != s.y[j] {
		quad := s.qd(i) + s.qd(j) + 2*float64(qi[aj])
		if quad <= 0 {
			quad = tau
		}
		delta := (-s.g[i] - s.g[j]) / quad
		diff := alpha[i] - alpha[j]
		alpha[i] += delta
		alpha[j] += delta
		if diff > 0 {
			if alpha[j] < 0 {
				alpha[j] = 0
				alpha[i] = diff
			}
		} else if alpha[i] < 0 {
			alpha[i] = 0
			alpha[j] = -diff
		}
		if diff > ci-cj {
			if alpha[i] > ci {
				alpha[i] = ci
				alpha[j] = ci - diff
			}
		} else if alpha[j] > cj {
			alpha[j] = cj
			alpha[i] = cj + diff
		}
	} else {
		quad := s.qd(i) + s.qd(j) - 2*float64(qi[aj])
		if quad <= 0 {
			quad = tau
		}
		delta := (s.g[i] - s.g[j]) / quad
		sum := alpha[i] + alpha[j]
		alpha[i] -= delta
		alpha[j] += delta
		if sum > ci {
			if alpha[i] > ci {
				alpha[i] = ci
				alpha[j] = sum - ci
			}
		} else if alpha[j] < 0 {
			alpha[j] = 0
			alpha[i] = sum
		}
		if sum > cj {
			if alpha[j] > cj {
				alpha[j] = cj
				alpha[i] = sum - cj
			}
		} else if alpha[i] < 0 {
			alpha[i] = 0
			alpha[j] = sum
		}
	}

	dI, dJ := alpha[i]-oldI, alpha[j]-oldJ
	for k := 0; k < s.activeSize; k++ {
		ak := s.active[k]
		s.g[k] += float64(qi[ak])*dI + float64(qj[ak])*dJ
	}

	wasUpperI, wasUpperJ := s.status[i] == upperBound, s.status[j] == upperBound
	s.updateStatus(i)
	s.updateStatus(j)
	if wasUpperI != (s.status[i] == upperBound) {
		s.addToGBar(qi, ci, wasUpperI)
	}
	if wasUpperJ != (s.status[j] == upperBound) {
		s.addToGBar(qj, cj, wasUpperJ)
	}
}

// addToGBar adds (or, when leaving the upper bound, subtracts) c times
// column col to G_bar over all positions.
func (s *solver) addToGBar(col []float32, c float64, subtract bool) {
	for k := 0; k < s.l; k++ {
		if subtract {
			s.gBar[k] -= c * float64(col[s.active[k]])
		} else {
			s.gBar[k] += c * float64(col[s.active[k]])
		}
	}
}

// selectWorkingSet is libsvm's WSS 3 (second-order); done reports that the
// stopping criterion holds.
func (s *solver) selectWorkingSet() (outI, outJ int, done bool) {
	gmax, gmax2 := math.Inf(-1), math.Inf(-1)
	gmaxIdx, gminIdx := -1, -1
	objDiffMin := math.Inf(1)

	for t := 0; t < s.activeSize; t++ {
		if s.y[t] == 1 {
			if s.status[t] != upperBound && -s.g[t] >= gmax {
				gmax = -s.g[t]
				gmaxIdx = t
			}
		} else if s.status[t] != lowerBound && s.g[t] >= gmax {
			gmax = s.g[t]
			gmaxIdx = t
		}
	}
	i := gmaxIdx
	var qi []float32
	var qdi, yi float64
	if i != -1 {
		qi = s.col(i)
		qdi = s.qd(i)
		yi = float64(s.y[i])
	}
	for j := 0; j < s.activeSize; j++ {
		if s.y[j] == 1 {
			if s.status[j] == lowerBound {
				continue
			}
			gradDiff := gmax + s.g[j]
			if s.g[j] >= gmax2 {
				gmax2 = s.g[j]
			}
			if gradDiff > 0 {
				quad := qdi + s.qd(j) - 2.0*yi*float64(qi[s.active[j]])
				objDiff := -(gradDiff * gradDiff) / tau
				if quad > 0 {
					objDiff = -(gradDiff * gradDiff) / quad
				}
				if objDiff <= objDiffMin {
					gminIdx = j
					objDiffMin = objDiff
				}
			}
		} else {
			if s.status[j] == upperBound {
				continue
			}
			gradDiff := gmax - s.g[j]
			if -s.g[j] >= gmax2 {
				gmax2 = -s.g[j]
			}
			if gradDiff > 0 {
				quad := qdi + s.qd(j) + 2.0*yi*float64(qi[s.active[j]])
				objDiff := -(gradDiff * gradDiff) / tau
				if quad > 0 {
					objDiff = -(gradDiff * gradDiff) / quad
				}
				if objDiff <= objDiffMin {
					gminIdx = j
					objDiffMin = objDiff
				}
			}
		}
	}
	if gmax+gmax2 < s.eps || gminIdx == -1 {
		return 0, 0, true
	}
	return gmaxIdx, gminIdx, false
}

func (s *solver) beShrunk(i int, gmax1, gmax2 float64) bool {
	switch s.status[i] {
	case upperBound:
		if s.y[i] == 1 {
			return -s.g[i] > gmax1
		}
		return -s.g[i] > gmax2
	case lowerBound:
		if s.y[i] == 1 {
			return s.g[i] > gmax2
		}
		return s.g[i] > gmax1
	}
	return false
}

func (s *solver) doShrinking() {
	gmax1, gmax2 := math.Inf(-1), math.Inf(-1)
	for i := 0; i < s.activeSize; i++ {
		if s.y[i] == 1 {
			if s.status[i] != upperBound && -s.g[i] >= gmax1 {
				gmax1 = -s.g[i]
			}
			if s.status[i] != lowerBound && s.g[i] >= gmax2 {
				gmax2 = s.g[i]
			}
		} else {
			if s.status[i] != upperBound && -s.g[i] >= gmax2 {
				gmax2 = -s.g[i]
			}
			if s.status[i] != lowerBound && s.g[i] >= gmax1 {
				gmax1 = s.g[i]
			}
		}
	}
	if !s.unshrink && gmax1+gmax2 <= s.eps*10 {
		s.unshrink = true
		s.reconstructGradient()
		s.activeSize = s.l
	}
	for i := 0; i < s.activeSize; i++ {
		if !s.beShrunk(i, gmax1, gmax2) {
			continue
		}
		s.activeSize--
		for s.activeSize > i {
			if !s.beShrunk(s.activeSize, gmax1, gmax2) {
				s.swap(i, s.activeSize)
				break
			}
			s.activeSize--
		}
	}
}

func (s *solver) reconstructGradient() {
	l, n := s.l, s.activeSize
	if n == l {
		return
	}
	for j := n; j < l; j++ {
		s.g[j] = s.gBar[j] + s.p[j]
	}
	nrFree := 0
	for j := 0; j < n; j++ {
		if s.status[j] == free {
			nrFree++
		}
	}
	if nrFree*l > 2*n*(l-n) {
		for i := n; i < l; i++ {
			qi := s.col(i)
			for j := 0; j < n; j++ {
				if s.status[j] == free {
					s.g[i] += s.alpha[j] * float64(qi[s.active[j]])
				}
			}
		}
		return
	}
	for i := 0; i < n; i++ {
		if s.status[i] != free {
			continue
		}
		qi := s.col(i)
		ai := s.alpha[i]
		for j := n; j < l; j++ {
			s.g[j] += ai * float64(qi[s.active[j]])
		}
	}
}

func (s *solver) calculateRho() float64 {
	nrFree := 0
	ub, lb, sumFree := math.Inf(1), math.Inf(-1), 0.0
	for i := 0; i < s.activeSize; i++ {
		yG := float64(s.y[i]) * s.g[i]
		switch s.status[i] {
		case upperBound:
			if s.y[i] == -1 {
				ub = math.Min(ub, yG)
			} else {
				lb = math.Max(lb, yG)
			}
		case lowerBound:
			if s.y[i] == 1 {
				ub = math.Min(ub, yG)
			} else {
				lb = math.Max(lb, yG)
			}
		default:
			nrFree++
			sumFree += yG
		}
	}
	if nrFree > 0 {
		return sumFree / float64(nrFree)
	}
	return (ub + lb) / 2
}
