package flageval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxKeyLength is the longest flag key Parse accepts, in bytes.
const MaxKeyLength = 256

// Problem is one reason a definition is refused. Path is the JSON path of
// the offending value, e.g. "flags.new-welcome.defaultVariant"; object keys
// that are not plain words are written ["like.this"], array elements [i].
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// DefinitionError lists every problem found in a definition.
type DefinitionError struct {
	Problems []Problem
}

func (e *DefinitionError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "invalid flag definition: " + lines[0]
	}
	return "invalid flag definition (" + strconv.Itoa(len(lines)) + " problems):\n  " + strings.Join(lines, "\n  ")
}

// Set is a parsed, validated and compiled flag definition. It is immutable
// and safe for concurrent use.
type Set struct {
	flags      map[string]*Flag
	keys       []string
	metadata   map[string]any // flag-set metadata, as written
	evaluators map[string]any // $evaluators, as written
}

// Flag is one flag of a Set.
type Flag struct {
	key            string
	keyAny         any // key, boxed once
	state          string
	disabled       bool
	kind           Kind
	variants       map[string]any
	variantNames   []string // sorted
	defaultVariant string   // "" when none

	targeting *node // compiled, $refs expanded; nil when none

	// As written, for Export.
	defaultVariantRaw any
	hasDefaultVariant bool
	targetingRaw      any
	hasTargeting      bool
	flagMetadata      map[string]any

	metadata      map[string]any // flag-set metadata overridden by flag metadata
	static        Result         // result when there is no targeting
	defaultResult Result         // result when targeting returns null
}

// Keys returns the flag keys in sorted order.
func (s *Set) Keys() []string { return append([]string(nil), s.keys...) }

// Flag returns flag key.
func (s *Set) Flag(key string) (*Flag, bool) {
	f, ok := s.flags[key]
	return f, ok
}

// Metadata returns the flag-set metadata (a copy).
func (s *Set) Metadata() map[string]any { return copyMap(s.metadata) }

// Key returns the flag key.
func (f *Flag) Key() string { return f.key }

// State returns ENABLED or DISABLED.
func (f *Flag) State() string { return f.state }

// Kind returns the type of the flag's variants.
func (f *Flag) Kind() Kind { return f.kind }

// DefaultVariant returns the default variant ("" when the flag has none and
// the caller's code default applies).
func (f *Flag) DefaultVariant() string { return f.defaultVariant }

// Variants returns the variant names in sorted order.
func (f *Flag) Variants() []string { return append([]string(nil), f.variantNames...) }

// Variant returns the value of variant name. The value must not be modified.
func (f *Flag) Variant(name string) (any, bool) {
	v, ok := f.variants[name]
	return v, ok
}

// HasTargeting reports whether the flag has targeting rules.
func (f *Flag) HasTargeting() bool { return f.targeting != nil }

// Metadata returns the metadata reported with the flag's evaluations: the
// flag-set metadata overridden by the flag's own (a copy).
func (f *Flag) Metadata() map[string]any { return copyMap(f.metadata) }

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Parse parses, validates and compiles a flagd flag definition:
//
//	{
//	  "$evaluators": {"name": <JsonLogic>, ...},   // optional, used as {"$ref": "name"}
//	  "metadata": {"key": string|number|boolean},  // optional
//	  "flags": {
//	    "key": {
//	      "state": "ENABLED" | "DISABLED",
//	      "variants": {"name": value, ...},        // all booleans, strings, numbers or objects
//	      "defaultVariant": "name" | null,         // optional
//	      "targeting": <JsonLogic>,                // optional
//	      "metadata": {...}                        // optional
//	    }
//	  }
//	}
//
// The definition must satisfy flagd's schema (flags.json, targeting.json)
// and more: operators must be known and have the right number of
// arguments, $refs must resolve, fractional weights must be integers in
// [0, 2^31-1], sem_ver versions and operators must be valid, and literal
// variant names returned by targeting must exist. On failure the error is
// a *DefinitionError listing every problem with its JSON path.
func Parse(data []byte) (*Set, error) {
	p := &parser{seen: map[Problem]bool{}}
	var root any
	if err := json.Unmarshal(data, &root); err != nil {
		p.add("", "%s", jsonErrorMessage(data, err))
		return nil, p.err()
	}
	s := p.parseRoot(root)
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

type parser struct {
	problems   []Problem
	seen       map[Problem]bool
	evaluators map[string]any
	sizes      map[string]int // expanded size of evaluators
}

// ruleSize counts the JSON values of v once $refs are expanded, saturating
// just above MaxRuleNodes (memoized per evaluator; cycles count once).
func (p *parser) ruleSize(v any) int {
	n := 1
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if ref, ok := x["$ref"].(string); ok {
				if _, found := p.evaluators[ref]; found {
					if p.sizes == nil {
						p.sizes = map[string]int{}
					}
					if sz, seen := p.sizes[ref]; seen {
						return sz
					}
					p.sizes[ref] = 1 // cycle guard
					sz := p.ruleSize(p.evaluators[ref])
					p.sizes[ref] = sz
					return sz
				}
			}
		}
		for _, e := range x {
			n += p.ruleSize(e)
			if n > MaxRuleNodes {
				return MaxRuleNodes + 1
			}
		}
	case []any:
		for _, e := range x {
			n += p.ruleSize(e)
			if n > MaxRuleNodes {
				return MaxRuleNodes + 1
			}
		}
	}
	return n
}

