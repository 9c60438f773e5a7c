package tracking

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Words for random run names such as "brave-owl-417".
var (
	nameAdjectives = [...]string{
		"agile", "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "curious", "daring",
		"eager", "fast", "fierce", "gentle", "glad", "golden", "grand", "happy", "honest", "humble",
		"jolly", "keen", "kind", "lively", "lucky", "merry", "mighty", "nimble", "noble", "patient",
		"polite", "proud", "quick", "quiet", "rare", "sharp", "shy", "silent", "sleek", "smart",
		"steady", "sunny", "swift", "tidy", "vast", "warm", "wise", "witty", "young", "zesty",
	}
	nameNouns = [...]string{
		"ant", "bass", "bat", "bear", "bee", "bird", "boar", "cat", "carp", "colt",
		"crab", "crane", "crow", "deer", "doe", "dove", "duck", "eagle", "eel", "elk",
		"finch", "fish", "fox", "frog", "goat", "hare", "hawk", "hen", "horse", "jay",
		"koala", "lark", "lion", "lynx", "mole", "moth", "mouse", "newt", "otter", "owl",
		"panda", "quail", "ram", "robin", "seal", "shrew", "snail", "swan", "toad", "wolf",
	}
)

// randomUint returns a uniformly random number in [0, n) from crypto/rand.
// The modulo bias is negligible for the small n used here.
func randomUint(n int) int {
	var b [8]byte
	rand.Read(b[:]) // never fails (it aborts the program instead)
	return int(binary.BigEndian.Uint64(b[:]) % uint64(n))
}

// NewRunID returns a random 32-character lower-case hex run id.
func NewRunID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RandomRunName returns a name such as "brave-owl-417".
func RandomRunName() string {
	return fmt.Sprintf("%s-%s-%d",
		nameAdjectives[randomUint(len(nameAdjectives))],
		nameNouns[randomUint(len(nameNouns))],
		randomUint(1000))
}
