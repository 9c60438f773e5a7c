package tracking

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
)

// Kinds of search identifiers, as used in Clause.Kind and OrderBy.Kind.
const (
	KindMetric    = "metric"
	KindParam     = "param"
	KindTag       = "tag"
	KindAttribute = "attribute"
)

// Run attributes that filters and order-by clauses may name, after aliases
// ("created" → start_time, "run name" → run_name) are resolved.
const (
	AttrRunID       = "run_id"
	AttrRunName     = "run_name"
	AttrStatus      = "status"
	AttrUserID      = "user_id"
	AttrArtifactURI = "artifact_uri"
	AttrStartTime   = "start_time"
	AttrEndTime     = "end_time"
	// AttrDuration is end_time - start_time in milliseconds, an mlrun
	// extension of MLflow's syntax; runs without an end time have none
	// (they match no comparison and sort last, as for end_time).
	AttrDuration = "duration"
)

// attributeAliases maps every accepted attribute spelling (lower-cased) to
// its canonical name.
var attributeAliases = map[string]string{
	"run_id":       AttrRunID,
	"run_name":     AttrRunName,
	"run name":     AttrRunName,
	"status":       AttrStatus,
	"user_id":      AttrUserID,
	"artifact_uri": AttrArtifactURI,
	"start_time":   AttrStartTime,
	"created":      AttrStartTime,
	"end_time":     AttrEndTime,
	"duration":     AttrDuration,
}

// prefixKinds maps every accepted identifier prefix (lower-cased) to a kind.
var prefixKinds = map[string]string{
	"metrics":    KindMetric,
	"metric":     KindMetric,
	"params":     KindParam,
	"param":      KindParam,
	"parameters": KindParam,
	"parameter":  KindParam,
	"tags":       KindTag,
	"tag":        KindTag,
	"attributes": KindAttribute,
	"attribute":  KindAttribute,
	"attr":       KindAttribute,
	"run":        KindAttribute,
}

// Filter is a parsed search_runs filter: comparisons that must all hold.
// An empty filter has no clauses and matches every run.
type Filter struct {
	Clauses []Clause
}

// Clause is one comparison of a filter.
//
// Kind is KindMetric, KindParam, KindTag or KindAttribute; for attributes Key
// is one of the Attr* names. Op is one of "=", "!=", ">", ">=", "<", "<=",
// "LIKE", "ILIKE", "IN", "NOT IN". The value is in Num for metrics and the
// numeric attributes start_time, end_time and duration, in List for IN and NOT IN, and
// in Str otherwise.
type Clause struct {
	Kind string
	Key  string
	Op   string
	Str  string
	Num  float64
	List []string
}

// Numeric reports whether the clause compares numbers (metrics, start_time,
// end_time, duration) rather than strings.
func (c Clause) Numeric() bool {
	return isNumericIdent(c.Kind, c.Key)
}

// OrderBy is one parsed order_by item such as "metrics.acc DESC".
type OrderBy struct {
	Kind string
	Key  string
	Desc bool
}

// numericOps are the operators that compare numbers.
var numericOps = map[string]bool{"=": true, "!=": true, ">": true, ">=": true, "<": true, "<=": true}

// isNumericIdent reports whether values of the identifier are numbers.
func isNumericIdent(kind, key string) bool {
	return kind == KindMetric || (kind == KindAttribute && (key == AttrStartTime || key == AttrEndTime || key == AttrDuration))
}

// ParseFilter parses a filter in MLflow's search_runs syntax, such as
// "metrics.acc > 0.5 and params.model = 'a'". Errors are errs.Invalid and
// quote the offending token and its position (1-based, in characters).
func ParseFilter(s string) (*Filter, error) {
	p := &parser{src: s, what: "filter"}
	f := &Filter{}
	p.skipSpace()
	if p.eof() {
		return f, nil
	}
	for {
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		f.Clauses = append(f.Clauses, c)
		p.skipSpace()
		if p.eof() {
			return f, nil
		}
		start := p.pos
		if w := p.word(); !strings.EqualFold(w, "and") {
			p.pos = start
			return nil, p.errorf(start, "where AND was expected (comparisons can only be joined with AND)")
		}
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf(p.pos, "after AND, where another comparison was expected")
		}
	}
}

// ParseOrderBy parses one order_by item: an identifier such as
// "metrics.acc", "params.lr", "tags.x", "start_time" or "duration" (an mlrun
// extension), optionally followed by ASC (the default) or DESC.
func ParseOrderBy(s string) (OrderBy, error) {
	p := &parser{src: s, what: "order_by"}
	p.skipSpace()
	if p.eof() {
		return OrderBy{}, errs.Errorf(errs.Invalid, "order_by %q is empty; name a column such as metrics.acc DESC", s)
	}
	kind, key, err := p.identifier()
	if err != nil {
		return OrderBy{}, err
	}
	ob := OrderBy{Kind: kind, Key: key}
	p.skipSpace()
	if p.eof() {
		return ob, nil
	}
	start := p.pos
	switch w := p.word(); strings.ToUpper(w) {
	case "ASC":
	case "DESC":
		ob.Desc = true
	default:
		p.pos = start
		return OrderBy{}, p.errorf(start, "where ASC or DESC was expected")
	}
	p.skipSpace()
	if !p.eof() {
		return OrderBy{}, p.errorf(p.pos, "after the sort direction, where the order_by item should end")
	}
	return ob, nil
}

