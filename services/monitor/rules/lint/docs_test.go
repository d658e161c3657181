package lint_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
)

// The docs are outside the module: paths from this package's directory.
var (
	repoRoot    = filepath.Join("..", "..", "..", "..")
	lintDoc     = filepath.Join(repoRoot, "docs", "rules-lint.md")
	monitorDocs = filepath.Join("..", "..", "README.md")
)

// markerRE is the comment that precedes a docs/rules-lint.md block:
// "expect CHECK" — the block has exactly that one finding (for
// promql/series: none offline, one from LintSeries over docSeries);
// "clean with series" — no finding offline nor from LintSeries.
var markerRE = regexp.MustCompile(`^<!-- rules-lint: (expect (\S+)|clean with series) -->$`)

// rulesKeyRE recognises a rules file: a top-level key of one.
var rulesKeyRE = regexp.MustCompile(`(?m)^(metrics|alert_rules|rollback_triggers):`)

type docBlock struct {
	file   string
	line   int    // of the opening fence
	marker string // "", "clean with series" or the expected check
	text   string
}

// yamlBlocks are the ```yaml blocks of a Markdown file that are rules files,
// with the marker on the last non-blank line before each.
func yamlBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cur *docBlock
	var body strings.Builder
	prev := "" // last non-blank line outside blocks
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```yaml"):
			cur = &docBlock{file: path, line: n}
			if m := markerRE.FindStringSubmatch(prev); m != nil {
				cur.marker = m[1]
				if m[2] != "" {
					cur.marker = m[2]
				}
			}
			body.Reset()
		case cur != nil && trimmed == "```":
			cur.text = body.String()
			if rulesKeyRE.MatchString(cur.text) {
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case trimmed != "":
			prev = trimmed
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// docSeries is the metric source docs/rules-lint.md describes for its
// promql/series example.
func docSeries() *fakeSeries {
	s := httpSeries()
	s.series = append(s.series, map[string]string{"__name__": "http_requests_total", "code": "500", "environment": "production", "version": "1.2.0"})
	return s
}

// TestDocExamples lints every rules block of the monitor's README, of
// docs/*.md and of the rules package's example files: none may have a
// finding, except the blocks of docs/rules-lint.md marked as wrong
// examples, which must have exactly the finding they illustrate. Every
// check has such an example (promql/syntax aside: a rules file with a
// syntax error is a validation error before any lint).
func TestDocExamples(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	for _, path := range append([]string{monitorDocs}, docs...) {
		blocks = append(blocks, yamlBlocks(t, path)...)
	}
	for _, name := range []string{"guide.yaml", "full.yaml"} {
		path := filepath.Join("..", "testdata", name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, docBlock{file: path, line: 1, text: string(data)})
	}
	illustrated := map[string]bool{lint.CheckSyntax: true}
	// TestCoherenceDocExamples checks the examples of Coherence's checks.
	for _, c := range coherenceChecks() {
		illustrated[c] = true
	}
	perFile := map[string]int{}
	for _, b := range blocks {
		perFile[b.file]++
		where := b.file + ":" + strconv.Itoa(b.line)
		set, err := rules.Parse([]byte(b.text))
		if err != nil {
			t.Errorf("%s: the rules block does not parse: %v\n%s", where, err, b.text)
			continue
		}
		if b.marker != "" && b.file != lintDoc {
			t.Errorf("%s: only %s may mark examples (%q)", where, lintDoc, b.marker)
		}
		offline := lint.Lint(set)
		var online []lint.Finding
		if b.marker != "" {
			online, err = lint.LintSeries(context.Background(), set, docSeries())
			if err != nil {
				t.Fatalf("%s: LintSeries: %v", where, err)
			}
		}
		switch b.marker {
		case "":
			if len(offline) != 0 {
				t.Errorf("%s: the example has findings:\n%s", where, findingLines(offline))
			}
		case "clean with series":
			if len(offline)+len(online) != 0 {
				t.Errorf("%s: the example has findings:\n%s%s", where, findingLines(offline), findingLines(online))
			}
		default:
			illustrated[b.marker] = true
			got := offline
			if b.marker == lint.CheckSeries {
				if len(offline) != 0 {
					t.Errorf("%s: the promql/series example has offline findings:\n%s", where, findingLines(offline))
				}
				got = online
			}
			if len(got) != 1 || got[0].Check != b.marker {
				t.Errorf("%s: the example of %s has findings\n%s; want exactly one of %s", where, b.marker, findingLines(got), b.marker)
			}
		}
	}
	t.Logf("rules blocks linted per file: %v", perFile)
	if perFile[monitorDocs] == 0 || perFile[lintDoc] == 0 {
		t.Errorf("rules blocks found per file = %v; want some in %s and %s", perFile, monitorDocs, lintDoc)
	}
	for _, c := range lint.Checks() {
		if !illustrated[c] {
			t.Errorf("%s has no example of %s (a block after <!-- rules-lint: expect %s -->)", lintDoc, c, c)
		}
	}
}

func findingLines(fs []lint.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}
