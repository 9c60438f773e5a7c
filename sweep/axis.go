package sweep

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/project"
)

// This file turns one parameter's value as written (a spec) into an Axis:
// it types every value by the parameter's declared type, expands the
// generated grids and checks the distributions' arguments.

// Limits that keep a sweep's size sane.
const (
	maxValues  = 10000 // values one axis may list or generate
	maxTrials  = 10000 // trials one sweep may run
	maxRedraws = 1000  // draws to find a new combination in a random search
)

// param is the parameter an axis varies.
type param struct {
	name string
	typ  string // the declared type; "" when undeclared
}

// lookupParam returns the declaration of name in ep.
func lookupParam(ep *project.EntryPoint, name string) param {
	for _, p := range ep.Params {
		if p.Name == name {
			return param{name: name, typ: p.Type}
		}
	}
	return param{name: name}
}

// boolWords are the texts project.ResolveParams accepts for a bool.
var boolWords = map[string]bool{
	"true": true, "t": true, "1": true, "yes": true, "y": true, "on": true,
	"false": false, "f": false, "0": false, "no": false, "n": false, "off": false,
}

// valueKey types s as a value of type typ and returns a key that is equal
// for equal typed values, or why s is not of that type. Paths, URIs,
// strings and undeclared values compare as text; project.ResolveParams
// checks paths and URIs fully for every trial.
func valueKey(typ, s string) (string, error) {
	switch typ {
	case project.TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "", fmt.Errorf("is not a float")
		}
		if f == 0 {
			f = 0 // -0 and 0 are the same value
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case project.TypeInt:
		i, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			return "", fmt.Errorf("is not an int")
		}
		return strconv.FormatInt(i, 10), nil
	case project.TypeBool:
		b, ok := boolWords[strings.ToLower(s)]
		if !ok {
			return "", fmt.Errorf("is not a bool (use true or false)")
		}
		return strconv.FormatBool(b), nil
	}
	return s, nil
}

// checkValues types every value and refuses a value given twice. where
// names the values for messages, e.g. `the list "1,2"`.
func checkValues(p param, values []string, where string) error {
	first := map[string]string{}
	for _, v := range values {
		key, err := valueKey(p.typ, v)
		if err != nil {
			return fmt.Errorf("%q in %s %v", v, where, err)
		}
		if prev, dup := first[key]; dup {
			if prev == v {
				return fmt.Errorf("%s holds %q twice", where, v)
			}
			return fmt.Errorf("%s holds the same value twice (%q and %q)", where, prev, v)
		}
		first[key] = v
	}
	return nil
}

// buildAxis turns a list or a function call into an axis. Errors are the
// detail of a message naming the parameter.
func buildAxis(p param, sp spec) (Axis, error) {
	ax := Axis{Name: p.name, Type: p.typ, Source: sp.source}
	switch sp.fn {
	case "":
		ax.Values = sp.list
		if len(ax.Values) > maxValues {
			return Axis{}, fmt.Errorf("the list %q has %d values, more than %d", sp.source, len(ax.Values), maxValues)
		}
		return ax, checkValues(p, ax.Values, fmt.Sprintf("the list %q", sp.source))
	case fnChoice:
		ax.Dist = fnChoice
		ax.Choices = sp.args
		for _, c := range ax.Choices {
			if c == "" {
				return Axis{}, fmt.Errorf("%s has an empty item (write \\, for a literal comma)", sp.source)
			}
		}
		if len(ax.Choices) > maxValues {
			return Axis{}, fmt.Errorf("%s has %d values, more than %d", sp.source, len(ax.Choices), maxValues)
		}
		return ax, checkValues(p, ax.Choices, sp.source)
	case fnLogspace, fnLinspace, fnRange:
		values, args, err := generate(p, sp)
		if err != nil {
			return Axis{}, err
		}
		ax.Values, ax.Args = values, args
		return ax, checkValues(p, ax.Values, sp.source)
	}
	args, err := distArgs(p, sp)
	if err != nil {
		return Axis{}, err
	}
	ax.Dist, ax.Args = sp.fn, args
	return ax, nil
}

// isDecimalNumber reports whether s is a number as a function takes it
// as an argument: the regexp ^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$
// written out (package-level regexps are compiled by every mlrun process).
func isDecimalNumber(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	whole, fraction := digits(), 0
	if i < len(s) && s[i] == '.' {
		i++
		fraction = digits()
	}
	if whole == 0 && fraction == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if n := digits(); n < 1 || n > 3 {
			return false
		}
	}
	return i == len(s)
}

// numberArgs reads the arguments of a call as exact rationals, checking
// that their count is one of counts; names describes them for messages.
func numberArgs(sp spec, names string, counts ...int) ([]*big.Rat, error) {
	ok := false
	for _, n := range counts {
		ok = ok || len(sp.args) == n
	}
	if !ok {
		return nil, fmt.Errorf("%s takes %s but has %d", sp.source, names, len(sp.args))
	}
	out := make([]*big.Rat, len(sp.args))
	for i, a := range sp.args {
		if len(a) > 64 || !isDecimalNumber(a) {
			return nil, fmt.Errorf("%s: %q is not a number", sp.source, a)
		}
		r, ok := new(big.Rat).SetString(a)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not a number", sp.source, a)
		}
		if f, _ := r.Float64(); math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: %q is too large", sp.source, a)
		}
		out[i] = r
	}
	return out, nil
}

