package sarif

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
)

// ---------------------------------------------------------------------------
// Helpers

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, data []byte, lim Limits) *Summary {
	t.Helper()
	s, err := Parse(bytes.NewReader(data), lim)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkInvariants(t, s)
	return s
}

func parseString(t testing.TB, doc string) *Summary {
	t.Helper()
	return mustParse(t, []byte(doc), Limits{})
}

// checkInvariants asserts what must hold for every Summary.
func checkInvariants(t testing.TB, s *Summary) {
	t.Helper()
	if s.Errors < 0 || s.Warnings < 0 || s.Notes < 0 || s.Suppressed < 0 {
		t.Fatalf("negative count in %+v", s)
	}
	if s.Errors+s.Warnings+s.Notes+s.Suppressed > s.Results {
		t.Fatalf("errors %d + warnings %d + notes %d + suppressed %d > results %d", s.Errors, s.Warnings, s.Notes, s.Suppressed, s.Results)
	}
	if len(s.ErrorKeys) > s.Errors {
		t.Fatalf("%d error keys for %d errors", len(s.ErrorKeys), s.Errors)
	}
	for i, k := range s.ErrorKeys {
		if len(k) != 32 {
			t.Fatalf("key %q is not 32 hex digits", k)
		}
		if i > 0 && s.ErrorKeys[i-1] >= k {
			t.Fatalf("ErrorKeys not sorted and unique at %d: %q >= %q", i, s.ErrorKeys[i-1], k)
		}
	}
	for _, k := range s.Unchanged {
		if _, ok := slices.BinarySearch(s.ErrorKeys, k); !ok {
			t.Fatalf("unchanged key %s not among ErrorKeys", k)
		}
	}
	if len(s.Findings) > s.Errors {
		t.Fatalf("%d findings for %d errors", len(s.Findings), s.Errors)
	}
	for _, f := range s.Findings {
		if f.Level != "error" {
			t.Fatalf("finding %+v is not error-level", f)
		}
		if _, ok := slices.BinarySearch(s.ErrorKeys, f.Key); !ok {
			t.Fatalf("finding key %s not among ErrorKeys", f.Key)
		}
		if len(f.Message) > 1000 || len(f.RuleID) > 1000 {
			t.Fatalf("finding not truncated: %d/%d bytes", len(f.Message), len(f.RuleID))
		}
	}
}

// fallbackKey re-implements the documented rule+location key, so that the
// tests check the formula and not just the parser's agreement with itself.
func fallbackKey(ruleID, uri string, line int, msg string) string {
	ln := ""
	if line > 0 {
		ln = fmt.Sprint(line)
	}
	sum := sha256.Sum256([]byte(ruleID + "\n" + uri + "\n" + ln + "\n" + strings.Join(strings.Fields(msg), " ")))
	return hex.EncodeToString(sum[:16])
}

// fpKey re-implements the documented fingerprint key.
func fpKey(ruleID string, fps map[string]string) string {
	var pairs []string
	for k, v := range fps {
		pairs = append(pairs, k+"="+v)
	}
	sort.Strings(pairs)
	sum := sha256.Sum256([]byte("fp:" + strings.Join(pairs, "\n") + "\n" + ruleID))
	return hex.EncodeToString(sum[:16])
}

func findingLocs(s *Summary) []string {
	var out []string
	for _, f := range s.Findings {
		out = append(out, f.RuleID+"@"+f.Location)
	}
	return out
}

