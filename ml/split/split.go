// Package split divides row indices into a training and a test set exactly
// as scikit-learn 1.2.1's train_test_split does: the same validation, the
// same sizes, and — for a given random_state — the same row indices in the
// same order, plain (ShuffleSplit) or stratified (StratifiedShuffleSplit).
package split

import (
	"math"
	"slices"
	"strconv"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/random"
)

// DefaultTestSize is the test fraction used when neither TestSize nor
// TrainSize is set, as in scikit-learn.
const DefaultTestSize = 0.25

// Options are train_test_split's arguments.
type Options struct {
	// TestSize is the test set's size: a fraction of the rows when in
	// (0, 1), a row count when a whole number >= 1. Zero means unset
	// (scikit-learn's None); an explicit test_size of 0 must therefore be
	// rejected by the caller. When both sizes are unset, the test set is
	// DefaultTestSize of the rows; when one is unset it is the complement
	// of the other.
	TestSize float64
	// TrainSize is the training set's size, read like TestSize.
	TrainSize float64
	// RandomState is scikit-learn's integer random_state, in [0, 2**32).
	// When nil, Seed is used instead.
	RandomState *int64
	// Seed seeds the shuffle when RandomState is nil.
	Seed uint32
	// Shuffle shuffles the rows before splitting (scikit-learn's default is
	// true; the Go zero value is false, so set it). Without shuffling the
	// training set is the first rows and the test set the rows after them.
	Shuffle bool
	// Stratify, when non-nil, holds one label per row: each class then keeps
	// its share of rows in both sets. It requires Shuffle.
	Stratify []float64
}

// Split returns the training and test row indices for n rows, in
// scikit-learn's order. Bad sizes, an unusable random state or stratify
// labels are errs.Invalid errors whose message follows scikit-learn's.
func Split(n int, o Options) (train, test []int, err error) {
	if n < 0 {
		return nil, nil, errs.Errorf(errs.Invalid, "the number of samples must not be negative, not %d", n)
	}
	nTrain, nTest, err := Sizes(n, o.TestSize, o.TrainSize)
	if err != nil {
		return nil, nil, err
	}
	if !o.Shuffle {
		if o.Stratify != nil {
			return nil, nil, errs.Errorf(errs.Invalid, "stratified train/test split is not implemented for shuffle=False")
		}
		train = make([]int, nTrain)
		for i := range train {
			train[i] = i
		}
		test = make([]int, nTest)
		for i := range test {
			test[i] = nTrain + i
		}
		return train, test, nil
	}
	seed := o.Seed
	if o.RandomState != nil {
		rs := *o.RandomState
		if rs < 0 || rs > math.MaxUint32 {
			return nil, nil, errs.Errorf(errs.Invalid, "random_state must be between 0 and 2**32 - 1, not %d", rs)
		}
		seed = uint32(rs)
	}
	if o.Stratify != nil {
		return stratified(o.Stratify, n, nTrain, nTest, seed)
	}
	// ShuffleSplit: one permutation; test is its head, train what follows.
	perm := random.New(seed).Permutation(n)
	return perm[nTest : nTest+nTrain : nTest+nTrain], perm[:nTest:nTest], nil
}

// sizeKind is how a size argument is read: unset, a fraction or a count.
type sizeKind int

const (
	unset sizeKind = iota
	fraction
	count
)

// kindOf classifies a size the way scikit-learn tells a float from an int.
func kindOf(v float64) sizeKind {
	switch {
	case v == 0:
		return unset
	case v >= 1 && v == math.Trunc(v):
		return count
	default:
		return fraction
	}
}

