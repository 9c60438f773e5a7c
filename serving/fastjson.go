package serving

import (
	"unicode/utf8"

	"github.com/mlrun/mlrun/ml/dataset"
)

// The fast JSON decoder reads well-formed scoring requests straight from
// the body's bytes, without encoding/json's reflection and without the
// maps and raw-message slices stdFrame builds. It only ever says yes to a
// body that stdFrame would decode to the same frame: anything it is not
// sure of (a syntax error, an escaped key, a duplicate key, a value that
// does not fit the model, ...) makes it give up, and stdFrame decodes the
// body again and words the error. FuzzFastFrame checks the two agree.

// fastMaxDepth is the deepest nesting the fast decoder validates; deeper
// bodies go to encoding/json (which allows 10000 levels).
const fastMaxDepth = 64

// fastFrame decodes body as frameFromJSON does, when it can; ok is false
// when it cannot, or when the body is not a valid request.
func (mdl *model) fastFrame(body []byte) (f *dataset.Frame, proba bool, ok bool) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return nil, false, false
	}
	end := valueEnd(body, i, 0)
	if end < 0 || skipSpace(body, end) != len(body) {
		return nil, false, false
	}
	var keys [8][]byte // the values of the protocol's keys, by keyIndex
	it := newIter(body[i:end])
	for {
		key, val, more := it.next()
		if !more {
			break
		}
		k := keyIndex(key)
		if k < 0 || keys[k] != nil {
			return nil, false, false
		}
		keys[k] = val
	}
	format := -1
	for k := range len(formatKeys) {
		if keys[k] != nil {
			if format >= 0 {
				return nil, false, false
			}
			format = k
		}
	}
	if format < 0 || (keys[kData] == nil && (keys[kColumns] != nil || keys[kIndex] != nil)) {
		return nil, false, false
	}
	if p := keys[kParams]; p != nil && !isNull(p) {
		if proba, ok = fastParams(p); !ok {
			return nil, false, false
		}
	}
	raw := keys[format]
	switch formatKeys[format] {
	case "dataframe_split":
		f, ok = mdl.fastSplit(raw)
	case "dataframe_records":
		f, ok = mdl.fastRows(raw, nil, rowObjects)
	case "instances":
		f, ok = mdl.fastRows(raw, nil, rowObjects|rowLists|rowScalars)
	case "inputs":
		if raw[0] == '{' {
			f, ok = mdl.fastColumns(raw)
		} else {
			f, ok = mdl.fastRows(raw, nil, rowObjects|rowLists|rowScalars)
		}
	case "data":
		var pos []int
		if pos, ok = mdl.fastPositions(keys[kColumns]); ok {
			f, ok = mdl.fastRows(raw, pos, rowLists|rowScalars)
		}
	}
	return f, proba, ok
}

// Indexes of keyIndex past the formatKeys (which come first, in order).
const (
	kData    = 4
	kParams  = 5
	kColumns = 6
	kIndex   = 7
)

// keyIndex returns the index of a top-level key (a JSON string with its
// quotes) among formatKeys, params, columns and index; -1 for any other
// key, including an escaped spelling of one of them.
func keyIndex(key []byte) int {
	switch string(key) {
	case `"dataframe_split"`:
		return 0
	case `"dataframe_records"`:
		return 1
	case `"instances"`:
		return 2
	case `"inputs"`:
		return 3
	case `"data"`:
		return kData
	case `"params"`:
		return kParams
	case `"columns"`:
		return kColumns
	case `"index"`:
		return kIndex
	}
	return -1
}

// fastParams reads a "params" object that holds at most predict_proba
// (true, false or null).
func fastParams(raw []byte) (proba, ok bool) {
	if raw[0] != '{' {
		return false, false
	}
	seen := false
	it := newIter(raw)
	for {
		key, val, more := it.next()
		if !more {
			return proba, true
		}
		if string(key) != `"predict_proba"` || seen {
			return false, false
		}
		seen = true
		switch string(val) {
		case "true":
			proba = true
		case "false", "null":
		default:
			return false, false
		}
	}
}

// fastSplit reads {"columns": [...], "data": [[...]], "index": [...]}.
func (mdl *model) fastSplit(raw []byte) (*dataset.Frame, bool) {
	if raw[0] != '{' {
		return nil, false
	}
	var columns, data, index []byte
	it := newIter(raw)
	for {
		key, val, more := it.next()
		if !more {
			break
		}
		var slot *[]byte
		switch string(key) {
		case `"columns"`:
			slot = &columns
		case `"data"`:
			slot = &data
		case `"index"`:
			slot = &index
		default:
			return nil, false
		}
		if *slot != nil {
			return nil, false
		}
		*slot = val
	}
	if data == nil {
		return nil, false
	}
	pos, ok := mdl.fastPositions(columns)
	if !ok {
		return nil, false
	}
	return mdl.fastRows(data, pos, rowLists)
}

// fastPositions reads an optional list of column names as positions does.
func (mdl *model) fastPositions(raw []byte) ([]int, bool) {
	if raw == nil || isNull(raw) {
		return nil, true
	}
	if raw[0] != '[' {
		return nil, false
	}
	var names []string
	it := newIter(raw)
	for {
		_, v, more := it.next()
		if !more {
			break
		}
		name, ok := plainString(v)
		if !ok {
			return nil, false
		}
		names = append(names, name)
	}
	pos, aerr := mdl.positionsOf(names)
	return pos, aerr == nil
}

