package project

import (
	"testing"

	"github.com/expr-lang/expr"
)

// TestProgramsCompileAsExprCompileDoes checks that the file's shared
// configuration compiles each expression into the program expr.Compile
// gives, and fails where it fails with the same error, plainly and as a
// condition; and that a source is compiled once.
func TestProgramsCompileAsExprCompileDoes(t *testing.T) {
	sources := []string{
		"params.data", "steps.split.outputs.train", "params.C * 2 + 1",
		`params.register_as != "" && metrics.accuracy >= params.min_accuracy`,
		"len(params.names) > 0 ? params.names[0] : 'none'", "1 + 2", "true",
		`let x = params.C; x > 1`, `raw(params.flags)`, `"C" in params`,
		"map([1, 2, 3], # * 2)", "params.a ?? 'b'", "1 +", "(", "params.C >", "1 / 0",
		`now().Year() > 2000`, "steps['a'].outputs.b", "foo(1)", "[1, 2][5]",
	}
	p := newPrograms()
	for _, src := range sources {
		for _, asBool := range []bool{false, true} {
			s := p.source(src, asBool)
			err := s.err
			if err == nil && asBool {
				err = s.boolErr
			}
			var opts []expr.Option
			if asBool {
				opts = append(opts, expr.AsBool())
			}
			want, wantErr := expr.Compile(src, opts...)
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Errorf("%q (as bool: %v): error %v, expr.Compile's %v", src, asBool, err, wantErr)
				continue
			}
			if wantErr != nil {
				continue
			}
			if !asBool {
				if got := s.program.Disassemble(); got != want.Disassemble() {
					t.Errorf("%q: program\n%s\nexpr.Compile's\n%s", src, got, want.Disassemble())
				}
			}
		}
		if p.source(src, false) != p.source(src, true) {
			t.Errorf("%q was compiled twice", src)
		}
	}
}
