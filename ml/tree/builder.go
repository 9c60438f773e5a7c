package tree

import (
	"context"
	"math"
)

// This file grows one CART tree the way scikit-learn 1.2.1's
// DepthFirstTreeBuilder with the BestSplitter does: features are drawn
// with the same xorshift generator and Fisher-Yates bookkeeping (including
// known-constant features), samples are sorted per node with the same
// introsort, thresholds are midpoints of float32 feature values, and the
// criteria update their sums in the same order. Given the same seed, data
// and sample weights, it grows the same tree as scikit-learn.

const (
	featureThreshold = 1e-7                  // scikit-learn's FEATURE_THRESHOLD
	epsilon          = 2.220446049250313e-16 // np.finfo(float).eps
	// nodesPerCancelCheck is how many nodes are built between checks of ctx.
	nodesPerCancelCheck = 256
)

// Tree is a fitted binary decision tree in pre-order: the left child of an
// internal node i is node i+1 and its right child is Right[i]. A node is a
// leaf when Feature[i] < 0; its values are Value[leaf*Width : (leaf+1)*Width]
// with leaf = -1-Feature[i] (class probabilities, or the mean target).
type Tree struct {
	Feature   []int32   `json:"feature"`
	Threshold []float64 `json:"threshold"`
	Right     []int32   `json:"right"`
	Value     []float64 `json:"value"`
	Width     int       `json:"width"`
	MaxDepth  int       `json:"max_depth"`
}

// NodeCount returns the number of nodes.
func (t *Tree) NodeCount() int { return len(t.Feature) }

// LeafCount returns the number of leaves.
func (t *Tree) LeafCount() int { return len(t.Value) / max(t.Width, 1) }

// leafValues returns the values of the leaf that row x falls into. Features
// are compared as float32, as scikit-learn's trees do.
func (t *Tree) leafValues(x []float64) []float64 {
	i := 0
	for t.Feature[i] >= 0 {
		if float64(float32(x[t.Feature[i]])) <= t.Threshold[i] {
			i++
		} else {
			i = int(t.Right[i])
		}
	}
	leaf := int(-1 - t.Feature[i])
	return t.Value[leaf*t.Width : (leaf+1)*t.Width]
}

// valid reports whether the tree's arrays are consistent, so that walking
// it cannot index out of range (it guards models read from JSON).
func (t *Tree) valid(nFeatures int) bool {
	n := len(t.Feature)
	if n == 0 || len(t.Threshold) != n || len(t.Right) != n || t.Width < 1 || len(t.Value)%t.Width != 0 {
		return false
	}
	leaves := len(t.Value) / t.Width
	for i, f := range t.Feature {
		if f >= 0 {
			if int(f) >= nFeatures || i+1 >= n || int(t.Right[i]) <= i || int(t.Right[i]) >= n {
				return false
			}
		} else if int(-1-f) >= leaves {
			return false
		}
	}
	return true
}

// dataset is training data prepared once and shared read-only by builders.
type dataset struct {
	n, p  int
	cols  [][]float32 // cols[f][i]: feature f of sample i, as float32
	y     []float64   // regression target
	class []int32     // class index, for classification
	k     int         // number of classes (1 for regression)
}

// growConfig holds resolved tree hyperparameters.
type growConfig struct {
	classification  bool
	entropy         bool
	maxDepth        int // math.MaxInt32 for none
	minSamplesSplit int
	minSamplesLeaf  int
	maxFeatures     int
}

// builder grows trees; it owns reusable buffers and is not safe for
// concurrent use (give each worker its own).
type builder struct {
	d   *dataset
	cfg growConfig

	samples          []int32
	xf               []float32
	features         []int32
	constantFeatures []int32
	stack            []stackRecord
	crit             criterion
	rng              randR
	w                []float64 // sample weights, nil for all ones
}

type stackRecord struct {
	start, end, depth, parent int
	impurity                  float64
	nConstant                 int
}

type split struct {
	feature                     int
	pos                         int
	threshold                   float64
	improvement                 float64
	impurityLeft, impurityRight float64
}

func newBuilder(d *dataset, cfg growConfig) *builder {
	b := &builder{d: d, cfg: cfg,
		samples: make([]int32, 0, d.n), xf: make([]float32, d.n),
		features: make([]int32, d.p), constantFeatures: make([]int32, d.p)}
	b.crit.init0(d, b)
	return b
}

