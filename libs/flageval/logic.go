package flageval

// This file reproduces github.com/diegoholiveira/jsonlogic/v3 v3.9.1, the
// JsonLogic library flagd's Go evaluator uses, operator by operator: the
// same coercions, the same results for odd operand types, and an error
// (flagd: PARSE_ERROR) wherever the library panics, e.g. on a failed type
// assertion or an index out of range. Comments name the library function
// each piece mirrors.

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// evalError is an evaluation failure; jsonlogic reports it as an error and
// flagd answers PARSE_ERROR.
type evalError struct{ msg string }

func (e *evalError) Error() string { return e.msg }

func fail(format string, args ...any) {
	panic(&evalError{msg: fmt.Sprintf(format, args...)})
}

// internalError is a panic that is not a modelled jsonlogic failure, i.e. a
// bug in this package. It is still reported as an evaluation error rather
// than crashing the service; tests check that it never happens.
type internalError struct {
	val   any
	stack string
}

func (e *internalError) Error() string { return fmt.Sprintf("internal error: %v", e.val) }

// rootData is the top-level evaluation data: flagd's context map with
// "targetingKey" and "$flagd" added. It is materialized into a real map
// only when a rule asks for the whole data.
type rootData struct {
	attrs   map[string]any
	tk      string
	flagKey string
	fkAny   any // flagKey, boxed once at Parse
	now     time.Time
	ts      int64
	tsSet   bool
	asMap   map[string]any
}

// flagdProps stands for the "$flagd" object while walking a var path.
type flagdProps struct{ r *rootData }

func (r *rootData) timestamp() int64 {
	if !r.tsSet {
		if r.now.IsZero() {
			r.ts = time.Now().Unix()
		} else {
			r.ts = r.now.Unix()
		}
		r.tsSet = true
	}
	return r.ts
}

// get returns the top-level attribute k (nil when absent).
func (r *rootData) get(k string) any {
	switch k {
	case "targetingKey":
		if r.tk != "" {
			return r.tk
		}
	case "$flagd":
		return flagdProps{r}
	}
	return r.attrs[k]
}

func (r *rootData) flagdMap() map[string]any {
	return map[string]any{"flagKey": r.flagKey, "timestamp": float64(r.timestamp())}
}

func (r *rootData) materialize() map[string]any {
	if r.asMap == nil {
		m := make(map[string]any, len(r.attrs)+2)
		for k, v := range r.attrs {
			m[k] = v
		}
		if r.tk != "" {
			m["targetingKey"] = r.tk
		}
		m["$flagd"] = r.flagdMap()
		r.asMap = m
	}
	return r.asMap
}

// evaluator holds the state of one evaluation.
type evaluator struct {
	root  rootData
	trace *tracer
	// scratch holds evaluated operator arguments; each operation truncates
	// it back when done, so it is reused without allocating.
	scratch []any
}

var evaluatorPool = sync.Pool{New: func() any { return new(evaluator) }}

func getEvaluator() *evaluator { return evaluatorPool.Get().(*evaluator) }

func putEvaluator(e *evaluator) {
	s := e.scratch[:cap(e.scratch)]
	clear(s)
	if cap(s) > 256 {
		s = nil // do not keep huge buffers
	}
	*e = evaluator{scratch: s[:0]}
	evaluatorPool.Put(e)
}

// run is jsonlogic.ApplyInterface for a compiled rule: it evaluates n
// against the top-level data and turns failures into errors.
func (e *evaluator) run(n *node) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			if ee, ok := r.(*evalError); ok {
				err = ee
				return
			}
			err = &internalError{val: r, stack: string(debug.Stack())}
		}
	}()
	return e.eval(n, &e.root), nil
}

// value turns a data handle into a value: the top-level data and the
// "$flagd" object become maps.
func (e *evaluator) value(d any) any {
	switch x := d.(type) {
	case *rootData:
		return x.materialize()
	case flagdProps:
		return x.r.flagdMap()
	}
	return d
}

