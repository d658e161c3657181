package runtime

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/penguinmails/floe/libs/natsurl"
)

// Config loading: a struct whose fields carry tags
//
//	env:"FLOE_GRPC_ADDR" flag:"grpc-addr" default:"127.0.0.1:7400" usage:"..." secret:"true"
//
// becomes a set of command-line flags whose defaults come from the environment
// variable when it is set, else from the default tag. Precedence is therefore
// flag > environment > default. Nested structs are walked. Supported field
// kinds: string, bool, int, int64, float64, time.Duration and []string
// (comma-separated).

// BindFlags registers a flag on fs for every tagged field of the struct cfg
// points to, and sets the field from its environment variable or default.
// Call fs.Parse afterwards; parsed flags write straight into cfg.
func BindFlags(fs *pflag.FlagSet, cfg any) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("config: BindFlags needs a pointer to a struct")
	}
	return bindStruct(fs, v.Elem())
}

func bindStruct(fs *pflag.FlagSet, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fv := v.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			if err := bindStruct(fs, fv); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		envName := f.Tag.Get("env")
		raw, fromEnv := os.LookupEnv(envName)
		if envName == "" || !fromEnv {
			raw = f.Tag.Get("default")
		}
		usage := f.Tag.Get("usage")
		if envName != "" {
			usage += " (env " + envName + ")"
		}
		where := "default"
		if fromEnv {
			where = "environment variable " + envName
		}
		if err := bindField(fs, fv, name, raw, usage); err != nil {
			return fmt.Errorf("config %s from %s: %w", name, where, err)
		}
	}
	return nil
}

func bindField(fs *pflag.FlagSet, fv reflect.Value, name, raw, usage string) error {
	switch p := fv.Addr().Interface().(type) {
	case *string:
		fs.StringVar(p, name, raw, usage)
	case *bool:
		b := false
		if raw != "" {
			var err error
			if b, err = strconv.ParseBool(raw); err != nil {
				return fmt.Errorf("%q is not a boolean", raw)
			}
		}
		fs.BoolVar(p, name, b, usage)
	case *int:
		n := 0
		if raw != "" {
			var err error
			if n, err = strconv.Atoi(raw); err != nil {
				return fmt.Errorf("%q is not an integer", raw)
			}
		}
		fs.IntVar(p, name, n, usage)
	case *int64:
		var n int64
		if raw != "" {
			var err error
			if n, err = strconv.ParseInt(raw, 10, 64); err != nil {
				return fmt.Errorf("%q is not an integer", raw)
			}
		}
		fs.Int64Var(p, name, n, usage)
	case *float64:
		var n float64
		if raw != "" {
			var err error
			if n, err = strconv.ParseFloat(raw, 64); err != nil {
				return fmt.Errorf("%q is not a number", raw)
			}
		}
		fs.Float64Var(p, name, n, usage)
	case *time.Duration:
		var d time.Duration
		if raw != "" {
			var err error
			if d, err = time.ParseDuration(raw); err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 30s, 5m)", raw)
			}
		}
		fs.DurationVar(p, name, d, usage)
	case *[]string:
		var list []string
		if raw != "" {
			for _, s := range strings.Split(raw, ",") {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, s)
				}
			}
		}
		fs.StringSliceVar(p, name, list, usage)
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// Masked returns "flag=value" lines for every tagged field of cfg, with the
// values of fields tagged secret:"true" replaced by "****" (or "" when
// empty) and the passwords in the URLs of fields tagged secret:"userinfo"
// by "****", for printing configuration at start-up.
func Masked(cfg any) []string {
	var out []string
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	maskedStruct(v, &out)
	return out
}

func maskedStruct(v reflect.Value, out *[]string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			maskedStruct(fv, out)
			continue
		}
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		val := fmt.Sprint(fv.Interface())
		switch f.Tag.Get("secret") {
		case "true":
			if !fv.IsZero() {
				val = "****"
			}
		case "userinfo":
			val = natsurl.Redact(val)
		}
		*out = append(*out, name+"="+val)
	}
}
