package tree

// mt19937 is the 32-bit Mersenne Twister behind numpy's legacy RandomState,
// seeded with init_genrand, so it reproduces RandomState(seed) exactly.
// (ml/svm holds the same generator; the two could share an internal
// package.)
type mt19937 struct {
	state [624]uint32
	index int
}

// newMT19937 returns a generator seeded like numpy.random.RandomState(seed).
func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{}
	m.seed(seed)
	return m
}

// seed resets the generator (init_genrand).
func (m *mt19937) seed(s uint32) {
	m.state[0] = s
	for i := 1; i < len(m.state); i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.index = len(m.state)
}

// next returns the next 32-bit output.
func (m *mt19937) next() uint32 {
	if m.index >= len(m.state) {
		m.twist()
	}
	y := m.state[m.index]
	m.index++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (m *mt19937) twist() {
	const n, mid = 624, 397
	for i := 0; i < n; i++ {
		y := (m.state[i] & 0x80000000) | (m.state[(i+1)%n] & 0x7fffffff)
		v := m.state[(i+mid)%n] ^ (y >> 1)
		if y&1 != 0 {
			v ^= 0x9908b0df
		}
		m.state[i] = v
	}
	m.index = 0
}

// numpyRandint returns numpy.random.RandomState's legacy randint(0, high)
// for 0 < high <= 2^32: masked rejection sampling on 32-bit outputs.
func (m *mt19937) numpyRandint(high uint64) uint64 {
	rng := high - 1
	if rng == 0 {
		return 0
	}
	mask := rng
	for s := uint(1); s < 64; s <<= 1 {
		mask |= mask >> s
	}
	for {
		v := uint64(m.next()) & mask
		if v <= rng {
			return v
		}
	}
}

// randRMax is scikit-learn's RAND_R_MAX.
const randRMax = 0x7FFFFFFF

// randR is scikit-learn's tree RNG (our_rand_r, an xorshift generator).
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
	return randR(newMT19937(seed).numpyRandint(randRMax))
}

// forestSeeds returns the random_state scikit-learn gives each tree of a
// forest: successive RandomState(seed).randint(2**31 - 1) draws.
func forestSeeds(seed uint32, n int) []uint32 {
	m := newMT19937(seed)
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(m.numpyRandint(randRMax))
	}
	return out
}

// bootstrapCounts writes into counts how often each of the n samples is
// drawn by RandomState(seed).randint(0, n, n), scikit-learn's bootstrap.
func bootstrapCounts(seed uint32, counts []float64) {
	clear(counts)
	m := newMT19937(seed)
	n := uint64(len(counts))
	for range counts {
		counts[m.numpyRandint(n)]++
	}
}