// eval is jsonlogic's parseValues: primitives are returned as they are,
// objects are applied and arrays are evaluated element by element.
func (e *evaluator) eval(n *node, data any) any {
	switch n.kind {
	case kConst, kObject:
		if n.kind == kObject && len(n.val.(map[string]any)) == 0 {
			return map[string]any{} // apply() returns a new empty map
		}
		return n.val
	case kArray:
		if n.isConst {
			return n.val
		}
		out := make([]any, len(n.elems))
		for i, el := range n.elems {
			out[i] = e.eval(el, data)
		}
		return out
	}
	return e.operation(n, data)
}

// parseValuesDyn is parseValues on a value that is not part of the
// definition (a data value the library re-parses).
func (e *evaluator) parseValuesDyn(v, data any) any {
	switch v.(type) {
	case map[string]any, []any:
		return e.eval(compileDyn(v), data)
	}
	return v
}

// applyValue is jsonlogic's apply on a map value.
func (e *evaluator) applyValue(m map[string]any, data any) any {
	if len(m) > 1 {
		return m
	}
	if len(m) == 0 {
		return map[string]any{}
	}
	return e.eval(compileDyn(m), data)
}

// applyNode is jsonlogic's apply on a raw definition value: a type
// assertion to map that panics for anything else.
func (e *evaluator) applyNode(n *node, data any) any {
	switch n.kind {
	case kOp, kObject:
		return e.eval(n, data)
	}
	fail("interface conversion: interface {} is %s, not map[string]interface {}", typeName(n.raw))
	return nil
}

// argList evaluates an operator's arguments (parseValues(values)) and
// returns them as a list. ok is false when they do not evaluate to an
// array, where jsonlogic's `.([]any)` assertion would panic. The list of a
// literal argument array lives in e.scratch: it is only valid until the
// operation returns.
func (e *evaluator) argList(n *node, data any) (list []any, ok bool) {
	a := n.arg
	if a.kind == kArray {
		if a.isConst {
			return a.val.([]any), true
		}
		start := len(e.scratch)
		for _, el := range a.elems {
			v := e.eval(el, data)
			e.scratch = append(e.scratch, v)
		}
		return e.scratch[start:len(e.scratch):len(e.scratch)], true
	}
	v := e.eval(a, data)
	list, ok = v.([]any)
	return list, ok
}

// mustArgList is argList for operators that assert `.([]any)`.
func (e *evaluator) mustArgList(n *node, data any) []any {
	list, ok := e.argList(n, data)
	if !ok {
		fail("%s: arguments are not an array", n.name)
	}
	return list
}

// rawArgs returns the raw argument array of operators that do
// `values.([]any)` without evaluating them first.
func rawArgs(n *node) []*node {
	if n.arg.kind != kArray {
		fail("%s: arguments are not an array", n.name)
	}
	return n.arg.elems
}

func (e *evaluator) operation(n *node, data any) any {
	mark := len(e.scratch)
	r := e.operate(n, data)
	e.scratch = e.scratch[:mark]
	return r
}