// parser reads a filter or order_by string left to right.
type parser struct {
	src  string
	pos  int    // byte offset of the next unread character
	what string // "filter" or "order_by", for error messages
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) skipSpace() {
	for !p.eof() && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

// position converts a byte offset to a 1-based character position.
func (p *parser) position(off int) int {
	return utf8.RuneCountInString(p.src[:off]) + 1
}

// tokenAt returns the text of the token starting at off, for error messages.
func (p *parser) tokenAt(off int) string {
	if off >= len(p.src) {
		return "end of " + p.what
	}
	end := off
	for end < len(p.src) && strings.IndexByte(" \t\r\n", p.src[end]) < 0 {
		end++
	}
	if end-off > 30 {
		end = off + 30
	}
	return strconv.Quote(p.src[off:end])
}

// errorf returns an errs.Invalid error about the token at off.
func (p *parser) errorf(off int, format string, args ...any) error {
	return errs.Errorf(errs.Invalid, "invalid %s %q: found %s at position %d %s", p.what, p.src,
		p.tokenAt(off), p.position(off), fmt.Sprintf(format, args...))
}

// word reads a run of ASCII letters, digits and underscores.
func (p *parser) word() string {
	start := p.pos
	for !p.eof() && isWordByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func isWordByte(b byte) bool {
	return b == '_' || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') || ('0' <= b && b <= '9')
}

// isKeyByte reports whether b may appear in an unquoted key: anything but
// space, quotes, parentheses, commas and comparison operators.
func isKeyByte(b byte) bool {
	return strings.IndexByte(" \t\r\n'\"`()=!<>,", b) < 0
}

// quoted reads a string quoted with q at the current position. A doubled
// quote character, or a backslash before it, stands for the character itself;
// a doubled backslash stands for one backslash.
func (p *parser) quoted() (string, error) {
	start := p.pos
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for !p.eof() {
		c := p.src[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == q || p.src[p.pos+1] == '\\'):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case c == q && p.pos+1 < len(p.src) && p.src[p.pos+1] == q:
			b.WriteByte(q)
			p.pos += 2
		case c == q:
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", errs.Errorf(errs.Invalid, "invalid %s %q: the quote %s at position %d is never closed",
		p.what, p.src, strconv.Quote(string(q)), p.position(start))
}

// identifier reads "<prefix>.<key>" or a bare attribute name and returns its
// kind and canonical key.
func (p *parser) identifier() (kind, key string, err error) {
	start := p.pos
	var first string
	firstQuoted := false
	switch c := p.peek(); {
	case c == '"' || c == '`':
		if first, err = p.quoted(); err != nil {
			return "", "", err
		}
		firstQuoted = true
	case isWordByte(c):
		first = p.word()
	default:
		return "", "", p.errorf(start, "where an identifier such as metrics.acc, params.lr, tags.x or status was expected")
	}

	if p.peek() != '.' || (firstQuoted && prefixKinds[strings.ToLower(first)] == "") {
		// A bare name is an attribute.
		attr, ok := attributeAliases[strings.ToLower(first)]
		if !ok {
			return "", "", p.errorf(start, "where a run attribute (run_id, run_name, status, user_id, artifact_uri, start_time, end_time, duration) or a prefixed name such as metrics.%s was expected", first)
		}
		return KindAttribute, attr, nil
	}

	lower := strings.ToLower(first)
	kind, ok := prefixKinds[lower]
	if !ok {
		if lower == "datasets" || lower == "dataset" {
			return "", "", p.errorf(start, "but dataset filters are not supported")
		}
		return "", "", p.errorf(start, "where the prefix metrics., params., tags. or attributes. was expected")
	}
	p.pos++ // the dot
	keyStart := p.pos
	switch c := p.peek(); {
	case c == '"' || c == '`':
		if key, err = p.quoted(); err != nil {
			return "", "", err
		}
	default:
		for !p.eof() && isKeyByte(p.src[p.pos]) {
			p.pos++
		}
		key = p.src[keyStart:p.pos]
	}
	if key == "" {
		return "", "", p.errorf(start, "with no key after the dot")
	}
	if kind == KindAttribute {
		attr, ok := attributeAliases[strings.ToLower(key)]
		if !ok {
			return "", "", p.errorf(keyStart, "where a run attribute (run_id, run_name, status, user_id, artifact_uri, start_time, end_time, duration) was expected")
		}
		key = attr
	}
	return kind, key, nil
}

// operator reads a comparison operator and returns it in canonical form.
func (p *parser) operator() (string, error) {
	start := p.pos
	for _, op := range []string{"!=", ">=", "<=", "=", ">", "<"} {
		if strings.HasPrefix(p.src[p.pos:], op) {
			p.pos += len(op)
			if op == "=" && p.peek() == '=' {
				return "", p.errorf(start, "where a comparison operator was expected (use = rather than ==)")
			}
			return op, nil
		}
	}
	switch w := strings.ToUpper(p.word()); w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		p.skipSpace()
		if strings.EqualFold(p.word(), "IN") {
			return "NOT IN", nil
		}
	}
	p.pos = start
	return "", p.errorf(start, "where a comparison operator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN) was expected")
}

// clause reads one comparison.
func (p *parser) clause() (Clause, error) {
	kind, key, err := p.identifier()
	if err != nil {
		return Clause{}, err
	}
	c := Clause{Kind: kind, Key: key}
	p.skipSpace()
	opStart := p.pos
	if c.Op, err = p.operator(); err != nil {
		return Clause{}, err
	}
	name := describe(kind, key)

	// Check that the operator suits the identifier.
	switch {
	case c.Numeric():
		if !numericOps[c.Op] {
			return Clause{}, p.errorfOp(opStart, c.Op, name, "=, !=, >, >=, < and <=")
		}
	case kind == KindAttribute: // string attributes, as MLflow's VALID_STRING_ATTRIBUTE_COMPARATORS
		if c.Op != "=" && c.Op != "!=" && c.Op != "LIKE" && c.Op != "ILIKE" && c.Op != "IN" && c.Op != "NOT IN" {
			return Clause{}, p.errorfOp(opStart, c.Op, name, "=, !=, LIKE, ILIKE, IN and NOT IN")
		}
	default:
		if c.Op != "=" && c.Op != "!=" && c.Op != "LIKE" && c.Op != "ILIKE" {
			return Clause{}, p.errorfOp(opStart, c.Op, name, "=, !=, LIKE and ILIKE")
		}
	}

	p.skipSpace()
	valStart := p.pos
	switch {
	case c.Op == "IN" || c.Op == "NOT IN":
		if c.List, err = p.list(); err != nil {
			return Clause{}, err
		}
	case c.Numeric():
		if q := p.peek(); q == '\'' || q == '"' {
			return Clause{}, p.errorf(valStart, "where %s needs an unquoted number", name)
		}
		if c.Num, err = p.number(); err != nil {
			return Clause{}, err
		}
	default:
		if q := p.peek(); q != '\'' && q != '"' {
			return Clause{}, p.errorf(valStart, "where %s needs a quoted string such as '%s'", name, p.bareToken(valStart))
		}
		if c.Str, err = p.quoted(); err != nil {
			return Clause{}, err
		}
	}
	return c, nil
}

// errorfOp reports an operator that does not suit an identifier.
func (p *parser) errorfOp(off int, op, name, allowed string) error {
	return errs.Errorf(errs.Invalid, "invalid %s %q: operator %q at position %d cannot compare %s (allowed: %s)",
		p.what, p.src, op, p.position(off), name, allowed)
}

// bareToken returns the unquoted token at off, for suggestions.
func (p *parser) bareToken(off int) string {
	end := off
	for end < len(p.src) && isKeyByte(p.src[end]) {
		end++
	}
	if end == off {
		return "value"
	}
	return p.src[off:end]
}

// number reads a numeric literal.
func (p *parser) number() (float64, error) {
	start := p.pos
	for !p.eof() && strings.IndexByte("0123456789.eE+-", p.src[p.pos]) >= 0 {
		p.pos++
	}
	v, err := strconv.ParseFloat(p.src[start:p.pos], 64)
	if start == p.pos || err != nil {
		p.pos = start
		return 0, p.errorf(start, "where a number was expected")
	}
	return v, nil
}

// list reads a parenthesised, comma-separated list of quoted strings.
func (p *parser) list() ([]string, error) {
	if p.peek() != '(' {
		return nil, p.errorf(p.pos, "where a parenthesised list such as ('a', 'b') was expected")
	}
	p.pos++
	var out []string
	for {
		p.skipSpace()
		if q := p.peek(); q != '\'' && q != '"' {
			return nil, p.errorf(p.pos, "where a quoted string in the list was expected")
		}
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return out, nil
		default:
			return nil, p.errorf(p.pos, "where a comma or a closing parenthesis was expected")
		}
	}
}

// describe names an identifier for error messages, e.g. "metric \"acc\"".
func describe(kind, key string) string {
	if kind == KindAttribute {
		return "attribute " + key
	}
	return kind + " " + strconv.Quote(key)
}