// tooLarge reports rules that expand beyond MaxRuleNodes.
func (p *parser) tooLarge(v any, path string) bool {
	if relaxed || p.ruleSize(v) <= MaxRuleNodes {
		return false
	}
	p.add(path, "the rule has more than %d values once $refs are expanded", MaxRuleNodes)
	return true
}

func (p *parser) add(path, format string, args ...any) {
	pr := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if !p.seen[pr] {
		p.seen[pr] = true
		p.problems = append(p.problems, pr)
	}
}

func (p *parser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &DefinitionError{Problems: p.problems}
}

func jsonErrorMessage(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, se.Error())
	case errors.As(err, &te):
		lit := strings.TrimPrefix(te.Value, "number ")
		line, col := lineCol(data, te.Offset-int64(len(lit)))
		return fmt.Sprintf("invalid JSON at line %d, column %d: %s is out of range", line, col, te.Value)
	}
	return "invalid JSON: " + err.Error()
}

func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// pathKey appends an object key to a JSON path.
func pathKey(path, key string) string {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		switch c := key[i]; {
		case c == '.' || c == '[' || c == ']' || c == '"' || c == '\\' || c <= ' ' || c == 0x7f:
			plain = false
		}
	}
	if plain {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	return path + "[" + quote(key) + "]"
}

func pathIndex(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// quote writes s as a JSON string (without HTML escaping).
func quote(s string) string { return compactJSON(s) }

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// checkCase reports object keys that differ only in case from a known key:
// Go's encoding/json (flagd) would accept them, other evaluators would not.
func (p *parser) checkCase(path string, m map[string]any, known ...string) {
	for _, k := range sortedKeys(m) {
		for _, want := range known {
			if k != want && strings.EqualFold(k, want) {
				p.add(pathKey(path, k), "unknown field; did you mean %q?", want)
			}
		}
	}
}

func (p *parser) parseRoot(root any) *Set {
	m, ok := root.(map[string]any)
	if !ok {
		p.add("", "the definition must be a JSON object with a \"flags\" object, not %s", jsonType(root))
		return nil
	}
	p.checkCase("", m, "flags", "$evaluators", "metadata")
	s := &Set{flags: map[string]*Flag{}}

	if ev, ok := m["$evaluators"]; ok {
		em, ok := ev.(map[string]any)
		if !ok {
			p.add("$evaluators", "must be an object mapping names to JsonLogic rules, not %s", jsonType(ev))
		} else {
			s.evaluators = em
			p.evaluators = em
		}
	}
	if md, ok := m["metadata"]; ok {
		s.metadata = p.parseMetadata("metadata", md)
	}

	// Validate every evaluator on its own, used or not.
	p.checkEvaluatorCycles()
	for _, name := range sortedKeys(p.evaluators) {
		path := pathKey("$evaluators", name)
		body := p.evaluators[name]
		if name == "" {
			p.add(path, "evaluator name must not be empty")
		}
		bm, ok := body.(map[string]any)
		if !ok {
			p.add(path, "must be a JsonLogic rule (an object), not %s", jsonType(body))
			continue
		}
		if len(bm) == 0 {
			p.add(path, "must not be empty")
			continue
		}
		if p.tooLarge(body, path) {
			continue
		}
		c := &compiler{p: p, validate: true, stack: []string{name}}
		c.compile(body, path)
	}

	fv, ok := m["flags"]
	switch {
	case !ok:
		p.add("flags", "is required")
		return s
	case fv == nil:
		p.add("flags", "must be an object mapping flag keys to flags, not null")
		return s
	}
	if _, isArray := fv.([]any); isArray {
		p.add("flags", "must be an object mapping flag keys to flags; the array form is only understood by the flagd daemon, not by OpenFeature providers")
		return s
	}
	fm, ok := fv.(map[string]any)
	if !ok {
		p.add("flags", "must be an object mapping flag keys to flags, not %s", jsonType(fv))
		return s
	}
	for _, key := range sortedKeys(fm) {
		if f := p.parseFlag(key, fm[key], s.metadata); f != nil {
			s.flags[key] = f
			s.keys = append(s.keys, key)
		}
	}
	return s
}

func (p *parser) parseMetadata(path string, v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		p.add(path, "must be an object whose values are strings, numbers or booleans, not %s", jsonType(v))
		return nil
	}
	for _, k := range sortedKeys(m) {
		switch m[k].(type) {
		case string, float64, bool:
		default:
			p.add(pathKey(path, k), "metadata values must be strings, numbers or booleans, not %s", jsonType(m[k]))
		}
	}
	return m
}