func (e *evaluator) operate(n *node, data any) any {
	switch n.op {
	case opVar:
		return e.opVar(n, data)
	case opIf, opTernary:
		return e.opIf(n, data)
	case opAnd, opOr:
		var last any
		for _, el := range rawArgs(n) {
			last = e.eval(el, data)
			if isTrue(last) == (n.op == opOr) {
				break
			}
		}
		if e.trace != nil {
			e.record(n, last, nil, nil)
		}
		return last
	case opNot:
		r := negative(e.eval(n.arg, data))
		if e.trace != nil {
			e.record(n, r, nil, nil)
		}
		return r
	case opNotNot:
		r := !negative(e.eval(n.arg, data))
		if e.trace != nil {
			e.record(n, r, nil, nil)
		}
		return r
	case opStrictEq, opStrictNe:
		v := e.eval(n.arg, data)
		r := hardEquals(v)
		if n.op == opStrictNe {
			r = !r
		}
		if e.trace != nil {
			e.record(n, r, nil, v)
		}
		return r
	case opEq, opNe, opLt, opLe, opGt, opGe:
		args := e.mustArgList(n, data)
		var r bool
		if n.op == opNe {
			r = !compare(opEq, args) // "!=" is !isEqual: true with fewer than two arguments
		} else {
			r = compare(n.op, args)
		}
		if e.trace != nil {
			e.record(n, r, args, nil)
		}
		return r
	case opIn:
		args := e.mustArgList(n, data)
		r := in(args)
		if e.trace != nil {
			e.record(n, r, args, nil)
		}
		return r
	case opCat:
		return concat(e.eval(n.arg, data))
	case opSubstr:
		return substr(e.mustArgList(n, data))
	case opMerge:
		return merge(e.eval(n.arg, data))
	case opAdd:
		return sum(e.eval(n.arg, data))
	case opSub:
		return minus(e.mustArgList(n, data))
	case opMul:
		return mult(e.mustArgList(n, data))
	case opDiv:
		return div(e.mustArgList(n, data))
	case opMod:
		args := e.mustArgList(n, data)
		if len(args) < 2 {
			fail("%%: index out of range")
		}
		a := toNumberTyping(args[0])
		b := toNumberTyping(args[1])
		return math.Mod(a, b)
	case opMin, opMax:
		return minMax(n.op == opMax, e.mustArgList(n, data))
	case opAbs:
		v := e.eval(n.arg, data)
		if l, ok := v.([]any); ok {
			if len(l) == 0 {
				fail("abs: index out of range")
			}
			return math.Abs(toNumberTyping(l[0]))
		}
		return math.Abs(toNumberTyping(v))
	case opMissing:
		return e.missing(e.eval(n.arg, data), data)
	case opMissingSome:
		return e.missingSome(e.mustArgList(n, data), data)
	case opMap:
		return e.opMap(n, data)
	case opFilter:
		return e.opFilter(n, data)
	case opReduce:
		return e.opReduce(n, data)
	case opAll, opSome, opNone:
		return e.opQuantifier(n, data)
	case opSet:
		return e.opSet(n, data)
	case opContainsAll, opContainsAny, opContainsNone:
		return containsOp(n.op, e.eval(n.arg, data))
	case opFractional:
		args, ok := e.argList(n, data)
		return e.fractional(n, args, ok, data)
	case opSemVer:
		args, ok := e.argList(n, data)
		r := semVerOp(args, ok)
		if e.trace != nil {
			e.record(n, r, args, nil)
		}
		return r
	case opStartsWith, opEndsWith:
		args, ok := e.argList(n, data)
		r := stringCompareOp(n.op == opStartsWith, args, ok)
		if e.trace != nil {
			e.record(n, r, args, nil)
		}
		return r
	}
	fail("The operator %q is not supported", n.name)
	return nil
}

// ---- var, missing, missing_some (vars.go, lists.go) ----

func (e *evaluator) opVar(n *node, data any) any {
	if n.varConst {
		if n.varWhole {
			return e.value(data)
		}
		return e.walk(data, n.varParts, nil)
	}
	if n.arg.kind == kArray && !n.arg.isConst {
		args, _ := e.argList(n, data)
		return e.getVarList(args, data)
	}
	return e.getVar(e.eval(n.arg, data), data)
}

// getVarList is getVar for an array argument: [path] or [path, default].
func (e *evaluator) getVarList(l []any, data any) any {
	if len(l) == 0 {
		return e.value(data)
	}
	var def any
	if len(l) == 2 {
		def = l[1]
	}
	p, ok := l[0].(string)
	if !ok {
		fail("var: path is %s, not a string", typeName(l[0]))
	}
	if data == nil {
		return def
	}
	return e.walkPath(data, p, def)
}

