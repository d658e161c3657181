package render

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// errTooLong is what a function returns instead of a string over MaxOutputBytes.
var errTooLong = fmt.Errorf("the result is over %d KiB", MaxOutputBytes>>10)

// stepFunc is the name of the iteration guard inserted at the start of every
// range body (see guardRanges); it is not for templates to call.
const stepFunc = "_floeStep"

// funcMap is the functions templates may call, besides text/template's
// built-ins (and, or, not, len, index, slice, eq, ne, lt, le, gt, ge, call).
// The built-ins that build strings (print, printf, println, html, js,
// urlquery) are replaced by versions that refuse results over
// MaxOutputBytes, so that a loop doubling a variable cannot exhaust memory.
// since counts from now and timeFormat shows times in loc; step guards
// every range iteration.
func funcMap(now time.Time, loc *time.Location, step func() (bool, error)) template.FuncMap {
	if loc == nil {
		loc = time.UTC
	}
	if step == nil { // parsing: only the name matters
		step = func() (bool, error) { return false, nil }
	}
	return template.FuncMap{
		"upper": func(s string) string { return strings.ToUpper(s) },
		"lower": func(s string) string { return strings.ToLower(s) },
		"title": titleCase,
		"trim":  strings.TrimSpace,
		"join": func(sep string, list []string) (string, error) {
			n := len(sep) * max(len(list)-1, 0)
			for _, s := range list {
				n += len(s)
			}
			if n > MaxOutputBytes {
				return "", errTooLong
			}
			return strings.Join(list, sep), nil
		},
		"truncate": func(n int, s string) string { return truncateRunes(s, n) },
		"since":    func(t time.Time) string { return since(now, t) },
		"duration": func(from, to time.Time) string {
			if from.IsZero() || to.IsZero() {
				return ""
			}
			return since(to, from)
		},
		"timeFormat": func(layout string, t time.Time) (string, error) {
			if t.IsZero() {
				return "", nil
			}
			if l, ok := namedLayouts[layout]; ok {
				layout = l
			}
			return capped(t.In(loc).Format(layout))
		},
		"default": func(def string, v any) string {
			if v == nil {
				return def
			}
			if s, ok := v.(string); ok {
				if s == "" {
					return def
				}
				return s
			}
			if rv := reflect.ValueOf(v); rv.IsZero() {
				return def
			}
			return fmt.Sprint(v)
		},
		"print":    func(args ...any) (string, error) { return capped(fmt.Sprint(args...)) },
		"println":  func(args ...any) (string, error) { return capped(fmt.Sprintln(args...)) },
		"printf":   printf,
		"html":     func(args ...any) (string, error) { return capped(template.HTMLEscaper(args...)) },
		"js":       func(args ...any) (string, error) { return capped(template.JSEscaper(args...)) },
		"urlquery": func(args ...any) (string, error) { return capped(template.URLQueryEscaper(args...)) },
		stepFunc:   step,
	}
}

// funcNames are the functions funcMap adds (TEMPLATES.md documents each).
var funcNames = []string{"upper", "lower", "title", "trim", "join", "truncate", "since", "duration", "timeFormat", "default"}

// namedLayouts are the layouts timeFormat knows by name.
var namedLayouts = map[string]string{
	"RFC3339":  time.RFC3339,
	"RFC1123":  time.RFC1123,
	"RFC822":   time.RFC822,
	"Kitchen":  time.Kitchen,
	"DateTime": time.DateTime,
	"DateOnly": time.DateOnly,
	"TimeOnly": time.TimeOnly,
}

func capped(s string) (string, error) {
	if len(s) > MaxOutputBytes {
		return "", errTooLong
	}
	return s, nil
}

// printf refuses widths and precisions over three digits and taken from
// arguments (*), which fmt would honour up to a million characters each.
func printf(format string, args ...any) (string, error) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		digits := 0
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[i]) >= 0; i++ {
			switch c := format[i]; {
			case c == '*':
				return "", errors.New("widths and precisions taken from arguments (*) are not allowed")
			case c >= '0' && c <= '9':
				if digits++; digits > 3 {
					return "", errors.New("widths and precisions over 999 are not allowed")
				}
			default:
				digits = 0
			}
		}
	}
	return capped(fmt.Sprintf(format, args...))
}

// titleCase upper-cases the first letter of every word.
func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) || prev == '-' || prev == '_' || prev == '/' {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// since is the time from t to now in words: "45s", "12m", "3h 5m", "2d 4h";
// "0s" when t is not before now, "" when t is zero.
func since(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < time.Second {
		return "0s"
	}
	secs := int64(d / time.Second)
	days, hours, mins := secs/86400, secs/3600%24, secs/60%60
	switch {
	case days > 0 && hours > 0:
		return strconv.FormatInt(days, 10) + "d " + strconv.FormatInt(hours, 10) + "h"
	case days > 0:
		return strconv.FormatInt(days, 10) + "d"
	case hours > 0 && mins > 0:
		return strconv.FormatInt(hours, 10) + "h " + strconv.FormatInt(mins, 10) + "m"
	case hours > 0:
		return strconv.FormatInt(hours, 10) + "h"
	case mins > 0:
		return strconv.FormatInt(mins, 10) + "m"
	}
	return strconv.FormatInt(secs, 10) + "s"
}
