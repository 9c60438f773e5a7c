//go:build !race

package report

// raceEnabled is set under the race detector (see race_test.go).
const raceEnabled = false