// getVar is jsonlogic's getVar after its parseValues(values).
func (e *evaluator) getVar(values, data any) any {
	if values == nil {
		if !isPrimitive(data) {
			return nil
		}
		return data
	}
	if s, ok := values.(string); ok && s == "" {
		return e.value(data)
	}
	if isNumber(values) {
		values = toStringTyping(values)
	}
	if l, ok := values.([]any); ok {
		return e.getVarList(l, data)
	}
	if data == nil {
		return nil
	}
	p, ok := values.(string)
	if !ok {
		fail("var: path is %s, not a string", typeName(values))
	}
	return e.walkPath(data, p, nil)
}

// walkPath follows a dotted var path.
func (e *evaluator) walkPath(data any, p string, def any) any {
	cur := data
	for len(p) > 0 {
		var part string
		if i := strings.IndexByte(p, '.'); i >= 0 {
			part, p = p[:i], p[i+1:]
		} else {
			part, p = p, ""
		}
		if part == "" {
			continue
		}
		var done bool
		if cur, done = e.step(cur, part); done {
			return def
		}
	}
	return e.value(cur)
}

// walk follows a pre-split var path.
func (e *evaluator) walk(data any, parts []string, def any) any {
	if data == nil {
		return def
	}
	cur := data
	for _, part := range parts {
		var done bool
		if cur, done = e.step(cur, part); done {
			return def
		}
	}
	return e.value(cur)
}

// step descends one var path part; done means the default is returned.
func (e *evaluator) step(cur any, part string) (next any, done bool) {
	switch c := cur.(type) {
	case *rootData:
		next = c.get(part)
	case flagdProps:
		switch part {
		case "flagKey":
			next = c.r.fkAny
		case "timestamp":
			next = float64(c.r.timestamp())
		}
	case map[string]any:
		next = c[part]
	case []any:
		pos := int(parseFloatLoose(part))
		if pos < 0 || pos >= len(c) {
			return nil, true
		}
		next = c[pos]
	default:
		return nil, true
	}
	return next, next == nil
}

func (e *evaluator) missing(values, data any) any {
	if s, ok := values.(string); ok {
		values = []any{s}
	}
	l, ok := values.([]any)
	if !ok {
		fail("missing: arguments are not an array")
	}
	out := make([]any, 0)
	for _, v := range l {
		if e.getVar(e.parseValuesDyn(v, data), data) == nil {
			out = append(out, v)
		}
	}
	return out
}

func (e *evaluator) missingSome(args []any, data any) any {
	if len(args) < 2 {
		fail("missing_some: index out of range")
	}
	number := int(toNumberTyping(args[0]))
	vars, ok := args[1].([]any)
	if !ok {
		fail("missing_some: second argument is not an array")
	}
	missing := make([]any, 0)
	found := 0
	for _, v := range vars {
		if e.getVar(e.parseValuesDyn(v, data), data) == nil {
			missing = append(missing, v)
		} else {
			found++
		}
	}
	if number > found {
		return missing
	}
	return make([]any, 0)
}

// ---- if (logic.go: conditional, evaluateClause) ----

func (e *evaluator) opIf(n *node, data any) any {
	clauses := rawArgs(n)
	l := len(clauses)
	if l == 0 {
		e.recordIf(n, -1)
		return nil
	}
	for i := 0; i < l-1; i += 2 {
		if isTrue(e.eval(clauses[i], data)) {
			e.recordIf(n, i+1)
			return e.evaluateClause(clauses[i+1], data)
		}
	}
	if l%2 == 1 {
		e.recordIf(n, l-1)
		return e.evaluateClause(clauses[l-1], data)
	}
	e.recordIf(n, -1)
	return nil
}

func (e *evaluator) evaluateClause(n *node, data any) any {
	v := e.eval(n, data)
	if m, ok := v.(map[string]any); ok {
		return e.applyValue(m, data)
	}
	return v
}

// ---- truthiness and coercion (internal/typing, internal/javascript) ----

func isNumber(v any) bool {
	switch v.(type) {
	case int, float64:
		return true
	}
	return false
}

func isPrimitive(v any) bool {
	switch v.(type) {
	case bool, string, int, float64:
		return true
	}
	return false
}

// isTrue is typing.IsTrue.
func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0 // NaN is true here, unlike JavaScript
	case int:
		return x != 0
	case string:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	case *rootData, flagdProps:
		return true
	}
	return false
}