func (p *parser) parseFlag(key string, v any, setMetadata map[string]any) *Flag {
	path := pathKey("flags", key)
	ok := true
	if key == "" {
		p.add(path, "flag key must not be empty")
		ok = false
	} else if len(key) > MaxKeyLength {
		p.add(path, "flag key is %d bytes long; the limit is %d", len(key), MaxKeyLength)
		ok = false
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		p.add(path, "a flag must be an object, not %s", jsonType(v))
		return nil
	}
	p.checkCase(path, m, "state", "variants", "defaultVariant", "targeting", "metadata")
	f := &Flag{key: key, keyAny: key}

	// state
	switch st, present := m["state"]; {
	case !present:
		p.add(pathKey(path, "state"), "is required (ENABLED or DISABLED)")
		ok = false
	default:
		s, _ := st.(string)
		if s != StateEnabled && s != StateDisabled {
			p.add(pathKey(path, "state"), "%s is not a valid state (ENABLED, DISABLED)", compactJSON(st))
			ok = false
		}
		f.state = s
		f.disabled = s == StateDisabled
	}

	// variants
	vpath := pathKey(path, "variants")
	if vv, present := m["variants"]; !present {
		p.add(vpath, "is required")
		ok = false
	} else if vm, isObj := vv.(map[string]any); !isObj {
		p.add(vpath, "must be an object mapping variant names to values, not %s", jsonType(vv))
		ok = false
	} else if len(vm) == 0 {
		p.add(vpath, "must have at least one variant")
		ok = false
	} else {
		f.variants = vm
		f.variantNames = sortedKeys(vm)
		kinds := map[Kind][]string{}
		for _, name := range f.variantNames {
			if name == "" {
				p.add(pathKey(vpath, name), "variant name must not be empty")
				ok = false
			}
			k := kindOf(vm[name])
			if k == 0 {
				p.add(pathKey(vpath, name), "a variant must be a boolean, string, number or object, not %s", jsonType(vm[name]))
				ok = false
				continue
			}
			kinds[k] = append(kinds[k], name)
			f.kind = k
		}
		if len(kinds) > 1 {
			var parts []string
			for k := KindBool; k <= KindObject; k++ {
				if names := kinds[k]; len(names) > 0 {
					parts = append(parts, k.String()+": "+strings.Join(names, ", "))
				}
			}
			p.add(vpath, "all variants must have the same type (%s)", strings.Join(parts, "; "))
			ok = false
		}
	}

	// defaultVariant
	if dv, present := m["defaultVariant"]; present {
		f.hasDefaultVariant = true
		f.defaultVariantRaw = dv
		switch d := dv.(type) {
		case nil:
		case string:
			if d != "" && f.variants != nil {
				if _, found := f.variants[d]; !found {
					p.add(pathKey(path, "defaultVariant"), "%s is not a variant (variants: %s)", quote(d), strings.Join(f.variantNames, ", "))
					ok = false
				}
			}
			f.defaultVariant = d
		default:
			p.add(pathKey(path, "defaultVariant"), "must be a variant name or null, not %s", jsonType(dv))
			ok = false
		}
	}

	// metadata
	if md, present := m["metadata"]; present {
		f.flagMetadata = p.parseMetadata(pathKey(path, "metadata"), md)
	}

	// targeting
	if t, present := m["targeting"]; present {
		f.hasTargeting = true
		f.targetingRaw = t
		tpath := pathKey(path, "targeting")
		tm, isObj := t.(map[string]any)
		switch {
		case relaxed && !(isObj && len(tm) == 0):
			// test hook: compile anything, as flagd would run it
			f.targeting = (&compiler{p: p, flag: f}).compile(t, tpath)
		case !isObj:
			p.add(tpath, "must be an object (a JsonLogic rule), not %s; omit it for no targeting", jsonType(t))
			ok = false
		case len(tm) == 0:
			// {}: no targeting, as in flagd
		case p.tooLarge(t, tpath):
			ok = false
		default:
			before := len(p.problems)
			c := &compiler{p: p, validate: !relaxed, flag: f}
			n := c.compile(t, tpath)
			if len(p.problems) > before {
				ok = false
			} else {
				if !relaxed {
					c.checkResult(n)
				}
				if len(p.problems) > before {
					ok = false
				}
			}
			f.targeting = n
		}
	}

	if !ok {
		return nil
	}

	// Evaluation metadata: flag-set metadata overridden by the flag's.
	if len(setMetadata)+len(f.flagMetadata) > 0 {
		f.metadata = make(map[string]any, len(setMetadata)+len(f.flagMetadata))
		for k, v := range setMetadata {
			f.metadata[k] = v
		}
		for k, v := range f.flagMetadata {
			f.metadata[k] = v
		}
	}
	if f.defaultVariant != "" {
		val := f.variants[f.defaultVariant]
		f.static = Result{Value: val, Variant: f.defaultVariant, Reason: ReasonStatic, Metadata: f.metadata}
		f.defaultResult = Result{Value: val, Variant: f.defaultVariant, Reason: ReasonDefault, Metadata: f.metadata}
	} else {
		// No default variant: flagd answers DEFAULT without a value, so
		// the caller's code default applies.
		f.static = Result{Reason: ReasonDefault, Metadata: f.metadata}
		f.defaultResult = f.static
	}
	return f
}

