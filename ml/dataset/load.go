package dataset

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
)

// Missing-value policies for LoadOptions.Missing.
const (
	// MissingReject rejects a file with a missing value in a used column.
	MissingReject = ""
	// MissingDrop drops every row with a missing value in a used column.
	MissingDrop = "drop"
	// MissingMean fills a numeric feature with the mean of its values and a
	// categorical one with its most frequent value.
	MissingMean = "mean"
	// MissingMostFrequent fills every feature with its most frequent value.
	MissingMostFrequent = "most_frequent"
)

// MaxClassificationLabels is the most distinct integer target values for
// which Load infers classification.
const MaxClassificationLabels = 50

// missingTokens are the cell values (after trimming spaces) read as missing.
var missingTokens = [...]string{"", "NA", "NaN", "nan", "null"}

// LoadOptions say how to read a data file.
type LoadOptions struct {
	// Delimiter separates fields; 0 means ','.
	Delimiter rune
	// Target names the label column. It is required.
	Target string
	// Features, when set, keeps only these feature columns, in this order.
	Features []string
	// Drop removes these columns from the features.
	Drop []string
	// Types overrides the inferred kind of the named columns. Otherwise a
	// column is Numeric when every non-missing value parses as a number, and
	// Categorical if not.
	Types map[string]ColumnKind
	// Task is the target's task, or "" to infer it: classification when the
	// target is categorical (non-numeric, or typed so) or when every target
	// value is a whole number and there are at most MaxClassificationLabels
	// distinct values; regression otherwise.
	Task ml.Task
	// Missing is the missing-value policy: MissingReject (""), MissingDrop,
	// MissingMean or MissingMostFrequent. A missing value is an empty cell or
	// one of NA, NaN, nan and null. A missing target value is rejected
	// unless the policy is MissingDrop: targets are never imputed.
	Missing string
}

// Load reads a CSV file with a header line into a Dataset. Every problem
// with the file or the options is an errs.Invalid error naming the file and,
// where there is one, the line (the header is line 1) and the column.
// Surrounding spaces are trimmed from every cell; a UTF-8 byte-order mark
// is ignored.
func Load(path string, opts LoadOptions) (*Dataset, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Errorf(errs.NotFound, "data file %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return Parse(path, data, opts)
}

// Parse reads CSV data as Load does; path is used in messages and kept in
// the Dataset.
func Parse(path string, data []byte, opts LoadOptions) (*Dataset, error) {
	if err := checkOptions(path, opts); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	t, err := readTable(path, data, opts.Delimiter)
	if err != nil {
		return nil, err
	}
	l := &loader{path: path, opts: opts, t: t}
	ds, err := l.load()
	if err != nil {
		return nil, err
	}
	ds.Path = path
	ds.SHA256 = hex.EncodeToString(sum[:])
	return ds, nil
}

func checkOptions(path string, o LoadOptions) error {
	if o.Target == "" {
		return errs.Errorf(errs.Invalid, "no target column is set for %s", path)
	}
	switch o.Missing {
	case MissingReject, MissingDrop, MissingMean, MissingMostFrequent:
	default:
		return errs.Errorf(errs.Invalid, "missing-value policy %q for %s is not one of drop, mean, most_frequent or empty (reject)", o.Missing, path)
	}
	switch o.Task {
	case "", ml.Classification, ml.Regression:
	default:
		return errs.Errorf(errs.Invalid, "task %q for %s is not classification, regression or empty (infer)", o.Task, path)
	}
	for name, kind := range o.Types {
		if kind != Numeric && kind != Categorical {
			return errs.Errorf(errs.Invalid, "type %q of column %q for %s is not numeric or categorical", kind, name, path)
		}
	}
	return nil
}

// table is a CSV file's raw cells: row r's value for column c is
// cells[r*len(header)+c], read from line lines[r].
type table struct {
	header []string
	cells  []string
	lines  []int
}

func (t *table) rows() int { return len(t.lines) }

func (t *table) cell(r, c int) string { return t.cells[r*len(t.header)+c] }

// readTable splits the file into trimmed cells, checking that every row has
// as many fields as the header.
func readTable(path string, data []byte, delim rune) (*table, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errs.Errorf(errs.Invalid, "data file %s is empty; it needs a header line and data rows", path)
	}
	r := csv.NewReader(bytes.NewReader(data))
	if delim != 0 {
		r.Comma = delim
	}
	r.FieldsPerRecord = -1 // checked here, with a clearer message
	r.ReuseRecord = true
	rec, err := r.Read()
	if err != nil {
		return nil, csvError(path, delim, err)
	}
	t := &table{header: make([]string, len(rec))}
	for i, h := range rec {
		t.header[i] = strings.TrimSpace(h)
	}
	width := len(t.header)
	// Guess the row count from the line count to allocate once.
	t.lines = make([]int, 0, bytes.Count(data, []byte{'\n'}))
	t.cells = make([]string, 0, cap(t.lines)*width)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(path, delim, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != width {
			return nil, errs.Errorf(errs.Invalid, "%s line %d has %d fields but the header has %d", path, line, len(rec), width)
		}
		for _, v := range rec {
			t.cells = append(t.cells, strings.TrimSpace(v))
		}
		t.lines = append(t.lines, line)
	}
	if t.rows() == 0 {
		return nil, errs.Errorf(errs.Invalid, "data file %s has a header line but no data rows", path)
	}
	return t, nil
}

