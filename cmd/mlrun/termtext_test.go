package main

import "testing"

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain name, ünïcode 学习": "plain name, ünïcode 学习",
		"a\nb\tc\rd":             `a\nb\tc\rd`,
		"\x1b[2Jcleared\x07":     `\x1b[2Jcleared\x07`,
		"del\x7f c1\u009b":       `del\x7f c1\u009b`,
		"evil\u202egnp.exe":      `evil\u202egnp.exe`,
		"bad utf8 \xff":          `bad utf8 \xff`,
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
	if got := oneLine("ab\ncdefgh", 6); got != `ab\...` {
		t.Errorf("oneLine = %q", got)
	}
	if got := termSafeLines("first\x1b[0m\nsecond"); got != "first\\x1b[0m\nsecond" {
		t.Errorf("termSafeLines = %q", got)
	}
}