// MaxRuleNodes bounds the size of one flag's targeting, counted in JSON
// values after $refs are expanded (shared evaluators can otherwise expand
// exponentially).
const MaxRuleNodes = 100000

// compiler compiles (and, when validate is set, checks) a JsonLogic rule.
type compiler struct {
	p        *parser
	validate bool
	flag     *Flag    // flag whose targeting is compiled (nil for evaluators)
	stack    []string // $refs being expanded, for cycle detection
	nodes    *int     // JSON values compiled so far (shared with sub-compilers)
	rootPath string
}

// relaxed is a test hook: when set, Parse compiles targeting without
// checking it, the way flagd runs whatever it is given. Tests use it to
// compare odd rule shapes (which context data can also produce at run time)
// with flagd.
var relaxed = false

func (c *compiler) problem(path, format string, args ...any) {
	if c.validate && !relaxed {
		c.p.add(path, format, args...)
	}
}

func (c *compiler) compile(v any, path string) *node {
	if c.nodes == nil {
		c.nodes, c.rootPath = new(int), path
	}
	if *c.nodes++; *c.nodes > MaxRuleNodes {
		if *c.nodes == MaxRuleNodes+1 {
			c.p.add(c.rootPath, "the rule has more than %d values once $refs are expanded", MaxRuleNodes)
		}
		return &node{kind: kConst, path: path}
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			if ref, ok := x["$ref"].(string); ok {
				return c.compileRef(ref, path)
			}
		}
		if len(x) != 1 {
			if len(x) > 1 {
				c.problem(path, "an operation must be an object with exactly one key (the operator), found %d keys: %s", len(x), strings.Join(sortedKeys(x), ", "))
			}
			return &node{kind: kObject, val: x, raw: x, path: path}
		}
		for name, a := range x {
			apath := pathKey(path, name)
			arg := c.compile(a, apath)
			n := &node{kind: kOp, name: name, arg: arg, raw: map[string]any{name: arg.raw}, path: path}
			o, known := operators[name]
			switch {
			case !known:
				c.problem(apath, "unknown operator %s", quote(name))
			case !o.schemaOp:
				c.problem(apath, "operator %s is not part of flagd's targeting schema (flagd's other evaluators do not support it)", quote(name))
			}
			n.op = o.op
			n.prepare()
			if c.validate && known && o.schemaOp {
				c.checkArgs(n, apath)
			}
			return n
		}
	case []any:
		n := &node{kind: kArray, elems: make([]*node, len(x)), path: path}
		raw := make([]any, len(x))
		for i, e := range x {
			n.elems[i] = c.compile(e, pathIndex(path, i))
			raw[i] = n.elems[i].raw
		}
		n.raw = raw
		n.fold()
		return n
	}
	return &node{kind: kConst, val: v, raw: v, path: path}
}

