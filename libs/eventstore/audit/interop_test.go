//go:build interop

// The cross-language check of audit bundles. It needs python3 and jq and
// fails without them, so it runs only under `make interop` (go test -tags
// interop), never under `make test`, which needs nothing but Go.

package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/penguinmails/floe/libs/eventstore/audit"
)

// pyReport is what the Python verifier's --json report and the Go Report
// have in common.
type pyReport struct {
	Events         uint64 `json:"events"`
	FirstSeq       uint64 `json:"first_seq"`
	LastSeq        uint64 `json:"last_seq"`
	Aggregates     int    `json:"aggregates"`
	Checkpoints    int    `json:"checkpoints"`
	SignedSize     uint64 `json:"signed_size"`
	UnsignedEvents uint64 `json:"unsigned_events"`
	KeyID          string `json:"key_id"`
	MoreProblems   int    `json:"more_problems"`
	Problems       []struct {
		Seq     uint64 `json:"seq"`
		Subject string `json:"subject"`
		Kind    string `json:"kind"`
	} `json:"problems"`
}

func fromGo(r *audit.Report) pyReport {
	p := pyReport{Events: r.Events, FirstSeq: r.FirstSeq, LastSeq: r.LastSeq, Aggregates: r.Aggregates, Checkpoints: r.Checkpoints, SignedSize: r.SignedSize, UnsignedEvents: r.UnsignedEvents, KeyID: r.KeyID, MoreProblems: r.MoreProblems}
	for _, pr := range r.Problems {
		p.Problems = append(p.Problems, struct {
			Seq     uint64 `json:"seq"`
			Subject string `json:"subject"`
			Kind    string `json:"kind"`
		}{pr.Seq, pr.Subject, pr.Kind})
	}
	return p
}

// tools are the external programs the test drives.
type tools struct {
	python, jq, verifier, floe string
}

func interopTools(t *testing.T) tools {
	t.Helper()
	var tl tools
	var err error
	for name, dst := range map[string]*string{"python3": &tl.python, "jq": &tl.jq} {
		if *dst, err = exec.LookPath(name); err != nil {
			t.Fatalf("%s is required by the interop test (make interop; CI installs it): %v", name, err)
		}
	}
	if tl.verifier, err = filepath.Abs("../../../tools/auditverify/verify_bundle.py"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tl.verifier); err != nil {
		t.Fatal(err)
	}
	tl.floe = filepath.Join(t.TempDir(), "floe")
	if out, err := exec.Command("go", "build", "-o", tl.floe, "github.com/penguinmails/floe/tools/floe").CombinedOutput(); err != nil {
		t.Fatalf("build floe: %v\n%s", err, out)
	}
	return tl
}

// run runs a command with stdin, returning stdout, stderr and the exit code.
func run(t *testing.T, stdin []byte, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), errOut.String(), 0
}

// filter pipes text through a program that must succeed.
func filter(t *testing.T, text string, name string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, []byte(text), name, args...)
	if code != 0 {
		t.Fatalf("%s %v: exit %d\n%s", name, args, code, errOut)
	}
	return out
}

