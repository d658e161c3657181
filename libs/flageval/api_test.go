package flageval

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const apiDef = `{
  "metadata": {"flagSetId": "web", "version": "7"},
  "$evaluators": {"beta": {"in": [{"var": "email"}, ["a@x.io", "b@x.io"]]}},
  "flags": {
    "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on", "metadata": {"version": "8", "owner": "ux"}},
    "no-default": {"state": "ENABLED", "variants": {"on": true, "off": false}},
    "disabled": {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"if": [true, "on"]}},
    "banner": {"state": "ENABLED", "variants": {"new": "New!", "old": "Old"}, "defaultVariant": "old",
      "targeting": {"if": [{"$ref": "beta"}, "new", {"fractional": [["new", 25], ["old", 75]]}]}},
    "pick": {"state": "ENABLED", "variants": {"red": "#f00", "blue": "#00f"}, "defaultVariant": "blue", "targeting": {"var": "color"}},
    "broken": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"if": [{">": [{"*": [{"var": "n"}, 2]}, 1]}, "a", null]}},
    "inf": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"/": [1, 0]}},
    "ts": {"state": "ENABLED", "variants": {"late": "late", "early": "early"}, "defaultVariant": "early",
      "targeting": {"if": [{">=": [{"var": "$flagd.timestamp"}, 1800000000]}, "late", "early"]}}
  }
}`

func mustParse(t testing.TB, def string) *Set {
	t.Helper()
	s, err := Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEvaluateResults(t *testing.T) {
	s := mustParse(t, apiDef)
	setMD := map[string]any{"flagSetId": "web", "version": "7"}
	for _, c := range []struct {
		key  string
		ctx  Context
		want Result
	}{
		{"missing", Context{}, Result{Reason: ReasonError, ErrorCode: ErrFlagNotFound, ErrorMessage: `flag not found: "missing"`}},
		{"static", Context{}, Result{Value: true, Variant: "on", Reason: ReasonStatic,
			Metadata: map[string]any{"flagSetId": "web", "version": "8", "owner": "ux"}}},
		{"no-default", Context{}, Result{Reason: ReasonDefault, Metadata: setMD}},
		{"disabled", Context{}, Result{Reason: ReasonDisabled, Metadata: setMD}},
		{"banner", Context{Attributes: map[string]any{"email": "a@x.io"}}, Result{Value: "New!", Variant: "new", Reason: ReasonTargetingMatch, Metadata: setMD}},
		{"banner", Context{}, Result{Value: "Old", Variant: "old", Reason: ReasonDefault, Metadata: setMD}},
		{"banner", Context{TargetingKey: "user-3"}, Result{Value: "Old", Variant: "old", Reason: ReasonTargetingMatch, Metadata: setMD}},
		{"pick", Context{Attributes: map[string]any{"color": "red"}}, Result{Value: "#f00", Variant: "red", Reason: ReasonTargetingMatch, Metadata: setMD}},
		{"pick", Context{Attributes: map[string]any{"color": "green"}}, Result{Reason: ReasonError, ErrorCode: ErrGeneral,
			ErrorMessage: `targeting of flag "pick" returned "green", which is not one of its variants`, Metadata: setMD}},
		{"broken", Context{}, Result{Reason: ReasonError, ErrorCode: ErrParse,
			ErrorMessage: `error applying targeting rules of flag "broken": interface conversion: interface {} is nil, not float64`, Metadata: setMD}},
		{"broken", Context{Attributes: map[string]any{"n": math.NaN()}}, Result{Reason: ReasonError, ErrorCode: ErrGeneral,
			ErrorMessage: "invalid evaluation context: attributes cannot be encoded as JSON: json: unsupported value: NaN", Metadata: setMD}},
		{"static", Context{Attributes: map[string]any{"n": math.NaN()}}, Result{Value: true, Variant: "on", Reason: ReasonStatic,
			Metadata: map[string]any{"flagSetId": "web", "version": "8", "owner": "ux"}}},
		{"inf", Context{}, Result{Reason: ReasonError, ErrorCode: ErrParse,
			ErrorMessage: `error applying targeting rules of flag "inf": json: unsupported value: +Inf`, Metadata: setMD}},
		{"ts", Context{Now: time.Unix(1800000000, 0)}, Result{Value: "late", Variant: "late", Reason: ReasonTargetingMatch, Metadata: setMD}},
		{"ts", Context{Now: time.Unix(1799999999, 0)}, Result{Value: "early", Variant: "early", Reason: ReasonTargetingMatch, Metadata: setMD}},
	} {
		got := s.Evaluate(c.key, c.ctx)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %+v:\n  got  %#v\n  want %#v", c.key, c.ctx, got, c.want)
		}
	}
}