func (c *compiler) compileRef(name, path string) *node {
	body, ok := c.p.evaluators[name]
	if !ok {
		c.problem(pathKey(path, "$ref"), "no evaluator named %s in $evaluators", quote(name))
		if relaxed { // flagd leaves the object alone: an unknown operator "$ref"
			return compileDyn(map[string]any{"$ref": name})
		}
		return &node{kind: kConst, path: path}
	}
	for _, s := range c.stack {
		if s == name {
			// circular: reported by checkEvaluatorCycles
			return &node{kind: kConst, path: path}
		}
	}
	bm, isObj := body.(map[string]any)
	if !isObj || len(bm) == 0 {
		// reported where the evaluator is defined
		return &node{kind: kConst, path: path}
	}
	c.stack = append(c.stack, name)
	// Problems inside the evaluator are reported at its own path.
	sub := *c
	sub.validate = false
	n := sub.compile(body, pathKey("$evaluators", name))
	c.stack = c.stack[:len(c.stack)-1]
	return n
}

// checkEvaluatorCycles reports each cycle of $refs between evaluators once,
// at the $ref that closes it.
func (p *parser) checkEvaluatorCycles() {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				if ref, ok := x["$ref"].(string); ok {
					if _, found := p.evaluators[ref]; !found {
						return
					}
					if state[ref] == active {
						i := 0
						for stack[i] != ref {
							i++
						}
						chain := append(append([]string(nil), stack[i:]...), ref)
						p.add(pathKey(path, "$ref"), "circular $ref: %s", strings.Join(chain, " → "))
						return
					}
					visit(ref)
					return
				}
			}
			for _, k := range sortedKeys(x) {
				walk(x[k], pathKey(path, k))
			}
		case []any:
			for i, e := range x {
				walk(e, pathIndex(path, i))
			}
		}
	}
	visit = func(name string) {
		if state[name] != unvisited {
			return
		}
		state[name] = active
		stack = append(stack, name)
		walk(p.evaluators[name], pathKey("$evaluators", name))
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, name := range sortedKeys(p.evaluators) {
		visit(name)
	}
}

// ---- argument checks, after flagd's targeting schema ----