func sorted(keys ...string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// doc wraps run JSON in a SARIF 2.1.0 log.
func doc(runs ...string) string {
	return `{"version":"2.1.0","runs":[` + strings.Join(runs, ",") + `]}`
}

// ---------------------------------------------------------------------------
// Real and hand-written seed files

// The expected values below were worked out by reading each file (see
// testdata/README.md), not by running the parser.
func TestSeedFiles(t *testing.T) {
	cases := []struct {
		file                                         string
		tool                                         string
		results, errors, warnings, notes, suppressed int
		unchanged                                    int
		findings                                     []string // RuleID@Location in document order
	}{
		{
			// 7 results, all with an explicit level: 5 error, 2 G104 warnings
			// of which the one on line 24 carries a #nosec inSource suppression.
			file: "gosec-v1.sarif", tool: "gosec dev",
			results: 7, errors: 5, warnings: 1, suppressed: 1,
			findings: []string{"G701@main.go:18", "G101@main.go:11", "G401@main.go:14", "G303@main.go:22", "G501@main.go:5"},
		},
		{
			file: "gosec-v2.sarif", tool: "gosec dev",
			results: 7, errors: 5, warnings: 1, suppressed: 1,
			findings: []string{"G701@main.go:19", "G101@main.go:11", "G401@main.go:14", "G304@main.go:35", "G501@main.go:5"},
		},
		{
			// 3 error, 3 warning, 1 warning with an eslint-disable comment
			// (suppressions [{"kind":"inSource"}], no status = accepted);
			// the others have "suppressions": [], which is not suppressed.
			file: "eslint.sarif", tool: "ESLint 9.39.5",
			results: 7, errors: 3, warnings: 3, suppressed: 1,
			findings: []string{
				"security/detect-child-process@file:///tmp/sarifgen/js/src/app.js:6",
				"no-eval@file:///tmp/sarifgen/js/src/app.js:10",
				"eqeqeq@file:///tmp/sarifgen/js/src/app.js:19",
			},
		},
		{
			file: "secretlint.sarif", tool: "secretlint 1.0.0",
			results: 2, errors: 2,
			findings: []string{
				"@secretlint/secretlint-rule-preset-recommend > @secretlint/secretlint-rule-slack@cfg/deploy.env:4",
				"@secretlint/secretlint-rule-preset-recommend > @secretlint/secretlint-rule-database-connection-string@cfg/deploy.env:5",
			},
		},
		{
			// No result has an explicit level except the note; levels come
			// from the codeql/go-queries extension via rule.toolComponent.
			// sql-injection: error, unchanged. path-injection: error, new.
			// weak-crypto: suppressed (accepted). clear-text-logging: error
			// (underReview suppression does not count), updated.
			// hostname-regexp: warning. log-injection: absent (not counted).
			// writable-file-close: explicit note.
			file: "codeql-handwritten.sarif", tool: "CodeQL 2.19.3",
			results: 7, errors: 3, warnings: 1, notes: 1, suppressed: 1, unchanged: 2,
			findings: []string{
				"go/sql-injection@internal/store/users.go:42",
				"go/path-injection@internal/files/serve.go:18",
				"go/clear-text-logging@internal/auth/token.go:55",
			},
		},
	}
	files, err := filepath.Glob("testdata/*.sarif")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Errorf("testdata holds %d .sarif files, the table covers %d", len(files), len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			s := mustParse(t, readTestdata(t, tc.file), Limits{})
			if s.Tool != tc.tool || s.Runs != 1 || s.Results != tc.results || s.Errors != tc.errors ||
				s.Warnings != tc.warnings || s.Notes != tc.notes || s.Suppressed != tc.suppressed {
				t.Errorf("got tool %q runs %d results %d errors %d warnings %d notes %d suppressed %d\nwant tool %q runs 1 results %d errors %d warnings %d notes %d suppressed %d",
					s.Tool, s.Runs, s.Results, s.Errors, s.Warnings, s.Notes, s.Suppressed,
					tc.tool, tc.results, tc.errors, tc.warnings, tc.notes, tc.suppressed)
			}
			if len(s.ErrorKeys) != tc.errors { // every error in these files is distinct
				t.Errorf("got %d error keys, want %d", len(s.ErrorKeys), tc.errors)
			}
			if len(s.Unchanged) != tc.unchanged {
				t.Errorf("got %d unchanged keys, want %d", len(s.Unchanged), tc.unchanged)
			}
			if got := findingLocs(s); !slices.Equal(got, tc.findings) {
				t.Errorf("findings\n got %q\nwant %q", got, tc.findings)
			}
			// Parsing is deterministic.
			if s2 := mustParse(t, readTestdata(t, tc.file), Limits{}); !slices.Equal(s.ErrorKeys, s2.ErrorKeys) {
				t.Errorf("keys differ between two parses")
			}
		})
	}
}

func TestGosecKeysFollowDocumentedFormula(t *testing.T) {
	s := mustParse(t, readTestdata(t, "gosec-v1.sarif"), Limits{})
	want := sorted(
		fallbackKey("G701", "main.go", 18, "SQL injection via taint analysis: (*database/sql.DB).Query"),
		fallbackKey("G101", "main.go", 11, "Potential hardcoded credentials"),
		fallbackKey("G401", "main.go", 14, "Use of weak cryptographic primitive"),
		fallbackKey("G303", "main.go", 22, "File creation in shared tmp directory without using ioutil.Tempfile"),
		fallbackKey("G501", "main.go", 5, "Blocklisted import crypto/md5: weak cryptographic primitive"),
	)
	if !slices.Equal(s.ErrorKeys, want) {
		t.Fatalf("ErrorKeys\n got %v\nwant %v", s.ErrorKeys, want)
	}
}

