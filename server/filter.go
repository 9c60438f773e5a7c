package server

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/errs"
)

// This file holds the small search grammar of experiments and the model
// registry (runs are searched by the store): comparisons joined by AND,
// "name LIKE 'a%'", "tags.team = 'x'", "creation_time > 1700000000000",
// "run_id IN ('a', 'b')". These lists are small, so they are filtered in
// memory after the store lists them.

// cond is one comparison of a filter.
type cond struct {
	tag   bool   // tags.<key>
	key   string // attribute or tag key
	op    string // =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN
	str   string
	num   float64
	isNum bool
	list  []string
	re    *regexp.Regexp // LIKE, ILIKE
}

// field is what a filter compares: a string, or a number when isNum.
type field struct {
	str   string
	num   float64
	isNum bool
	ok    bool // false: the entity has no such tag (never matches)
}

// filter is a parsed filter; a nil or empty filter matches everything.
type filter []cond

// parseFilter parses s; numeric names the attributes compared as numbers
// and strs the string attributes; anything else except tags.* is an error.
func parseFilter(s string, strs, numeric []string) (filter, error) {
	var out filter
	p := &lexer{src: s}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for {
		c, err := p.cond()
		if err != nil {
			return nil, err
		}
		if !c.tag {
			switch {
			case contains(numeric, c.key):
				if !c.isNum && c.op != "IN" && c.op != "NOT IN" {
					return nil, errs.Errorf(errs.Invalid, "invalid filter %q: %s is compared with numbers, not %q", s, c.key, c.str)
				}
			case contains(strs, c.key):
				if c.isNum {
					c.str, c.isNum = strconv.FormatFloat(c.num, 'f', -1, 64), false
				}
			default:
				return nil, errs.Errorf(errs.Invalid, "invalid filter %q: unknown attribute %q; use %s or tags.<key>", s, c.key, strings.Join(append(append([]string{}, strs...), numeric...), ", "))
			}
		}
		if c.op == "LIKE" || c.op == "ILIKE" {
			c.re = likePattern(c.str, c.op == "ILIKE")
		}
		out = append(out, c)
		p.space()
		if p.eof() {
			return out, nil
		}
		if !p.keyword("AND") {
			return nil, errs.Errorf(errs.Invalid, "invalid filter %q: expected AND at character %d", s, p.pos+1)
		}
	}
}

// match reports whether every condition holds; get returns an entity's
// attribute or tag.
func (f filter) match(get func(tag bool, key string) field) bool {
	for _, c := range f {
		v := get(c.tag, c.key)
		if !v.ok {
			return false
		}
		if !c.holds(v) {
			return false
		}
	}
	return true
}

func (c cond) holds(v field) bool {
	if v.isNum && c.isNum {
		switch c.op {
		case "=":
			return v.num == c.num
		case "!=":
			return v.num != c.num
		case "<":
			return v.num < c.num
		case "<=":
			return v.num <= c.num
		case ">":
			return v.num > c.num
		case ">=":
			return v.num >= c.num
		}
		return false
	}
	s := v.str
	if v.isNum {
		s = strconv.FormatFloat(v.num, 'f', -1, 64)
	}
	switch c.op {
	case "=":
		return s == c.str
	case "!=":
		return s != c.str
	case "LIKE", "ILIKE":
		return c.re.MatchString(s)
	case "IN":
		return contains(c.list, s)
	case "NOT IN":
		return !contains(c.list, s)
	case "<":
		return s < c.str
	case "<=":
		return s <= c.str
	case ">":
		return s > c.str
	case ">=":
		return s >= c.str
	}
	return false
}

// likePattern compiles a SQL LIKE pattern (% any run, _ one character).
func likePattern(p string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteByte('^')
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteByte('$')
	return regexp.MustCompile(b.String())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lexer reads a filter string.
type lexer struct {
	src string
	pos int
}

func (p *lexer) eof() bool { return p.pos >= len(p.src) }

func (p *lexer) space() {
	for !p.eof() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *lexer) errorf(format string, args ...any) error {
	return errs.Errorf(errs.Invalid, "invalid filter %q at character %d: %s", p.src, p.pos+1, fmt.Sprintf(format, args...))
}

// keyword consumes word (case-insensitive) if it comes next as a whole word.
func (p *lexer) keyword(word string) bool {
	p.space()
	end := p.pos + len(word)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], word) {
		return false
	}
	if end < len(p.src) && isWord(p.src[end]) {
		return false
	}
	p.pos = end
	return true
}