// fastRows reads a list of rows as fromRowList does.
func (mdl *model) fastRows(raw []byte, pos []int, shapes rowShapes) (*dataset.Frame, bool) {
	if raw[0] != '[' {
		return nil, false
	}
	n := count(raw)
	if n == 0 {
		return nil, false
	}
	width := len(mdl.inputs)
	f := mdl.newFrame(n)
	var seen []bool
	rows := newIter(raw)
	for r := 0; ; r++ {
		_, row, more := rows.next()
		if !more {
			return f, true
		}
		switch {
		case row[0] == '[' && shapes&rowLists != 0:
			cells := newIter(row)
			j := 0
			for ; ; j++ {
				_, cell, more := cells.next()
				if !more {
					break
				}
				if j >= width {
					return nil, false
				}
				col := j
				if pos != nil {
					col = pos[j]
				}
				if mdl.setCell(f, col, r, cell) != nil {
					return nil, false
				}
			}
			if j != width {
				return nil, false
			}
		case row[0] == '{' && shapes&rowObjects != 0:
			if seen == nil {
				seen = make([]bool, width)
			}
			clear(seen)
			filled := 0
			cells := newIter(row)
			for {
				key, cell, more := cells.next()
				if !more {
					break
				}
				name, ok := plainString(key)
				if !ok {
					return nil, false
				}
				col, ok := mdl.index[name]
				if !ok || seen[col] {
					return nil, false
				}
				seen[col] = true
				filled++
				if mdl.setCell(f, col, r, cell) != nil {
					return nil, false
				}
			}
			if filled != width {
				return nil, false
			}
		case shapes&rowScalars != 0 && width == 1 && row[0] != '[' && row[0] != '{':
			if mdl.setCell(f, 0, r, row) != nil {
				return nil, false
			}
		default:
			return nil, false
		}
	}
}

// fastColumns reads the columnar form {"col": [values], ...}.
func (mdl *model) fastColumns(raw []byte) (*dataset.Frame, bool) {
	lists := make([][]byte, len(mdl.inputs))
	it := newIter(raw)
	for {
		key, val, more := it.next()
		if !more {
			break
		}
		name, ok := plainString(key)
		if !ok {
			return nil, false
		}
		col, ok := mdl.index[name]
		if !ok || lists[col] != nil || val[0] != '[' {
			return nil, false
		}
		lists[col] = val
	}
	n := -1
	for _, l := range lists {
		if l == nil {
			return nil, false
		}
		if c := count(l); n == -1 {
			n = c
		} else if c != n {
			return nil, false
		}
	}
	if n <= 0 {
		return nil, false
	}
	f := mdl.newFrame(n)
	for col, l := range lists {
		cells := newIter(l)
		for r := 0; ; r++ {
			_, cell, more := cells.next()
			if !more {
				break
			}
			if mdl.setCell(f, col, r, cell) != nil {
				return nil, false
			}
		}
	}
	return f, true
}

// plainString returns the text of a JSON string without escapes whose
// bytes are valid UTF-8 (so encoding/json would read the same text).
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	for _, c := range s {
		if c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// count returns how many elements the valid JSON list l holds.
func count(l []byte) int {
	n := 0
	it := newIter(l)
	for {
		if _, _, more := it.next(); !more {
			return n
		}
		n++
	}
}

// iter walks the members of a valid JSON object or the elements of a
// valid JSON list (as checked by valueEnd: it does not check again).
type iter struct {
	b []byte
	i int
}

// newIter returns an iterator over v, which starts with '{' or '['.
func newIter(v []byte) iter { return iter{b: v, i: 1} }

// next returns the next member's key (with its quotes; nil for a list
// element) and value, or more false at the end.
func (it *iter) next() (key, val []byte, more bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if b[i] == '}' || b[i] == ']' {
		it.i = i
		return nil, nil, false
	}
	if b[0] == '{' {
		end := stringEnd(b, i)
		key = b[i:end]
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
	}
	end := skipValid(b, i)
	it.i = end
	return key, b[i:end], true
}

// skipValid returns the index just past the value that starts at b[i], in
// a text valueEnd has accepted: it only matches brackets and quotes.
func skipValid(b []byte, i int) int {
	switch b[i] {
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			case '"':
				i = stringEnd(b, i) - 1
			}
		}
	case '"':
		return stringEnd(b, i)
	}
	for ; i < len(b); i++ { // a number or a literal
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at b[i],
// or -1 when there is no valid value there (or it nests deeper than
// fastMaxDepth). It checks the value as encoding/json's scanner does.
func valueEnd(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		if depth >= fastMaxDepth {
			return -1
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return -1
				}
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return -1
				}
				i = skipSpace(b, i+1)
			}
			if i = valueEnd(b, i, depth+1); i < 0 {
				return -1
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			switch b[i] {
			case closer:
				return i + 1
			case ',':
				i = skipSpace(b, i+1)
			default:
				return -1
			}
		}
	case c == '"':
		return stringEnd(b, i)
	case c == 't':
		return literalEnd(b, i, "true")
	case c == 'f':
		return literalEnd(b, i, "false")
	case c == 'n':
		return literalEnd(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return numberEnd(b, i)
	}
	return -1
}

// literalEnd checks that b holds lit at i.
func literalEnd(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// stringEnd returns the index just past the JSON string that starts at
// b[i] (a quote), or -1.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// numberEnd returns the index just past the JSON number that starts at
// b[i], or -1: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) int {
	digits := func(i int) int {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i + 1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}