// negative is the "!" operator after parseValues.
func negative(v any) bool {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return !isTrue(l[0])
	}
	return !isTrue(v)
}

// parseFloatLoose is typing.ToNumber on a string: 0 when it is not a
// number.
func parseFloatLoose(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// toNumberTyping is typing.ToNumber: strings are parsed (0 when they are
// not numbers), anything but a number or string panics.
func toNumberTyping(v any) float64 {
	switch x := v.(type) {
	case string:
		return parseFloatLoose(x)
	case int:
		return float64(x)
	case float64:
		return x
	}
	fail("interface conversion: interface {} is %s, not float64", typeName(v))
	return 0
}

// toStringTyping is typing.ToString.
func toStringTyping(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	case string:
		return x
	}
	fail("interface conversion: interface {} is %s, not string", typeName(v))
	return ""
}

// toNumberJS is javascript.ToNumber (used by comparisons).
func toNumberJS(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case float64:
		return x
	case int:
		return float64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		if strings.TrimSpace(x) == "" {
			return 0
		}
		// The library keeps the value only when err == nil: its check for
		// strconv.ErrRange never matches the *NumError ParseFloat returns.
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case string:
		return "string"
	case float64:
		return "float64"
	case int:
		return "int"
	case []any:
		return "[]interface {}"
	case map[string]any, *rootData, flagdProps:
		return "map[string]interface {}"
	}
	return fmt.Sprintf("%T", v)
}

// kindOfValue approximates reflect.Kind for hardEquals.
func kindOfValue(v any) int {
	switch v.(type) {
	case bool:
		return 1
	case string:
		return 2
	case float64:
		return 3
	case int:
		return 4
	case []any:
		return 5
	}
	return 6 // maps
}

// ---- comparisons (comp.go) ----

func hardEquals(v any) bool {
	l, ok := v.([]any)
	if !ok || len(l) < 2 {
		return false
	}
	a, b := l[0], l[1]
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if kindOfValue(a) != kindOfValue(b) {
		return false
	}
	return equals(a, b)
}

func equals(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as == bs
	}
	return toNumberJS(a) == toNumberJS(b)
}

func less(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return bs > as
	}
	return toNumberJS(b) > toNumberJS(a)
}

func compare(op opcode, args []any) bool {
	if len(args) < 2 {
		return false
	}
	a, b := args[0], args[1]
	if op == opEq {
		return equals(a, b)
	}
	if len(args) == 3 {
		c := args[2]
		switch op {
		case opLt:
			return less(a, b) && less(b, c)
		case opLe:
			return (less(a, b) || equals(a, b)) && (less(b, c) || equals(b, c))
		case opGt:
			return less(c, b) && less(b, a)
		case opGe:
			return (less(c, b) || equals(c, b)) && (less(b, a) || equals(b, a))
		}
	}
	switch op {
	case opLt:
		return less(a, b)
	case opLe:
		return less(a, b) || equals(a, b)
	case opGt:
		return less(b, a)
	default: // opGe
		return less(b, a) || equals(b, a)
	}
}

// ---- in (lists.go: _in, _inRange) ----

func in(args []any) bool {
	if len(args) == 0 {
		fail("in: index out of range")
	}
	a := args[0]
	var b any
	if len(args) > 1 {
		b = args[1]
	}
	if bs, ok := b.(string); ok {
		as, ok := a.(string)
		if !ok {
			fail("in: interface conversion: interface {} is %s, not string", typeName(a))
		}
		return strings.Contains(bs, as)
	}
	list, ok := b.([]any)
	if !ok {
		return false
	}
	for _, el := range list {
		if r, ok := el.([]any); ok {
			if inRange(a, r) {
				return true
			}
			continue
		}
		if isNumber(a) {
			af, isFloat := a.(float64)
			if x := toNumberTyping(el); isFloat && x == af {
				return true
			}
			continue
		}
		if equalInterfaces(el, a) {
			return true
		}
	}
	return false
}