// grow builds a tree from the samples with non-zero weight (all when w is
// nil), drawing features with the splitter seed rng.
func (b *builder) grow(ctx context.Context, w []float64, rng randR) (Tree, error) {
	d := b.d
	b.w, b.rng = w, rng
	b.samples = b.samples[:0]
	total := 0.0
	for i := 0; i < d.n; i++ {
		if w == nil || w[i] != 0 {
			b.samples = append(b.samples, int32(i))
			if w == nil {
				total++
			} else {
				total += w[i]
			}
		}
	}
	b.crit.weightedNSamples = total
	for f := range b.features {
		b.features[f] = int32(f)
	}

	t := Tree{Width: d.k}
	maxDepthSeen := 0
	b.stack = append(b.stack[:0], stackRecord{start: 0, end: len(b.samples), parent: -1, impurity: math.Inf(1)})
	first := true
	for len(b.stack) > 0 {
		if len(t.Feature)%nodesPerCancelCheck == 0 {
			if err := ctx.Err(); err != nil {
				return Tree{}, err
			}
		}
		rec := b.stack[len(b.stack)-1]
		b.stack = b.stack[:len(b.stack)-1]
		start, end, depth := rec.start, rec.end, rec.depth
		n := end - start
		b.crit.init(start, end)

		isLeaf := depth >= b.cfg.maxDepth || n < b.cfg.minSamplesSplit || n < 2*b.cfg.minSamplesLeaf
		impurity := rec.impurity
		if first {
			impurity = b.crit.nodeImpurity()
			first = false
		}
		isLeaf = isLeaf || impurity <= epsilon

		var sp split
		nConstant := rec.nConstant
		if !isLeaf {
			sp, nConstant = b.nodeSplit(start, end, impurity, nConstant)
			isLeaf = sp.pos >= end || sp.improvement+epsilon < 0
		}

		id := int32(len(t.Feature))
		if rec.parent >= 0 && int(id) != rec.parent+1 {
			t.Right[rec.parent] = id
		}
		if isLeaf {
			leaf := int32(len(t.Value) / d.k)
			t.Feature = append(t.Feature, -1-leaf)
			t.Threshold = append(t.Threshold, 0)
			t.Right = append(t.Right, 0)
			t.Value = b.crit.appendNodeValue(t.Value)
		} else {
			t.Feature = append(t.Feature, int32(sp.feature))
			t.Threshold = append(t.Threshold, sp.threshold)
			t.Right = append(t.Right, 0)
			// Right child first so that the left child is built next.
			b.stack = append(b.stack,
				stackRecord{start: sp.pos, end: end, depth: depth + 1, parent: int(id), impurity: sp.impurityRight, nConstant: nConstant},
				stackRecord{start: start, end: sp.pos, depth: depth + 1, parent: int(id), impurity: sp.impurityLeft, nConstant: nConstant})
		}
		maxDepthSeen = max(maxDepthSeen, depth)
	}
	t.MaxDepth = maxDepthSeen
	return t, nil
}

// nodeSplit is scikit-learn's BestSplitter.node_split.
func (b *builder) nodeSplit(start, end int, impurity float64, nKnownConstants int) (split, int) {
	features, samples, xf := b.features, b.samples, b.xf
	best := split{pos: end, improvement: math.Inf(-1)}
	bestProxy := math.Inf(-1)
	nFeatures := b.d.p
	fi := nFeatures
	nDrawnConstants, nFoundConstants := 0, 0
	nTotalConstants := nKnownConstants
	nVisited := 0
	minLeaf := b.cfg.minSamplesLeaf

	for fi > nTotalConstants && (nVisited < b.cfg.maxFeatures || nVisited <= nFoundConstants+nDrawnConstants) {
		nVisited++
		fj := b.rng.intn(nDrawnConstants, fi-nFoundConstants)
		if fj < nKnownConstants {
			features[nDrawnConstants], features[fj] = features[fj], features[nDrawnConstants]
			nDrawnConstants++
			continue
		}
		fj += nFoundConstants
		feature := int(features[fj])
		col := b.d.cols[feature]
		for i := start; i < end; i++ {
			xf[i] = col[samples[i]]
		}
		sortValues(xf[start:end], samples[start:end])

		if float64(xf[end-1]) <= float64(xf[start])+featureThreshold {
			features[fj], features[nTotalConstants] = features[nTotalConstants], features[fj]
			nFoundConstants++
			nTotalConstants++
			continue
		}
		fi--
		features[fi], features[fj] = features[fj], features[fi]

		b.crit.reset()
		p := start
		for p < end {
			for p+1 < end && float64(xf[p+1]) <= float64(xf[p])+featureThreshold {
				p++
			}
			p++
			if p >= end {
				break
			}
			if p-start < minLeaf || end-p < minLeaf {
				continue
			}
			b.crit.update(p)
			proxy := b.crit.proxyImprovement()
			if proxy > bestProxy {
				bestProxy = proxy
				thr := float64(xf[p-1])/2.0 + float64(xf[p])/2.0
				if thr == float64(xf[p]) || math.IsInf(thr, 0) {
					thr = float64(xf[p-1])
				}
				best = split{feature: feature, pos: p, threshold: thr}
			}
		}
	}

	if best.pos < end {
		col := b.d.cols[best.feature]
		partitionEnd, p := end, start
		for p < partitionEnd {
			if float64(col[samples[p]]) <= best.threshold {
				p++
			} else {
				partitionEnd--
				samples[p], samples[partitionEnd] = samples[partitionEnd], samples[p]
			}
		}
		b.crit.reset()
		b.crit.update(best.pos)
		best.impurityLeft, best.impurityRight = b.crit.childrenImpurity()
		best.improvement = b.crit.impurityImprovement(impurity, best.impurityLeft, best.impurityRight)
	}

	// Keep the known constants in their original order for the children,
	// and record the newly found ones.
	copy(features[:nKnownConstants], b.constantFeatures[:nKnownConstants])
	copy(b.constantFeatures[nKnownConstants:nTotalConstants], features[nKnownConstants:nTotalConstants])
	return best, nTotalConstants
}

