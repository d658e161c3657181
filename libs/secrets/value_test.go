package secrets_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/leakcheck"
)

type config struct {
	Name     string
	Password secrets.Value
	token    secrets.Value // unexported: fmt cannot call its methods
	Ptr      *secrets.Value
}

func TestValueRedactsEverywhere(t *testing.T) {
	t.Parallel()
	canary := leakcheck.Canary()
	v := secrets.NewValueString(canary)
	cfg := config{Name: "db", Password: v, token: v, Ptr: &v}

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		fmt.Fprintf(&out, verb+"\n", v)
		fmt.Fprintf(&out, verb+"\n", &v)
		fmt.Fprintf(&out, verb+"\n", cfg)
		fmt.Fprintf(&out, verb+"\n", &cfg)
		fmt.Fprintf(&out, verb+"\n", []secrets.Value{v})
		fmt.Fprintf(&out, verb+"\n", map[string]secrets.Value{"k": v})
	}
	fmt.Fprintln(&out, v, cfg, v.String(), v.GoString())
	for _, x := range []any{v, &v, cfg, []secrets.Value{v}, map[string]any{"v": v}} {
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
	text, _ := v.MarshalText()
	out.Write(text)
	mapKey, _ := json.Marshal(map[secrets.Value]int{v: 1}) // a TextMarshaler as a map key
	out.Write(mapKey)

	slog.New(slog.NewJSONHandler(&out, nil)).Info("s", "v", v, "cfg", cfg)
	slog.New(slog.NewTextHandler(&out, nil)).Info("s", "v", v, "cfg", cfg)

	zl := zerolog.New(&out)
	zl.Info().Interface("v", v).Interface("cfg", cfg).Any("any", v).Stringer("str", v).
		Msgf("%v %+v %s", v, cfg, v)
	zl.Info().Fields(map[string]any{"v": v}).Msg("fields")

	leakcheck.Check(t, []byte(canary), map[string][]byte{"formatted output": out.Bytes()})
	if !strings.Contains(out.String(), secrets.Redacted) {
		t.Errorf("no %q in the output: %s", secrets.Redacted, out.String())
	}
	if got := fmt.Sprintf("%q", v); got != `"[redacted]"` {
		t.Errorf("%%q = %s", got)
	}
	if got, _ := json.Marshal(v); string(got) != `"[redacted]"` {
		t.Errorf("json = %s", got)
	}
}

func TestValueRevealWipeEqual(t *testing.T) {
	t.Parallel()
	src := []byte("s3cr3t-value")
	v := secrets.NewValue(src)
	clear(src) // NewValue copied
	if string(v.Reveal()) != "s3cr3t-value" || v.Len() != 12 || v.IsZero() {
		t.Fatal("NewValue did not keep a copy")
	}
	if !v.Equal(secrets.NewValueString("s3cr3t-value")) || v.Equal(secrets.NewValueString("other")) {
		t.Error("Equal")
	}
	b := v.Reveal()
	cp := v // copies share the bytes
	cp.Wipe()
	if !v.IsZero() || v.Reveal() != nil {
		t.Error("Wipe did not empty every copy")
	}
	if !bytes.Equal(b, make([]byte, len(b))) {
		t.Error("Wipe did not zero the bytes")
	}
	var zero secrets.Value
	zero.Wipe()
	if !zero.IsZero() || zero.Reveal() != nil || zero.String() != secrets.Redacted {
		t.Error("zero Value")
	}
}
