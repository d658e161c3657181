package sarif

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// genConfig describes a synthetic SARIF log written by genLog. The shape is
// CodeQL-like (rules with defaultConfiguration, partialFingerprints), with
// enough variation to exercise every counting path.
type genConfig struct {
	results      int
	rules        int  // default 100
	resultsFirst bool // write results before tool, as gosec does
	resultBytes  int  // pad each result to about this many bytes
	// every, if set, is called after each 1,000 results are written.
	every func()
}

// genCounts is what genLog wrote, computed from the generator's own rules,
// independently of the parser.
type genCounts struct {
	bytes                                          int64
	results, errors, warnings, notes, suppressed   int
	pass, noneLevel, idOnly, explicitErrorOverride int
}

// ruleLevel is the defaultConfiguration.level of generated rule r ("" when
// the rule has no defaultConfiguration, meaning "warning").
func ruleLevel(r int) string {
	switch r % 10 {
	case 0:
		return "error"
	case 1, 2, 3, 4, 5:
		return "warning"
	case 6, 7:
		return "note"
	case 8:
		return ""
	}
	return "none"
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func genLog(w io.Writer, cfg genConfig) (genCounts, error) {
	if cfg.rules <= 0 {
		cfg.rules = 100
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	var c genCounts

	writeTool := func() {
		fmt.Fprintf(bw, `"tool":{"driver":{"name":"synth","semanticVersion":"1.2.3","rules":[`)
		for r := 0; r < cfg.rules; r++ {
			if r > 0 {
				bw.WriteByte(',')
			}
			dc := ""
			if lv := ruleLevel(r); lv != "" {
				dc = fmt.Sprintf(`,"defaultConfiguration":{"enabled":true,"level":%q}`, lv)
			}
			fmt.Fprintf(bw, `{"id":"SYN%03d","name":"Synthetic rule %d","shortDescription":{"text":"Synthetic rule number %d"}%s,"properties":{"tags":["security"],"precision":"high"}}`, r, r, r, dc)
		}
		bw.WriteString(`]}}`)
	}
	pad := strings.Repeat("p", max(cfg.resultBytes, 0))
	writeResults := func() {
		bw.WriteString(`"results":[`)
		for i := 0; i < cfg.results; i++ {
			if i > 0 {
				bw.WriteByte(',')
			}
			r := i % cfg.rules
			c.results++
			var extra string
			lv := ruleLevel(r)
			if lv == "" {
				lv = "warning"
			}
			switch {
			case i%50 == 1:
				extra = `,"kind":"pass"`
				lv = "-"
				c.pass++
			case i%50 == 2:
				extra = `,"suppressions":[{"kind":"inSource","justification":"synthetic"}]`
				lv = "-"
				c.suppressed++
			case i%50 == 3:
				extra = `,"level":"error"`
				lv = "error"
				c.explicitErrorOverride++
			}
			switch lv {
			case "error":
				c.errors++
			case "warning":
				c.warnings++
			case "note":
				c.notes++
			case "none":
				c.noneLevel++
			}
			idx := fmt.Sprintf(`,"ruleIndex":%d`, r)
			if i%13 == 0 {
				idx = "" // resolved through ruleId
				c.idOnly++
			}
			head := fmt.Sprintf(`{"ruleId":"SYN%03d"%s%s,"message":{"text":"Finding %d: tainted data reaches a sink"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"pkg/m%03d/f%05d.go"},"region":{"startLine":%d,"startColumn":7}}}],"partialFingerprints":{"primaryLocationLineHash":"%016x:1"}`,
				r, idx, extra, i, i%1000, i, 1+i%4000, uint64(i)*0x9e3779b97f4a7c15)
			bw.WriteString(head)
			if n := cfg.resultBytes - len(head) - 25; n > 0 {
				bw.WriteString(`,"properties":{"pad":"`)
				bw.WriteString(pad[:n])
				bw.WriteString(`"}`)
			}
			bw.WriteByte('}')
			if cfg.every != nil && i%1000 == 999 {
				cfg.every()
			}
		}
		bw.WriteString(`]`)
	}

	bw.WriteString(`{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{`)
	if cfg.resultsFirst {
		writeResults()
		bw.WriteByte(',')
		writeTool()
	} else {
		writeTool()
		bw.WriteByte(',')
		writeResults()
	}
	bw.WriteString(`,"columnKind":"utf16CodeUnits"}]}` + "\n")
	err := bw.Flush()
	c.bytes = cw.n
	return c, err
}