// criterion holds scikit-learn's Gini/Entropy (classification) or MSE
// (regression) statistics of the current node [start, end) split at pos.
type criterion struct {
	d                *dataset
	b                *builder
	classification   bool
	entropy          bool
	start, end, pos  int
	weightedNSamples float64
	wNode, wLeft     float64
	wRight           float64
	sumTotal         []float64 // per class, or one value for regression
	sumLeft          []float64
	sumRight         []float64
	sqSumTotal       float64
}

func (c *criterion) init0(d *dataset, b *builder) {
	c.d, c.b = d, b
	c.classification, c.entropy = b.cfg.classification, b.cfg.entropy
	c.sumTotal = make([]float64, d.k)
	c.sumLeft = make([]float64, d.k)
	c.sumRight = make([]float64, d.k)
}

func (c *criterion) weight(i int32) float64 {
	if c.b.w == nil {
		return 1
	}
	return c.b.w[i]
}

// init computes the node's statistics and returns its weighted size.
func (c *criterion) init(start, end int) float64 {
	c.start, c.end = start, end
	clear(c.sumTotal)
	c.sqSumTotal = 0
	c.wNode = 0
	for _, i := range c.b.samples[start:end] {
		w := c.weight(i)
		if c.classification {
			c.sumTotal[c.d.class[i]] += w
		} else {
			y := c.d.y[i]
			wy := w * y
			c.sumTotal[0] += wy
			c.sqSumTotal += wy * y
		}
		c.wNode += w
	}
	c.reset()
	return c.wNode
}

func (c *criterion) reset() {
	c.pos = c.start
	c.wLeft, c.wRight = 0, c.wNode
	clear(c.sumLeft)
	copy(c.sumRight, c.sumTotal)
}

func (c *criterion) reverseReset() {
	c.pos = c.end
	c.wLeft, c.wRight = c.wNode, 0
	copy(c.sumLeft, c.sumTotal)
	clear(c.sumRight)
}

// update moves the split position to newPos, walking from whichever end
// is closer, as scikit-learn does.
func (c *criterion) update(newPos int) {
	samples := c.b.samples
	if newPos-c.pos <= c.end-newPos {
		for _, i := range samples[c.pos:newPos] {
			w := c.weight(i)
			if c.classification {
				c.sumLeft[c.d.class[i]] += w
			} else {
				c.sumLeft[0] += w * c.d.y[i]
			}
			c.wLeft += w
		}
	} else {
		c.reverseReset()
		for p := c.end - 1; p >= newPos; p-- {
			i := samples[p]
			w := c.weight(i)
			if c.classification {
				c.sumLeft[c.d.class[i]] -= w
			} else {
				c.sumLeft[0] -= w * c.d.y[i]
			}
			c.wLeft -= w
		}
	}
	c.wRight = c.wNode - c.wLeft
	for k := range c.sumRight {
		c.sumRight[k] = c.sumTotal[k] - c.sumLeft[k]
	}
	c.pos = newPos
}

// classImpurity is the Gini index or entropy (bits) of class sums with
// total weight w.
func (c *criterion) classImpurity(sums []float64, w float64) float64 {
	if c.entropy {
		e := 0.0
		for _, s := range sums {
			if s > 0 {
				s /= w
				e -= s * (math.Log(s) / math.Ln2)
			}
		}
		return e
	}
	sq := 0.0
	for _, s := range sums {
		sq += s * s
	}
	return 1.0 - sq/(w*w)
}

