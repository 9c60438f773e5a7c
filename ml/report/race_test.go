//go:build race

package report

// raceEnabled is set under the race detector, whose instrumentation moves
// values to the heap: tests of allocations skip their bounds.
const raceEnabled = true