// floats returns the rationals as float64s.
func floats(rs []*big.Rat) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i], _ = r.Float64()
	}
	return out
}

// number is a generated value: exact when r is set, else the float f.
type number struct {
	r *big.Rat
	f float64
}

// format writes n as a value of type typ: a whole number for an int
// parameter, else the shortest text of the nearest float64 ('g' format).
// ok is false when n is not a whole number for an int parameter or is out
// of the float64 range.
func (n number) format(typ string) (s string, ok bool) {
	if typ == project.TypeInt {
		if n.r != nil {
			if !n.r.IsInt() || !n.r.Num().IsInt64() {
				return "", false
			}
			return n.r.Num().String(), true
		}
		if n.f != math.Trunc(n.f) || math.Abs(n.f) > 1<<53 {
			return "", false
		}
		return strconv.FormatInt(int64(n.f), 10), true
	}
	f := n.f
	if n.r != nil {
		f, _ = n.r.Float64()
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return strconv.FormatFloat(f, 'g', -1, 64), true
}

// generate expands logspace, linspace and range into the axis's values,
// computed exactly from the decimal arguments and rounded once (see the
// package documentation). It also returns the arguments as floats.
func generate(p param, sp spec) ([]string, []float64, error) {
	switch p.typ {
	case project.TypeBool, project.TypePath, project.TypeURI:
		return nil, nil, fmt.Errorf("%s generates numbers, which a %s parameter does not take (list its values instead)", sp.source, p.typ)
	}
	var nums []number
	var args []*big.Rat
	var err error
	if sp.fn == fnRange {
		args, err = numberArgs(sp, "1 to 3 arguments (start, stop, step)", 1, 2, 3)
		if err != nil {
			return nil, nil, err
		}
		nums, err = rangeValues(p, sp, args)
	} else {
		args, err = numberArgs(sp, "3 arguments (start, stop, num)", 3)
		if err != nil {
			return nil, nil, err
		}
		nums, err = spaceValues(sp, args)
	}
	if err != nil {
		return nil, nil, err
	}
	values := make([]string, len(nums))
	for i, n := range nums {
		s, ok := n.format(p.typ)
		if !ok {
			if p.typ == project.TypeInt {
				v, _ := number{r: n.r, f: n.f}.format(project.TypeFloat)
				return nil, nil, fmt.Errorf("%s gives %s, which is not an int", sp.source, v)
			}
			return nil, nil, fmt.Errorf("%s gives a value out of the float64 range", sp.source)
		}
		values[i] = s
	}
	return values, floats(args), nil
}

// spaceValues computes linspace(a, b, n) (a + i*(b-a)/(n-1), both ends
// included; a alone when n is 1) or logspace(a, b, n) (10 to the power of
// those numbers).
func spaceValues(sp spec, args []*big.Rat) ([]number, error) {
	a, b, num := args[0], args[1], args[2]
	if !num.IsInt() || num.Sign() <= 0 || num.Cmp(big.NewRat(maxValues, 1)) > 0 {
		return nil, fmt.Errorf("%s: num must be a whole number from 1 to %d", sp.source, maxValues)
	}
	n := num.Num().Int64()
	out := make([]number, n)
	for i := int64(0); i < n; i++ {
		x := new(big.Rat).Set(a)
		if n > 1 {
			step := new(big.Rat).Sub(b, a)
			step.Mul(step, big.NewRat(i, n-1))
			x.Add(x, step)
		}
		if sp.fn == fnLinspace {
			out[i] = number{r: x}
			continue
		}
		out[i] = pow10(x)
	}
	return out, nil
}

// pow10 returns 10**x: exact when x is a whole number, else computed
// with 160-bit precision so that it rounds to the nearest float64.
func pow10(x *big.Rat) number {
	switch {
	case x.Cmp(big.NewRat(400, 1)) > 0:
		return number{f: math.Inf(1)} // beyond float64: format reports it
	case x.Cmp(big.NewRat(-400, 1)) < 0:
		return number{f: 0} // below float64's smallest value, as numpy gives
	}
	// x = whole + frac with whole = floor(x) and 0 <= frac < 1.
	whole := new(big.Int).Div(x.Num(), x.Denom()) // Euclidean: floor for a positive denominator
	frac := new(big.Rat).Sub(x, new(big.Rat).SetInt(whole))
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), new(big.Int).Abs(whole), nil))
	if whole.Sign() < 0 {
		scale.Inv(scale)
	}
	if frac.Sign() == 0 {
		return number{r: scale}
	}
	const prec = 160
	t := new(big.Float).SetPrec(prec).SetRat(frac)
	t.Mul(t, ln10())
	y := expTaylor(t)
	y.Mul(y, new(big.Float).SetPrec(prec).SetRat(scale))
	f, _ := y.Float64()
	return number{f: f}
}