// csvError turns an encoding/csv error into a user-facing one.
func csvError(path string, delim rune, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errs.Errorf(errs.Invalid, "%s line %d is not valid CSV: %v", path, pe.Line, pe.Err)
	}
	if strings.Contains(err.Error(), "invalid field or comment delimiter") {
		return errs.Errorf(errs.Invalid, "delimiter %q cannot separate CSV fields in %s", delim, path)
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// isMissing reports whether a trimmed cell is a missing value.
func isMissing(v string) bool {
	if len(v) > 4 {
		return false
	}
	for _, m := range missingTokens {
		if v == m {
			return true
		}
	}
	return false
}

// loader turns a table into a Dataset.
type loader struct {
	path string
	opts LoadOptions
	t    *table
}

// parsed is one used column after type resolution: num holds numbers (NaN
// when missing) for a numeric column, str the cells for a categorical one.
type parsed struct {
	name    string
	col     int // index in the header
	kind    ColumnKind
	num     []float64
	str     []string
	missing []bool
	nMiss   int
}

func (l *loader) load() (*Dataset, error) {
	targetCol, featureCols, err := l.resolveColumns()
	if err != nil {
		return nil, err
	}
	target, err := l.parseColumn(targetCol)
	if err != nil {
		return nil, err
	}
	features := make([]*parsed, len(featureCols))
	for i, c := range featureCols {
		if features[i], err = l.parseColumn(c); err != nil {
			return nil, err
		}
	}

	keep, err := l.applyMissing(target, features)
	if err != nil {
		return nil, err
	}
	tgt, err := l.encodeTarget(target, keep)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{
		Features: &Frame{Columns: make([]Column, len(features)), NRows: len(keep)},
		Target:   tgt,
		Rows:     len(keep),
		Lines:    make([]int, len(keep)),
	}
	for j, r := range keep {
		ds.Lines[j] = l.t.lines[r]
	}
	for i, p := range features {
		ds.Features.Columns[i] = p.column(keep)
	}
	return ds, nil
}

// resolveColumns checks the header against the options and returns the
// target's header index and the feature columns' indices, in output order.
func (l *loader) resolveColumns() (target int, features []int, err error) {
	h := l.t.header
	index := make(map[string]int, len(h))
	for i, name := range h {
		if name == "" {
			return 0, nil, errs.Errorf(errs.Invalid, "column %d of the header of %s has no name", i+1, l.path)
		}
		if j, dup := index[name]; dup {
			return 0, nil, errs.Errorf(errs.Invalid, "%s has two columns named %q (columns %d and %d)", l.path, name, j+1, i+1)
		}
		index[name] = i
	}
	known := func(what, name string) error {
		if _, ok := index[name]; !ok {
			return errs.Errorf(errs.Invalid, "%s has no column %q (named in %s); its columns are %s", l.path, name, what, strings.Join(h, ", "))
		}
		return nil
	}
	target, ok := index[l.opts.Target]
	if !ok {
		return 0, nil, errs.Errorf(errs.Invalid, "%s has no target column %q; its columns are %s", l.path, l.opts.Target, strings.Join(h, ", "))
	}
	for _, name := range l.opts.Features {
		if err := known("features", name); err != nil {
			return 0, nil, err
		}
		if name == l.opts.Target {
			return 0, nil, errs.Errorf(errs.Invalid, "the target column %q of %s is also listed in features", name, l.path)
		}
	}
	for _, name := range l.opts.Drop {
		if err := known("drop", name); err != nil {
			return 0, nil, err
		}
		if name == l.opts.Target {
			return 0, nil, errs.Errorf(errs.Invalid, "the target column %q of %s is listed in drop", name, l.path)
		}
	}
	for name := range l.opts.Types {
		if err := known("types", name); err != nil {
			return 0, nil, err
		}
	}
	candidates := l.opts.Features
	if candidates == nil {
		candidates = h
	}
	seen := make(map[string]bool, len(candidates))
	for _, name := range candidates {
		if name == l.opts.Target || slices.Contains(l.opts.Drop, name) {
			continue
		}
		if seen[name] {
			return 0, nil, errs.Errorf(errs.Invalid, "column %q is listed twice in the features for %s", name, l.path)
		}
		seen[name] = true
		features = append(features, index[name])
	}
	if len(features) == 0 {
		return 0, nil, errs.Errorf(errs.Invalid, "%s has no feature columns besides the target %q", l.path, l.opts.Target)
	}
	return target, features, nil
}

// parseColumn resolves a column's kind and parses its cells.
func (l *loader) parseColumn(col int) (*parsed, error) {
	t := l.t
	n := t.rows()
	p := &parsed{name: t.header[col], col: col, missing: make([]bool, n)}
	kind, typed := l.opts.Types[p.name]
	num := make([]float64, n)
	numeric := kind != Categorical
	for r := 0; r < n && numeric; r++ {
		v := t.cell(r, col)
		if isMissing(v) {
			p.missing[r] = true
			p.nMiss++
			num[r] = math.NaN()
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil && !isRangeError(err) {
			if typed {
				return nil, errs.Errorf(errs.Invalid, "%s line %d, column %q: %q is not a number, but the column is typed numeric", l.path, t.lines[r], p.name, v)
			}
			numeric = false
			break
		}
		if math.IsInf(x, 0) {
			return nil, errs.Errorf(errs.Invalid, "%s line %d, column %q: %q is not a finite number", l.path, t.lines[r], p.name, v)
		}
		num[r] = x
	}
	if numeric {
		p.kind, p.num = Numeric, num
		return p, nil
	}
	p.kind = Categorical
	p.str = make([]string, n)
	p.nMiss = 0
	nNum, firstText := 0, -1
	for r := 0; r < n; r++ {
		v := t.cell(r, col)
		p.missing[r] = isMissing(v)
		if p.missing[r] {
			p.nMiss++
		} else if _, err := strconv.ParseFloat(v, 64); err == nil {
			nNum++
		} else if firstText < 0 {
			firstText = r
		}
		p.str[r] = v
	}
	// A column of numbers with a few words in it is a data error, not a
	// categorical column: say where, unless the user typed the column.
	if !typed && nNum > (n-p.nMiss)/2 {
		return nil, errs.Errorf(errs.Invalid, "%s line %d, column %q: %q is not a number, though most of the column is numeric (declare the column categorical to keep it as text)",
			l.path, t.lines[firstText], p.name, t.cell(firstText, col))
	}
	return p, nil
}

// isRangeError reports whether err is ParseFloat's out-of-range error,
// which still returns ±Inf (rejected by the caller as not finite).
func isRangeError(err error) bool {
	var ne *strconv.NumError
	return errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange)
}

// applyMissing applies the missing-value policy. It returns the rows to
// keep, in file order, and imputes missing feature values in place.
func (l *loader) applyMissing(target *parsed, features []*parsed) ([]int, error) {
	n := l.t.rows()
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	used := append([]*parsed{target}, features...)
	anyMissing := false
	for _, p := range used {
		anyMissing = anyMissing || p.nMiss > 0
	}
	if !anyMissing {
		return all, nil
	}
	switch l.opts.Missing {
	case MissingReject:
		r, p := l.firstMissing(used)
		return nil, errs.Errorf(errs.Invalid, "%s line %d, column %q: the value is missing; remove the row or set the missing-value policy to drop, mean or most_frequent", l.path, l.t.lines[r], p.name)
	case MissingDrop:
		keep := all[:0]
		for r := 0; r < n; r++ {
			ok := true
			for _, p := range used {
				if p.missing[r] {
					ok = false
					break
				}
			}
			if ok {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			return nil, errs.Errorf(errs.Invalid, "every row of %s has a missing value, so dropping them leaves no data", l.path)
		}
		return keep, nil
	}
	if target.nMiss > 0 {
		r, _ := l.firstMissing([]*parsed{target})
		return nil, errs.Errorf(errs.Invalid, "%s line %d: the target %q is missing, and targets are never imputed; remove the row or set the missing-value policy to drop", l.path, l.t.lines[r], target.name)
	}
	for _, p := range features {
		if p.nMiss == 0 {
			continue
		}
		if p.nMiss == n {
			return nil, errs.Errorf(errs.Invalid, "column %q of %s has no values to impute its missing ones from", p.name, l.path)
		}
		if p.kind == Numeric {
			fill := meanOf(p)
			if l.opts.Missing == MissingMostFrequent {
				fill = mostFrequentNum(p)
			}
			for r, m := range p.missing {
				if m {
					p.num[r] = fill
				}
			}
		} else {
			fill := mostFrequentStr(p)
			for r, m := range p.missing {
				if m {
					p.str[r] = fill
				}
			}
		}
	}
	return all, nil
}

// firstMissing returns the first row (in file order) and column (in used
// order) holding a missing value.
func (l *loader) firstMissing(used []*parsed) (int, *parsed) {
	for r := 0; r < l.t.rows(); r++ {
		for _, p := range used {
			if p.missing[r] {
				return r, p
			}
		}
	}
	return 0, used[0]
}

// meanOf returns the mean of a numeric column's non-missing values.
func meanOf(p *parsed) float64 {
	sum, count := 0.0, 0
	for r, x := range p.num {
		if !p.missing[r] {
			sum += x
			count++
		}
	}
	return sum / float64(count)
}

// mostFrequentNum returns a numeric column's most frequent non-missing
// value, the smallest on ties (as scikit-learn's SimpleImputer).
func mostFrequentNum(p *parsed) float64 { return mostFrequent(p.num, p.missing) }

// mostFrequentStr returns a categorical column's most frequent
// non-missing value, the smallest on ties.
func mostFrequentStr(p *parsed) string { return mostFrequent(p.str, p.missing) }

// mostFrequent returns the most frequent of the values not missing, the
// smallest on ties.
func mostFrequent[T cmp.Ordered](all []T, missing []bool) T {
	vals := make([]T, 0, len(all))
	for r, x := range all {
		if !missing[r] {
			vals = append(vals, x)
		}
	}
	slices.Sort(vals)
	best, bestCount := vals[0], 0
	for i := 0; i < len(vals); {
		j := i
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j-i > bestCount {
			best, bestCount = vals[i], j-i
		}
		i = j
	}
	return best
}

// column builds the output Column from the kept rows.
func (p *parsed) column(keep []int) Column {
	c := Column{Name: p.name, Kind: p.kind}
	all := len(keep) == len(p.missing)
	switch {
	case p.kind == Numeric && all:
		c.Num = p.num
	case p.kind == Numeric:
		c.Num = make([]float64, len(keep))
		for j, r := range keep {
			c.Num[j] = p.num[r]
		}
	case all:
		c.Str = p.str
	default:
		c.Str = make([]string, len(keep))
		for j, r := range keep {
			c.Str[j] = p.str[r]
		}
	}
	return c
}

// encodeTarget decides the task and encodes the kept target values.
func (l *loader) encodeTarget(p *parsed, keep []int) (*Target, error) {
	task := l.opts.Task
	if task == "" {
		task = inferTask(p, keep)
	}
	t := &Target{Name: p.name, Task: task, Y: make([]float64, len(keep))}
	if task == ml.Regression {
		for j, r := range keep {
			if p.kind == Numeric {
				t.Y[j] = p.num[r]
				continue
			}
			// A categorical target (non-numeric, or typed so) must still
			// hold numbers for regression.
			x, err := strconv.ParseFloat(p.str[r], 64)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, errs.Errorf(errs.Invalid, "%s line %d, column %q: the target %q is not a finite number, but the task is regression", l.path, l.t.lines[r], p.name, p.str[r])
			}
			t.Y[j] = x
		}
		return t, nil
	}
	if p.kind == Numeric {
		vals := make([]float64, len(keep))
		for j, r := range keep {
			vals[j] = p.num[r]
		}
		slices.Sort(vals)
		vals = slices.Compact(vals)
		t.Classes = make([]string, len(vals))
		for j, r := range keep {
			c, _ := slices.BinarySearch(vals, p.num[r])
			t.Y[j] = float64(c)
			if t.Classes[c] == "" {
				t.Classes[c] = l.t.cell(r, p.col) // as the file spells it
			}
		}
		return t, nil
	}
	vals := make([]string, len(keep))
	for j, r := range keep {
		vals[j] = p.str[r]
	}
	slices.Sort(vals)
	t.Classes = slices.Compact(vals)
	for j, r := range keep {
		c, _ := slices.BinarySearch(t.Classes, p.str[r])
		t.Y[j] = float64(c)
	}
	return t, nil
}

// inferTask applies the rule documented on LoadOptions.Task.
func inferTask(p *parsed, keep []int) ml.Task {
	if p.kind != Numeric {
		return ml.Classification
	}
	vals := make([]float64, 0, len(keep))
	for _, r := range keep {
		x := p.num[r]
		if x != math.Trunc(x) {
			return ml.Regression
		}
		vals = append(vals, x)
	}
	slices.Sort(vals)
	if len(slices.Compact(vals)) > MaxClassificationLabels {
		return ml.Regression
	}
	return ml.Classification
}