func inRange(v any, r []any) bool {
	if len(r) < 2 {
		fail("in: index out of range")
	}
	if !(toNumberTyping(v) >= toNumberTyping(r[0])) {
		return false
	}
	return toNumberTyping(r[1]) >= toNumberTyping(v)
}

// equalInterfaces is Go's == on two interface values; comparing two maps
// panics as it does in the library.
func equalInterfaces(a, b any) bool {
	_, am := a.(map[string]any)
	_, bm := b.(map[string]any)
	if am && bm {
		fail("runtime error: comparing uncomparable type map[string]interface {}")
	}
	if am || bm {
		return false
	}
	if _, ok := a.([]any); ok {
		if _, ok := b.([]any); ok {
			fail("runtime error: comparing uncomparable type []interface {}")
		}
		return false
	}
	if _, ok := b.([]any); ok {
		return false
	}
	return a == b
}

// ---- strings (strings.go) ----

func concat(v any) any {
	if s, ok := v.(string); ok {
		return s
	}
	l, ok := v.([]any)
	if !ok {
		fail("cat: arguments are not an array")
	}
	switch len(l) {
	case 0:
		return ""
	case 1:
		return toStringTyping(l[0])
	}
	var sb strings.Builder
	for _, x := range l {
		sb.WriteString(toStringTyping(x))
	}
	return strings.TrimSpace(sb.String())
}

func substr(args []any) any {
	if len(args) < 2 {
		fail("substr: index out of range")
	}
	runes := []rune(toStringTyping(args[0]))
	from := int(toNumberTyping(args[1]))
	length := len(runes)
	if from < 0 {
		from = length + from
	}
	if from < 0 || from > length {
		return string(runes)
	}
	if len(args) == 3 {
		length = int(toNumberTyping(args[2]))
	}
	var to int
	if length < 0 {
		length = len(runes) + length
		to = length
	} else {
		to = from + length
	}
	if to > len(runes) {
		to = len(runes)
	}
	if to < from || to < 0 {
		fail("substr: slice bounds out of range [%d:%d]", from, to)
	}
	return string(runes[from:to])
}

// ---- arrays (lists.go: merge) ----

func merge(v any) any {
	if isPrimitive(v) {
		return []any{v}
	}
	l, ok := v.([]any)
	if !ok {
		fail("merge: arguments are not an array")
	}
	if len(l) == 0 {
		return l
	}
	n := 0
	for _, x := range l {
		if s, ok := x.([]any); ok {
			n += len(s)
		} else {
			n++
		}
	}
	out := make([]any, 0, n)
	for _, x := range l {
		if s, ok := x.([]any); ok {
			out = append(out, s...)
		} else {
			out = append(out, x)
		}
	}
	return out
}

// ---- arithmetic (math.go) ----

func sum(v any) any {
	l, ok := v.([]any)
	if !ok {
		return toNumberTyping(v)
	}
	switch len(l) {
	case 0:
		return float64(0)
	case 1:
		return toNumberTyping(l[0])
	}
	s := float64(0)
	for _, x := range l {
		s += toNumberTyping(x)
	}
	return s
}

func minus(l []any) any {
	switch len(l) {
	case 0:
		return 0 // an int, as in the library
	case 1:
		return -1 * toNumberTyping(l[0])
	}
	s := toNumberTyping(l[0])
	for _, x := range l[1:] {
		s -= toNumberTyping(x)
	}
	return s
}

func mult(l []any) any {
	s := float64(1)
	for _, x := range l {
		s *= toNumberTyping(x)
	}
	return s
}

func div(l []any) any {
	if len(l) == 0 {
		return 0 // an int, as in the library
	}
	s := toNumberTyping(l[0])
	for _, x := range l[1:] {
		s = s / toNumberTyping(x)
	}
	return s
}

func minMax(isMax bool, l []any) any {
	if len(l) == 0 {
		return nil
	}
	r := toNumberTyping(l[0])
	for _, x := range l[1:] {
		n := toNumberTyping(x)
		if isMax && n > r || !isMax && r > n {
			r = n
		}
	}
	return r
}

