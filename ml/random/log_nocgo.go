//go:build !cgo

package random

import "math"

// exactLog is false without cgo: Normal then uses Go's math.Log and may
// differ from NumPy in the last bits.
const exactLog = false

// clog returns math.Log(x); see log_cgo.go for why the C one is preferred.
func clog(x float64) float64 { return math.Log(x) }
