package split

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// fixture mirrors testdata/train_test_split.json (see testdata/README.md).
type fixture struct {
	Labels     map[string][]float64 `json:"labels"`
	Plain      []fixtureCase        `json:"plain"`
	Stratified []fixtureCase        `json:"stratified"`
	Errors     []struct {
		N         int      `json:"n"`
		TestSize  *float64 `json:"test_size"`
		TrainSize *float64 `json:"train_size"`
		Stratify  any      `json:"stratify"`
		Shuffle   bool     `json:"shuffle"`
		Message   string   `json:"sklearn_error"`
	} `json:"errors"`
}

type fixtureCase struct {
	N         int      `json:"n"`
	Labels    string   `json:"labels"`
	TestSize  *float64 `json:"test_size"`
	TrainSize *float64 `json:"train_size"`
	Seed      *int64   `json:"seed"`
	Shuffle   *bool    `json:"shuffle"`
	Train     string   `json:"train"`
	Test      string   `json:"test"`
}

func (c fixtureCase) options() Options {
	o := Options{RandomState: c.Seed, Shuffle: c.Shuffle == nil || *c.Shuffle}
	if c.TestSize != nil {
		o.TestSize = *c.TestSize
	}
	if c.TrainSize != nil {
		o.TrainSize = *c.TrainSize
	}
	return o
}

func (c fixtureCase) String() string {
	return "n=" + strconv.Itoa(c.N) + " labels=" + c.Labels + " " + sizeString(c.TestSize) + "/" + sizeString(c.TrainSize) + " seed=" + sizeString64(c.Seed)
}