// gosec-v2 is gosec-v1's package with the G303 temp-file issue fixed, a G304
// file-inclusion issue added at the end, and a comment inserted above
// lookup(), which moves the G701 SQL injection from line 18 to 19. gosec
// emits no fingerprints, so keys fall back to rule+location+message.
func TestNewErrorsGosecV1ToV2(t *testing.T) {
	v1 := mustParse(t, readTestdata(t, "gosec-v1.sarif"), Limits{})
	v2 := mustParse(t, readTestdata(t, "gosec-v2.sarif"), Limits{})

	added := fallbackKey("G304", "main.go", 35, "Potential file inclusion via variable")
	fixed := fallbackKey("G303", "main.go", 22, "File creation in shared tmp directory without using ioutil.Tempfile")
	shiftedOld := fallbackKey("G701", "main.go", 18, "SQL injection via taint analysis: (*database/sql.DB).Query")
	shiftedNew := fallbackKey("G701", "main.go", 19, "SQL injection via taint analysis: (*database/sql.DB).Query")

	has := func(s *Summary, k string) bool { _, ok := slices.BinarySearch(s.ErrorKeys, k); return ok }
	if !has(v1, fixed) || has(v2, fixed) {
		t.Errorf("fixed G303 should be in v1 only")
	}
	if has(v1, added) || !has(v2, added) {
		t.Errorf("added G304 should be in v2 only")
	}
	// The untouched findings (G101, G401, G501) keep their keys.
	common := 0
	for _, k := range v2.ErrorKeys {
		if has(v1, k) {
			common++
		}
	}
	if common != 3 {
		t.Errorf("%d keys common to v1 and v2, want 3 (G101, G401, G501)", common)
	}

	// The added issue is new. The shifted G701 also comes out as new: its
	// line is part of the fallback key, so a line shift is indistinguishable
	// from a new finding for tools without fingerprints (documented).
	got := NewErrors(v2, v1.ErrorKeys)
	if want := sorted(added, shiftedNew); !slices.Equal(got, want) {
		t.Fatalf("NewErrors(v2, v1) = %v, want added G304 %s and shifted G701 %s", got, added, shiftedNew)
	}
	if slices.Contains(got, shiftedOld) || slices.Contains(got, fixed) {
		t.Fatal("old keys reported as new")
	}
	if n := NewErrors(v1, v1.ErrorKeys); len(n) != 0 {
		t.Errorf("NewErrors(v1, v1) = %v, want none", n)
	}
	if n := NewErrors(v1, nil); !slices.Equal(n, v1.ErrorKeys) {
		t.Errorf("NewErrors(v1, nil) = %v, want all of %v", n, v1.ErrorKeys)
	}
	if n := NewErrors(v1, v2.ErrorKeys); !slices.Equal(n, sorted(fixed, shiftedOld)) {
		t.Errorf("NewErrors(v1, v2) = %v", n)
	}
}

func TestNewErrorsCodeQLBaselineState(t *testing.T) {
	s := mustParse(t, readTestdata(t, "codeql-handwritten.sarif"), Limits{})
	sqli := fpKey("go/sql-injection", map[string]string{"primaryLocationLineHash": "5f2c1e8a9b7d3c40:1", "primaryLocationStartColumnFingerprint": "19"})
	path := fpKey("go/path-injection", map[string]string{"primaryLocationLineHash": "a09b6d2e11c47f85:1", "primaryLocationStartColumnFingerprint": "17"})
	logging := fpKey("go/clear-text-logging", map[string]string{"primaryLocationLineHash": "e1d4c6b83f5a2097:1", "primaryLocationStartColumnFingerprint": "0"})
	if want := sorted(sqli, path, logging); !slices.Equal(s.ErrorKeys, want) {
		t.Fatalf("ErrorKeys %v, want %v", s.ErrorKeys, want)
	}
	if want := sorted(sqli, logging); !slices.Equal(s.Unchanged, want) {
		t.Fatalf("Unchanged %v, want %v", s.Unchanged, want)
	}
	// unchanged (sql-injection) and updated (clear-text-logging) are not new
	// even without a baseline; "new" (path-injection) is.
	if got := NewErrors(s, nil); !slices.Equal(got, []string{path}) {
		t.Errorf("NewErrors(nil) = %v, want [%s]", got, path)
	}
	if got := NewErrors(s, []string{path}); len(got) != 0 {
		t.Errorf("NewErrors with path in baseline = %v, want none", got)
	}
	if got := NewErrors(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("NewErrors(nil summary) = %#v", got)
	}
	if f := s.Findings[1]; f.Baseline != "new" || f.Key != path || f.Message != "This path depends on a [user-provided value](1)." {
		t.Errorf("finding %+v", f)
	}
}

// ---------------------------------------------------------------------------
// Semantics on small inline logs

const driverRules = `"tool":{"driver":{"name":"t","version":"0.1","rules":[
	{"id":"E1","defaultConfiguration":{"level":"error"}},
	{"id":"W1","defaultConfiguration":{"level":"warning"}},
	{"id":"N1","defaultConfiguration":{"level":"note"}},
	{"id":"X1"},
	{"id":"Z1","defaultConfiguration":{"level":"none"}},
	{"id":"H","defaultConfiguration":{"level":"error"}}]}}`

