package linear

import (
	"context"
	"math"

	"gonum.org/v1/gonum/floats"
)

// This file is an unconstrained L-BFGS that follows scipy 1.10's
// minimize(method="L-BFGS-B") step for step (L-BFGS-B 3.0 by Zhu, Byrd, Lu
// and Nocedal, with the Moré–Thuente line search dcsrch of MINPACK-2), so
// that scikit-learn's lbfgs solver is reproduced closely: the same first
// step, the same line-search rules, the same stopping tests and scipy's
// iteration count (nit). Without bounds, the generalized Cauchy point and
// subspace minimisation of L-BFGS-B reduce to the L-BFGS direction -H·g,
// which is computed here with the two-loop recursion.

const (
	memorySize  = 10    // scipy's maxcor
	lbfgsMaxLS  = 20    // scipy's maxls: function evaluations per line search
	lbfgsMaxFun = 15000 // scipy's maxfun
	lsFtol      = 1e-3  // sufficient decrease (dcsrch ftol) in lnsrlb
	lsGtol      = 0.9   // curvature condition (dcsrch gtol) in lnsrlb
	lsXtol      = 0.1   // relative interval width (dcsrch xtol) in lnsrlb
	lsStpMax    = 1e10  // lnsrlb's largest step for unconstrained problems
)

// epsilon is the machine epsilon of float64 (Fortran's epsilon(1.0d0)).
const epsilon = 2.220446049250313e-16

// relReductionTol is L-BFGS-B's factr*epsmch with scipy's default
// ftol=2.2204460492503131e-09 (factr = ftol/eps).
var relReductionTol = (2.2204460492503131e-09 / epsilon) * epsilon

// objective computes f(x) and writes ∇f(x) into grad.
type objective func(x, grad []float64) float64

// lbfgsResult is the outcome of minimizeLBFGS.
type lbfgsResult struct {
	X         []float64
	F         float64
	NIter     int    // scipy's nit: completed iterations
	NFev      int    // function evaluations
	Converged bool   // a convergence test, not a limit, stopped the run
	Message   string // scipy's task message
}

// minimizeLBFGS minimises fg from x0. It stops when the largest gradient
// component is <= gtol, when the relative reduction of f is tiny, after
// maxIter iterations, or when the line search fails. onIter, if not nil, is
// called after each iteration with its number (from 1) and f.
func minimizeLBFGS(ctx context.Context, fg objective, x0 []float64, maxIter int, gtol float64, onIter func(iter int, f float64)) (lbfgsResult, error) {
	n := len(x0)
	x := append([]float64(nil), x0...)
	g := make([]float64, n)
	f := fg(x, g)
	nfev := 1
	res := lbfgsResult{}
	finish := func(converged bool, msg string) (lbfgsResult, error) {
		res.X, res.F, res.NFev, res.Converged, res.Message = x, f, nfev, converged, msg
		return res, nil
	}
	if maxAbs(g) <= gtol {
		return finish(true, "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL")
	}

	mem := newLBFGSMemory(n, memorySize)
	var (
		z    = make([]float64, n) // trial point x + direction
		d    = make([]float64, n) // search direction, then the step s
		t    = make([]float64, n) // x at the start of the line search
		r    = make([]float64, n) // g at the start of the line search, then y
		iter = 0                  // L-BFGS-B's iteration counter
	)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		// Search direction: z = x - g for an empty memory (L-BFGS-B's Cauchy
		// point with B0 = I), otherwise z = x - H·g; then d = z - x.
		if mem.len() == 0 {
			for i := range z {
				z[i] = x[i] - g[i]
			}
		} else {
			mem.direction(g, z)
			for i := range z {
				z[i] += x[i]
			}
		}
		for i := range d {
			d[i] = z[i] - x[i]
		}

		// Line search (lnsrlb + dcsrch).
		dtd := floats.Dot(d, d)
		dnorm := math.Sqrt(dtd)
		stp := 1.0
		if iter == 0 {
			stp = math.Min(1/dnorm, lsStpMax)
		}
		copy(t, x)
		copy(r, g)
		fold := f
		var (
			gd, gdold float64
			ifun      = 0
			iback     = 0
			failed    = false
			ls        lineSearch
		)
		ls.start = true
		for {
			gd = floats.Dot(g, d)
			if ifun == 0 {
				gdold = gd
				if gd >= 0 { // not a descent direction
					failed = true
					break
				}
			}
			var done bool
			stp, done = ls.step(f, gd, stp)
			if done {
				break
			}
			ifun++
			iback = ifun - 1
			if iback >= lbfgsMaxLS {
				failed = true
				break
			}
			if stp == 1 {
				copy(x, z)
			} else {
				for i := range x {
					x[i] = stp*d[i] + t[i]
				}
			}
			f = fg(x, g)
			nfev++
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		if failed {
			copy(x, t)
			copy(g, r)
			f = fold
			if mem.len() == 0 {
				return finish(false, "ABNORMAL_TERMINATION_IN_LNSRCH")
			}
			// Forget the memory and restart from steepest descent.
			mem.reset()
			continue
		}

		// A new iterate (scipy's NEW_X).
		iter++
		res.NIter = iter
		if onIter != nil {
			onIter(iter, f)
		}
		if iter >= maxIter {
			return finish(false, "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT")
		}
		if nfev > lbfgsMaxFun {
			return finish(false, "STOP: TOTAL NO. of f AND g EVALUATIONS EXCEEDS LIMIT")
		}
		if maxAbs(g) <= gtol {
			return finish(true, "CONVERGENCE: NORM_OF_PROJECTED_GRADIENT_<=_PGTOL")
		}
		if fold-f <= relReductionTol*math.Max(math.Max(math.Abs(fold), math.Abs(f)), 1) {
			return finish(true, "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH")
		}

		// Update the memory with s = stp·d and y = g - r, unless the
		// curvature s'y is not positive enough.
		for i := range r {
			r[i] = g[i] - r[i]
		}
		rr := floats.Dot(r, r)
		var dr, ddum float64
		if stp == 1 {
			dr = gd - gdold
			ddum = -gdold
		} else {
			dr = (gd - gdold) * stp
			floats.Scale(stp, d)
			ddum = -gdold * stp
		}
		if dr <= epsilon*ddum {
			continue // skip the update
		}
		mem.push(d, r, dr, rr)
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if a := math.Abs(x); a > m {
			m = a
		}
	}
	return m
}