func isWord(b byte) bool {
	return b == '_' || b == '.' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func (p *lexer) cond() (cond, error) {
	var c cond
	p.space()
	ident, err := p.identPart()
	if err != nil {
		return c, err
	}
	if strings.HasSuffix(ident, ".") && !p.eof() && (p.src[p.pos] == '"' || p.src[p.pos] == '`') {
		key, err := p.quoted() // tags."my key"
		if err != nil {
			return c, err
		}
		ident += key
	}
	lower := strings.ToLower(ident)
	switch {
	case lower == "tags" || lower == "tag":
		if p.eof() || p.src[p.pos] != '.' {
			return c, p.errorf("expected '.' and a key after %q", ident)
		}
		p.pos++
		c.tag = true
		if c.key, err = p.identPart(); err != nil {
			return c, err
		}
	case strings.HasPrefix(lower, "tags.") || strings.HasPrefix(lower, "tag."):
		_, c.key, _ = strings.Cut(ident, ".")
		c.tag = true
	case strings.HasPrefix(lower, "attributes.") || strings.HasPrefix(lower, "attribute.") || strings.HasPrefix(lower, "attr."):
		_, c.key, _ = strings.Cut(ident, ".")
	default:
		c.key = ident
	}
	if !c.tag {
		c.key = strings.ToLower(c.key)
	}
	p.space()
	switch {
	case p.keyword("NOT"):
		if !p.keyword("IN") {
			return c, p.errorf("expected IN after NOT")
		}
		c.op = "NOT IN"
	case p.keyword("IN"):
		c.op = "IN"
	case p.keyword("LIKE"):
		c.op = "LIKE"
	case p.keyword("ILIKE"):
		c.op = "ILIKE"
	default:
		for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
			if strings.HasPrefix(p.src[p.pos:], op) {
				c.op = op
				p.pos += len(op)
				break
			}
		}
		if c.op == "" {
			return c, p.errorf("expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN)")
		}
	}
	p.space()
	if c.op == "IN" || c.op == "NOT IN" {
		c.list, err = p.list()
		return c, err
	}
	if p.eof() {
		return c, p.errorf("expected a value")
	}
	if q := p.src[p.pos]; q == '\'' || q == '"' {
		c.str, err = p.quoted()
		return c, err
	}
	start := p.pos
	for !p.eof() && (isWord(p.src[p.pos]) || p.src[p.pos] == '-' || p.src[p.pos] == '+') {
		p.pos++
	}
	n, err := strconv.ParseFloat(p.src[start:p.pos], 64)
	if err != nil {
		p.pos = start
		return c, p.errorf("expected a quoted string or a number")
	}
	c.num, c.isNum = n, true
	return c, nil
}

// identPart reads a bare word, or a key quoted with backticks or double
// quotes.
func (p *lexer) identPart() (string, error) {
	if p.eof() {
		return "", p.errorf("expected a name")
	}
	if q := p.src[p.pos]; q == '`' || q == '"' {
		return p.quoted()
	}
	start := p.pos
	for !p.eof() && isWord(p.src[p.pos]) {
		p.pos++
	}
	if start == p.pos {
		return "", p.errorf("expected a name")
	}
	return p.src[start:p.pos], nil
}

func (p *lexer) quoted() (string, error) {
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for !p.eof() {
		ch := p.src[p.pos]
		p.pos++
		if ch == '\\' && !p.eof() {
			b.WriteByte(p.src[p.pos])
			p.pos++
			continue
		}
		if ch == q {
			return b.String(), nil
		}
		b.WriteByte(ch)
	}
	return "", p.errorf("unterminated quoted string")
}

func (p *lexer) list() ([]string, error) {
	if p.eof() || p.src[p.pos] != '(' {
		return nil, p.errorf("expected '(' to start a list")
	}
	p.pos++
	var out []string
	for {
		p.space()
		if p.eof() {
			return nil, p.errorf("unterminated list")
		}
		if q := p.src[p.pos]; q != '\'' && q != '"' {
			return nil, p.errorf("expected a quoted string in the list")
		}
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.space()
		if p.eof() {
			return nil, p.errorf("unterminated list")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return out, nil
		default:
			return nil, p.errorf("expected ',' or ')' in the list")
		}
	}
}
