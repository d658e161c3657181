// Package eval evaluates feature flags written in flagd's flag-definition
// JSON format and returns exactly what current flagd (the OpenFeature
// reference flag daemon, github.com/open-feature/flagd core/pkg/evaluator)
// returns for them, so that any OpenFeature SDK can read Floe's flags.
//
// A definition is parsed and validated once ([Parse]); its targeting rules
// are compiled into a tree of nodes that is evaluated without re-parsing
// JSON. A [Set] is immutable and safe for concurrent use.
//
// Semantics follow flagd's Go evaluator, which runs targeting through
// github.com/diegoholiveira/jsonlogic/v3 (v3.9.1) plus flagd's custom
// operators fractional, sem_ver, starts_with and ends_with. That library's
// quirks (type coercions, which operand shapes raise errors, how the result
// is turned into a variant name) are reproduced on purpose; see README.md in
// this directory for the list of places where flagd's JS evaluator
// (@openfeature/flagd-core) behaves differently.
package flageval

import (
	"time"
)

// Evaluation reasons (OpenFeature).
const (
	ReasonStatic         = "STATIC"
	ReasonDefault        = "DEFAULT"
	ReasonTargetingMatch = "TARGETING_MATCH"
	ReasonDisabled       = "DISABLED"
	ReasonError          = "ERROR"
)

// Error codes (OpenFeature).
const (
	ErrFlagNotFound        = "FLAG_NOT_FOUND"
	ErrParse               = "PARSE_ERROR"
	ErrTypeMismatch        = "TYPE_MISMATCH"
	ErrTargetingKeyMissing = "TARGETING_KEY_MISSING"
	ErrInvalidContext      = "INVALID_CONTEXT"
	ErrGeneral             = "GENERAL"
)

// Flag states.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
)

// Kind is the type shared by all variants of a flag.
type Kind uint8

// Flag kinds.
const (
	KindBool Kind = iota + 1
	KindString
	KindNumber
	KindObject
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "boolean"
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindObject:
		return "object"
	}
	return "unknown"
}

// Context is an evaluation context.
//
// TargetingKey, when not empty, is visible to targeting as the attribute
// "targetingKey" (it wins over an attribute of that name). Attributes hold
// the other attributes; values may be any JSON-encodable Go value and are
// seen by targeting as encoding/json would round-trip them (numbers become
// float64, structs become objects, ...), as in flagd. Now is the evaluation
// time used for $flagd.timestamp; the zero value means time.Now().
//
// The attribute map is only read. When the same context is evaluated against
// many flags, call [Context.Normalize] once first to skip the per-evaluation
// check of the attribute values.
type Context struct {
	TargetingKey string
	Attributes   map[string]any
	Now          time.Time

	normalized bool
}

// Normalize returns a copy of c whose attributes are plain JSON values
// (nil, bool, float64, string, []any, map[string]any), exactly as flagd
// sees them after its JSON round trip, and marks it so that Evaluate does
// not check them again. It fails when an attribute cannot be encoded as
// JSON (NaN, channels, ...); flagd refuses such contexts for any flag that
// has targeting.
func (c Context) Normalize() (Context, error) {
	attrs, err := normalizeAttributes(c.Attributes)
	if err != nil {
		return c, err
	}
	c.Attributes = attrs
	c.normalized = true
	return c, nil
}

// Result is the outcome of one evaluation, as flagd reports it.
//
// Value and Variant are empty when flagd omits them: for a DISABLED flag,
// when no variant applies and the flag has no defaultVariant (reason
// DEFAULT, the caller's code default applies), and on errors. Value and
// Metadata are shared with the Set and must not be modified.
type Result struct {
	Value        any
	Variant      string
	Reason       string
	ErrorCode    string
	ErrorMessage string
	Metadata     map[string]any
}

// Evaluate evaluates flag key for ctx.
func (s *Set) Evaluate(key string, ctx Context) Result {
	f := s.flags[key]
	if f == nil {
		return Result{Reason: ReasonError, ErrorCode: ErrFlagNotFound, ErrorMessage: "flag not found: " + quote(key)}
	}
	return f.evaluate(&ctx, nil)
}

// EvaluateAs evaluates flag key and, like flagd's typed resolvers, reports
// TYPE_MISMATCH when the resolved value is not of kind want.
func (s *Set) EvaluateAs(key string, want Kind, ctx Context) Result {
	r := s.Evaluate(key, ctx)
	if r.ErrorCode != "" || r.Value == nil {
		return r
	}
	if got := kindOf(r.Value); got != want {
		return Result{
			Reason:       ReasonError,
			ErrorCode:    ErrTypeMismatch,
			ErrorMessage: "flag " + quote(key) + " is of type " + got.String() + ", not " + want.String(),
			Variant:      r.Variant,
			Metadata:     r.Metadata,
		}
	}
	return r
}

func kindOf(v any) Kind {
	switch v.(type) {
	case bool:
		return KindBool
	case string:
		return KindString
	case float64:
		return KindNumber
	case map[string]any:
		return KindObject
	}
	return 0
}

// evaluate implements flagd's evaluateVariant + resolve for one flag.
func (f *Flag) evaluate(ctx *Context, tr *tracer) Result {
	if f.disabled {
		return Result{Reason: ReasonDisabled, Metadata: f.metadata}
	}
	if f.targeting == nil {
		return f.static
	}

	attrs := ctx.Attributes
	if !ctx.normalized {
		var err error
		attrs, err = normalizeAttributes(attrs)
		if err != nil {
			return f.errorResult(ErrGeneral, "invalid evaluation context: "+err.Error())
		}
	}

	e := getEvaluator()
	e.trace = tr
	e.root = rootData{
		attrs:   attrs,
		tk:      ctx.TargetingKey,
		flagKey: f.key,
		fkAny:   f.keyAny,
		now:     ctx.Now,
	}
	out, err := e.run(f.targeting)
	if tr != nil {
		tr.output, tr.ran = out, true
	}
	putEvaluator(e)
	if err != nil {
		return f.errorResult(ErrParse, "error applying targeting rules of flag "+quote(f.key)+": "+err.Error())
	}

	name, isNull, err := variantName(out)
	if err != nil {
		return f.errorResult(ErrParse, "error applying targeting rules of flag "+quote(f.key)+": "+err.Error())
	}
	if isNull {
		return f.defaultResult
	}
	v, ok := f.variants[name]
	if !ok {
		return f.errorResult(ErrGeneral, "targeting of flag "+quote(f.key)+" returned "+quote(name)+", which is not one of its variants")
	}
	return Result{Value: v, Variant: name, Reason: ReasonTargetingMatch, Metadata: f.metadata}
}

func (f *Flag) errorResult(code, msg string) Result {
	return Result{Reason: ReasonError, ErrorCode: code, ErrorMessage: msg, Metadata: f.metadata}
}