// ln10 returns ln(10) to 160 bits.
func ln10() *big.Float {
	f, _, _ := big.ParseFloat("2.30258509299404568401799145468436420760110148862877297603333", 10, 160, big.ToNearestEven)
	return f
}

// expTaylor returns e**t for 0 <= t < 3 by its Taylor series, to t's
// precision.
func expTaylor(t *big.Float) *big.Float {
	prec := t.Prec()
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := int64(1); k < 200; k++ {
		term.Mul(term, t)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(k))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil)-sum.MantExp(nil) < -int(prec) {
			break
		}
	}
	return sum
}

// abs returns |x|.
func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// rangeValues computes range(start, stop, step) as Python does (stop
// excluded, step 1 by default, range(stop) starting at 0), each value
// computed exactly as start + i*step. An int parameter takes whole numbers
// only.
func rangeValues(p param, sp spec, args []*big.Rat) ([]number, error) {
	start, stop, step := new(big.Rat), args[0], big.NewRat(1, 1)
	if len(args) >= 2 {
		start, stop = args[0], args[1]
	}
	if len(args) == 3 {
		step = args[2]
	}
	if p.typ == project.TypeInt {
		for i, r := range args {
			if !r.IsInt() {
				return nil, fmt.Errorf("%s: %q is not a whole number, as range takes for an int parameter", sp.source, sp.args[i])
			}
		}
	}
	if step.Sign() == 0 {
		return nil, fmt.Errorf("%s: the step must not be 0", sp.source)
	}
	// The count is ceil((stop-start)/step) when positive.
	q := new(big.Rat).Sub(stop, start)
	q.Quo(q, step)
	if q.Sign() <= 0 {
		return nil, fmt.Errorf("%s gives no values", sp.source)
	}
	count := new(big.Int).Quo(q.Num(), q.Denom()) // floor, as q > 0
	if !q.IsInt() {
		count.Add(count, big.NewInt(1))
	}
	if count.Cmp(big.NewInt(maxValues)) > 0 {
		return nil, fmt.Errorf("%s gives %s values, more than %d", sp.source, count, maxValues)
	}
	n := count.Int64()
	out := make([]number, n)
	for i := int64(0); i < n; i++ {
		x := new(big.Rat).Mul(step, big.NewRat(i, 1))
		out[i] = number{r: x.Add(x, start)}
	}
	return out, nil
}

// distArgs checks a distribution's arguments against the parameter's type
// and returns them as floats.
func distArgs(p param, sp spec) ([]float64, error) {
	switch {
	case p.typ == "":
		return nil, fmt.Errorf("%s draws numbers, which needs the parameter declared as a float or an int; only choice works for an undeclared parameter", sp.source)
	case p.typ != project.TypeFloat && p.typ != project.TypeInt:
		return nil, fmt.Errorf("%s draws numbers, which a %s parameter does not take (use choice)", sp.source, p.typ)
	case sp.fn == fnUniform && p.typ == project.TypeInt:
		return nil, fmt.Errorf("%s draws floats, which an int parameter does not take (use randint)", sp.source)
	}
	args, err := numberArgs(sp, "2 arguments (low, high)", 2)
	if err != nil {
		return nil, err
	}
	lo, hi := args[0], args[1]
	if lo.Cmp(hi) >= 0 {
		return nil, fmt.Errorf("%s: the low bound must be below the high bound", sp.source)
	}
	wholeNumbers := sp.fn == fnRandint || p.typ == project.TypeInt
	if wholeNumbers {
		for i, r := range args {
			if !r.IsInt() || !r.Num().IsInt64() || abs(r.Num().Int64()) > 1<<53 {
				return nil, fmt.Errorf("%s: %q is not a whole number (below 2^53)", sp.source, sp.args[i])
			}
		}
	}
	if sp.fn == fnLoguniform && lo.Sign() <= 0 {
		return nil, fmt.Errorf("%s: the bounds must be above 0", sp.source)
	}
	return floats(args), nil
}

// count returns the number of distinct values the axis gives, and false
// when it draws from a continuous range (a float uniform or loguniform).
func (a *Axis) count() (int64, bool) {
	switch a.Dist {
	case "":
		return int64(len(a.Values)), true
	case fnChoice:
		return int64(len(a.Choices)), true
	case fnRandint:
		return int64(a.Args[1] - a.Args[0]), true
	case fnLoguniform:
		if a.Type == project.TypeInt {
			return int64(a.Args[1] - a.Args[0]), true
		}
	}
	return 0, false
}

// uniformIndex reports whether the axis draws each of its count() values
// with the same chance, so that a value can be picked by its index.
func (a *Axis) uniformIndex() bool {
	switch a.Dist {
	case "", fnChoice, fnRandint:
		return true
	}
	return false
}

// valueAt returns the i-th of the axis's values (0 <= i < count()).
func (a *Axis) valueAt(i int64) string {
	switch a.Dist {
	case fnChoice:
		return a.Choices[i]
	case fnRandint:
		return strconv.FormatInt(int64(a.Args[0])+i, 10)
	}
	return a.Values[i]
}