func TestLevelResolution(t *testing.T) {
	results := `"results":[
		{"ruleId":"anything","ruleIndex":0,"message":{"text":"by index -> error"}},
		{"ruleId":"N1","message":{"text":"by id -> note"}},
		{"ruleId":"E1","ruleIndex":2,"message":{"text":"index wins over id -> note"}},
		{"ruleId":"E1","ruleIndex":99,"message":{"text":"index out of range, id -> error"}},
		{"ruleId":"X1","message":{"text":"rule without defaultConfiguration -> warning"}},
		{"ruleId":"unknown","message":{"text":"unknown rule -> warning"}},
		{"message":{"text":"no rule at all -> warning"}},
		{"ruleId":"Z1","message":{"text":"none -> counted in results only"}},
		{"ruleId":"H/sub/leaf","message":{"text":"hierarchical id, parent H -> error"}},
		{"ruleId":"E1","level":"note","message":{"text":"explicit level wins -> note"}},
		{"rule":{"id":"E1"},"message":{"text":"rule.id -> error"}},
		{"ruleIndex":5,"message":{"text":"ruleIndex only -> error, RuleID #5"}}
	]`
	want := func(t *testing.T, s *Summary) {
		t.Helper()
		if s.Results != 12 || s.Errors != 5 || s.Warnings != 3 || s.Notes != 3 || s.Suppressed != 0 {
			t.Fatalf("got results %d errors %d warnings %d notes %d", s.Results, s.Errors, s.Warnings, s.Notes)
		}
		var ids []string
		for _, f := range s.Findings {
			ids = append(ids, f.RuleID)
		}
		if w := []string{"anything", "E1", "H/sub/leaf", "E1", "#5"}; !slices.Equal(ids, w) {
			t.Fatalf("findings %q, want %q", ids, w)
		}
		if s.Tool != "t 0.1" {
			t.Fatalf("tool %q", s.Tool)
		}
	}
	t.Run("tool first", func(t *testing.T) {
		want(t, parseString(t, doc(`{`+driverRules+`,`+results+`}`)))
	})
	t.Run("results first", func(t *testing.T) {
		want(t, parseString(t, doc(`{`+results+`,`+driverRules+`}`)))
	})
}

func TestLevelResolutionExtensions(t *testing.T) {
	tool := `"tool":{"driver":{"name":"CodeQL","semanticVersion":"2.0.0","rules":[{"id":"d0","defaultConfiguration":{"level":"note"}}]},
		"extensions":[
			{"name":"pack/a","guid":"AAAAAAAA-0000-0000-0000-000000000000","rules":[{"id":"a0","defaultConfiguration":{"level":"warning"}},{"id":"a1","defaultConfiguration":{"level":"error"}}]},
			{"name":"pack/b","rules":[{"id":"b0","defaultConfiguration":{"level":"error"}}]}]}`
	results := `"results":[
		{"ruleId":"a1","rule":{"id":"a1","index":1,"toolComponent":{"index":0}}},
		{"ruleId":"b0","rule":{"id":"b0","index":0,"toolComponent":{"name":"pack/b"}}},
		{"ruleId":"a1","rule":{"id":"a1","toolComponent":{"guid":"aaaaaaaa-0000-0000-0000-000000000000"}}},
		{"ruleId":"d0","ruleIndex":0},
		{"ruleId":"b0"},
		{"ruleId":"a0","rule":{"id":"a0","index":0,"toolComponent":{"index":7}}}
	]`
	for _, order := range []string{tool + "," + results, results + "," + tool} {
		s := parseString(t, doc("{"+order+"}"))
		// a1 via extension index, b0 via name, a1 via guid (case-insensitive),
		// b0 by id in any component (best effort): errors. d0: driver note.
		// Bad toolComponent index 7: found by id a0 in pack/a: warning.
		if s.Errors != 4 || s.Notes != 1 || s.Warnings != 1 {
			t.Errorf("order %.20q: errors %d notes %d warnings %d", order, s.Errors, s.Notes, s.Warnings)
		}
	}
}

func TestKindSuppressionAndBaselineState(t *testing.T) {
	s := parseString(t, doc(`{`+driverRules+`,"results":[
		{"ruleId":"E1","kind":"pass"},
		{"ruleId":"E1","kind":"notApplicable"},
		{"ruleId":"E1","kind":"informational"},
		{"ruleId":"E1","kind":"open"},
		{"ruleId":"E1","kind":"fail","message":{"text":"explicit fail"}},
		{"ruleId":"E1","suppressions":[],"message":{"text":"empty suppressions"}},
		{"ruleId":"E1","suppressions":[{"kind":"inSource"}]},
		{"ruleId":"E1","suppressions":[{"kind":"external","status":"accepted"}]},
		{"ruleId":"W1","suppressions":[{"kind":"external","status":"accepted"}]},
		{"ruleId":"E1","suppressions":[{"kind":"external","status":"rejected"}],"message":{"text":"rejected"}},
		{"ruleId":"E1","suppressions":[{"kind":"inSource"},{"kind":"external","status":"underReview"}],"message":{"text":"under review"}},
		{"ruleId":"E1","baselineState":"absent","message":{"text":"gone"}},
		{"ruleId":"E1","baselineState":"unchanged","partialFingerprints":{"h":"1"}},
		{"ruleId":"E1","baselineState":"updated","partialFingerprints":{"h":"2"}},
		{"ruleId":"E1","baselineState":"new","partialFingerprints":{"h":"3"}},
		{"ruleId":"E1","baselineState":"unchanged","partialFingerprints":{"h":"4"}},
		{"ruleId":"E1","partialFingerprints":{"h":"4"}}
	]}`))
	// 17 results. Not findings: 4 kinds + 1 absent. Suppressed: 3.
	// Errors: explicit fail, empty suppressions, rejected, under review,
	// h=1, h=2, h=3, h=4 twice = 9, with 8 distinct keys.
	if s.Results != 17 || s.Suppressed != 3 || s.Errors != 9 || s.Warnings != 0 || len(s.ErrorKeys) != 8 {
		t.Fatalf("results %d suppressed %d errors %d warnings %d keys %d", s.Results, s.Suppressed, s.Errors, s.Warnings, len(s.ErrorKeys))
	}
	h := func(v string) string { return fpKey("E1", map[string]string{"h": v}) }
	// h=4 is unchanged once and unmarked once: it stays a candidate for new.
	if want := sorted(h("1"), h("2")); !slices.Equal(s.Unchanged, want) {
		t.Fatalf("Unchanged %v, want %v", s.Unchanged, want)
	}
	nw := NewErrors(s, nil)
	if len(nw) != 6 || slices.Contains(nw, h("1")) || slices.Contains(nw, h("2")) || !slices.Contains(nw, h("3")) || !slices.Contains(nw, h("4")) {
		t.Fatalf("NewErrors(nil) = %v", nw)
	}
	base := []string{h("3"), h("4"), "not-a-key"}
	if got := NewErrors(s, base); len(got) != 4 || slices.Contains(got, h("3")) {
		t.Fatalf("NewErrors(base) = %v", got)
	}
	if !slices.IsSorted(nw) {
		t.Fatal("NewErrors not sorted")
	}
}