func (c *criterion) nodeImpurity() float64 {
	if c.classification {
		return c.classImpurity(c.sumTotal, c.wNode)
	}
	m := c.sumTotal[0] / c.wNode
	return c.sqSumTotal/c.wNode - m*m
}

func (c *criterion) childrenImpurity() (left, right float64) {
	if c.classification {
		return c.classImpurity(c.sumLeft, c.wLeft), c.classImpurity(c.sumRight, c.wRight)
	}
	sqLeft := 0.0
	for _, i := range c.b.samples[c.start:c.pos] {
		y := c.d.y[i]
		sqLeft += c.weight(i) * y * y
	}
	sqRight := c.sqSumTotal - sqLeft
	ml, mr := c.sumLeft[0]/c.wLeft, c.sumRight[0]/c.wRight
	return sqLeft/c.wLeft - ml*ml, sqRight/c.wRight - mr*mr
}

// proxyImprovement ranks splits of one node like impurityImprovement,
// cheaper.
func (c *criterion) proxyImprovement() float64 {
	if c.classification {
		l, r := c.childrenImpurity()
		return -c.wRight*r - c.wLeft*l
	}
	return c.sumLeft[0]*c.sumLeft[0]/c.wLeft + c.sumRight[0]*c.sumRight[0]/c.wRight
}

func (c *criterion) impurityImprovement(parent, left, right float64) float64 {
	return (c.wNode / c.weightedNSamples) *
		(parent - (c.wRight / c.wNode * right) - (c.wLeft / c.wNode * left))
}

// appendNodeValue appends the node's value: class probabilities (counts
// normalised as scikit-learn's predict_proba does) or the mean target.
func (c *criterion) appendNodeValue(dst []float64) []float64 {
	if !c.classification {
		return append(dst, c.sumTotal[0]/c.wNode)
	}
	sum := 0.0
	for _, s := range c.sumTotal {
		sum += s
	}
	if sum == 0 {
		sum = 1
	}
	for _, s := range c.sumTotal {
		dst = append(dst, s/sum)
	}
	return dst
}

// sortValues sorts xf and samples together by xf with scikit-learn's
// introsort (median-of-3 pivot, 3-way partition, heapsort fallback).
func sortValues(xf []float32, samples []int32) {
	n := len(xf)
	if n == 0 {
		return
	}
	maxd := 2 * int(math.Log(float64(n))/math.Ln2)
	introsort(xf, samples, maxd)
}

func median3(xf []float32) float32 {
	n := len(xf)
	a, b, c := xf[0], xf[n/2], xf[n-1]
	if a < b {
		if b < c {
			return b
		} else if a < c {
			return c
		}
		return a
	} else if b < c {
		if a < c {
			return a
		}
		return c
	}
	return b
}

func introsort(xf []float32, samples []int32, maxd int) {
	for len(xf) > 1 {
		if maxd <= 0 {
			heapsort(xf, samples)
			return
		}
		maxd--
		pivot := median3(xf)
		samples = samples[:len(xf)]
		i, l, r := 0, 0, len(xf)
		for i < r {
			v := xf[i]
			switch {
			case v < pivot:
				xf[i], xf[l] = xf[l], v
				samples[i], samples[l] = samples[l], samples[i]
				i++
				l++
			case v > pivot:
				r--
				xf[i], xf[r] = xf[r], v
				samples[i], samples[r] = samples[r], samples[i]
			default:
				i++
			}
		}
		introsort(xf[:l], samples[:l], maxd)
		xf, samples = xf[r:], samples[r:]
	}
}

func siftDown(xf []float32, samples []int32, start, end int) {
	root := start
	for {
		child := root*2 + 1
		maxind := root
		if child < end && xf[maxind] < xf[child] {
			maxind = child
		}
		if child+1 < end && xf[maxind] < xf[child+1] {
			maxind = child + 1
		}
		if maxind == root {
			return
		}
		xf[root], xf[maxind] = xf[maxind], xf[root]
		samples[root], samples[maxind] = samples[maxind], samples[root]
		root = maxind
	}
}

func heapsort(xf []float32, samples []int32) {
	n := len(xf)
	for start := (n - 2) / 2; ; start-- {
		siftDown(xf, samples, start, n)
		if start == 0 {
			break
		}
	}
	for end := n - 1; end > 0; end-- {
		xf[0], xf[end] = xf[end], xf[0]
		samples[0], samples[end] = samples[end], samples[0]
		siftDown(xf, samples, 0, end)
	}
}