func (c *compiler) checkArgs(n *node, apath string) {
	a := n.arg
	args := a.elems
	isArr := a.kind == kArray
	count := func(min, max int) bool {
		if !isArr {
			c.problem(apath, "arguments must be an array, not %s", describe(a))
			return false
		}
		switch {
		case min == max && len(args) != min:
			c.problem(apath, "takes exactly %d argument%s, got %d", min, plural(min), len(args))
		case len(args) < min:
			c.problem(apath, "takes at least %d argument%s, got %d", min, plural(min), len(args))
		case max >= 0 && len(args) > max:
			c.problem(apath, "takes at most %d arguments, got %d", max, len(args))
		default:
			return true
		}
		return false
	}
	switch n.op {
	case opVar:
		c.checkVar(a, apath)
	case opMissing:
		if a.kind == kOp {
			return
		}
		if !isArr {
			c.problem(apath, "takes an array of variable names, not %s", describe(a))
			return
		}
		for _, e := range args {
			c.checkVarName(e)
		}
	case opMissingSome:
		if count(2, 2) {
			if args[0].kind == kConst {
				if _, ok := args[0].val.(float64); !ok {
					c.problem(args[0].path, "must be the minimum number of variables present, not %s", describe(args[0]))
				}
			}
			switch args[1].kind {
			case kArray:
				for _, e := range args[1].elems {
					c.checkVarName(e)
				}
			case kOp:
			default:
				c.problem(args[1].path, "must be an array of variable names, not %s", describe(args[1]))
			}
		}
	case opIf:
		count(1, -1)
	case opEq, opStrictEq, opNe, opStrictNe, opGt, opGe, opMod, opDiv, opIn:
		count(2, 2)
	case opMap, opFilter:
		count(2, 2)
	case opAll, opSome, opNone:
		if count(2, 2) && args[1].kind != kOp {
			c.problem(args[1].path, "must be an operation (an object), not %s: %s applies it to each element", describe(args[1]), n.name)
		}
	case opSubstr, opLt, opLe:
		count(2, 3)
	case opMul:
		count(2, -1)
	case opAnd, opOr, opAdd, opSub, opMin, opMax, opMerge, opCat:
		count(1, -1)
	case opNot, opNotNot:
		if isArr && len(args) != 1 {
			c.problem(apath, "takes exactly 1 argument, got %d", len(args))
		}
	case opReduce:
		if count(3, 3) {
			if args[1].kind != kOp {
				c.problem(args[1].path, "must be an operation (an object) combining \"current\" and \"accumulator\", not %s", describe(args[1]))
			}
			if args[2].kind == kArray || args[2].kind == kConst && args[2].val == nil {
				c.problem(args[2].path, "the initial value must be a boolean, number or string, not %s", describe(args[2]))
			}
		}
	case opStartsWith, opEndsWith:
		if count(2, 2) {
			for _, e := range args {
				if e.kind == kArray || e.kind == kConst && !isString(e.val) {
					c.problem(e.path, "must be a string or an operation, not %s", describe(e))
				}
			}
		}
	case opSemVer:
		c.checkSemVer(n, count(3, 3))
	case opFractional:
		c.checkFractional(n, apath)
	}
}

func (c *compiler) checkVar(a *node, apath string) {
	switch a.kind {
	case kConst:
		switch x := a.val.(type) {
		case string:
			c.checkFlagdProperty(x, apath)
		case float64, nil:
		default:
			c.problem(apath, "a variable name must be a string, not %s", describe(a))
		}
	case kArray:
		if len(a.elems) == 0 {
			c.problem(apath, "takes a variable name and an optional default value")
			return
		}
		first := a.elems[0]
		if first.kind == kConst {
			if s, ok := first.val.(string); ok {
				c.checkFlagdProperty(s, first.path)
			} else {
				c.problem(first.path, "a variable name must be a string, not %s", describe(first))
			}
		} else {
			c.problem(first.path, "a variable name must be a string, not %s", describe(first))
		}
		if len(a.elems) > 2 {
			c.problem(apath, "takes a variable name and an optional default value, got %d arguments", len(a.elems))
		}
	case kObject:
		c.problem(apath, "a variable name must be a string, not %s", describe(a))
	}
}

func (c *compiler) checkVarName(e *node) {
	if e.kind == kConst {
		if s, ok := e.val.(string); ok {
			c.checkFlagdProperty(s, e.path)
			return
		}
	}
	if e.kind != kOp {
		c.problem(e.path, "a variable name must be a string, not %s", describe(e))
	}
}

func (c *compiler) checkFlagdProperty(name, path string) {
	if strings.HasPrefix(name, "$flagd.") && name != "$flagd.flagKey" && name != "$flagd.timestamp" {
		c.problem(path, "unknown flagd property %s (flagd provides $flagd.flagKey and $flagd.timestamp)", quote(name))
	}
}

var semVerOperators = []string{"=", "!=", "<", "<=", ">", ">=", "^", "~"}

func (c *compiler) checkSemVer(n *node, ok bool) {
	if !ok {
		return
	}
	args := n.arg.elems
	for _, i := range []int{0, 2} {
		e := args[i]
		switch e.kind {
		case kConst:
			s, isStr := e.val.(string)
			if !isStr {
				c.problem(e.path, "must be a version string or an operation, not %s", describe(e))
			} else if _, valid := flagdVersion(s); !valid {
				c.problem(e.path, "%s is not a valid semantic version", quote(s))
			}
		case kArray, kObject:
			c.problem(e.path, "must be a version string or an operation, not %s", describe(e))
		}
	}
	op := args[1]
	if op.kind != kConst || !isString(op.val) || !contains(semVerOperators, op.val.(string)) {
		c.problem(op.path, "%s is not a sem_ver operator (%s)", describe(op), strings.Join(semVerOperators, ", "))
	}
}