// ---- map, filter, reduce, all, some, none (lists.go) ----

// extractSubject: an array argument is used as is (its elements are not
// evaluated), an object argument is applied, anything else gives nil.
func (e *evaluator) extractSubject(args []*node, data any) any {
	if len(args) == 0 {
		fail("index out of range [0] with length 0")
	}
	switch args[0].kind {
	case kArray:
		return args[0].raw
	case kOp, kObject:
		return e.eval(args[0], data)
	}
	return nil
}

func subjectSlice(subject any) []any {
	l, ok := subject.([]any)
	if !ok {
		fail("interface conversion: interface {} is %s, not []interface {}", typeName(subject))
	}
	return l
}

func (e *evaluator) opMap(n *node, data any) any {
	args := rawArgs(n)
	if len(args) < 2 {
		return []any{}
	}
	subject := e.extractSubject(args, data)
	if subject == nil {
		return []any{}
	}
	l := subjectSlice(subject)
	out := make([]any, 0, len(l))
	for _, v := range l {
		out = append(out, e.eval(args[1], v))
	}
	return out
}

func (e *evaluator) opFilter(n *node, data any) any {
	args := rawArgs(n)
	if len(args) < 2 {
		return []any{}
	}
	subject := e.extractSubject(args, data)
	if subject == nil {
		return []any{}
	}
	l := subjectSlice(subject)
	out := make([]any, 0, len(l)/2)
	logic := compileDyn(e.solveVars(args[1].raw, data))
	for _, v := range l {
		if isTrue(e.eval(logic, v)) {
			out = append(out, v)
		}
	}
	return out
}

func (e *evaluator) opReduce(n *node, data any) any {
	args := rawArgs(n)
	if len(args) < 3 {
		return float64(0)
	}
	var initial any
	switch args[2].kind {
	case kOp, kObject:
		initial = e.eval(args[2], data)
	default:
		initial = args[2].raw
	}
	var acc any
	var valueType string
	switch x := initial.(type) {
	case bool:
		acc, valueType = x, "bool"
	case float64, int:
		acc, valueType = toNumberTyping(x), "number"
	case string:
		acc, valueType = x, "string"
	default:
		fail("The type %q is not supported", fmt.Sprintf("%T", args[2].raw))
	}
	ctx := map[string]any{"current": float64(0), "accumulator": acc, "valueType": valueType}
	subject := e.extractSubject(args, data)
	if subject == nil {
		return float64(0)
	}
	for _, v := range subjectSlice(subject) {
		if v == nil {
			continue
		}
		ctx["current"] = v
		r := e.applyNode(args[1], ctx)
		switch valueType {
		case "bool":
			ctx["accumulator"] = isTrue(r)
		case "number":
			ctx["accumulator"] = toNumberTyping(r)
		case "string":
			ctx["accumulator"] = toStringTyping(r)
		}
	}
	return ctx["accumulator"]
}

func (e *evaluator) opQuantifier(n *node, data any) any {
	args := rawArgs(n)
	subject := e.extractSubject(args, data)
	if !isTrue(subject) {
		return n.op == opNone
	}
	l := subjectSlice(subject)
	second := func() any {
		if len(args) < 2 {
			fail("index out of range [1] with length %d", len(args))
		}
		return args[1].raw
	}
	asMap := func(v any) map[string]any {
		m, ok := v.(map[string]any)
		if !ok {
			fail("interface conversion: interface {} is %s, not map[string]interface {}", typeName(v))
		}
		return m
	}
	switch n.op {
	case opAll:
		for _, v := range l {
			cond := asMap(e.solveVars(second(), v))
			if !isTrue(e.applyValue(cond, v)) {
				return false
			}
		}
		return true
	case opNone:
		cond := asMap(e.solveVars(second(), data))
		var c *node
		if len(cond) == 1 {
			c = compileDyn(cond)
		}
		for _, v := range l {
			var r any
			if c != nil {
				r = e.eval(c, v)
			} else {
				r = e.applyValue(cond, v)
			}
			if isTrue(r) {
				return false
			}
		}
		return true
	default: // opSome
		logic := e.solveVars(second(), data)
		for _, v := range l {
			cond := asMap(e.solveVars(logic, v))
			if isTrue(e.applyValue(cond, v)) {
				return true
			}
		}
		return false
	}
}

