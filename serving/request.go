package serving

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/ml/dataset"
)

// bodyKind is the format of a scoring request body.
type bodyKind int

const (
	bodyJSON bodyKind = iota
	bodyCSV
)

// formatKeys are the JSON keys that hold the rows, in the order messages
// list them.
var formatKeys = [...]string{"dataframe_split", "dataframe_records", "instances", "inputs", "data"}

// formatList is formatKeys for messages.
const formatList = "dataframe_split, dataframe_records, instances, inputs or data"

// contentKind returns the body format a Content-Type header names.
func contentKind(ct string) (bodyKind, *apiError) {
	switch ct { // the common exact values, without parsing
	case "application/json":
		return bodyJSON, nil
	case "text/csv":
		return bodyCSV, nil
	case "":
		return 0, unsupported("the request has no Content-Type; send Content-Type: application/json (or text/csv)")
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, unsupported("Content-Type %q cannot be parsed; use application/json or text/csv", ct)
	}
	var kind bodyKind
	switch media {
	case "application/json":
		kind = bodyJSON
	case "text/csv":
		kind = bodyCSV
	default:
		return 0, unsupported("Content-Type %q is not supported; use application/json or text/csv", media)
	}
	for k, v := range params {
		if k != "charset" {
			return 0, unsupported("Content-Type parameter %q is not supported, only charset=utf-8 is; since MLflow 2.0 the body's key (%s) says the format", k, formatList)
		}
		if !strings.EqualFold(v, "utf-8") {
			return 0, unsupported("Content-Type charset %q is not supported; send UTF-8", v)
		}
	}
	return kind, nil
}

// unsupported is a 415 error.
func unsupported(format string, args ...any) *apiError {
	e := badRequest(format, args...)
	e.status = http.StatusUnsupportedMediaType
	return e
}

// decode turns a request body into a frame of the model's input columns,
// and reports whether the body asked for probabilities.
func (mdl *model) decode(kind bodyKind, body []byte) (*dataset.Frame, bool, *apiError) {
	if kind == bodyCSV {
		f, aerr := mdl.frameFromCSV(body)
		return f, false, aerr
	}
	return mdl.frameFromJSON(body)
}

// queryProba reads the optional ?proba= query parameter.
func queryProba(r *http.Request) (bool, *apiError) {
	if r.URL.RawQuery == "" {
		return false, nil
	}
	v := r.URL.Query().Get("proba")
	switch strings.ToLower(v) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, invalid("query parameter proba is %q; use true or false", v)
}

// frameFromJSON turns a JSON scoring body into a frame of the model's
// input columns, and reports whether probabilities were asked for. Bodies
// the fast decoder (fastjson.go) reads are decoded there; everything else,
// including every bad request, goes through encoding/json below, which
// words the errors.
func (mdl *model) frameFromJSON(body []byte) (*dataset.Frame, bool, *apiError) {
	if f, proba, ok := mdl.fastFrame(body); ok {
		return f, proba, nil
	}
	return mdl.stdFrame(body)
}

// stdFrame is frameFromJSON with encoding/json: slower, but it is the
// reference for what a body means and it words every error.
func (mdl *model) stdFrame(body []byte) (*dataset.Frame, bool, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, false, badRequest(`the request body is empty; send a JSON object such as {"dataframe_split": {"columns": [...], "data": [[...]]}}`)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, false, badRequest("the request body is not valid JSON: %s at offset %d", strings.TrimPrefix(syntax.Error(), "json: "), syntax.Offset)
		}
		return nil, false, badRequest("the request body must be a JSON object with one of the keys %s, not %s", formatList, jsonKind(bytes.TrimSpace(body)))
	}
	if top == nil {
		return nil, false, badRequest("the request body must be a JSON object with one of the keys %s, not null", formatList)
	}

	var found []string
	for _, k := range formatKeys {
		if _, ok := top[k]; ok {
			found = append(found, k)
		}
	}
	for k := range top {
		switch k {
		case "dataframe_split", "dataframe_records", "instances", "inputs", "data", "params":
		case "columns", "index":
			if _, legacy := top["data"]; !legacy {
				return nil, false, badRequest(`the body has the key %q without "data"; wrap pandas-split data as {"dataframe_split": {"columns": [...], "data": [[...]]}}`, k)
			}
		default:
			return nil, false, badRequest("the body has the unknown key %q; use one of %s, and optionally params", firstUnknownKey(top), formatList)
		}
	}
	switch len(found) {
	case 0:
		return nil, false, badRequest("the JSON object has none of the keys %s that hold the rows", formatList)
	case 1:
	default:
		return nil, false, badRequest("the JSON object has several input keys (%s); send exactly one", strings.Join(found, ", "))
	}

	proba, aerr := parseParams(top["params"])
	if aerr != nil {
		return nil, false, aerr
	}
	raw := top[found[0]]
	var f *dataset.Frame
	switch found[0] {
	case "dataframe_split":
		f, aerr = mdl.fromSplit(raw)
	case "dataframe_records":
		f, aerr = mdl.fromRowList("dataframe_records", raw, nil, rowObjects)
	case "instances":
		f, aerr = mdl.fromRowList("instances", raw, nil, rowObjects|rowLists|rowScalars)
	case "inputs":
		if len(raw) > 0 && raw[0] == '{' {
			f, aerr = mdl.fromColumns("inputs", raw)
		} else {
			f, aerr = mdl.fromRowList("inputs", raw, nil, rowObjects|rowLists|rowScalars)
		}
	case "data":
		f, aerr = mdl.fromLegacy(raw, top["columns"])
	}
	return f, proba, aerr
}