func (c *compiler) checkFractional(n *node, apath string) {
	a := n.arg
	if a.kind != kArray {
		c.problem(apath, "arguments must be an array of [variant, weight] buckets, optionally preceded by a bucketing expression, not %s", describe(a))
		return
	}
	buckets := a.elems
	if len(buckets) > 0 && buckets[0].kind != kArray {
		b := buckets[0]
		switch {
		case b.kind == kConst && b.val != nil && !isString(b.val):
			c.problem(b.path, "the bucketing value must be a string or an operation returning one, not %s", describe(b))
		case b.kind == kObject:
			c.problem(b.path, "the bucketing value must be a string or an operation returning one, not %s", describe(b))
		}
		buckets = buckets[1:]
	}
	if len(buckets) == 0 {
		c.problem(apath, "needs at least one [variant, weight] bucket")
		return
	}
	var total float64
	for _, b := range buckets {
		if b.kind != kArray {
			c.problem(b.path, "a bucket must be an array [variant, weight], not %s", describe(b))
			continue
		}
		switch len(b.elems) {
		case 1, 2:
		default:
			c.problem(b.path, "a bucket must be [variant] or [variant, weight], got %d elements", len(b.elems))
			continue
		}
		if v := b.elems[0]; v.kind == kArray || v.kind == kObject {
			c.problem(v.path, "a bucket's variant must be a string, boolean, number, null or an operation, not %s", describe(v))
		}
		if len(b.elems) < 2 {
			total++
			continue
		}
		w := b.elems[1]
		switch w.kind {
		case kOp:
			// computed at evaluation time (negative results count as 0)
		case kConst:
			f, isNum := w.val.(float64)
			switch {
			case !isNum:
				c.problem(w.path, "a weight must be a non-negative integer or an operation, not %s", describe(w))
			case f != math.Trunc(f):
				c.problem(w.path, "a weight must be an integer, not %s", compactJSON(f))
			case f < 0:
				c.problem(w.path, "a weight must not be negative, got %s", compactJSON(f))
			case f > maxWeightSum:
				c.problem(w.path, "a weight must be at most %d, got %s", maxWeightSum, compactJSON(f))
			default:
				total += f
			}
		default:
			c.problem(w.path, "a weight must be a non-negative integer or an operation, not %s", describe(w))
		}
	}
	if total > maxWeightSum {
		c.problem(apath, "the weights sum to %s; the limit is %d", compactJSON(total), maxWeightSum)
	}
}

// checkResult checks that literal values the targeting can return name
// variants of the flag.
func (c *compiler) checkResult(n *node) {
	switch n.kind {
	case kConst:
		if n.val == nil {
			return
		}
		name, _, err := variantName(n.val)
		if err != nil {
			return
		}
		if _, ok := c.flag.variants[name]; ok {
			return
		}
		where := ""
		if strings.HasPrefix(n.path, "$evaluators") {
			where = " of flag " + quote(c.flag.key)
		}
		if s, isStr := n.val.(string); isStr && s != name {
			c.p.add(n.path, "%s can never select a variant%s: flagd matches its JSON encoding %s against the variant names", quote(s), where, quote(name))
			return
		}
		c.p.add(n.path, "%s is not a variant%s (variants: %s)", quote(name), where, strings.Join(c.flag.variantNames, ", "))
	case kOp:
		if n.arg.kind != kArray {
			return
		}
		args := n.arg.elems
		switch n.op {
		case opIf:
			if len(args) == 1 {
				c.checkResult(args[0])
				return
			}
			for i := 1; i < len(args); i += 2 {
				c.checkResult(args[i])
			}
			if len(args)%2 == 1 {
				c.checkResult(args[len(args)-1])
			}
		case opFractional:
			for _, b := range args {
				if b.kind == kArray && len(b.elems) > 0 {
					c.checkResult(b.elems[0])
				}
			}
		}
	}
}

func describe(n *node) string {
	switch n.kind {
	case kConst:
		if n.val == nil {
			return "null"
		}
		return jsonType(n.val) + " (" + compactJSON(n.val) + ")"
	case kArray:
		return "an array"
	case kOp:
		return "an operation"
	}
	return "an object"
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
