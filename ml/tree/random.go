package tree

import "github.com/mlrun/mlrun/ml/random"

// randRMax is scikit-learn's RAND_R_MAX.
const randRMax = 0x7FFFFFFF

// randR is scikit-learn's tree RNG (our_rand_r, an xorshift generator), the
// one its splitter draws candidate features from. Its seed comes from
// numpy's RandomState (see splitterSeed).
type randR uint32

// intn returns a value in [low, high) as scikit-learn's rand_int.
func (r *randR) intn(low, high int) int {
	s := uint32(*r)
	if s == 0 {
		s = 1 // DEFAULT_SEED
	}
	s ^= s << 13
	s ^= s >> 17
	s ^= s << 5
	*r = randR(s)
	return low + int(s%(randRMax+1))%(high-low)
}

// splitterSeed is the seed scikit-learn's tree splitter draws from
// RandomState(seed): randint(0, RAND_R_MAX).
func splitterSeed(seed uint32) randR {
	return randR(random.New(seed).RandInt(0, randRMax))
}

// forestSeeds returns the random_state scikit-learn gives each tree of a
// forest: successive RandomState(seed).randint(2**31 - 1) draws.
func forestSeeds(seed uint32, n int) []uint32 {
	s := random.New(seed)
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(s.RandInt(0, randRMax))
	}
	return out
}

// bootstrapCounts writes into counts how often each of the n samples is
// drawn by RandomState(seed).randint(0, n, n), scikit-learn's bootstrap.
func bootstrapCounts(seed uint32, counts []float64) {
	clear(counts)
	s := random.New(seed)
	for range counts {
		counts[s.RandInt(0, len(counts))]++
	}
}
