// Package random reproduces NumPy's legacy random generator,
// numpy.random.RandomState (the Mersenne Twister MT19937), bit for bit.
//
// scikit-learn turns an integer random_state into a RandomState, so any
// mlrun code that must pick the same rows or the same initial weights as
// scikit-learn draws from a *State made by New with the same seed. Every
// method documents the NumPy 1.24 call it matches; the tests compare
// against values dumped from NumPy itself. The std::mt19937 that
// scikit-learn's libsvm seeds with an integer is the same generator:
// Seed and BoundedRandInt reproduce libsvm's set_seed and
// bounded_rand_int, tested against scikit-learn's own C code.
//
// A State is not safe for concurrent use.
package random

import (
	"math"
)

// Mersenne Twister MT19937 parameters.
const (
	stateLen   = 624
	shiftM     = 397
	matrixA    = 0x9908b0df
	upperMask  = 0x80000000
	lowerMask  = 0x7fffffff
	twoTo53Inv = 1.0 / 9007199254740992.0
)

// State is a NumPy RandomState: the MT19937 state plus the cached second
// value of the polar Gaussian method.
type State struct {
	key      [stateLen]uint32
	pos      int
	hasGauss bool
	gauss    float64
}

// New returns the generator that numpy.random.RandomState(seed) creates for
// an integer seed (NumPy's mt19937_seed, the reference init_genrand).
func New(seed uint32) *State {
	s := &State{}
	s.initGenrand(seed)
	return s
}

// NewFromArray returns the generator that numpy.random.RandomState(key)
// creates for a 1-D array of integers in [0, 2**32) (the reference
// init_by_array). An empty key behaves as NumPy's would not (NumPy
// rejects it); here it seeds as init_by_array with a zero-length key.
func NewFromArray(key []uint32) *State {
	s := &State{}
	s.initByArray(key)
	return s
}

func (s *State) initGenrand(seed uint32) {
	for i := 0; i < stateLen; i++ {
		s.key[i] = seed
		seed = 1812433253*(seed^(seed>>30)) + uint32(i) + 1
	}
	s.pos = stateLen
	s.hasGauss = false
	s.gauss = 0
}

func (s *State) initByArray(key []uint32) {
	s.initGenrand(19650218)
	mt := &s.key
	i, j := 1, 0
	k := stateLen
	if len(key) > k {
		k = len(key)
	}
	for ; k > 0; k-- {
		var kj uint32
		if len(key) > 0 {
			kj = key[j]
		}
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1664525)) + kj + uint32(j)
		i++
		j++
		if i >= stateLen {
			mt[0] = mt[stateLen-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k = stateLen - 1; k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= stateLen {
			mt[0] = mt[stateLen-1]
			i = 1
		}
	}
	mt[0] = 0x80000000
	s.pos = stateLen
	s.hasGauss = false
	s.gauss = 0
}

// Seed resets s to the state New(seed) returns, as RandomState.seed(seed)
// does for an integer seed and as scikit-learn's libsvm set_seed does for
// its std::mt19937.
func (s *State) Seed(seed uint32) {
	s.initGenrand(seed)
}

// generate refills the state with the next 624 words.
func (s *State) generate() {
	mt := &s.key
	var y uint32
	var i int
	for i = 0; i < stateLen-shiftM; i++ {
		y = (mt[i] & upperMask) | (mt[i+1] & lowerMask)
		mt[i] = mt[i+shiftM] ^ (y >> 1) ^ (-(y & 1) & matrixA)
	}
	for ; i < stateLen-1; i++ {
		y = (mt[i] & upperMask) | (mt[i+1] & lowerMask)
		mt[i] = mt[i+shiftM-stateLen] ^ (y >> 1) ^ (-(y & 1) & matrixA)
	}
	y = (mt[stateLen-1] & upperMask) | (mt[0] & lowerMask)
	mt[stateLen-1] = mt[shiftM-1] ^ (y >> 1) ^ (-(y & 1) & matrixA)
	s.pos = 0
}

// Uint32 returns the next raw 32-bit output, as
// RandomState.randint(0, 2**32, dtype=np.uint64) does one at a time.
func (s *State) Uint32() uint32 {
	if s.pos == stateLen {
		s.generate()
	}
	y := s.key[s.pos]
	s.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Uint64 returns two raw outputs joined, the first as the high half
// (NumPy's mt19937_next64).
func (s *State) Uint64() uint64 {
	hi := uint64(s.Uint32())
	return hi<<32 | uint64(s.Uint32())
}

// RandomSample returns a float64 in [0, 1) with 53 random bits, as
// RandomState.random_sample() does.
func (s *State) RandomSample() float64 {
	a := s.Uint32() >> 5
	b := s.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) * twoTo53Inv
}

