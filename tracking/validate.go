package tracking

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
)

// Limits on run data, as in MLflow.
const (
	maxKeyLen        = 250
	maxParamValueLen = 6000
	maxTagValueLen   = 8000
)

// ValidateKey checks a metric, param or tag key (what names the kind, e.g.
// "param") against MLflow's rules: letters, digits, '_', '-', '.', '/' and
// space; at most 250 characters; unchanged by POSIX path normalisation (no
// "..", no leading or trailing '/', no "//", no "./").
func ValidateKey(what, key string) error {
	if key == "" {
		return errs.Errorf(errs.Invalid, "a %s key is empty", what)
	}
	if n := utf8.RuneCountInString(key); n > maxKeyLen {
		return errs.Errorf(errs.Invalid, "%s key %q is %d characters long; the limit is %d", what, key, n, maxKeyLen)
	}
	for _, r := range key {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-./ ", r)) {
			return errs.Errorf(errs.Invalid, "%s key %q contains %q; keys may only contain letters, digits, '_', '-', '.', '/' and spaces", what, key, r)
		}
	}
	if clean := path.Clean(key); clean != key || clean == "." || strings.HasPrefix(clean, "..") || strings.HasPrefix(clean, "/") {
		return errs.Errorf(errs.Invalid, "%s key %q is not a clean relative path; remove any '..', './', '//' and leading or trailing '/'", what, key)
	}
	return nil
}

// ValidateParams checks params' keys and value lengths.
func ValidateParams(params []Param) error {
	for _, p := range params {
		if err := ValidateKey("param", p.Key); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(p.Value); n > maxParamValueLen {
			return errs.Errorf(errs.Invalid, "the value of param %q is %d characters long; the limit is %d", p.Key, n, maxParamValueLen)
		}
	}
	return nil
}

// ValidateTags checks tags' keys and value lengths.
func ValidateTags(tags []Tag) error {
	for _, t := range tags {
		if err := ValidateKey("tag", t.Key); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(t.Value); n > maxTagValueLen {
			return errs.Errorf(errs.Invalid, "the value of tag %q is %d characters long; the limit is %d", t.Key, n, maxTagValueLen)
		}
	}
	return nil
}

// ValidateMetrics checks metrics' keys, checking each distinct key once.
// NaN and infinite values are allowed.
func ValidateMetrics(metrics []Metric) error {
	var last string
	for i, m := range metrics {
		if i > 0 && m.Key == last {
			continue
		}
		if err := ValidateKey("metric", m.Key); err != nil {
			return err
		}
		last = m.Key
	}
	return nil
}

// NewerMetric reports whether point a replaces b as the latest value of a
// metric: MLflow's rule, the greater (step, timestamp, value). At equal step
// and timestamp a NaN neither replaces nor is replaced (as Python's tuple
// comparison behaves), so the earlier point stays.
func NewerMetric(a, b Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.Value >= b.Value // false when either is NaN
}
