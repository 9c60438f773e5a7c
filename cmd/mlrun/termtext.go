package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSafe returns s fit for a terminal: every control character (a
// newline, a tab, ESC, DEL, the C1 controls) and every Unicode
// bidirectional override is written as a Go escape (\n, \t, \x1b, \u202e),
// so that a run name, param or tag read from the store can neither fake a
// table row nor send the terminal an escape sequence. Every value from the
// store that a command prints for a person goes through it; -o json and
// -o csv are for programs, and are left as they are.
func termSafe(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unsafeRune(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// termSafeLines is termSafe for text whose lines are meant as lines (an
// error with the output of a command): each line is made safe, and the
// newlines between them are kept.
func termSafeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = termSafe(l)
	}
	return strings.Join(lines, "\n")
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || // C0, DEL, C1
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || // bidirectional embeddings, overrides, isolates
		r == 0x200e || r == 0x200f || r == 0x061c // direction marks
}

// oneLine returns termSafe(s) cut to at most max characters.
func oneLine(s string, max int) string {
	s = termSafe(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-3]) + "..."
}
