package random

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"testing"
)

// fixture mirrors testdata/numpy_legacy.json (see testdata/README.md).
type fixture struct {
	Numpy string `json:"numpy"`
	Cases []struct {
		Seed           uint32           `json:"seed"`
		Uint32         []uint32         `json:"uint32"`
		RandomSample   []string         `json:"random_sample"`
		Permutation    map[string][]int `json:"permutation"`
		Shuffle100_120 []int            `json:"shuffle_100_120"`
		RandInt        []struct {
			Low    int   `json:"low"`
			High   int   `json:"high"`
			Values []int `json:"values"`
		} `json:"randint"`
		RandIntScalar     []int    `json:"randint_scalar"`
		Normal            []string `json:"normal"`
		NormalInterleaved []string `json:"normal_interleaved"`
	} `json:"cases"`
	Arrays []struct {
		Key          []uint32 `json:"key"`
		RandomSample []string `json:"random_sample"`
	} `json:"arrays"`
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	data, err := os.ReadFile("testdata/numpy_legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("fixture has no cases")
	}
	return f
}

func hexFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUint32MatchesNumpy(t *testing.T) {
	for _, c := range loadFixture(t).Cases {
		s := New(c.Seed)
		for i, want := range c.Uint32 {
			if got := s.Uint32(); got != want {
				t.Fatalf("seed %d draw %d: got %d, want %d", c.Seed, i, got, want)
			}
		}
	}
}

func TestRandomSampleMatchesNumpy(t *testing.T) {
	for _, c := range loadFixture(t).Cases {
		s := New(c.Seed)
		for i, w := range c.RandomSample {
			want := hexFloat(t, w)
			if got := s.RandomSample(); got != want {
				t.Fatalf("seed %d draw %d: got %v, want %v", c.Seed, i, got, want)
			}
		}
	}
}

func TestNewFromArrayMatchesNumpy(t *testing.T) {
	for _, a := range loadFixture(t).Arrays {
		s := NewFromArray(a.Key)
		for i, w := range a.RandomSample {
			want := hexFloat(t, w)
			if got := s.RandomSample(); got != want {
				t.Fatalf("key %v draw %d: got %v, want %v", a.Key, i, got, want)
			}
		}
	}
}

func TestPermutationMatchesNumpy(t *testing.T) {
	for _, c := range loadFixture(t).Cases {
		s := New(c.Seed)
		// The fixture draws the permutations in this order from one state.
		for _, n := range []int{1, 2, 5, 10, 37, 150} {
			want := c.Permutation[strconv.Itoa(n)]
			if got := s.Permutation(n); !slices.Equal(got, want) {
				t.Fatalf("seed %d permutation(%d): got %v, want %v", c.Seed, n, got, want)
			}
		}
	}
}

func TestShuffleMatchesNumpy(t *testing.T) {
	for _, c := range loadFixture(t).Cases {
		s := New(c.Seed)
		x := make([]int, 20)
		for i := range x {
			x[i] = 100 + i
		}
		s.Shuffle(x)
		if !slices.Equal(x, c.Shuffle100_120) {
			t.Fatalf("seed %d: got %v, want %v", c.Seed, x, c.Shuffle100_120)
		}
	}
}

func TestRandIntMatchesNumpy(t *testing.T) {
	for _, c := range loadFixture(t).Cases {
		s := New(c.Seed)
		for _, r := range c.RandInt {
			got := s.RandInts(r.Low, r.High, len(r.Values))
			if !slices.Equal(got, r.Values) {
				t.Fatalf("seed %d randint(%d, %d): got %v, want %v", c.Seed, r.Low, r.High, got, r.Values)
			}
		}
		s = New(c.Seed)
		for i, want := range c.RandIntScalar {
			if got := s.RandInt(0, 1000); got != want {
				t.Fatalf("seed %d randint(0, 1000) draw %d: got %d, want %d", c.Seed, i, got, want)
			}
		}
	}
}

