package flageval

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The golden test compares every evaluation recorded in
// testdata/golden/expected.json, produced by the official JS evaluator
// (@openfeature/flagd-core, see testdata/golden/README.md), with this
// package. Where flagd's Go evaluator, which this package follows, answers
// differently from the JS one, the Go answer is listed in
// testdata/golden/go_overrides.json with the reason; the test checks that
// each override still differs from the JS result, so the list cannot go
// stale.

type goldenFile struct {
	Generator    string                    `json:"generator"`
	Now          int64                     `json:"now"`
	Flags        []string                  `json:"flags"`
	FlagMetadata map[string]map[string]any `json:"flagMetadata"`
	Contexts     []map[string]any          `json:"contexts"`
	Results      [][6]any                  `json:"results"`
}

type goldenOutcome struct {
	Reason    string `json:"reason"`
	Variant   string `json:"variant,omitempty"`
	Value     any    `json:"value,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
}

type goldenOverride struct {
	Flag    string        `json:"flag"`
	Context int           `json:"context"`
	Go      goldenOutcome `json:"go"`
	JS      goldenOutcome `json:"js"`
	Why     string        `json:"why"`
}

type overrideFile struct {
	Comment   string           `json:"comment"`
	Overrides []goldenOverride `json:"overrides"`
}

func loadGolden(t testing.TB) (*goldenFile, *Set) {
	t.Helper()
	var g goldenFile
	b, err := os.ReadFile("testdata/golden/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	def, err := os.ReadFile("testdata/golden/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	return &g, s
}

// goldenContext converts a JS evaluation context.
func goldenContext(c map[string]any, now int64) Context {
	ctx := Context{Attributes: map[string]any{}, Now: time.Unix(now, 0)}
	for k, v := range c {
		if tk, ok := v.(string); ok && k == "targetingKey" {
			ctx.TargetingKey = tk
			continue
		}
		ctx.Attributes[k] = v
	}
	return ctx
}

func outcomeOf(r Result) goldenOutcome {
	return goldenOutcome{Reason: r.Reason, Variant: r.Variant, Value: r.Value, ErrorCode: r.ErrorCode}
}

func sameOutcome(a, b goldenOutcome) bool {
	return a.Reason == b.Reason && a.Variant == b.Variant && a.ErrorCode == b.ErrorCode && jsonEqual(a.Value, b.Value)
}

func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

func loadOverrides(t testing.TB) map[string]goldenOverride {
	var of overrideFile
	b, err := os.ReadFile("testdata/golden/go_overrides.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &of); err != nil {
		t.Fatal(err)
	}
	overrides := map[string]goldenOverride{}
	for _, o := range of.Overrides {
		overrides[fmt.Sprintf("%s/%d", o.Flag, o.Context)] = o
	}
	return overrides
}

// goldenMismatches evaluates every golden result and describes each
// difference.
func goldenMismatches(g *goldenFile, s *Set, overrides map[string]goldenOverride) (mismatches []string, overridden int) {
	used := map[string]bool{}
	for i, row := range g.Results {
		flag := g.Flags[int(row[0].(float64))]
		ci := int(row[1].(float64))
		js := goldenOutcome{Reason: row[2].(string), Value: row[4]}
		if v, ok := row[3].(string); ok {
			js.Variant = v
		}
		if c, ok := row[5].(string); ok {
			js.ErrorCode = c
		}
		r := s.Evaluate(flag, goldenContext(g.Contexts[ci], g.Now))
		got := outcomeOf(r)
		if strings.Contains(r.ErrorMessage, "internal error") {
			mismatches = append(mismatches, fmt.Sprintf("result %d: %s: %s", i, flag, r.ErrorMessage))
		}
		want := js
		id := fmt.Sprintf("%s/%d", flag, ci)
		if o, ok := overrides[id]; ok {
			used[id] = true
			overridden++
			if !sameOutcome(o.JS, js) {
				mismatches = append(mismatches, fmt.Sprintf("override %s: recorded JS outcome %+v, but expected.json has %+v", id, o.JS, js))
			}
			if sameOutcome(o.Go, js) {
				mismatches = append(mismatches, fmt.Sprintf("override %s is stale: the JS evaluator now agrees with flagd (Go)", id))
			}
			want = o.Go
		}
		if !sameOutcome(got, want) {
			cj, _ := json.Marshal(g.Contexts[ci])
			mismatches = append(mismatches, fmt.Sprintf("result %d: flag %q, context %d %s:\n  want %+v\n  got  %+v (%s)", i, flag, ci, cj, want, got, r.ErrorMessage))
			continue
		}
		// Metadata: the flag-set metadata overridden by the flag's.
		if wantMD := g.FlagMetadata[flag]; r.ErrorCode != ErrFlagNotFound && !jsonEqual(nilIfEmpty(r.Metadata), nilIfEmpty(wantMD)) {
			mismatches = append(mismatches, fmt.Sprintf("result %d: flag %q: metadata %v, want %v", i, flag, r.Metadata, wantMD))
		}
	}
	for id := range overrides {
		if !used[id] {
			mismatches = append(mismatches, fmt.Sprintf("override %s matches no golden result", id))
		}
	}
	return mismatches, overridden
}

func TestGoldenAgainstJS(t *testing.T) {
	g, s := loadGolden(t)
	if len(g.Results) < 2000 {
		t.Fatalf("expected.json has only %d results", len(g.Results))
	}
	mismatches, overridden := goldenMismatches(g, s, loadOverrides(t))
	for i, m := range mismatches {
		if i == 40 {
			t.Errorf("... and %d more", len(mismatches)-40)
			break
		}
		t.Error(m)
	}
	if len(mismatches) > 0 {
		t.Fatalf("%d of %d golden evaluations differ", len(mismatches), len(g.Results))
	}
	t.Logf("%d golden evaluations from %s match (%d where flagd (Go) differs from JS, per go_overrides.json)", len(g.Results), g.Generator, overridden)
}

// TestGoldenDetectsDifferences makes sure the golden comparison fails when
// a result, an override or the evaluator differ.
func TestGoldenDetectsDifferences(t *testing.T) {
	g, s := loadGolden(t)
	overrides := loadOverrides(t)
	if m, _ := goldenMismatches(g, s, overrides); len(m) != 0 {
		t.Fatalf("baseline differs: %v", m[0])
	}
	// A different variant in one JS result.
	g.Results = append([][6]any(nil), g.Results...)
	row := g.Results[10]
	row[3] = "something-else"
	g.Results[10] = row
	if m, _ := goldenMismatches(g, s, overrides); len(m) != 1 {
		t.Errorf("changed result: %d mismatches, want 1", len(m))
	}
	g, _ = loadGolden(t)
	// A missing override.
	for id := range overrides {
		delete(overrides, id)
		break
	}
	if m, _ := goldenMismatches(g, s, overrides); len(m) != 1 {
		t.Errorf("missing override: %d mismatches, want 1", len(m))
	}
	// A different evaluator: fractional weights changed.
	def, _ := os.ReadFile("testdata/golden/flags.json")
	s2, err := Parse([]byte(strings.Replace(string(def), `["on", 50], ["off", 50]`, `["on", 51], ["off", 49]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := goldenMismatches(g, s2, loadOverrides(t)); len(m) == 0 {
		t.Error("a changed fractional split went unnoticed")
	}
}

func nilIfEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}
