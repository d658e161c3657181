package flageval

import (
	"sort"
	"strings"
)

// nodeKind is the JSON shape of a compiled targeting value. The evaluator
// works on shapes because jsonlogic v3.9.1, which flagd uses, decides what
// to do from the raw (unevaluated) shape of an operator's arguments.
type nodeKind uint8

const (
	kConst  nodeKind = iota // null, boolean, number or string (or an int produced at run time)
	kArray                  // JSON array: evaluates to a new array of its evaluated elements
	kOp                     // object with exactly one key: an operation
	kObject                 // object with zero or several keys: a literal value
)

type opcode uint8

const (
	opUnknown opcode = iota
	opVar
	opMissing
	opMissingSome
	opIf
	opTernary
	opEq
	opStrictEq
	opNe
	opStrictNe
	opLt
	opLe
	opGt
	opGe
	opAnd
	opOr
	opNot
	opNotNot
	opIn
	opCat
	opSubstr
	opMerge
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opMin
	opMax
	opAbs
	opMap
	opFilter
	opReduce
	opAll
	opSome
	opNone
	opSet
	opContainsAll
	opContainsAny
	opContainsNone
	opFractional
	opSemVer
	opStartsWith
	opEndsWith
)

// operators lists every operator flagd's Go evaluator knows: jsonlogic
// v3.9.1's built-ins plus flagd's custom operators. schemaOp tells whether
// flagd's targeting schema allows it; the others (?:, abs, set, contains_*)
// are library extras that flagd's JS evaluator does not have, so Parse
// refuses them, but they are still evaluated when the library would
// interpret data from the context as logic.
var operators = map[string]struct {
	op       opcode
	schemaOp bool
}{
	"var":           {opVar, true},
	"missing":       {opMissing, true},
	"missing_some":  {opMissingSome, true},
	"if":            {opIf, true},
	"?:":            {opTernary, false},
	"==":            {opEq, true},
	"===":           {opStrictEq, true},
	"!=":            {opNe, true},
	"!==":           {opStrictNe, true},
	"<":             {opLt, true},
	"<=":            {opLe, true},
	">":             {opGt, true},
	">=":            {opGe, true},
	"and":           {opAnd, true},
	"or":            {opOr, true},
	"!":             {opNot, true},
	"!!":            {opNotNot, true},
	"in":            {opIn, true},
	"cat":           {opCat, true},
	"substr":        {opSubstr, true},
	"merge":         {opMerge, true},
	"+":             {opAdd, true},
	"-":             {opSub, true},
	"*":             {opMul, true},
	"/":             {opDiv, true},
	"%":             {opMod, true},
	"min":           {opMin, true},
	"max":           {opMax, true},
	"abs":           {opAbs, false},
	"map":           {opMap, true},
	"filter":        {opFilter, true},
	"reduce":        {opReduce, true},
	"all":           {opAll, true},
	"some":          {opSome, true},
	"none":          {opNone, true},
	"set":           {opSet, false},
	"contains_all":  {opContainsAll, false},
	"contains_any":  {opContainsAny, false},
	"contains_none": {opContainsNone, false},
	"fractional":    {opFractional, true},
	"sem_ver":       {opSemVer, true},
	"starts_with":   {opStartsWith, true},
	"ends_with":     {opEndsWith, true},
}

// node is one compiled JSON value of a targeting rule.
type node struct {
	kind    nodeKind
	op      opcode
	isConst bool    // kArray whose value does not depend on the data: val holds it
	val     any     // kConst value, constant kArray value, kObject map
	elems   []*node // kArray elements
	arg     *node   // kOp: the operator's arguments ("values" in jsonlogic)
	name    string  // kOp: operator name
	raw     any     // the JSON value this node was compiled from (after $ref expansion)
	path    string  // JSON path in the definition, for Explain and validation messages

	// var with a constant path: the path split on ".", empty parts removed.
	varParts []string
	varConst bool
	varWhole bool // the constant path selects the whole data
}

// compileDyn compiles a JSON value met at evaluation time (jsonlogic
// interprets some data values as logic). It never fails: unknown operators
// fail when evaluated, as in jsonlogic.
func compileDyn(v any) *node {
	switch x := v.(type) {
	case map[string]any:
		if len(x) != 1 {
			return &node{kind: kObject, val: x, raw: x}
		}
		for k, a := range x {
			arg := compileDyn(a)
			n := &node{kind: kOp, name: k, arg: arg, raw: x}
			if o, ok := operators[k]; ok {
				n.op = o.op
			}
			n.prepare()
			return n
		}
	case []any:
		n := &node{kind: kArray, raw: x, elems: make([]*node, len(x))}
		for i, e := range x {
			n.elems[i] = compileDyn(e)
		}
		n.fold()
		return n
	}
	return &node{kind: kConst, val: v, raw: v}
}

// fold precomputes a kArray whose elements are all constant.
func (n *node) fold() {
	for _, e := range n.elems {
		switch e.kind {
		case kConst, kObject:
		case kArray:
			if !e.isConst {
				return
			}
		default:
			return
		}
	}
	n.isConst = true
	if len(n.elems) == 0 {
		n.val = n.raw // jsonlogic returns an empty input array itself
		return
	}
	vals := make([]any, len(n.elems))
	for i, e := range n.elems {
		vals[i] = e.val
	}
	n.val = vals
}

// prepare precomputes operator-specific data.
func (n *node) prepare() {
	if n.op == opVar && n.arg.kind == kConst {
		switch p := n.arg.val.(type) {
		case string:
			n.varConst = true
			n.varParts, n.varWhole = splitVarPath(p)
			if p == "" {
				n.varWhole = true
			}
		case float64:
			n.varConst = true
			n.varParts, n.varWhole = splitVarPath(toStringTyping(p))
		}
	}
}

// splitVarPath splits a var path as jsonlogic does (strings.Split on ".",
// empty parts skipped). whole reports that no part is left, in which case
// the whole data is selected.
func splitVarPath(p string) (parts []string, whole bool) {
	for _, s := range strings.Split(p, ".") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return parts, len(parts) == 0
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