func sizeString(p *float64) string {
	if p == nil {
		return "None"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func sizeString64(p *int64) string {
	if p == nil {
		return "None"
	}
	return strconv.FormatInt(*p, 10)
}

func loadFixture(t *testing.T) fixture {
	t.Helper()
	data, err := os.ReadFile("testdata/train_test_split.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Plain) < 100 || len(f.Stratified) < 50 || len(f.Errors) < 10 {
		t.Fatalf("fixture too small: %d plain, %d stratified, %d errors", len(f.Plain), len(f.Stratified), len(f.Errors))
	}
	return f
}

func parseInts(t *testing.T, s string) []int {
	t.Helper()
	fields := strings.Fields(s)
	out := make([]int, len(fields))
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

func compare(t *testing.T, c fixtureCase, what string, got []int, wantText string) {
	t.Helper()
	want := parseInts(t, wantText)
	if len(got) != len(want) {
		t.Fatalf("%v: %s has %d rows, want %d", c, what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v: %s[%d] = %d, want %d\ngot  %v\nwant %v", c, what, i, got[i], want[i], got, want)
		}
	}
}

func TestPlainMatchesSklearn(t *testing.T) {
	for _, c := range loadFixture(t).Plain {
		train, test, err := Split(c.N, c.options())
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		compare(t, c, "train", train, c.Train)
		compare(t, c, "test", test, c.Test)
	}
}

func TestStratifiedMatchesSklearn(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.Stratified {
		o := c.options()
		o.Stratify = f.Labels[c.Labels]
		if o.Stratify == nil {
			t.Fatalf("fixture has no label set %q", c.Labels)
		}
		train, test, err := Split(len(o.Stratify), o)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		compare(t, c, "train", train, c.Train)
		compare(t, c, "test", test, c.Test)
	}
}

func TestIrisKnownSplit(t *testing.T) {
	seed := int64(42)
	train, test, err := Split(150, Options{RandomState: &seed, Shuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{73, 18, 118, 78, 76, 31, 64, 141, 68, 82, 110, 12, 36, 9, 19, 56, 104, 69, 55, 132, 29, 127, 26, 128, 131, 145, 108, 143, 45, 30, 22, 15, 65, 11, 42, 146, 51, 27}
	if len(test) != len(want) || len(train) != 112 {
		t.Fatalf("got %d train and %d test rows, want 112 and %d", len(train), len(test), len(want))
	}
	for i := range want {
		if test[i] != want[i] {
			t.Fatalf("test[%d] = %d, want %d", i, test[i], want[i])
		}
	}
}

func TestErrorsWhereSklearnRejects(t *testing.T) {
	f := loadFixture(t)
	checked := 0
	for _, e := range f.Errors {
		o := Options{Shuffle: e.Shuffle}
		if e.TestSize != nil {
			if *e.TestSize == 0 {
				// Zero means "unset" in Options; the caller rejects an explicit 0.
				continue
			}
			o.TestSize = *e.TestSize
		}
		if e.TrainSize != nil {
			o.TrainSize = *e.TrainSize
		}
		switch s := e.Stratify.(type) {
		case string:
			o.Stratify = f.Labels[s]
		case []any:
			for _, v := range s {
				o.Stratify = append(o.Stratify, v.(float64))
			}
		}
		_, _, err := Split(e.N, o)
		if err == nil {
			t.Fatalf("n=%d %+v: no error, scikit-learn says %q", e.N, o, e.Message)
		}
		if errs.Code(err) != errs.Invalid {
			t.Fatalf("n=%d: error code %s, want %s (%v)", e.N, errs.Code(err), errs.Invalid, err)
		}
		// The first words of scikit-learn's message survive in ours.
		want := strings.ToLower(strings.Join(strings.Fields(e.Message)[:2], " "))
		if !strings.HasPrefix(strings.ToLower(err.Error()), want) {
			t.Fatalf("n=%d: error %q does not start like scikit-learn's %q", e.N, err, e.Message)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("checked only %d error cases", checked)
	}
}

func TestOtherErrors(t *testing.T) {
	bad := int64(1) << 32
	neg := int64(-1)
	cases := []struct {
		name string
		n    int
		o    Options
		want string
	}{
		{"random state too big", 10, Options{Shuffle: true, RandomState: &bad}, "random_state must be between 0 and 2**32 - 1, not 4294967296"},
		{"negative random state", 10, Options{Shuffle: true, RandomState: &neg}, "random_state must be between 0 and 2**32 - 1, not -1"},
		{"stratify length", 10, Options{Shuffle: true, Stratify: []float64{0, 1}}, "stratify has 2 labels but there are 10 samples"},
		{"negative n", -1, Options{}, "the number of samples must not be negative, not -1"},
		{"nan test size", 10, Options{TestSize: nanValue()}, "test_size=NaN should be either positive and smaller than the number of samples 10 or a float in the (0, 1) range"},
		{"fractional count", 150, Options{TestSize: 1.5}, "test_size=1.5 should be either positive and smaller than the number of samples 150 or a float in the (0, 1) range"},
	}
	for _, c := range cases {
		_, _, err := Split(c.n, c.o)
		if err == nil || err.Error() != c.want || errs.Code(err) != errs.Invalid {
			t.Fatalf("%s: got %v (code %s), want %q", c.name, err, errs.Code(err), c.want)
		}
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestSeedUsedWhenRandomStateNil(t *testing.T) {
	seed := int64(42)
	a, b, err := Split(150, Options{RandomState: &seed, Shuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	c, d, err := Split(150, Options{Seed: 42, Shuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("train differs at %d", i)
		}
	}
	for i := range b {
		if b[i] != d[i] {
			t.Fatalf("test differs at %d", i)
		}
	}
}

func TestSizes(t *testing.T) {
	cases := []struct {
		n                 int
		test, train       float64
		wantTrain, wantTe int
	}{
		{150, 0, 0, 112, 38},
		{150, 0.2, 0, 120, 30},
		{150, 0, 0.6, 90, 60},
		{150, 30, 0, 120, 30},
		{150, 0.3, 0.5, 75, 45},
		{10, 1, 0, 9, 1},
	}
	for _, c := range cases {
		tr, te, err := Sizes(c.n, c.test, c.train)
		if err != nil || tr != c.wantTrain || te != c.wantTe {
			t.Fatalf("Sizes(%d, %v, %v) = %d, %d, %v; want %d, %d", c.n, c.test, c.train, tr, te, err, c.wantTrain, c.wantTe)
		}
	}
}

func BenchmarkStratifiedIris(b *testing.B) {
	y := make([]float64, 150)
	for i := range y {
		y[i] = float64(i / 50)
	}
	seed := int64(42)
	for i := 0; i < b.N; i++ {
		if _, _, err := Split(150, Options{RandomState: &seed, Shuffle: true, Stratify: y}); err != nil {
			b.Fatal(err)
		}
	}
}