func TestEvaluateAs(t *testing.T) {
	s := mustParse(t, apiDef)
	if r := s.EvaluateAs("static", KindBool, Context{}); r.ErrorCode != "" || r.Value != true {
		t.Errorf("bool: %+v", r)
	}
	r := s.EvaluateAs("static", KindString, Context{})
	if r.ErrorCode != ErrTypeMismatch || r.Reason != ReasonError || r.Value != nil {
		t.Errorf("mismatch: %+v", r)
	}
	// DISABLED and code-default results carry no value: no type check, as in flagd.
	if r := s.EvaluateAs("disabled", KindNumber, Context{}); r.Reason != ReasonDisabled || r.ErrorCode != "" {
		t.Errorf("disabled: %+v", r)
	}
	if r := s.EvaluateAs("no-default", KindString, Context{}); r.Reason != ReasonDefault || r.ErrorCode != "" {
		t.Errorf("no default: %+v", r)
	}
	if r := s.EvaluateAs("missing", KindString, Context{}); r.ErrorCode != ErrFlagNotFound {
		t.Errorf("missing: %+v", r)
	}
}

func TestFlagAccessors(t *testing.T) {
	s := mustParse(t, apiDef)
	if got := strings.Join(s.Keys(), ","); got != "banner,broken,disabled,inf,no-default,pick,static,ts" {
		t.Errorf("keys %s", got)
	}
	f, ok := s.Flag("banner")
	if !ok || f.Key() != "banner" || f.State() != StateEnabled || f.Kind() != KindString || f.DefaultVariant() != "old" ||
		!f.HasTargeting() || strings.Join(f.Variants(), ",") != "new,old" {
		t.Errorf("banner accessors: %v %v %v %v %v", f.Key(), f.State(), f.Kind(), f.DefaultVariant(), f.Variants())
	}
	if v, ok := f.Variant("new"); !ok || v != "New!" {
		t.Errorf("variant: %v %v", v, ok)
	}
	f.Metadata()["flagSetId"] = "changed" // a copy
	if s.Evaluate("banner", Context{}).Metadata["flagSetId"] != "web" {
		t.Error("Metadata() is not a copy")
	}
	if _, ok := s.Flag("nope"); ok {
		t.Error("found a missing flag")
	}
}

func TestContextAttributes(t *testing.T) {
	s := mustParse(t, `{"flags": {"f": {"state": "ENABLED", "variants": {"yes": true, "no": false}, "defaultVariant": "no",
	  "targeting": {"if": [{"and": [{"==": [{"var": "n"}, 3]}, {"in": ["b", {"var": "tags"}]}, {"==": [{"var": "u.age"}, 30]}, {"==": [{"var": "targetingKey"}, "tk"]}]}, "yes", "no"]}}}}`)
	type user struct {
		Age int `json:"age"`
	}
	ctx := Context{TargetingKey: "tk", Attributes: map[string]any{"n": int64(3), "tags": []string{"a", "b"}, "u": &user{Age: 30}, "targetingKey": "ignored"}}
	if r := s.Evaluate("f", ctx); r.Variant != "yes" {
		t.Fatalf("Go-typed attributes: %+v", r)
	}
	nc, err := ctx.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(nc.Attributes["tags"], []any{"a", "b"}) || nc.Attributes["n"] != 3.0 {
		t.Errorf("normalized: %#v", nc.Attributes)
	}
	if r := s.Evaluate("f", nc); r.Variant != "yes" {
		t.Fatalf("normalized context: %+v", r)
	}
	if _, err := (Context{Attributes: map[string]any{"c": make(chan int)}}).Normalize(); err == nil {
		t.Error("a channel attribute was accepted")
	}
	// The caller's map is not modified.
	if _, ok := ctx.Attributes["n"].(int64); !ok {
		t.Error("attributes were modified")
	}
}