// Interval returns a value in [0, max] drawn as NumPy's random_interval
// does: the smallest all-ones mask covering max, rejecting masked values
// above max. It draws 32-bit words when max < 2**32 and 64-bit ones
// otherwise.
func (s *State) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := bitMask(max)
	if max <= math.MaxUint32 {
		for {
			v := uint64(s.Uint32()) & mask
			if v <= max {
				return v
			}
		}
	}
	for {
		v := s.Uint64() & mask
		if v <= max {
			return v
		}
	}
}

// bitMask returns the smallest value of the form 2**k - 1 that is >= v.
func bitMask(v uint64) uint64 {
	v |= v >> 1
	v |= v >> 2
	v |= v >> 4
	v |= v >> 8
	v |= v >> 16
	v |= v >> 32
	return v
}

// Shuffle permutes x in place as RandomState.shuffle does for a 1-D array:
// Fisher–Yates from the last element down, swapping x[i] with
// x[Interval(i)].
func (s *State) Shuffle(x []int) {
	for i := len(x) - 1; i > 0; i-- {
		j := int(s.Interval(uint64(i)))
		x[i], x[j] = x[j], x[i]
	}
}

// Permutation returns a shuffled 0..n-1, as RandomState.permutation(n).
// It returns an empty slice for n <= 0.
func (s *State) Permutation(n int) []int {
	if n <= 0 {
		return []int{}
	}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	s.Shuffle(p)
	return p
}

// RandInt returns an integer in [low, high), as RandomState.randint(low,
// high) does for the default int64 dtype (masked rejection sampling). It
// returns low when high <= low + 1 — NumPy raises for high <= low, so
// callers must check that themselves.
func (s *State) RandInt(low, high int) int {
	if high <= low {
		return low
	}
	return low + int(s.bounded(uint64(high)-uint64(low)-1))
}

// RandInts returns size integers in [low, high), as
// RandomState.randint(low, high, size=size) does: the same values as size
// calls of RandInt.
func (s *State) RandInts(low, high, size int) []int {
	out := make([]int, max(size, 0))
	for i := range out {
		out[i] = s.RandInt(low, high)
	}
	return out
}

// bounded returns a value in [0, rng] as NumPy's random_bounded_uint64_fill
// does with use_masked=True.
func (s *State) bounded(rng uint64) uint64 {
	switch {
	case rng == 0:
		return 0
	case rng == math.MaxUint32:
		return uint64(s.Uint32())
	case rng < math.MaxUint32:
		mask := uint32(bitMask(rng))
		for {
			v := s.Uint32() & mask
			if uint64(v) <= rng {
				return uint64(v)
			}
		}
	case rng == math.MaxUint64:
		return s.Uint64()
	default:
		mask := bitMask(rng)
		for {
			v := s.Uint64() & mask
			if v <= rng {
				return v
			}
		}
	}
}

// BoundedRandInt returns a value in [0, bound) as scikit-learn's libsvm
// and liblinear draw one (bounded_rand_int in
// sklearn/svm/src/newrand/newrand.h): Lemire's method, the high half of a
// 32-bit word times bound, redrawing while the low half falls below
// 2**32 mod bound. Unlike NumPy's Generator.integers, which uses the same
// method, it always consumes at least one word, even for bound 1; for
// bound 0 it consumes one word and returns 0.
func (s *State) BoundedRandInt(bound uint32) uint32 {
	prod := uint64(s.Uint32()) * uint64(bound)
	low := uint32(prod)
	if low < bound {
		threshold := -bound % bound // 2**32 mod bound
		for low < threshold {
			prod = uint64(s.Uint32()) * uint64(bound)
			low = uint32(prod)
		}
	}
	return uint32(prod >> 32)
}

// Normal returns a standard normal value, as RandomState.standard_normal()
// does (the polar Box–Muller method; every second call returns the value
// cached by the call before). Built with cgo it uses the C library's log,
// as NumPy does, and matches NumPy exactly; without cgo it uses math.Log
// and may differ in the last bits.
func (s *State) Normal() float64 {
	if s.hasGauss {
		s.hasGauss = false
		g := s.gauss
		s.gauss = 0
		return g
	}
	var x1, x2, r2 float64
	for {
		// Explicit float64 conversions keep the compiler from fusing
		// multiply-adds, which would change the last bit on some CPUs.
		x1 = float64(2*s.RandomSample()) - 1
		x2 = float64(2*s.RandomSample()) - 1
		r2 = float64(x1*x1) + float64(x2*x2)
		if r2 < 1 && r2 != 0 {
			break
		}
	}
	f := math.Sqrt(-2 * clog(r2) / r2)
	s.gauss = f * x1
	s.hasGauss = true
	return f * x2
}
