// Package identtest is what the services' tests of identifier fields share:
// the inputs that no identifier rule accepts, a table test that sends each
// of them in each field through gRPC, and the check a fuzz test applies to
// each fuzzed value.
package identtest

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/ident"
)

// Input is a named test input.
type Input struct {
	Name, Value string
}

// Invalid are inputs ident.Valid refuses: NATS wildcards and the subject
// separator, a space, non-ASCII letters, one byte too many and a NUL. The
// empty string is Empty: most identifier fields require a value, but a
// filter may be empty.
var Invalid = []Input{
	{"star", "*"},
	{"greater-than", ">"},
	{"dot", "."},
	{"dotted", "a.b"},
	{"space", "a b"},
	{"accented letter", "é"},
	{"CJK letters", "日本"},
	{"65 characters", strings.Repeat("a", 65)},
	{"NUL byte", "a\x00b"},
}

// Empty is the empty input.
var Empty = Input{"empty", ""}

// Seeds are the values of Empty and Invalid, then some valid ones and other
// control bytes, for f.Add.
func Seeds() []string {
	out := []string{Empty.Value}
	for _, in := range Invalid {
		out = append(out, in.Value)
	}
	return append(out, "a", "A-Z_09", strings.Repeat("a", 64), "01JUNKJUNKJUNKJUNKJUNKJUNK", "a\tb", "a\nb", "-", "_")
}

// ServerFault reports whether code says the server failed rather than
// judged the request: Unavailable (clients retry it), Internal (a panic is
// one) or Unknown. Bad input must never be answered with one.
func ServerFault(code codes.Code) bool {
	switch code {
	case codes.Unavailable, codes.Internal, codes.Unknown:
		return true
	}
	return false
}

// Field is a request field that names an aggregate (a NATS subject token,
// a KV key) or must be one of a set of names, and an RPC that sends it with
// every other field valid.
type Field struct {
	// RPC and Name name the method and the field (as its violation names it).
	RPC, Name string
	// Optional: "" is valid (a filter that filters nothing); otherwise "" is
	// refused as "is required".
	Optional bool
	// Rule is what the description of a refused non-empty value mentions
	// (e.g. ident.Pattern).
	Rule string
	// Valid is the field's rule; ident.Valid when nil. A stricter rule may
	// refuse more; fuzzing expects InvalidArgument for whatever it refuses.
	Valid func(string) bool
	// Call sends v in the field; it returns the RPC's error (for a stream,
	// the error of its first message).
	Call func(ctx context.Context, v string) error
}

func (f Field) valid(v string) bool {
	if f.Optional && v == "" {
		return true
	}
	if f.Valid != nil {
		return f.Valid(v)
	}
	return ident.Valid(v)
}

// Position is the event log's last sequence (testkit's Process.LogPosition).
type Position func(testing.TB) uint64

// Run sends every Invalid input (and Empty, unless the field is optional)
// in every field, each in a subtest, and fails unless the answer is
// InvalidArgument with a BadRequest violation of the field that mentions its
// Rule ("is required" for Empty), and the log did not move.
func Run(t *testing.T, fields []Field, pos Position) {
	t.Helper()
	for _, f := range fields {
		inputs := Invalid
		if !f.Optional {
			inputs = append([]Input{Empty}, Invalid...)
		}
		for _, in := range inputs {
			t.Run(f.RPC+"/"+f.Name+"/"+in.Name, func(t *testing.T) {
				want := f.Rule
				if in.Value == "" {
					want = "is required"
				}
				before := pos(t)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				err := f.Call(ctx, in.Value)
				if code := status.Code(err); code != codes.InvalidArgument {
					t.Fatalf("%s(%s=%q) = %v (%v), want InvalidArgument", f.RPC, f.Name, in.Value, code, err)
				}
				if d, ok := Violation(err, f.Name); !ok || !strings.Contains(d, want) {
					t.Errorf("%s(%s=%q): violation of %s = %q (present: %v), want it to mention %q; all: %v",
						f.RPC, f.Name, in.Value, f.Name, d, ok, want, err)
				}
				if after := pos(t); after != before {
					t.Errorf("%s(%s=%q) was refused but the log moved from %d to %d", f.RPC, f.Name, in.Value, before, after)
				}
			})
		}
	}
}

// Check sends the fuzzed value s in every field and fails t when an answer
// is a server fault (or the call timed out), or when the field's rule
// refuses s but the answer is not InvalidArgument or the log moved. A value
// that is not UTF-8 is skipped: proto3 strings are UTF-8, so no client can
// send it.
func Check(t *testing.T, fields []Field, s string, pos Position) {
	if !utf8.ValidString(s) {
		t.Skip("proto3 strings are UTF-8: no client can send this")
	}
	for _, f := range fields {
		before := pos(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := f.Call(ctx, s)
		cancel()
		code := status.Code(err)
		if ServerFault(code) || code == codes.DeadlineExceeded {
			t.Fatalf("%s(%s=%q) = %v: %v", f.RPC, f.Name, s, code, err)
		}
		if f.valid(s) {
			continue
		}
		if _, ok := Violation(err, f.Name); code != codes.InvalidArgument || !ok {
			t.Fatalf("%s(%s=%q) = %v (%v), want InvalidArgument naming %s", f.RPC, f.Name, s, code, err, f.Name)
		}
		if after := pos(t); after != before {
			t.Fatalf("%s(%s=%q) was refused but the log moved from %d to %d", f.RPC, f.Name, s, before, after)
		}
	}
}

// Violation is the description of the BadRequest field violation of field
// in a status error, and whether there is one.
func Violation(err error, field string) (string, bool) {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return v.GetDescription(), true
				}
			}
		}
	}
	return "", false
}