func TestNormalMatchesNumpy(t *testing.T) {
	if !exactLog {
		t.Skip("built without cgo: Normal uses math.Log, not the C library's log")
	}
	for _, c := range loadFixture(t).Cases {
		s := New(c.Seed)
		for i, w := range c.Normal {
			want := hexFloat(t, w)
			if got := s.Normal(); got != want {
				t.Fatalf("seed %d draw %d: got %v, want %v", c.Seed, i, got, want)
			}
		}
		s = New(c.Seed)
		got := []float64{s.Normal(), s.RandomSample(), s.Normal()}
		for i, w := range c.NormalInterleaved {
			if want := hexFloat(t, w); got[i] != want {
				t.Fatalf("seed %d interleaved draw %d: got %v, want %v", c.Seed, i, got[i], want)
			}
		}
	}
}

func TestBoundedRandIntMatchesLibsvm(t *testing.T) {
	// testdata/libsvm_newrand.json: scikit-learn's own bounded_rand_int,
	// called after set_seed(seed) for each bound in turn.
	var fx struct {
		Bounds []uint32 `json:"bounds"`
		Cases  []struct {
			Seed   uint32   `json:"seed"`
			Values []uint32 `json:"values"`
		} `json:"cases"`
	}
	data, err := os.ReadFile("testdata/libsvm_newrand.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatalf("decode testdata/libsvm_newrand.json: %v", err)
	}
	if len(fx.Cases) == 0 || len(fx.Bounds) == 0 {
		t.Fatal("libsvm fixture has no cases")
	}
	for _, c := range fx.Cases {
		if len(c.Values) != len(fx.Bounds) {
			t.Fatalf("seed %d: %d values for %d bounds", c.Seed, len(c.Values), len(fx.Bounds))
		}
		s := New(c.Seed)
		for i, bound := range fx.Bounds {
			if got := s.BoundedRandInt(bound); got != c.Values[i] {
				t.Fatalf("seed %d draw %d: BoundedRandInt(%d) = %d, libsvm gives %d", c.Seed, i, bound, got, c.Values[i])
			}
		}
	}
}

func TestSeedRestartsTheStream(t *testing.T) {
	fresh := New(42)
	want := []uint32{fresh.Uint32(), fresh.Uint32(), fresh.Uint32()}
	s := New(7)
	s.Normal() // leaves a cached Gaussian, which Seed must drop
	s.Seed(42)
	got := []uint32{s.Uint32(), s.Uint32(), s.Uint32()}
	if !slices.Equal(got, want) {
		t.Fatalf("after Seed(42): %v, New(42) gives %v", got, want)
	}
	s.Seed(42)
	fresh = New(42)
	if a, b := s.Normal(), fresh.Normal(); a != b {
		t.Fatalf("Normal after Seed(42) = %v, after New(42) = %v", a, b)
	}
}

func TestEdgeCases(t *testing.T) {
	s := New(7)
	if p := s.Permutation(0); len(p) != 0 {
		t.Fatalf("Permutation(0) = %v, want empty", p)
	}
	if v := s.RandInt(5, 6); v != 5 {
		t.Fatalf("RandInt(5, 6) = %d, want 5", v)
	}
	if v := s.RandInt(5, 5); v != 5 {
		t.Fatalf("RandInt(5, 5) = %d, want 5", v)
	}
	if v := s.Interval(0); v != 0 {
		t.Fatalf("Interval(0) = %d, want 0", v)
	}
	for i := 0; i < 1000; i++ {
		if v := s.RandInt(-3, 4); v < -3 || v >= 4 {
			t.Fatalf("RandInt(-3, 4) = %d, out of range", v)
		}
	}
}

func BenchmarkPermutation150(b *testing.B) {
	s := New(42)
	for i := 0; i < b.N; i++ {
		s.Permutation(150)
	}
}
