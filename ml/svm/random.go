package svm

// mt19937 is the 32-bit Mersenne Twister. Both numpy's legacy RandomState
// and the std::mt19937 that scikit-learn's libsvm uses are this generator
// seeded with init_genrand, so it reproduces their streams exactly.
type mt19937 struct {
	state [624]uint32
	index int
}

// newMT19937 returns a generator seeded like std::mt19937(seed) and
// numpy.random.RandomState(seed).
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

// boundedInt returns a value in [0, bound) exactly as scikit-learn's
// libsvm bounded_rand_int does (Lemire's method with rejection).
func (m *mt19937) boundedInt(bound uint32) uint32 {
	x := m.next()
	prod := uint64(x) * uint64(bound)
	low := uint32(prod)
	if low < bound {
		t := -bound
		if t >= bound {
			t -= bound
			if t >= bound {
				t %= bound
			}
		}
		for low < t {
			x = m.next()
			prod = uint64(x) * uint64(bound)
			low = uint32(prod)
		}
	}
	return uint32(prod >> 32)
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

// libsvmSeed is the seed scikit-learn's SVC.fit hands to libsvm for a
// given random_state: RandomState(random_state).randint(2**31 - 1).
func libsvmSeed(randomState uint32) uint32 {
	return uint32(newMT19937(randomState).numpyRandint(1<<31 - 1))
}