// lbfgsMemory holds the last m pairs (s, y) with s'y, oldest first.
type lbfgsMemory struct {
	m     int
	s, y  [][]float64
	sy    []float64
	yy    float64 // y'y of the newest pair
	alpha []float64
	head  int // index of the oldest pair in the ring
	count int
}

func newLBFGSMemory(n, m int) *lbfgsMemory {
	mem := &lbfgsMemory{m: m, s: make([][]float64, m), y: make([][]float64, m), sy: make([]float64, m), alpha: make([]float64, m)}
	for i := range mem.s {
		mem.s[i] = make([]float64, n)
		mem.y[i] = make([]float64, n)
	}
	return mem
}

func (mem *lbfgsMemory) len() int { return mem.count }

func (mem *lbfgsMemory) reset() { mem.head, mem.count = 0, 0 }

// push appends a pair, dropping the oldest when the memory is full.
func (mem *lbfgsMemory) push(s, y []float64, sy, yy float64) {
	var slot int
	if mem.count < mem.m {
		slot = (mem.head + mem.count) % mem.m
		mem.count++
	} else {
		slot = mem.head
		mem.head = (mem.head + 1) % mem.m
	}
	copy(mem.s[slot], s)
	copy(mem.y[slot], y)
	mem.sy[slot] = sy
	mem.yy = yy
}

// direction writes -H·g into out with the two-loop recursion, H0 = (s'y/y'y)·I
// of the newest pair.
func (mem *lbfgsMemory) direction(g, out []float64) {
	copy(out, g)
	for k := mem.count - 1; k >= 0; k-- {
		i := (mem.head + k) % mem.m
		a := floats.Dot(mem.s[i], out) / mem.sy[i]
		mem.alpha[i] = a
		floats.AddScaled(out, -a, mem.y[i])
	}
	newest := (mem.head + mem.count - 1) % mem.m
	floats.Scale(mem.sy[newest]/mem.yy, out)
	for k := 0; k < mem.count; k++ {
		i := (mem.head + k) % mem.m
		b := floats.Dot(mem.y[i], out) / mem.sy[i]
		floats.AddScaled(out, mem.alpha[i]-b, mem.s[i])
	}
	floats.Scale(-1, out)
}