// solveVars replaces var operations that resolve in data by their value
// (vars.go: solveVars).
func (e *evaluator) solveVars(values, data any) any {
	switch x := values.(type) {
	case map[string]any:
		logic := make(map[string]any, len(x))
		for key, v := range x {
			if key == "var" {
				if s, ok := v.(string); ok && (s == "" || strings.HasPrefix(s, ".")) {
					logic["var"] = v
					continue
				}
				if val := e.getVar(e.parseValuesDyn(v, data), data); val != nil {
					return val
				}
				logic["var"] = v
			} else {
				logic[key] = e.solveVars(v, data)
			}
		}
		return logic
	case []any:
		out := make([]any, 0, len(x))
		for _, v := range x {
			out = append(out, e.solveVars(v, data))
		}
		return out
	}
	return values
}

// ---- set, contains_* (vars.go: setProperty, arrays.go) ----

func (e *evaluator) opSet(n *node, data any) any {
	l, ok := e.eval(n.arg, data).([]any)
	if !ok {
		fail("set: arguments are not an array")
	}
	if len(l) < 3 {
		if len(l) == 0 {
			return nil
		}
		return l[0]
	}
	obj, ok := l[0].(map[string]any)
	if !ok {
		return l[0]
	}
	prop, ok := l[1].(string)
	if !ok {
		fail("set: property is %s, not a string", typeName(l[1]))
	}
	m := deepCopy(obj).(map[string]any)
	m[prop] = e.parseValuesDyn(l[2], data)
	return m
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = deepCopy(v)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, v := range x {
			l[i] = deepCopy(v)
		}
		return l
	}
	return v
}

func containsOp(op opcode, v any) any {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return op == opContainsNone
	}
	search, _ := l[0].([]any)
	check, _ := l[1].([]any)
	if l[0] == nil || search == nil || l[1] == nil || check == nil {
		return op == opContainsNone
	}
	switch op {
	case opContainsAll:
		for _, r := range check {
			if !containsElement(search, r) {
				return false
			}
		}
		return true
	case opContainsAny:
		for _, c := range check {
			if containsElement(search, c) {
				return true
			}
		}
		return false
	default:
		for _, c := range check {
			if containsElement(search, c) {
				return false
			}
		}
		return true
	}
}

func containsElement(l []any, el any) bool {
	for _, x := range l {
		if equalLoose(x, el) {
			return true
		}
	}
	return false
}

// equalLoose is arrays.go's isEqualValue: a == b (panicking on two maps),
// then numeric and string comparison.
func equalLoose(a, b any) bool {
	if equalInterfaces(a, b) {
		return true
	}
	if isNumber(a) && isNumber(b) {
		return toNumberTyping(a) == toNumberTyping(b)
	}
	return false
}

// ---- the targeting result ----

// variantName turns the targeting output into a variant name as flagd
// does: the output is JSON-encoded (json.Encoder, HTML escaping on), "null"
// means no variant, otherwise every double quote is removed. So true gives
// "true", "on" gives "on" and 1.5 gives "1.5".
func variantName(out any) (name string, isNull bool, err error) {
	switch x := out.(type) {
	case nil:
		return "", true, nil
	case string:
		if plainJSONString(x) {
			return x, false, nil
		}
	case bool:
		if x {
			return "true", false, nil
		}
		return "false", false, nil
	}
	b, err := jsonEncode(out)
	if err != nil {
		return "", false, err
	}
	return strings.ReplaceAll(string(b), `"`, ""), false, nil
}

// plainJSONString reports whether encoding/json writes s unchanged between
// quotes.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				return false
			}
			i += size - 1
		}
	}
	return true
}