// formatSize prints a size as Python would in scikit-learn's messages.
func formatSize(v float64) string {
	switch kindOf(v) {
	case unset:
		return "None"
	case count:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Sizes returns the training and test set sizes for n rows, validating the
// sizes exactly as scikit-learn's _validate_shuffle_split (see Options for
// how testSize and trainSize are read).
func Sizes(n int, testSize, trainSize float64) (nTrain, nTest int, err error) {
	if testSize == 0 && trainSize == 0 {
		testSize = DefaultTestSize
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"test_size", testSize}, {"train_size", trainSize}} {
		bad := math.IsNaN(s.v) || s.v < 0 || math.IsInf(s.v, 0)
		switch kindOf(s.v) {
		case count:
			bad = bad || s.v >= float64(n)
		case fraction:
			bad = bad || s.v >= 1
		}
		if bad {
			return 0, 0, errs.Errorf(errs.Invalid,
				"%s=%s should be either positive and smaller than the number of samples %d or a float in the (0, 1) range",
				s.name, formatSize(s.v), n)
		}
	}
	testKind, trainKind := kindOf(testSize), kindOf(trainSize)
	if testKind == fraction && trainKind == fraction && trainSize+testSize > 1 {
		return 0, 0, errs.Errorf(errs.Invalid,
			"the sum of test_size and train_size = %s should be in the (0, 1) range; reduce test_size and/or train_size",
			strconv.FormatFloat(trainSize+testSize, 'g', -1, 64))
	}
	var fTest, fTrain float64
	switch testKind {
	case fraction:
		fTest = math.Ceil(testSize * float64(n))
	case count:
		fTest = testSize
	}
	switch trainKind {
	case fraction:
		fTrain = math.Floor(trainSize * float64(n))
	case count:
		fTrain = trainSize
	}
	if trainKind == unset {
		fTrain = float64(n) - fTest
	} else if testKind == unset {
		fTest = float64(n) - fTrain
	}
	if fTrain+fTest > float64(n) {
		return 0, 0, errs.Errorf(errs.Invalid,
			"the sum of train_size and test_size = %d should be smaller than the number of samples %d; reduce test_size and/or train_size",
			int(fTrain+fTest), n)
	}
	nTrain, nTest = int(fTrain), int(fTest)
	if nTrain == 0 {
		return 0, 0, errs.Errorf(errs.Invalid,
			"with n_samples=%d, test_size=%s and train_size=%s the resulting train set would be empty; adjust any of them",
			n, formatSize(testSize), formatSize(trainSize))
	}
	return nTrain, nTest, nil
}

// stratified is StratifiedShuffleSplit's first split.
func stratified(y []float64, n, nTrain, nTest int, seed uint32) (train, test []int, err error) {
	if len(y) != n {
		return nil, nil, errs.Errorf(errs.Invalid,
			"stratify has %d labels but there are %d samples", len(y), n)
	}
	classes, yIdx, err := encode(y)
	if err != nil {
		return nil, nil, err
	}
	k := len(classes)
	counts := make([]int, k)
	for _, c := range yIdx {
		counts[c]++
	}
	if slices.Min(counts) < 2 {
		return nil, nil, errs.Errorf(errs.Invalid,
			"the least populated class in stratify (%s) has only 1 member, too few: every class needs at least 2",
			strconv.FormatFloat(classes[slices.Index(counts, slices.Min(counts))], 'g', -1, 64))
	}
	if nTrain < k {
		return nil, nil, errs.Errorf(errs.Invalid,
			"the train_size = %d should be greater or equal to the number of classes = %d", nTrain, k)
	}
	if nTest < k {
		return nil, nil, errs.Errorf(errs.Invalid,
			"the test_size = %d should be greater or equal to the number of classes = %d", nTest, k)
	}
	// Rows of each class in increasing order (a stable argsort of yIdx).
	start := make([]int, k+1)
	for c, m := range counts {
		start[c+1] = start[c] + m
	}
	byClass := make([]int, n)
	fill := slices.Clone(start[:k])
	for row, c := range yIdx {
		byClass[fill[c]] = row
		fill[c]++
	}

	rng := random.New(seed)
	nI := approximateMode(counts, nTrain, rng)
	remaining := make([]int, k)
	for c := range counts {
		remaining[c] = counts[c] - nI[c]
	}
	tI := approximateMode(remaining, nTest, rng)

	train = make([]int, 0, nTrain)
	test = make([]int, 0, nTest)
	for c := 0; c < k; c++ {
		rows := byClass[start[c]:start[c+1]]
		perm := rng.Permutation(counts[c])
		for _, p := range perm[:nI[c]] {
			train = append(train, rows[p])
		}
		for _, p := range perm[nI[c] : nI[c]+tI[c]] {
			test = append(test, rows[p])
		}
	}
	rng.Shuffle(train)
	rng.Shuffle(test)
	return train, test, nil
}

// encode returns the sorted distinct labels and each row's index into them,
// like numpy.unique(y, return_inverse=True).
func encode(y []float64) (classes []float64, idx []int, err error) {
	for i, v := range y {
		if math.IsNaN(v) {
			return nil, nil, errs.Errorf(errs.Invalid, "stratify label of row %d is NaN", i)
		}
	}
	classes = slices.Clone(y)
	slices.Sort(classes)
	classes = slices.Compact(classes)
	idx = make([]int, len(y))
	for i, v := range y {
		c, _ := slices.BinarySearch(classes, v)
		idx[i] = c
	}
	return classes, idx, nil
}

// approximateMode is scikit-learn's _approximate_mode: how many of nDraws
// draws each class gets, proportional to classCounts, with leftover draws
// going to the largest remainders and ties broken by rng as
// rng.choice(inds, size, replace=False) does (a permutation's head).
func approximateMode(classCounts []int, nDraws int, rng *random.State) []int {
	total := 0
	for _, c := range classCounts {
		total += c
	}
	k := len(classCounts)
	floored := make([]int, k)
	remainder := make([]float64, k)
	added := 0
	for i, c := range classCounts {
		continuous := float64(c) / float64(total) * float64(nDraws)
		f := math.Floor(continuous)
		floored[i] = int(f)
		remainder[i] = continuous - f
		added += int(f)
	}
	need := nDraws - added
	if need <= 0 {
		return floored
	}
	values := slices.Clone(remainder)
	slices.Sort(values)
	values = slices.Compact(values)
	inds := make([]int, 0, k)
	for v := len(values) - 1; v >= 0 && need > 0; v-- {
		inds = inds[:0]
		for i, r := range remainder {
			if r == values[v] {
				inds = append(inds, i)
			}
		}
		addNow := min(len(inds), need)
		for _, p := range rng.Permutation(len(inds))[:addNow] {
			floored[inds[p]]++
		}
		need -= addNow
	}
	return floored
}