// lineSearch is MINPACK-2's dcsrch (Moré and Thuente) with L-BFGS-B's
// constants: it finds a step satisfying the strong Wolfe conditions.
type lineSearch struct {
	start                  bool
	brackt                 bool
	stage                  int
	ginit, gtest, gx, gy   float64
	finit, fx, fy          float64
	stx, sty, stmin, stmax float64
	width, width1          float64
}

// step takes f and its derivative g at the current step stp and returns
// the next step to evaluate, or done=true when stp is accepted (converged
// or a warning such as rounding errors, as in dcsrch).
func (ls *lineSearch) step(f, g, stp float64) (float64, bool) {
	const stpmin, stpmax = 0.0, lsStpMax
	if ls.start {
		ls.start = false
		ls.brackt = false
		ls.stage = 1
		ls.finit, ls.ginit = f, g
		ls.gtest = lsFtol * g
		ls.width = stpmax - stpmin
		ls.width1 = ls.width / 0.5
		ls.stx, ls.fx, ls.gx = 0, f, g
		ls.sty, ls.fy, ls.gy = 0, f, g
		ls.stmin = 0
		ls.stmax = stp + 4*stp
		return stp, false
	}
	ftest := ls.finit + stp*ls.gtest
	if ls.stage == 1 && f <= ftest && g >= 0 {
		ls.stage = 2
	}
	// Warnings end the search with the current step, as does convergence.
	if ls.brackt && (stp <= ls.stmin || stp >= ls.stmax) {
		return stp, true
	}
	if ls.brackt && ls.stmax-ls.stmin <= lsXtol*ls.stmax {
		return stp, true
	}
	if stp == stpmax && f <= ftest && g <= ls.gtest {
		return stp, true
	}
	if stp == stpmin && (f > ftest || g >= ls.gtest) {
		return stp, true
	}
	if f <= ftest && math.Abs(g) <= lsGtol*(-ls.ginit) {
		return stp, true
	}

	if ls.stage == 1 && f <= ls.fx && f > ftest {
		// Use the modified function psi(stp) = f(stp) - f(0) - ftol·stp·f'(0).
		fm := f - stp*ls.gtest
		fxm := ls.fx - ls.stx*ls.gtest
		fym := ls.fy - ls.sty*ls.gtest
		gm := g - ls.gtest
		gxm := ls.gx - ls.gtest
		gym := ls.gy - ls.gtest
		stp = dcstep(&ls.stx, &fxm, &gxm, &ls.sty, &fym, &gym, stp, fm, gm, &ls.brackt, ls.stmin, ls.stmax)
		ls.fx = fxm + ls.stx*ls.gtest
		ls.fy = fym + ls.sty*ls.gtest
		ls.gx = gxm + ls.gtest
		ls.gy = gym + ls.gtest
	} else {
		stp = dcstep(&ls.stx, &ls.fx, &ls.gx, &ls.sty, &ls.fy, &ls.gy, stp, f, g, &ls.brackt, ls.stmin, ls.stmax)
	}

	// Bisect when the interval does not shrink fast enough.
	if ls.brackt {
		if math.Abs(ls.sty-ls.stx) >= 0.66*ls.width1 {
			stp = ls.stx + 0.5*(ls.sty-ls.stx)
		}
		ls.width1 = ls.width
		ls.width = math.Abs(ls.sty - ls.stx)
	}
	if ls.brackt {
		ls.stmin = math.Min(ls.stx, ls.sty)
		ls.stmax = math.Max(ls.stx, ls.sty)
	} else {
		ls.stmin = stp + 1.1*(stp-ls.stx)
		ls.stmax = stp + 4*(stp-ls.stx)
	}
	stp = math.Max(stp, stpmin)
	stp = math.Min(stp, stpmax)
	if ls.brackt && (stp <= ls.stmin || stp >= ls.stmax) || ls.brackt && ls.stmax-ls.stmin <= lsXtol*ls.stmax {
		stp = ls.stx
	}
	return stp, false
}

