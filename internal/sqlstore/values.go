package sqlstore

import "math"

// StoredValue returns how a metric value is stored: NaN, which SQL columns
// cannot hold portably, is value 0 with is_nan 1.
func StoredValue(v float64) (value float64, isNaN int) {
	if math.IsNaN(v) {
		return 0, 1
	}
	return v, 0
}