func TestInteropPythonVerifierAndJSONTools(t *testing.T) {
	tl := interopTools(t)
	if out, errOut, code := run(t, nil, tl.python, tl.verifier, "--self-test"); code != 0 {
		t.Fatalf("verify_bundle.py --self-test: exit %d\n%s%s", code, out, errOut)
	}
	e := richLog(t)
	text, _ := export(t, e, 0, 0)
	dir := t.TempDir()
	pubPath := filepath.Join(dir, "audit.pub")
	if err := audit.WritePublicKey(pubPath, e.pub); err != nil {
		t.Fatal(err)
	}
	want := verify(t, readBundle(t, text), e.pub)
	if !want.OK() {
		t.Fatalf("the exported bundle does not verify: %v", want.Problems)
	}

	// check verifies a bundle with the floe CLI, the Go verifier in process
	// and the Python verifier, which must agree with each other and with want.
	paths := map[string]string{}
	check := func(t *testing.T, name, bundle string, want pyReport, firstBad string) {
		t.Helper()
		path := filepath.Join(dir, strings.NewReplacer(" ", "_", "/", "_").Replace(name)+".jsonl")
		if err := os.WriteFile(path, []byte(bundle), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = path
		b, err := audit.ReadBundle(strings.NewReader(bundle))
		if err != nil {
			t.Fatalf("%s: Go ReadBundle: %v", name, err)
		}
		goRep := verify(t, b, e.pub)
		if diff := cmp.Diff(want, fromGo(goRep)); diff != "" {
			t.Errorf("%s: Go report (-want +got):\n%s\nproblems: %v", name, diff, goRep.Problems)
		}
		out, errOut, code := run(t, nil, tl.floe, "audit", "verify", "--bundle", path, "--public-key", pubPath)
		switch {
		case firstBad == "" && (code != 0 || !strings.Contains(out, "result      OK")):
			t.Errorf("%s: floe audit verify --bundle: exit %d\n%s%s", name, code, out, errOut)
		case firstBad != "" && (code == 0 || !strings.Contains(errOut, firstBad)):
			t.Errorf("%s: floe audit verify --bundle: exit %d, want a failure naming %q\n%s%s", name, code, firstBad, out, errOut)
		}
		out, errOut, code = run(t, nil, tl.python, tl.verifier, "--json", "--public-key", pubPath, path)
		if wantCode := map[bool]int{true: 0, false: 1}[len(want.Problems) == 0]; code != wantCode {
			t.Errorf("%s: verify_bundle.py: exit %d, want %d\n%s%s", name, code, wantCode, out, errOut)
		}
		var py pyReport
		if err := json.Unmarshal([]byte(out), &py); err != nil {
			t.Fatalf("%s: verify_bundle.py --json: %v\n%s%s", name, err, out, errOut)
		}
		if diff := cmp.Diff(fromGo(goRep), py, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: Python report vs Go report (-go +python):\n%s", name, diff)
		}
	}

	// JSON-preserving rewrites by other tools: everything verifies as exported.
	pyLines := func(dumps string) func(string) string {
		return func(s string) string {
			return filter(t, s, tl.python, "-c", "import json, sys\nfor line in sys.stdin:\n    print("+dumps+")")
		}
	}
	rewrites := []struct {
		name    string
		rewrite func(string) string
	}{
		{name: "as exported", rewrite: func(s string) string { return s }},
		{name: "python json.dumps(json.loads(line))", rewrite: pyLines("json.dumps(json.loads(line))")},
		{name: "python indent=2 sort_keys", rewrite: pyLines("json.dumps(json.loads(line), indent=2, sort_keys=True)")},
		{name: "python ensure_ascii=False compact sort_keys", rewrite: pyLines(`json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"), sort_keys=True)`)},
		{name: "jq .", rewrite: func(s string) string { return filter(t, s, tl.jq, ".") }},
		{name: "jq -c -S .", rewrite: func(s string) string { return filter(t, s, tl.jq, "-c", "-S", ".") }},
		{name: "jq --tab --ascii-output .", rewrite: func(s string) string { return filter(t, s, tl.jq, "--tab", "--ascii-output", ".") }},
	}
	ok := fromGo(want)
	pyText := ""
	for _, rw := range rewrites {
		got := rw.rewrite(text)
		if rw.name != "as exported" && got == text {
			t.Fatalf("%s: the rewrite changed nothing", rw.name)
		}
		if rw.name == "python json.dumps(json.loads(line))" {
			pyText = got
		}
		check(t, rw.name, got, ok, "")
	}
	if pyText == "" {
		t.Fatal("test bug: no json.dumps rewrite")
	}
	if !strings.Contains(pyText, `"floe-actor": ["zo\u00eb \u2713"]`) {
		t.Fatalf("test bug: json.dumps did not escape non-ASCII header values:\n%s", pyText)
	}

	// One change of meaning, by an auditor's tools, after a rewrite: both
	// verifiers fail and name the same problems.
	with := func(f func(*pyReport)) pyReport {
		r := ok
		r.Problems = nil
		f(&r)
		return r
	}
	type problem = struct {
		Seq     uint64 `json:"seq"`
		Subject string `json:"subject"`
		Kind    string `json:"kind"`
	}
	const o1, blob = "floe.evt.order.o1.StringValue", "floe.evt.order.obj.Blob"
	flipB64 := func(seq int, i int) string { // python: flip byte i of event seq's decoded body
		return fmt.Sprintf(`import base64, json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["kind"] == "event" and r["seq"] == %d:
        b = bytearray(base64.b64decode(r["data_b64"])); b[%d] ^= 1
        r["data_b64"] = base64.b64encode(bytes(b)).decode()
    print(json.dumps(r))`, seq, i)
	}
	tampers := []struct {
		name     string
		tamper   func(string) string
		want     pyReport
		firstBad string
	}{
		{name: "jq: a header value", tamper: func(s string) string {
			return filter(t, s, tl.jq, `if .kind == "event" and .seq == 10 then .headers["floe-actor"][0] = "tested" else . end`)
		}, want: with(func(r *pyReport) { r.Problems = []problem{{10, o1, audit.KindEdited}, {10, o1, audit.KindRewritten}} }), firstBad: "position 10 (edited)"},
		{name: "python: one byte of a body", tamper: func(s string) string {
			return filter(t, s, tl.python, "-c", flipB64(12, 5))
		}, want: with(func(r *pyReport) {
			r.Problems = []problem{{12, blob, audit.KindEdited}, {12, blob, audit.KindRewritten}}
		}), firstBad: "position 12 (edited)"},
		{name: "one byte of the file (a base64 character of a body)", tamper: func(s string) string {
			i := strings.Index(s, `"data_b64": "`) // in the first event
			if i < 0 {
				t.Fatal("no data_b64")
			}
			i += len(`"data_b64": "`) + 4
			c := byte('A')
			if s[i] == 'A' {
				c = 'B'
			}
			return s[:i] + string(c) + s[i+1:]
		}, want: with(func(r *pyReport) {
			r.Problems = []problem{{1, o1, audit.KindEdited}, {1, o1, audit.KindRewritten}}
		}), firstBad: "position 1 (edited)"},
		{name: "jq: a seq", tamper: func(s string) string {
			return filter(t, s, tl.jq, `if .kind == "event" and .seq == 7 then .seq = 8 else . end`)
		}, want: with(func(r *pyReport) {
			r.Problems = []problem{{7, "", audit.KindGap}, {8, o1, audit.KindRewritten}, {8, "floe.evt.order.o2.StringValue", audit.KindMalformed}}
		}), firstBad: "position 7 (missing)"},
		{name: "python: a checkpoint root", tamper: func(s string) string {
			return filter(t, s, tl.python, "-c", `import json, sys
n = 0
for line in sys.stdin:
    r = json.loads(line)
    if r["kind"] == "checkpoint":
        n += 1
        if n == 2:
            lines = r["note"].split("\n")
            lines[2] = ("B" if lines[2][0] == "A" else "A") + lines[2][1:]
            r["note"] = "\n".join(lines)
    print(json.dumps(r))`)
		}, want: with(func(r *pyReport) {
			r.Checkpoints, r.SignedSize, r.UnsignedEvents = 1, 6, 8
			r.Problems = []problem{{0, "", audit.KindCheckpoint}}
		}), firstBad: "1 problem(s)"},
		{name: "python: one bit of a checkpoint signature", tamper: func(s string) string {
			return filter(t, s, tl.python, "-c", `import base64, json, sys
n = 0
for line in sys.stdin:
    r = json.loads(line)
    if r["kind"] == "checkpoint":
        n += 1
        if n == 3:
            b = bytearray(base64.b64decode(r["signature_b64"])); b[7] ^= 1
            r["signature_b64"] = base64.b64encode(bytes(b)).decode()
    print(json.dumps(r))`)
		}, want: with(func(r *pyReport) {
			r.Checkpoints, r.SignedSize, r.UnsignedEvents = 2, 10, 4
			r.Problems = []problem{{0, "", audit.KindCheckpoint}}
		}), firstBad: "1 problem(s)"},
	}
	for _, tt := range tampers {
		check(t, tt.name, tt.tamper(pyText), tt.want, tt.firstBad)
	}

	// The Python verifier trusts a given key over the bundle's, and refuses
	// what it cannot read.
	other := filepath.Join(dir, "other.pub")
	otherKey, _, _ := ed25519.GenerateKey(nil)
	if err := audit.WritePublicKey(other, otherKey); err != nil {
		t.Fatal(err)
	}
	bundlePath := paths["python json.dumps(json.loads(line))"]
	if out, errOut, code := run(t, nil, tl.python, tl.verifier, "--public-key", other, bundlePath); code != 1 || !strings.Contains(out, "not the trusted key") {
		t.Errorf("verify_bundle.py with another trusted key: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run(t, nil, tl.python, tl.verifier, bundlePath); code != 0 || !strings.Contains(out, audit.KeyID(e.pub)) {
		t.Errorf("verify_bundle.py with the bundle's key: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"testdata/bundle-v2.jsonl", "testdata/bundle-v1.jsonl"} {
		wantCode := map[bool]int{true: 0, false: 2}[strings.Contains(f, "v2")]
		if out, errOut, code := run(t, nil, tl.python, tl.verifier, f); code != wantCode {
			t.Errorf("verify_bundle.py %s: exit %d, want %d\n%s%s", f, code, wantCode, out, errOut)
		}
	}
}