func TestKeys(t *testing.T) {
	s := parseString(t, doc(`{"tool":{"driver":{"name":"k"}},"results":[
		{"ruleId":"R","level":"error","partialFingerprints":{"b":"2","a":"1"},"fingerprints":{"z":"9"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"x.go"},"region":{"startLine":3}}}]},
		{"ruleId":"R","level":"error","partialFingerprints":{"a":"1","b":"2"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"x.go"},"region":{"startLine":300}}}],"message":{"text":"moved, same fingerprint"}},
		{"ruleId":"R","level":"error","fingerprints":{"z":"9"}},
		{"ruleId":"R","level":"error","message":{"text":"  spaced\n\tout   message "},
		 "locations":[{"logicalLocations":[{"name":"f"}]},{"physicalLocation":{"artifactLocation":{"uri":"y.go"},"region":{"startLine":7}}}]},
		{"ruleId":"R","level":"error","message":{"text":"spaced out message"},
		 "locations":[{"physicalLocation":{"artifactLocation":{"uri":"y.go"},"region":{"startLine":7}}}]},
		{"ruleId":"R","level":"error","message":{"id":"default"}}
	]}`))
	want := sorted(
		fpKey("R", map[string]string{"a": "1", "b": "2"}), // partial fingerprints win, whatever the line
		fpKey("R", map[string]string{"z": "9"}),
		fallbackKey("R", "y.go", 7, "spaced out message"), // whitespace collapsed, first physical location
		fallbackKey("R", "", 0, "id:default"),
	)
	if s.Errors != 6 || !slices.Equal(s.ErrorKeys, want) {
		t.Fatalf("errors %d keys %v, want %v", s.Errors, s.ErrorKeys, want)
	}
	if s.Findings[3].Location != "y.go:7" || s.Findings[5].Location != "" || s.Findings[0].Location != "x.go:3" {
		t.Fatalf("locations %q", findingLocs(s))
	}
}

func TestFindingsLimitAndTruncation(t *testing.T) {
	long := strings.Repeat("é", 700) // 1,400 bytes
	var rs []string
	for i := 0; i < 10; i++ {
		rs = append(rs, fmt.Sprintf(`{"ruleId":"E%d","level":"error","message":{"text":%q}}`, i, long))
	}
	s := mustParse(t, []byte(doc(`{"results":[`+strings.Join(rs, ",")+`]}`)), Limits{MaxFindings: 3})
	if s.Errors != 10 || len(s.ErrorKeys) != 10 || len(s.Findings) != 3 {
		t.Fatalf("errors %d keys %d findings %d", s.Errors, len(s.ErrorKeys), len(s.Findings))
	}
	m := s.Findings[0].Message
	if len(m) != 1000 || !strings.HasPrefix(long, m) {
		t.Fatalf("message cut to %d bytes, valid prefix: %v", len(m), strings.HasPrefix(long, m))
	}
	if s.Findings[2].RuleID != "E2" || s.Tool != "" {
		t.Fatalf("findings %+v tool %q", s.Findings, s.Tool)
	}
}

// When results come before the rules, the first MaxFindings error findings
// must still be chosen in document order.
func TestDeferredFindingsOrder(t *testing.T) {
	var rs []string
	for i := 0; i < 30; i++ { // many unresolved warnings of one rule first
		rs = append(rs, fmt.Sprintf(`{"ruleId":"W1","message":{"text":"w%d"}}`, i))
	}
	rs = append(rs,
		`{"ruleId":"E1","message":{"text":"first error (resolved later)"}}`,
		`{"ruleId":"X","level":"error","message":{"text":"second error (explicit)"}}`,
		`{"ruleId":"E1","message":{"text":"third error"}}`,
		`{"ruleId":"E1","message":{"text":"fourth error"}}`)
	s := mustParse(t, []byte(doc(`{"results":[`+strings.Join(rs, ",")+`],`+driverRules+`}`)), Limits{MaxFindings: 3})
	var msgs []string
	for _, f := range s.Findings {
		msgs = append(msgs, f.Message)
	}
	if want := []string{"first error (resolved later)", "second error (explicit)", "third error"}; !slices.Equal(msgs, want) {
		t.Fatalf("findings %q, want %q", msgs, want)
	}
	if s.Errors != 4 || s.Warnings != 30 {
		t.Fatalf("errors %d warnings %d", s.Errors, s.Warnings)
	}
}

