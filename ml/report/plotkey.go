package report

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// plotKey is the SHA-256 digest of everything a plot is drawn from: its
// kind and every input of the function that builds it. Rendering is
// deterministic, so plots of equal keys are the same file.
type plotKey [sha256.Size]byte

// keyBuilder serialises plot inputs unambiguously (lengths before
// contents, nil slices apart from empty ones, floats by their bits) for
// a plotKey.
type keyBuilder struct{ b []byte }

// newKey starts the key of a plot of the given kind.
func newKey(kind string) *keyBuilder {
	k := &keyBuilder{b: make([]byte, 0, 1024)}
	k.str(kind)
	return k
}

// sum returns the key.
func (k *keyBuilder) sum() plotKey { return sha256.Sum256(k.b) }

// n adds a length or a count.
func (k *keyBuilder) n(n int) { k.b = binary.AppendUvarint(k.b, uint64(n)) }

// slice adds the length of a slice of length n, nil or not: 0 for nil.
func (k *keyBuilder) slice(isNil bool, n int) {
	if isNil {
		k.n(0)
		return
	}
	k.n(n + 1)
}

// str adds s.
func (k *keyBuilder) str(s string) {
	k.n(len(s))
	k.b = append(k.b, s...)
}

// strs adds ss.
func (k *keyBuilder) strs(ss []string) {
	k.slice(ss == nil, len(ss))
	for _, s := range ss {
		k.str(s)
	}
}

// float adds v, by its bits (0 and -0, and NaNs, apart).
func (k *keyBuilder) float(v float64) {
	k.b = binary.LittleEndian.AppendUint64(k.b, math.Float64bits(v))
}

// floats adds vs.
func (k *keyBuilder) floats(vs []float64) {
	k.slice(vs == nil, len(vs))
	for _, v := range vs {
		k.float(v)
	}
}

// ints adds vs.
func (k *keyBuilder) ints(vs []int) {
	k.slice(vs == nil, len(vs))
	for _, v := range vs {
		k.b = binary.AppendVarint(k.b, int64(v))
	}
}

// confusionKey is the key of confusionMatrixPlot(cm, classNames, title).
func confusionKey(cm [][]int, classNames []string, title string) plotKey {
	k := newKey("confusion matrix")
	k.slice(cm == nil, len(cm))
	for _, row := range cm {
		k.ints(row)
	}
	k.strs(classNames)
	k.str(title)
	return k.sum()
}

// rocKey is the key of rocCurvePlot(fpr, tpr, auc, title).
func rocKey(fpr, tpr []float64, auc float64, title string) plotKey {
	k := newKey("roc curve")
	k.floats(fpr)
	k.floats(tpr)
	k.float(auc)
	k.str(title)
	return k.sum()
}

// learningCurveKey is the key of learningCurvePlot(series, title, yLabel).
func learningCurveKey(series []Series, title, yLabel string) plotKey {
	k := newKey("learning curve")
	k.slice(series == nil, len(series))
	for _, s := range series {
		k.str(s.Name)
		k.floats(s.Steps)
		k.floats(s.Values)
	}
	k.str(title)
	k.str(yLabel)
	return k.sum()
}

// projectionKey is the key of projectionPlot(p, title). Every field of
// Projection goes in (a test checks that each one changes the key).
func projectionKey(p *Projection, title string) plotKey {
	k := newKey("projection")
	k.slice(p == nil, 0)
	if p != nil {
		k.floats(p.PC1)
		k.floats(p.PC2)
		k.float(p.Ratio1)
		k.float(p.Ratio2)
		k.strs(p.True)
		k.strs(p.Predicted)
		k.strs(p.Classes)
		k.floats(p.TrueValue)
		k.floats(p.PredictedValue)
		k.str(p.Target)
	}
	k.str(title)
	return k.sum()
}