func TestExportRoundTrip(t *testing.T) {
	def, err := os.ReadFile("testdata/golden/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(def))
	out, err := s.Export()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	out2, err := s2.Export()
	if err != nil || string(out) != string(out2) {
		t.Fatalf("export is not stable")
	}
	if !strings.Contains(string(out), `"$ref": "is-internal"`) || !strings.Contains(string(out), `"$evaluators"`) {
		t.Error("export lost $refs or $evaluators")
	}
	g, _ := loadGolden(t)
	for _, row := range g.Results {
		key := g.Flags[int(row[0].(float64))]
		ctx := goldenContext(g.Contexts[int(row[1].(float64))], g.Now)
		a, b := s.Evaluate(key, ctx), s2.Evaluate(key, ctx)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %+v after round trip, %+v before", key, b, a)
		}
	}
	// Absent and null defaultVariant and empty targeting survive.
	var doc struct {
		Flags map[string]map[string]any `json:"flags"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Flags["static-absent-default"]["defaultVariant"]; ok {
		t.Error("absent defaultVariant was exported")
	}
	if v, ok := doc.Flags["static-no-default"]["defaultVariant"]; !ok || v != nil {
		t.Error("null defaultVariant was not exported")
	}
	if v, ok := doc.Flags["static-number"]["targeting"]; !ok || !reflect.DeepEqual(v, map[string]any{}) {
		t.Error("empty targeting was not exported")
	}
}

func TestExplain(t *testing.T) {
	s := mustParse(t, apiDef)
	x := s.Explain("banner", Context{TargetingKey: "user-3"})
	if !x.Targeted || x.Result.Variant != "old" || x.Output != "old" {
		t.Fatalf("%+v", x)
	}
	var frac *FractionalTrace
	var branch string
	for _, st := range x.Steps {
		if st.Fractional != nil {
			frac = st.Fractional
		}
		if st.Op == "if" {
			branch = st.Branch
		}
	}
	if branch != "flags.banner.targeting.if[2]" {
		t.Errorf("if branch %q", branch)
	}
	if frac == nil {
		t.Fatal("no fractional step")
	}
	if frac.BucketingValue != "banneruser-3" || frac.CustomBucketing || frac.TotalWeight != 100 || frac.Hash != hashConcat("banner", "user-3") ||
		frac.Bucket != uint64(frac.Hash)*100>>32 || !frac.Selected || frac.Variant != "old" || len(frac.Buckets) != 2 || frac.Buckets[0].Percent != 25 {
		t.Errorf("fractional trace %+v", frac)
	}
	text := x.String()
	for _, want := range []string{`flag "banner": reason TARGETING_MATCH, variant "old" = "Old"`, "$evaluators.beta: in", "if → took flags.banner.targeting.if[2]",
		`bucketing value "banneruser-3" (flag key + targeting key)`, `"new"        weight 25      25.00%  buckets [0, 25)`, `→ "old"`} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	// Same result as Evaluate.
	if r := s.Evaluate("banner", Context{TargetingKey: "user-3"}); !reflect.DeepEqual(r, x.Result) {
		t.Errorf("Explain %+v, Evaluate %+v", x.Result, r)
	}
	x = s.Explain("banner", Context{})
	if !strings.Contains(x.String(), "fractional returned null: no bucketing value and no targetingKey in the context") {
		t.Errorf("%s", x)
	}
	if x := s.Explain("static", Context{}); x.Targeted || len(x.Steps) != 0 || x.Result.Reason != ReasonStatic {
		t.Errorf("static: %+v", x)
	}
	if x := s.Explain("nope", Context{}); x.Result.ErrorCode != ErrFlagNotFound {
		t.Errorf("missing: %+v", x)
	}
}

func TestNestedEvaluatorRefs(t *testing.T) {
	s := mustParse(t, `{"$evaluators": {"a": {"!": {"$ref": "b"}}, "b": {"in": [{"var": "t"}, ["x"]]}},
	  "flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": {"if": [{"$ref": "a"}, "on", "off"]}}}}`)
	if r := s.Evaluate("f", Context{Attributes: map[string]any{"t": "y"}}); r.Variant != "on" {
		t.Errorf("%+v", r)
	}
	if r := s.Evaluate("f", Context{Attributes: map[string]any{"t": "x"}}); r.Variant != "off" {
		t.Errorf("%+v", r)
	}
}

func TestConcurrentEvaluation(t *testing.T) {
	g, s := loadGolden(t)
	want := make([]Result, len(g.Results))
	for i, row := range g.Results {
		want[i] = s.Evaluate(g.Flags[int(row[0].(float64))], goldenContext(g.Contexts[int(row[1].(float64))], g.Now))
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(g.Results); i += 3 {
				row := g.Results[i]
				got := s.Evaluate(g.Flags[int(row[0].(float64))], goldenContext(g.Contexts[int(row[1].(float64))], g.Now))
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("result %d differs under concurrency", i)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}
