// Package patterntest checks a hand-written string test against the
// regular expression it stands for (mlrun writes the patterns its packages
// would compile at start-up as small functions).
package patterntest

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// SameAsRegexp checks that f accepts exactly the strings the regexp pattern
// matches: every string of up to 3 characters from an alphabet of
// characters at the edges of the regexp's classes, random longer ones, and
// the prefix followed by each of those.
func SameAsRegexp(t testing.TB, pattern string, f func(string) bool, prefixes ...string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	alphabet := []string{"a", "z", "A", "Z", "e", "E", "f", "g", "0", "9", "_", ".", "-", "+", "@", "%", "=", ":", ",", "/", " ", "\t", "\n", "\f", "\r", "\v", "'", "\xff", "é", "\x00"}
	var words []string
	var grow func(s string, n int)
	grow = func(s string, n int) {
		words = append(words, s)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(s+c, n-1)
		}
	}
	grow("", 3)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		n := rng.IntN(130)
		// Mostly characters the pattern accepts, so that long matches occur.
		safe := rng.IntN(2) == 0
		for range n {
			c := alphabet[rng.IntN(len(alphabet))]
			if safe && rng.IntN(50) != 0 {
				c = alphabet[rng.IntN(13)]
			}
			b.WriteString(c)
		}
		words = append(words, b.String())
	}
	bad := 0
	for _, prefix := range append([]string{""}, prefixes...) {
		for _, w := range words {
			s := prefix + w
			if got, want := f(s), re.MatchString(s); got != want && bad < 10 {
				bad++
				t.Errorf("%q: got %v, the regexp %s says %v", s, got, pattern, want)
			}
		}
	}
}
