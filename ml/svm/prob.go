package svm

import "math"

// sigmoidTrain fits Platt's sigmoid P(y=1|f) = 1/(1+exp(A f + B)) to
// decision values with labels ±1, by libsvm's Newton method with
// backtracking (Lin, Lin and Weng, 2007).
func sigmoidTrain(dec []float64, labels []int8) (a, b float64) {
	prior1, prior0 := 0.0, 0.0
	for _, y := range labels {
		if y > 0 {
			prior1++
		} else {
			prior0++
		}
	}
	const (
		maxIter = 100
		minStep = 1e-10
		sigma   = 1e-12
		eps     = 1e-5
	)
	hiTarget := (prior1 + 1.0) / (prior1 + 2.0)
	loTarget := 1 / (prior0 + 2.0)
	t := make([]float64, len(dec))
	a, b = 0.0, math.Log((prior0+1.0)/(prior1+1.0))
	objective := func(a, b float64) float64 {
		f := 0.0
		for i := range dec {
			fApB := dec[i]*a + b
			if fApB >= 0 {
				f += t[i]*fApB + math.Log(1+math.Exp(-fApB))
			} else {
				f += (t[i]-1)*fApB + math.Log(1+math.Exp(fApB))
			}
		}
		return f
	}
	for i, y := range labels {
		if y > 0 {
			t[i] = hiTarget
		} else {
			t[i] = loTarget
		}
	}
	fval := objective(a, b)
	for iter := 0; iter < maxIter; iter++ {
		h11, h22, h21, g1, g2 := sigma, sigma, 0.0, 0.0, 0.0
		for i := range dec {
			fApB := dec[i]*a + b
			var p, q float64
			if fApB >= 0 {
				p = math.Exp(-fApB) / (1.0 + math.Exp(-fApB))
				q = 1.0 / (1.0 + math.Exp(-fApB))
			} else {
				p = 1.0 / (1.0 + math.Exp(fApB))
				q = math.Exp(fApB) / (1.0 + math.Exp(fApB))
			}
			d2 := p * q
			h11 += dec[i] * dec[i] * d2
			h22 += d2
			h21 += dec[i] * d2
			d1 := t[i] - p
			g1 += dec[i] * d1
			g2 += d1
		}
		if math.Abs(g1) < eps && math.Abs(g2) < eps {
			break
		}
		det := h11*h22 - h21*h21
		dA := -(h22*g1 - h21*g2) / det
		dB := -(-h21*g1 + h11*g2) / det
		gd := g1*dA + g2*dB
		step := 1.0
		for step >= minStep {
			newA, newB := a+step*dA, b+step*dB
			newf := objective(newA, newB)
			if newf < fval+0.0001*step*gd {
				a, b, fval = newA, newB, newf
				break
			}
			step /= 2.0
		}
		if step < minStep {
			break // line search failed, as libsvm reports and stops
		}
	}
	return a, b
}

// sigmoidPredict is libsvm's sigmoid_predict.
func sigmoidPredict(dec, a, b float64) float64 {
	fApB := dec*a + b
	if fApB >= 0 {
		return math.Exp(-fApB) / (1.0 + math.Exp(-fApB))
	}
	return 1.0 / (1 + math.Exp(fApB))
}

// multiclassProbability couples pairwise probabilities r (k×k, r[i][j] =
// P(i | i or j)) into class probabilities p: method 2 of Wu, Lin and Weng
// (2004), as libsvm's multiclass_probability.
func multiclassProbability(r [][]float64, p []float64) {
	k := len(p)
	maxIter := max(100, k)
	eps := 0.005 / float64(k)
	q := make([][]float64, k)
	qp := make([]float64, k)
	for t := 0; t < k; t++ {
		p[t] = 1.0 / float64(k)
		q[t] = make([]float64, k)
		for j := 0; j < t; j++ {
			q[t][t] += r[j][t] * r[j][t]
			q[t][j] = q[j][t]
		}
		for j := t + 1; j < k; j++ {
			q[t][t] += r[j][t] * r[j][t]
			q[t][j] = -r[j][t] * r[t][j]
		}
	}
	for iter := 0; iter < maxIter; iter++ {
		pQp := 0.0
		for t := 0; t < k; t++ {
			qp[t] = 0
			for j := 0; j < k; j++ {
				qp[t] += q[t][j] * p[j]
			}
			pQp += p[t] * qp[t]
		}
		maxError := 0.0
		for t := 0; t < k; t++ {
			if e := math.Abs(qp[t] - pQp); e > maxError {
				maxError = e
			}
		}
		if maxError < eps {
			break
		}
		for t := 0; t < k; t++ {
			diff := (-qp[t] + pQp) / q[t][t]
			p[t] += diff
			pQp = (pQp + diff*(diff*q[t][t]+2*qp[t])) / (1 + diff) / (1 + diff)
			for j := 0; j < k; j++ {
				qp[j] = (qp[j] + diff*q[t][j]) / (1 + diff)
				p[j] /= (1 + diff)
			}
		}
	}
}
