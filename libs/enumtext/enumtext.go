// Package enumtext converts Floe's protobuf enums to and from the short text
// used in configuration files, on the command line and in the deprecated
// string fields that travel beside each enum: the value's name without the
// enum's prefix, in lower case ("DEPLOYMENT_STRATEGY_BLUE_GREEN" → "blue-green",
// "TRIGGER_ACTION_SCALE_UP" → "scale_up"). Strategies join words with '-',
// every other enum with '_', as the text forms always have. The text form is
// defined here once, from the generated descriptors.
package enumtext

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
)

// Enum is a generated protobuf enum type.
type Enum interface {
	~int32
	Descriptor() protoreflect.EnumDescriptor
	Number() protoreflect.EnumNumber
}

// prefix is the enum's value prefix, from its zero value ("X_UNSPECIFIED" → "X_").
func prefix(d protoreflect.EnumDescriptor) string {
	if v := d.Values().ByNumber(0); v != nil {
		return strings.TrimSuffix(string(v.Name()), "UNSPECIFIED")
	}
	return ""
}

func sep(d protoreflect.EnumDescriptor) string {
	if d.FullName() == (deployv1.DeploymentStrategy(0)).Descriptor().FullName() {
		return "-"
	}
	return "_"
}

// Name is v's text ("" for the zero value and for numbers the enum does not define).
func Name[E Enum](v E) string {
	d := v.Descriptor()
	ev := d.Values().ByNumber(v.Number())
	if v.Number() == 0 || ev == nil {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(string(ev.Name()), prefix(d))), "_", sep(d))
}

// Words is e in words, as a page shows it: its name without the enum's
// prefix, lower case, words separated by spaces ("ROLLED_BACK" → "rolled
// back"; the zero value and undefined numbers: "unspecified").
func Words(e protoreflect.Enum) string {
	d := e.Descriptor()
	ev := d.Values().ByNumber(e.Number())
	if e.Number() == 0 || ev == nil {
		return "unspecified"
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(string(ev.Name()), prefix(d))), "_", " ")
}

// Parse is the value whose text is s (false when none is; "" is never a value).
func Parse[E Enum](s string) (E, bool) {
	var zero E
	if s == "" {
		return zero, false
	}
	vals := zero.Descriptor().Values()
	for i := range vals.Len() {
		n := vals.Get(i).Number()
		if n != 0 && Name(E(n)) == s {
			return E(n), true
		}
	}
	return zero, false
}

// Names lists the texts of every value but the zero one, in number order.
func Names[E Enum]() []string {
	var zero E
	vals := zero.Descriptor().Values()
	out := make([]string, 0, vals.Len())
	for i := range vals.Len() {
		if n := vals.Get(i).Number(); n != 0 {
			out = append(out, Name(E(n)))
		}
	}
	return out
}

// Defined reports whether v is a value the enum defines other than zero.
func Defined[E Enum](v E) bool {
	return v.Number() != 0 && v.Descriptor().Values().ByNumber(v.Number()) != nil
}

// Resolve reconciles an enum field with its deprecated text twin, as requests
// and old events carry them: the enum wins when set; otherwise the text is
// parsed. ok is false when the text names no value, or when both are set and
// disagree.
func Resolve[E Enum](v E, text string) (E, bool) {
	if v.Number() != 0 {
		return v, text == "" || Name(v) == text
	}
	if text == "" {
		return v, true
	}
	return Parse[E](text)
}
