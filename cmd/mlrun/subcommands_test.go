package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/storeuri"
)

func TestSubcommandNamesAreTheirCommandsNames(t *testing.T) {
	a := &app{stores: storeuri.New()}
	for _, sub := range a.subcommands() {
		if got := sub.build().Name(); got != sub.name {
			t.Errorf("subcommand %q builds the command %q", sub.name, got)
		}
	}
}

func TestOnlyCommand(t *testing.T) {
	a := &app{stores: storeuri.New()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "."}, "run"},
		{[]string{"--tracking-uri", "/tmp/s", "runs", "list"}, "runs"},
		{[]string{"--tracking-uri=/tmp/s", "exec-run", "abc"}, "exec-run"},
		{[]string{"--help"}, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"__complete", "ru"}, ""},
		{[]string{"rn"}, ""},
		{[]string{"--tracking-uri", "run"}, ""},
		{nil, ""},
		{[]string{"--version"}, "--version"},
		{[]string{"-v"}, "--version"},
		{[]string{"--version", "--help"}, ""},
	} {
		if got := a.onlyCommand(tc.args); got != tc.want {
			t.Errorf("onlyCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestOneCommandTreeActsLikeTheWholeTree checks that run, which builds
// only the command it runs, prints the same help and usage errors for
// every command as the whole tree does.
func TestOneCommandTreeActsLikeTheWholeTree(t *testing.T) {
	execute := func(root *cobra.Command, args []string) (string, string) {
		var out, errb bytes.Buffer
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&errb)
		_, err := root.ExecuteContextC(context.Background())
		if err != nil {
			errb.WriteString(err.Error())
		}
		return out.String(), errb.String()
	}
	whole := func(args []string) (string, string) {
		a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, version: version, stores: storeuri.New()}
		return execute(a.rootCommand(""), args)
	}
	one := func(args []string) (string, string) {
		a := &app{stores: storeuri.New()}
		return execute(a.rootCommand(a.onlyCommand(args)), args)
	}
	var cases [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(slices.Clone(path), sub.Name())
			cases = append(cases, append(slices.Clone(p), "--help"), append(slices.Clone(p), "--no-such-flag"))
			if !sub.Runnable() {
				cases = append(cases, append(slices.Clone(p), "no-such-command"))
			}
			walk(sub, p)
		}
	}
	walk((&app{stores: storeuri.New()}).rootCommand(""), nil)
	cases = append(cases, []string{"--version"}, []string{"-v"}, []string{"--help"}, []string{"--version", "--help"}, []string{"--no-such-flag"}, []string{"rn"})
	if len(cases) < 100 {
		t.Fatalf("only %d cases from the tree", len(cases))
	}
	for _, args := range cases {
		wantOut, wantErr := whole(args)
		gotOut, gotErr := one(args)
		if gotOut != wantOut || gotErr != wantErr {
			t.Errorf("mlrun %s: with one command built, printed\n%s\n%s\nwant\n%s\n%s", strings.Join(args, " "), gotOut, gotErr, wantOut, wantErr)
		}
	}
}