// dcstep is MINPACK-2's safeguarded step: it updates the interval
// [stx, sty] that brackets a minimiser and returns the next trial step.
func dcstep(stx, fx, dx, sty, fy, dy *float64, stp, fp, dp float64, brackt *bool, stpmin, stpmax float64) float64 {
	sgnd := dp * (*dx / math.Abs(*dx))
	var stpf float64
	switch {
	case fp > *fx:
		// Higher function value: the minimum is bracketed. Take the cubic
		// step if it is closer to stx than the quadratic step, else the mean.
		theta := 3*(*fx-fp)/(stp-*stx) + *dx + dp
		s := math.Max(math.Max(math.Abs(theta), math.Abs(*dx)), math.Abs(dp))
		gamma := s * math.Sqrt((theta/s)*(theta/s)-(*dx/s)*(dp/s))
		if stp < *stx {
			gamma = -gamma
		}
		p := (gamma - *dx) + theta
		q := ((gamma - *dx) + gamma) + dp
		rr := p / q
		stpc := *stx + rr*(stp-*stx)
		stpq := *stx + ((*dx/((*fx-fp)/(stp-*stx)+*dx))/2)*(stp-*stx)
		if math.Abs(stpc-*stx) < math.Abs(stpq-*stx) {
			stpf = stpc
		} else {
			stpf = stpc + (stpq-stpc)/2
		}
		*brackt = true
	case sgnd < 0:
		// Lower value, derivatives of opposite sign: bracketed. Take the
		// cubic step if it is farther from stp than the secant step.
		theta := 3*(*fx-fp)/(stp-*stx) + *dx + dp
		s := math.Max(math.Max(math.Abs(theta), math.Abs(*dx)), math.Abs(dp))
		gamma := s * math.Sqrt((theta/s)*(theta/s)-(*dx/s)*(dp/s))
		if stp > *stx {
			gamma = -gamma
		}
		p := (gamma - dp) + theta
		q := ((gamma - dp) + gamma) + *dx
		rr := p / q
		stpc := stp + rr*(*stx-stp)
		stpq := stp + (dp/(dp-*dx))*(*stx-stp)
		if math.Abs(stpc-stp) > math.Abs(stpq-stp) {
			stpf = stpc
		} else {
			stpf = stpq
		}
		*brackt = true
	case math.Abs(dp) < math.Abs(*dx):
		// Lower value, same sign, and the derivative magnitude decreases.
		theta := 3*(*fx-fp)/(stp-*stx) + *dx + dp
		s := math.Max(math.Max(math.Abs(theta), math.Abs(*dx)), math.Abs(dp))
		gamma := s * math.Sqrt(math.Max(0, (theta/s)*(theta/s)-(*dx/s)*(dp/s)))
		if stp > *stx {
			gamma = -gamma
		}
		p := (gamma - dp) + theta
		q := (gamma + (*dx - dp)) + gamma
		rr := p / q
		var stpc float64
		switch {
		case rr < 0 && gamma != 0:
			stpc = stp + rr*(*stx-stp)
		case stp > *stx:
			stpc = stpmax
		default:
			stpc = stpmin
		}
		stpq := stp + (dp/(dp-*dx))*(*stx-stp)
		if *brackt {
			if math.Abs(stpc-stp) < math.Abs(stpq-stp) {
				stpf = stpc
			} else {
				stpf = stpq
			}
			if stp > *stx {
				stpf = math.Min(stp+0.66*(*sty-stp), stpf)
			} else {
				stpf = math.Max(stp+0.66*(*sty-stp), stpf)
			}
		} else {
			if math.Abs(stpc-stp) > math.Abs(stpq-stp) {
				stpf = stpc
			} else {
				stpf = stpq
			}
			stpf = math.Min(stpmax, stpf)
			stpf = math.Max(stpmin, stpf)
		}
	default:
		// Lower value, same sign, the derivative does not decrease.
		switch {
		case *brackt:
			theta := 3*(fp-*fy)/(*sty-stp) + *dy + dp
			s := math.Max(math.Max(math.Abs(theta), math.Abs(*dy)), math.Abs(dp))
			gamma := s * math.Sqrt((theta/s)*(theta/s)-(*dy/s)*(dp/s))
			if stp > *sty {
				gamma = -gamma
			}
			p := (gamma - dp) + theta
			q := ((gamma - dp) + gamma) + *dy
			rr := p / q
			stpf = stp + rr*(*sty-stp)
		case stp > *stx:
			stpf = stpmax
		default:
			stpf = stpmin
		}
	}
	// Update the interval that contains a minimiser.
	if fp > *fx {
		*sty, *fy, *dy = stp, fp, dp
	} else {
		if sgnd < 0 {
			*sty, *fy, *dy = *stx, *fx, *dx
		}
		*stx, *fx, *dx = stp, fp, dp
	}
	return stpf
}