func TestSeveralRunsAndOddShapes(t *testing.T) {
	s := parseString(t, `{"runs":[
		{"tool":{"driver":{"name":"gosec","version":"2.30.0"}},"results":[{"ruleId":"G1","level":"error"}]},
		{"tool":{"driver":{"name":"CodeQL","semanticVersion":"2.19.3","version":"2.19.3.0"}},"results":null},
		{"tool":{"driver":{"name":"gosec","version":"2.30.0"}}},
		{"results":[{"ruleId":"G1","level":"warning"}]}
	],"$schema":"x","properties":{"big":[1e400,-0.5,true,null,{"a":[[]]}]},"version":"2.1.0"}`)
	if s.Tool != "gosec 2.30.0, CodeQL 2.19.3" || s.Runs != 4 || s.Results != 2 || s.Errors != 1 || s.Warnings != 1 {
		t.Fatalf("%+v", s)
	}
	if s := parseString(t, `{"version":"2.1.0","runs":null}`); s.Runs != 0 || s.Results != 0 || s.ErrorKeys == nil || s.Findings == nil {
		t.Fatalf("runs null: %+v", s)
	}
	// A UTF-8 byte order mark is skipped; offsets still count it.
	if s := parseString(t, "\xef\xbb\xbf"+` {"version":"2.1.0","runs":[{}]} `+"\n"); s.Runs != 1 {
		t.Fatalf("%+v", s)
	}
	if _, err := Parse(strings.NewReader("\xef\xbb\xbf{]"), Limits{}); err == nil || err.(*Error).Offset != 4 {
		t.Fatalf("BOM offset: %v", err)
	}
	// Nesting inside a skipped value well past what a recursive skipper
	// could take, but within the limit, is fine.
	deep := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	if s := parseString(t, `{"version":"2.1.0","x":`+deep+`,"runs":[{"properties":`+deep+`}]}`); s.Runs != 1 {
		t.Fatalf("%+v", s)
	}
}

// ---------------------------------------------------------------------------
// Errors

