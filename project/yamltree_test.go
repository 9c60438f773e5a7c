package project

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestYAMLForms(t *testing.T) {
	src := `
s: !!str 123
i: !!int "0x10"
f: !!float "1.5"
b: !!bool true
n: !!null ""
m: !!map {a: 1}
q: !!seq [1]
e: 1e3
big: 18446744073709551615
inf: .inf
lit: |
  two
  lines
base: &b {x: 1, y: 2}
merged:
  <<: *b
  y: 3
many:
  <<: [{p: 1}, {p: 2, r: 2}]
alias: *b
`
	n, err := parseYAML("MLproject", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := n.plain().(map[string]any)
	want := map[string]any{
		"s": "123", "i": 16, "f": 1.5, "b": true, "n": nil,
		"m": map[string]any{"a": 1}, "q": []any{1},
		"e":   "1e3", // go-yaml reads 1e3 as a string
		"big": float64(math.MaxUint64), "inf": math.Inf(1), "lit": "two\nlines\n",
		"base":   map[string]any{"x": 1, "y": 2},
		"merged": map[string]any{"x": 1, "y": 3},
		"many":   map[string]any{"p": 1, "r": 2},
		"alias":  map[string]any{"x": 1, "y": 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	// Keys keep file order and positions; merged keys come where << is.
	var keys []string
	for _, e := range n.entries {
		if e.key == "merged" {
			for _, m := range e.value.entries {
				keys = append(keys, m.key)
			}
		}
	}
	if strings.Join(keys, ",") != "x,y" {
		t.Errorf("merged keys = %v", keys)
	}
}

func TestYAMLLimits(t *testing.T) {
	// A billion laughs: each level repeats the previous one ten times.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := parseYAML("MLproject", []byte(b.String()))
	if want := "MLproject:6:9: YAML aliases expand to more than 1000000 values"; err == nil || err.Error() != want {
		t.Errorf("billion laughs: got %v, want %s", err, want)
	}
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	_, err = parseYAML("MLproject", []byte("a: "+deep+"\n"))
	if err == nil || !strings.HasSuffix(err.Error(), "values are nested more than 200 levels deep") {
		t.Errorf("deep nesting: got %v", err)
	}
	for src, want := range map[string]string{
		"a: !!int x\n":   `MLproject:1:4: "x" is not an integer`,
		"a: !!float x\n": `MLproject:1:4: "x" is not a float`,
		"a: !!bool 1\n":  `MLproject:1:4: tag !!bool needs true or false, not the number 1`,
		"a: !!map [1]\n": `MLproject:1:9: invalid YAML: could not find map`,
		"a: !!seq {}\n":  `MLproject:1:9: invalid YAML: value is not allowed in this context`,
		"a: !!str [1]\n": `MLproject:1:9: invalid YAML: unexpected scalar value type`,
		"a: !foo 1\n":    `MLproject:1:4: unsupported YAML tag !foo`,
		"a:\n  <<: 1\n":  `MLproject:2:7: a merge key (<<) needs a mapping or a list of mappings, not the number 1`,
		"[a]: 1\n":       `MLproject:1:4: invalid YAML: found an invalid key for this map`,
		"? [a]\n: 1\n":   `MLproject:2:1: invalid YAML: found an invalid key for this map`,
	} {
		_, err := parse("MLproject", "/nonexistent", []byte(src), nil)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", src, err, want)
		}
	}
}