// firstUnknownKey returns the alphabetically first key of top that is not a
// key of the protocol, so that messages do not depend on map order.
func firstUnknownKey(top map[string]json.RawMessage) string {
	var unknown []string
	for k := range top {
		switch k {
		case "dataframe_split", "dataframe_records", "instances", "inputs", "data", "params", "columns", "index":
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return unknown[0]
}

// parseParams reads the optional "params" object: predict_proba is the only
// parameter mlrun models take.
func parseParams(raw json.RawMessage) (proba bool, _ *apiError) {
	if raw == nil || isNull(raw) {
		return false, nil
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(raw, &params); err != nil {
		return false, invalid(`"params" must be a JSON object such as {"predict_proba": true}, not %s`, jsonKind(raw))
	}
	for k, v := range params {
		if k != "predict_proba" {
			return false, invalid(`"params" has the unknown parameter %q; the only parameter is predict_proba`, firstParam(params))
		}
		switch string(v) {
		case "true":
			proba = true
		case "false", "null":
		default:
			return false, invalid(`params.predict_proba must be true or false, not %s`, shorten(v))
		}
	}
	return proba, nil
}

// firstParam returns the alphabetically first unknown parameter name.
func firstParam(params map[string]json.RawMessage) string {
	var names []string
	for k := range params {
		if k != "predict_proba" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names[0]
}

// fromSplit reads pandas' split orient: {"columns": [...], "data": [[...]], "index": [...]}.
func (mdl *model) fromSplit(raw json.RawMessage) (*dataset.Frame, *apiError) {
	var split map[string]json.RawMessage
	if err := json.Unmarshal(raw, &split); err != nil || split == nil {
		return nil, badRequest(`"dataframe_split" must be an object {"columns": [...], "data": [[...]]}, not %s`, jsonKind(raw))
	}
	for k := range split {
		if k != "columns" && k != "data" && k != "index" {
			return nil, badRequest(`"dataframe_split" has the unknown key %q; it takes columns, data and index`, k)
		}
	}
	data, ok := split["data"]
	if !ok {
		return nil, badRequest(`"dataframe_split" has no "data" list of rows`)
	}
	pos, aerr := mdl.positions("dataframe_split.columns", split["columns"])
	if aerr != nil {
		return nil, aerr
	}
	return mdl.fromRowList("dataframe_split.data", data, pos, rowLists)
}

// fromLegacy reads MLflow 1.x's {"data": [[...]], "columns": [...]?}.
func (mdl *model) fromLegacy(data, columns json.RawMessage) (*dataset.Frame, *apiError) {
	pos, aerr := mdl.positions("columns", columns)
	if aerr != nil {
		return nil, aerr
	}
	return mdl.fromRowList("data", data, pos, rowLists|rowScalars)
}

// positions reads an optional list of column names and returns, for each
// position in a row, the input column it fills. A nil raw means rows are
// in signature order, and positions returns nil.
func (mdl *model) positions(key string, raw json.RawMessage) ([]int, *apiError) {
	if raw == nil || isNull(raw) {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, badRequest("%q must be a list of column names (strings), not %s", key, shorten(raw))
	}
	return mdl.positionsOf(names)
}

// positionsOf returns, for each of the column names, the input column it
// is; every input column must be named once, and no other column.
func (mdl *model) positionsOf(names []string) ([]int, *apiError) {
	pos := make([]int, len(names))
	seen := make([]bool, len(mdl.inputs))
	for j, name := range names {
		i, ok := mdl.index[name]
		if !ok {
			return nil, invalid("the input has the unknown column %q; the model takes %s", name, mdl.names)
		}
		if seen[i] {
			return nil, invalid("the input names column %q twice", name)
		}
		seen[i] = true
		pos[j] = i
	}
	for i, ok := range seen {
		if !ok {
			return nil, mdl.missing(mdl.inputs[i].Name)
		}
	}
	return pos, nil
}

// missing is the error for a required column that the input lacks.
func (mdl *model) missing(name string) *apiError {
	return invalid("the input is missing column %q, which the model requires (it takes %s)", name, mdl.names)
}

// rowShapes says which JSON shapes a list of rows may hold.
type rowShapes int

const (
	rowObjects rowShapes = 1 << iota // {"col": value, ...}
	rowLists                         // [value, ...] in column order
	rowScalars                       // value, for a model with one input column
)

// fromRowList reads a JSON list of rows. pos maps positions in a row list
// to input columns; nil means signature order.
func (mdl *model) fromRowList(key string, raw json.RawMessage, pos []int, shapes rowShapes) (*dataset.Frame, *apiError) {
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil || rows == nil {
		return nil, badRequest("%q must be a list of rows, not %s", key, jsonKind(raw))
	}
	if len(rows) == 0 {
		return nil, invalid("%q holds no rows", key)
	}
	width := len(mdl.inputs)
	f := mdl.newFrame(len(rows))
	var cells []json.RawMessage
	var obj map[string]json.RawMessage
	for r, row := range rows {
		switch {
		case len(row) > 0 && row[0] == '[' && shapes&rowLists != 0:
			cells = cells[:0]
			if err := json.Unmarshal(row, &cells); err != nil {
				return nil, badRequest("row %d of %q is not a list of values", r, key)
			}
			if len(cells) != width {
				return nil, invalid("row %d of %q has %d values, but the model takes %d columns (%s)", r, key, len(cells), width, mdl.names)
			}
			for j, cell := range cells {
				col := j
				if pos != nil {
					col = pos[j]
				}
				if aerr := mdl.setCell(f, col, r, cell); aerr != nil {
					return nil, aerr
				}
			}
		case len(row) > 0 && row[0] == '{' && shapes&rowObjects != 0:
			clear(obj)
			if err := json.Unmarshal(row, &obj); err != nil {
				return nil, badRequest("row %d of %q is not an object of column values", r, key)
			}
			if aerr := mdl.setObjectRow(f, r, obj); aerr != nil {
				return nil, aerr
			}
		case shapes&rowScalars != 0 && width == 1 && len(row) > 0 && row[0] != '[' && row[0] != '{':
			if aerr := mdl.setCell(f, 0, r, row); aerr != nil {
				return nil, aerr
			}
		default:
			return nil, mdl.badRow(key, r, row, shapes)
		}
	}
	return f, nil
}

// badRow explains why row r of key has a shape the format does not take.
func (mdl *model) badRow(key string, r int, row json.RawMessage, shapes rowShapes) *apiError {
	var want []string
	if shapes&rowObjects != 0 {
		want = append(want, `an object {"column": value}`)
	}
	if shapes&rowLists != 0 {
		want = append(want, "a list of values")
	}
	if shapes&rowScalars != 0 && len(mdl.inputs) == 1 {
		want = append(want, "a single value")
	}
	return badRequest("row %d of %q is %s, but each row must be %s", r, key, jsonKind(row), strings.Join(want, " or "))
}

// setObjectRow fills row r of f from a row object.
func (mdl *model) setObjectRow(f *dataset.Frame, r int, obj map[string]json.RawMessage) *apiError {
	for name, v := range obj {
		i, ok := mdl.index[name]
		if !ok {
			return invalid("row %d has the unknown column %q; the model takes %s", r, mdl.firstUnknownColumn(obj), mdl.names)
		}
		if aerr := mdl.setCell(f, i, r, v); aerr != nil {
			return aerr
		}
	}
	if len(obj) < len(mdl.inputs) {
		for _, c := range mdl.inputs {
			if _, ok := obj[c.Name]; !ok {
				return invalid("row %d is missing column %q, which the model requires (it takes %s)", r, c.Name, mdl.names)
			}
		}
	}
	return nil
}

// firstUnknownColumn returns the alphabetically first key of obj that is
// not an input column.
func (mdl *model) firstUnknownColumn(obj map[string]json.RawMessage) string {
	var unknown []string
	for k := range obj {
		if _, ok := mdl.index[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return unknown[0]
}

// fromColumns reads the columnar form {"col": [values], ...}.
func (mdl *model) fromColumns(key string, raw json.RawMessage) (*dataset.Frame, *apiError) {
	var cols map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cols); err != nil {
		return nil, badRequest("%q must be an object of column lists, not %s", key, jsonKind(raw))
	}
	for name := range cols {
		if _, ok := mdl.index[name]; !ok {
			return nil, invalid("the input has the unknown column %q; the model takes %s", mdl.firstUnknownColumn(cols), mdl.names)
		}
	}
	values := make([][]json.RawMessage, len(mdl.inputs))
	n := -1
	for i, c := range mdl.inputs {
		v, ok := cols[c.Name]
		if !ok {
			return nil, mdl.missing(c.Name)
		}
		if err := json.Unmarshal(v, &values[i]); err != nil || values[i] == nil {
			return nil, badRequest("column %q of %q must be a list of values, not %s", c.Name, key, jsonKind(v))
		}
		if n == -1 {
			n = len(values[i])
		} else if len(values[i]) != n {
			return nil, invalid("column %q of %q has %d values but column %q has %d", c.Name, key, len(values[i]), mdl.inputs[0].Name, n)
		}
	}
	if n <= 0 {
		return nil, invalid("%q holds no rows", key)
	}
	f := mdl.newFrame(n)
	for i := range values {
		for r, v := range values[i] {
			if aerr := mdl.setCell(f, i, r, v); aerr != nil {
				return nil, aerr
			}
		}
	}
	return f, nil
}

// setCell stores the JSON value raw in column col, row r of f, checking it
// against the column's type.
func (mdl *model) setCell(f *dataset.Frame, col, r int, raw json.RawMessage) *apiError {
	c := &f.Columns[col]
	if isNull(raw) {
		return invalid("column %q in row %d is null, but the model needs a value there (missing values are not allowed)", c.Name, r)
	}
	if c.Kind == dataset.Numeric {
		if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			return invalid("column %q in row %d holds %s, but the model needs a number (double) there", c.Name, r, shorten(raw))
		}
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(v, 0) {
			return invalid("column %q in row %d holds %s, which is not a finite double", c.Name, r, shorten(raw))
		}
		c.Num[r] = v
		return nil
	}
	if raw[0] != '"' {
		return invalid("column %q in row %d holds %s, but the model needs a string there", c.Name, r, shorten(raw))
	}
	if bytes.IndexByte(raw, '\\') < 0 { // no escapes: the text between the quotes
		c.Str[r] = string(raw[1 : len(raw)-1])
	} else if err := json.Unmarshal(raw, &c.Str[r]); err != nil {
		return invalid("column %q in row %d holds %s, which is not a valid string", c.Name, r, shorten(raw))
	}
	if !mdl.knownCategory(col, c.Str[r]) {
		return mdl.unknownCategory(col, c.Str[r], "row "+strconv.Itoa(r))
	}
	return nil
}

// isNull reports whether raw is JSON null.
func isNull(raw []byte) bool { return string(raw) == "null" }

// jsonKind names the kind of a JSON value for messages.
func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// shorten returns raw for a message, cut to at most 40 bytes.
func shorten(raw []byte) string {
	const max = 40
	if len(raw) <= max {
		return string(raw)
	}
	return string(raw[:max]) + "…"
}

// frameFromCSV turns a CSV body with a header row into a frame of the
// model's input columns. Rows are counted from 0 after the header, and
// messages give the line too.
func (mdl *model) frameFromCSV(body []byte) (*dataset.Frame, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("the request body is empty; send a CSV header row and one row per record")
	}
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	rd := csv.NewReader(bytes.NewReader(body))
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = true
	header, err := rd.Read()
	if err != nil {
		return nil, badRequest("the CSV header row is malformed: %v", err)
	}
	names := make([]string, len(header))
	for j, h := range header {
		names[j] = strings.TrimSpace(h)
	}
	pos, aerr := mdl.positionsOf(names)
	if aerr != nil {
		return nil, aerr
	}

	f := mdl.newFrame(0)
	for r := 0; ; r++ {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("the CSV body is malformed: %v", err)
		}
		line, _ := rd.FieldPos(0)
		if len(rec) != len(pos) {
			return nil, invalid("CSV row %d (line %d) has %d values, but the header names %d columns", r, line, len(rec), len(pos))
		}
		for j, cell := range rec {
			c := &f.Columns[pos[j]]
			cell = strings.TrimSpace(cell)
			if isMissingCSV(cell) {
				return nil, invalid("column %q in CSV row %d (line %d) is missing (%q), but the model needs a value there (missing values are not allowed)", c.Name, r, line, cell)
			}
			if c.Kind == dataset.Categorical {
				if !mdl.knownCategory(pos[j], cell) {
					return nil, mdl.unknownCategory(pos[j], cell, fmt.Sprintf("CSV row %d (line %d)", r, line))
				}
				c.Str = append(c.Str, cell)
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, invalid("column %q in CSV row %d (line %d) holds %q, but the model needs a finite number (double) there", c.Name, r, line, shorten([]byte(cell)))
			}
			c.Num = append(c.Num, v)
		}
		f.NRows++
	}
	if f.NRows == 0 {
		return nil, invalid("the CSV body has a header row but no data rows")
	}
	return f, nil
}

// isMissingCSV reports whether a trimmed CSV cell is a missing value, as
// the training loader (package dataset) reads them.
func isMissingCSV(cell string) bool {
	switch cell {
	case "", "NA", "NaN", "nan", "null":
		return true
	}
	return false
}