func TestErrors(t *testing.T) {
	gosec := readTestdata(t, "gosec-v1.sarif")
	bigResult := doc(`{"results":[{"ruleId":"a"},{"ruleId":"b"},{"ruleId":"c","message":{"text":"` + strings.Repeat("x", 5000) + `"}}]}`)
	cases := []struct {
		name  string
		input string
		lim   Limits
		kind  string
		msg   string // substring of Msg
	}{
		{"empty", "", Limits{}, KindEmpty, "input is empty"},
		{"whitespace only", " \n\t ", Limits{}, KindEmpty, "only whitespace"},
		{"malformed JSON", `{"version":"2.1.0","runs":[{"results":[{"ruleId": oops}]}]}`, Limits{}, KindMalformed, "invalid JSON in runs[0].results[0]"},
		{"malformed key", `{"version" "2.1.0"}`, Limits{}, KindMalformed, "invalid character '\"' after object key"},
		{"truncated real file", string(gosec[:len(gosec)/2]), Limits{}, KindMalformed, "truncated"},
		{"truncated inside run", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}}`, Limits{}, KindMalformed, "unexpected end of input in runs[0]"},
		{"trailing data", `{"version":"2.1.0","runs":[]} {}`, Limits{}, KindMalformed, "after the SARIF log object"},
		{"trailing garbage", `{"version":"2.1.0","runs":[]}]`, Limits{}, KindMalformed, "after the SARIF log object"},
		{"not an object", `[{"version":"2.1.0","runs":[]}]`, Limits{}, KindNotSARIF, "top-level JSON value is an array"},
		{"string", `"2.1.0"`, Limits{}, KindNotSARIF, `the string "2.1.0"`},
		{"number", `42`, Limits{}, KindNotSARIF, `the number "42"`},
		{"no runs", `{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json"}`, Limits{}, KindNotSARIF, `no "runs" property`},
		{"runs not array", `{"version":"2.1.0","runs":{}}`, Limits{}, KindNotSARIF, `"runs" is an object, not an array`},
		{"version 2.0.0", `{"version":"2.0.0","runs":[]}`, Limits{}, KindUnsupportedVersion, `found SARIF version "2.0.0"`},
		{"version 2.0.0 after runs", `{"runs":[{"results":[]}],"version":"2.0.0"}`, Limits{}, KindUnsupportedVersion, `found SARIF version "2.0.0"`},
		{"version number", `{"version":2.1,"runs":[]}`, Limits{}, KindUnsupportedVersion, `the number "2.1"`},
		{"version missing", `{"runs":[]}`, Limits{}, KindUnsupportedVersion, `no "version" property`},
		{"run not object", doc(`1`), Limits{}, KindMalformed, `runs[0] is the number "1", not a run object`},
		{"run null", doc(`{}`, `null`), Limits{}, KindMalformed, `runs[1] is null`},
		{"results not array", doc(`{"results":{}}`), Limits{}, KindMalformed, "runs[0].results: results is an object, not an array"},
		{"result null", doc(`{"results":[{},null]}`), Limits{}, KindMalformed, "runs[0].results[1] is null"},
		{"result not object", doc(`{"results":["x"]}`), Limits{}, KindMalformed, "runs[0].results[0]: the value is a JSON string"},
		{"ruleIndex string", doc(`{"results":[{"ruleIndex":"3"}]}`), Limits{}, KindMalformed, "ruleIndex is a JSON string"},
		{"ruleIndex fraction", doc(`{"results":[{"ruleIndex":1.5}]}`), Limits{}, KindMalformed, "ruleIndex is a JSON number"},
		{"bad level", doc(`{"results":[{"level":"critical"}]}`), Limits{}, KindMalformed, `level is "critical"`},
		{"bad kind", doc(`{"results":[{"ruleId":"x","level":"error"},{"kind":"FAIL","level":"error"}]}`), Limits{}, KindMalformed, `runs[0].results[1]: kind is "FAIL"`},
		{"bad rule level", doc(`{"tool":{"driver":{"name":"x","rules":[{"id":"a","defaultConfiguration":{"level":"high"}}]}}}`), Limits{}, KindMalformed, `runs[0].tool.driver.rules[0]: defaultConfiguration.level is "high"`},
		{"tool name not string", doc(`{"tool":{"driver":{"name":7}}}`), Limits{}, KindMalformed, "runs[0].tool.driver.name"},
		{"result over MaxResult", bigResult, Limits{MaxResult: 4096}, KindTooLarge, "result runs[0].results[2] is larger than the 4096-byte limit"},
		{"rule over MaxResult", doc(`{"tool":{"driver":{"rules":[{"id":"` + strings.Repeat("r", 5000) + `"}]}}}`), Limits{MaxResult: 4096}, KindTooLarge, "runs[0].tool.driver.rules[0] is larger than the 4096-byte limit"},
		{"skipped string over MaxResult", doc(`{"artifacts":[{"contents":{"text":"` + strings.Repeat("y", 9000) + `"}}]}`), Limits{MaxResult: 4096}, KindTooLarge, "in runs[0] is larger than the 4096-byte limit"},
		{"whitespace over MaxResult", `{"version":"2.1.0",` + strings.Repeat(" ", 9000) + `"runs":[]}`, Limits{MaxResult: 4096}, KindTooLarge, "run of whitespace"},
		{"input over MaxBytes", string(gosec), Limits{MaxBytes: 1000}, KindTooLarge, "larger than the 1000-byte limit (Limits.MaxBytes)"},
		{"input one byte over MaxBytes", string(gosec), Limits{MaxBytes: int64(len(gosec)) - 1}, KindTooLarge, "Limits.MaxBytes"},
		{"deep nesting in skipped value", `{"version":"2.1.0","runs":[{"properties":` + strings.Repeat(`{"a":[`, 200000), Limits{}, KindMalformed, "nested more than 10000 levels"},
		{"deep nesting in result", doc(`{"results":[{"properties":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}]}`), Limits{}, KindMalformed, "exceeded max depth"},
		{"deep nesting at top", strings.Repeat("[", 100000), Limits{}, KindNotSARIF, "an array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(strings.NewReader(tc.input), tc.lim)
			if err == nil {
				t.Fatalf("no error; summary %+v", s)
			}
			if s != nil {
				t.Errorf("summary returned with error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if e.Kind != tc.kind || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("got %s: %q\nwant kind %s, message containing %q", e.Kind, e.Msg, tc.kind, tc.msg)
			}
			if e.Offset < 0 || e.Offset > int64(len(tc.input))+1 {
				t.Errorf("offset %d outside input of %d bytes", e.Offset, len(tc.input))
			}
			if !strings.HasPrefix(err.Error(), "sarif: "+tc.kind+" at byte ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestOffsets(t *testing.T) {
	in := `{"version":"2.1.0","runs":[{"results":[{"ruleId":"a"},{"ruleId":"b","message":{"text":"` + strings.Repeat("x", 5000) + `"}}]}]}`
	_, err := Parse(strings.NewReader(in), Limits{MaxResult: 1024})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTooLarge {
		t.Fatalf("%v", err)
	}
	if want := int64(strings.Index(in, `{"ruleId":"b"`)); e.Offset != want {
		t.Errorf("offset %d, want %d (start of the result)", e.Offset, want)
	}
	_, err = Parse(strings.NewReader(`{"version":"2.1.0","runs":[} `), Limits{})
	if !errors.As(err, &e) || e.Kind != KindMalformed || e.Offset != 27 {
		t.Errorf("%v", err)
	}
}

// Every proper prefix of a real log is rejected as malformed (truncated).
func TestEveryTruncation(t *testing.T) {
	for _, name := range []string{"gosec-v1.sarif", "codeql-handwritten.sarif", "eslint.sarif"} {
		data := bytes.TrimRight(readTestdata(t, name), " \n")
		step := 4
		if testing.Short() || raceEnabled {
			step = 23
		}
		for n := 1; n < len(data); n += step {
			_, err := Parse(bytes.NewReader(data[:n]), Limits{})
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindMalformed {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
		}
	}
}

func TestNilReader(t *testing.T) {
	if _, err := Parse(nil, Limits{}); err == nil || err.(*Error).Kind != KindEmpty {
		t.Fatalf("%v", err)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(`{"version":"2.1.0","runs":[`), iotest.ErrReader(boom))
	_, err := Parse(r, Limits{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRead || !errors.Is(err, boom) || !strings.Contains(e.Msg, "connection reset") {
		t.Fatalf("%#v", err)
	}
	// A reader that returns one byte at a time and data with io.EOF works.
	data := readTestdata(t, "eslint.sarif")
	for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(data)), iotest.DataErrReader(bytes.NewReader(data))} {
		if s, err := Parse(r, Limits{}); err != nil || s.Errors != 3 {
			t.Fatalf("%v %+v", err, s)
		}
	}
}

// ---------------------------------------------------------------------------
// Bounded memory

type heapSampler struct {
	base, peak uint64
}

func newHeapSampler() *heapSampler {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapSampler{base: m.HeapAlloc, peak: m.HeapAlloc}
}

func (h *heapSampler) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > h.peak {
		h.peak = m.HeapAlloc
	}
}

func (h *heapSampler) growth() uint64 { return h.peak - h.base }

// A ~60 MB log with 200,000 results, streamed through a pipe from a
// generator, must be summarised exactly with heap growth far below the input
// size: buffering the document (or the results) could not pass.
func TestParseBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 60 MB")
	}
	for _, resultsFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("resultsFirst=%v", resultsFirst), func(t *testing.T) {
			hs := newHeapSampler()
			pr, pw := io.Pipe()
			done := make(chan genCounts, 1)
			go func() {
				c, err := genLog(pw, genConfig{results: 200000, resultsFirst: resultsFirst, resultBytes: 300, every: hs.sample})
				pw.CloseWithError(err)
				done <- c
			}()
			s, err := Parse(pr, Limits{})
			pr.Close()
			want := <-done
			hs.sample()
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, s)
			growth := hs.growth()
			t.Logf("input %.1f MB, %d results; peak heap growth %.1f MB; %d error keys",
				float64(want.bytes)/1e6, s.Results, float64(growth)/1e6, len(s.ErrorKeys))
			if want.bytes < 55e6 {
				t.Fatalf("generated only %d bytes", want.bytes)
			}
			if s.Results != want.results || s.Errors != want.errors || s.Warnings != want.warnings ||
				s.Notes != want.notes || s.Suppressed != want.suppressed || len(s.ErrorKeys) != want.errors ||
				len(s.Findings) != DefaultMaxFindings || s.Tool != "synth 1.2.3" {
				t.Fatalf("got results %d errors %d warnings %d notes %d suppressed %d keys %d findings %d tool %q\nwant %+v",
					s.Results, s.Errors, s.Warnings, s.Notes, s.Suppressed, len(s.ErrorKeys), len(s.Findings), s.Tool, want)
			}
			// The bound: a sixth of the input (10 MB) with the tool first,
			// a quarter (15 MB) with the results first. What is kept is 24k
			// error keys (~2 MB with the final hex strings) plus, when results
			// come first, a 24-byte pending record for each of the ~190k
			// results whose level waits for the rules (~4.5 MB), and garbage
			// between collections. Measured: ~4 MB and ~10 MB.
			limit := uint64(want.bytes / 4)
			if !resultsFirst {
				limit = uint64(want.bytes / 6)
			}
			if growth > limit {
				t.Fatalf("heap grew by %d bytes for a %d-byte input (limit %d)", growth, want.bytes, limit)
			}
		})
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// A single 50 MB result is refused after about MaxResult bytes, without
// being buffered; a 50 MB input with the default limits but a small MaxBytes
// stops at MaxBytes.
func TestHugeValueIsNotBuffered(t *testing.T) {
	huge := func() io.Reader {
		return io.MultiReader(
			strings.NewReader(`{"version":"2.1.0","runs":[{"results":[{"ruleId":"a"},{"message":{"text":"`),
			io.LimitReader(repeatReader('x'), 50<<20),
			strings.NewReader(`"}}]}]}`))
	}
	for _, tc := range []struct {
		name    string
		lim     Limits
		msg     string
		maxHeap uint64 // the decoder's buffer doubles: about 3× what it holds
	}{
		{"result", Limits{}, "result runs[0].results[1] is larger than the 1048576-byte limit", 6 << 20},
		{"input", Limits{MaxBytes: 4 << 20, MaxResult: 64 << 20}, "larger than the 4194304-byte limit (Limits.MaxBytes)", 16 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHeapSampler()
			sr := &samplingReader{r: huge(), hs: hs}
			_, err := Parse(sr, tc.lim)
			hs.sample()
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindTooLarge || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("%v", err)
			}
			if sr.n > 5<<20 {
				t.Errorf("read %d bytes before giving up", sr.n)
			}
			if hs.growth() > tc.maxHeap {
				t.Errorf("heap grew by %d bytes", hs.growth())
			}
			t.Logf("read %d bytes, heap growth %d", sr.n, hs.growth())
		})
	}
}
