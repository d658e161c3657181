package flageval

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// evalRule evaluates a JsonLogic rule the way flagd evaluates targeting,
// for flag key "test-flag" at $flagd.timestamp 1700000000, and returns the
// raw result.
func evalRule(rule any, data map[string]any) (any, error) {
	attrs := map[string]any{}
	tk := ""
	for k, v := range data {
		if s, ok := v.(string); ok && k == "targetingKey" {
			tk = s
			continue
		}
		attrs[k] = v
	}
	e := &evaluator{root: rootData{attrs: attrs, tk: tk, flagKey: "test-flag", fkAny: "test-flag", now: time.Unix(1700000000, 0)}}
	return e.run(compileDyn(rule))
}

type opCase struct {
	Name    string         `json:"name"`
	Rule    any            `json:"rule"`
	Data    map[string]any `json:"data"`
	Want    any            `json:"want"`
	Error   bool           `json:"error"`
	Special string         `json:"special"`
}

func loadOpCases(t testing.TB) []opCase {
	var f struct {
		Cases []opCase `json:"cases"`
	}
	b, err := os.ReadFile("testdata/ops.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Cases
}

// TestOperators checks every operator, including coercions and the operand
// shapes on which flagd's evaluator fails, against testdata/ops.json. The
// expectations there were checked against jsonlogic v3.9.1 with flagd's
// custom operators.
func TestOperators(t *testing.T) {
	cases := loadOpCases(t)
	if len(cases) < 250 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			out, err := evalRule(c.Rule, c.Data)
			if err != nil {
				if _, internal := err.(*internalError); internal {
					t.Fatalf("internal error: %v", err)
				}
			}
			switch {
			case c.Error:
				if err == nil {
					t.Fatalf("want an error, got %#v", out)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.Special != "":
				f, _ := out.(float64)
				if c.Special == "NaN" && !math.IsNaN(f) || c.Special == "+Inf" && !math.IsInf(f, 1) {
					t.Fatalf("want %s, got %#v", c.Special, out)
				}
			default:
				if !jsonEqual(out, c.Want) {
					got, _ := json.Marshal(out)
					want, _ := json.Marshal(c.Want)
					t.Fatalf("got %s, want %s", got, want)
				}
			}
		})
	}
}

// TestOperatorCoverage checks that the table exercises every operator.
func TestOperatorCoverage(t *testing.T) {
	b, err := os.ReadFile("testdata/ops.json")
	if err != nil {
		t.Fatal(err)
	}
	for name := range operators {
		if !strings.Contains(string(b), `{"`+name+`":`) {
			t.Errorf("operator %q has no case in testdata/ops.json", name)
		}
	}
}

func TestVariantName(t *testing.T) {
	for _, c := range []struct {
		out    any
		name   string
		isNull bool
		err    bool
	}{
		{nil, "", true, false},
		{"on", "on", false, false},
		{true, "true", false, false},
		{false, "false", false, false},
		{1.0, "1", false, false},
		{1.5, "1.5", false, false},
		{1e21, "1e+21", false, false},
		{1e-7, "1e-7", false, false},
		{0, "0", false, false},
		{"null", "null", false, false},
		{"a&b", `a\u0026b`, false, false},
		{`say "hi"`, `say \hi\`, false, false},
		{"tab\there", `tab\there`, false, false},
		{"ü", "ü", false, false},
		{"\u2028", `\u2028`, false, false},
		{[]any{"a", 1.0}, "[a,1]", false, false},
		{map[string]any{"b": 1.0, "a": "x"}, "{a:x,b:1}", false, false},
		{math.NaN(), "", false, true},
		{math.Inf(1), "", false, true},
		{[]any{math.Inf(-1)}, "", false, true},
	} {
		name, isNull, err := variantName(c.out)
		if name != c.name || isNull != c.isNull || (err != nil) != c.err {
			t.Errorf("variantName(%#v) = %q, %v, %v; want %q, %v, error %v", c.out, name, isNull, err, c.name, c.isNull, c.err)
		}
	}
}

func TestSemverOrdering(t *testing.T) {
	// semver.org's precedence example, plus shorthand forms.
	ordered := []string{"v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta", "v1.0.0-beta.2",
		"v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0", "v1.0.1", "v1.1", "v1.1.1", "v2", "v10.0.0"}
	for i := range ordered {
		for j := range ordered {
			a, ok1 := parseSemver(ordered[i])
			b, ok2 := parseSemver(ordered[j])
			if !ok1 || !ok2 {
				t.Fatalf("invalid: %q %q", ordered[i], ordered[j])
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := compareSemver(a, b); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	for _, bad := range []string{"", "v", "1.2.3", "v1.", "v1.2.", "v01.2.3", "v1.02.3", "v1.2.03", "v1.2.3-", "v1.2.3-01",
		"v1.2.3+", "v1.2.3-a..b", "v1.2-pre", "v1.2.3.4", "v1.2.3-ü", "v1.2.3+a_b"} {
		if _, ok := parseSemver(bad); ok {
			t.Errorf("%q parsed as valid", bad)
		}
	}
	for _, good := range []string{"v0.0.0", "v1", "v1.2", "v1.2.3-0", "v1.2.3-0a", "v1.2.3-a.0", "v1.2.3+001", "v1.2.3-rc.1+build.5"} {
		if _, ok := parseSemver(good); !ok {
			t.Errorf("%q parsed as invalid", good)
		}
	}
}

func TestMurmur3Vectors(t *testing.T) {
	// Known murmur3 x86 32-bit values, seed 0.
	for s, want := range map[string]uint32{
		"":      0,
		"hello": 0x248bfa47,
		"The quick brown fox jumps over the lazy dog": 0x2e4ff723,
	} {
		if got := hashConcat(s, ""); got != want {
			t.Errorf("murmur3(%q) = %#x, want %#x", s, got, want)
		}
		if len(s) > 2 {
			if got := hashConcat(s[:2], s[2:]); got != want {
				t.Errorf("split murmur3(%q) = %#x, want %#x", s, got, want)
			}
		}
	}
	long := strings.Repeat("k", 300)
	if hashConcat(long[:100], long[100:]) != hashConcat(long, "") {
		t.Error("long keys hash differently")
	}
}
