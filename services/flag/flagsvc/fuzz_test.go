package flagsvc_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// flagdSeeds are flag-definition documents, good and bad, for the fuzzers.
func flagdSeeds(f *testing.F) [][]byte {
	golden, err := os.ReadFile("../../../libs/flageval/testdata/golden/flags.json")
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{
		golden,
		[]byte(`{"flags": {"a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}}}`),
		[]byte(`{"flags": {"a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
			"targeting": {"fractional": [["on", 30], ["off", 70]]}}}}`),
		[]byte(`{"$evaluators": {"e": {"in": [{"var": "email"}, ["a@x.io"]]}}, "flags": {"a": {"state": "ENABLED",
			"variants": {"x": "X", "y": "Y"}, "defaultVariant": "x", "targeting": {"if": [{"$ref": "e"}, "y", null]}}}}`),
		[]byte(`{"flags": {"a": {"state": "ON", "variants": {}, "defaultVariant": 3}}}`),
		[]byte(`{"flags": {"a": {"state": "ENABLED", "variants": {"a": 1, "b": "2"}, "defaultVariant": "a", "targeting": {"if": []}}}}`),
		[]byte(`{"flags": {"a": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"$ref": "missing"}}}}`),
		[]byte(`{"flags": {"Bad Key!": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a"}}}`),
		[]byte(`[]`), []byte(`{`), []byte(``), []byte(`{"flags": null}`),
	}
}

// FuzzImportFlagd imports arbitrary documents through the API: each is
// imported or refused with InvalidArgument naming where (a field violation
// per problem) and appending nothing; never a server fault.
func FuzzImportFlagd(f *testing.F) {
	for _, s := range flagdSeeds(f) {
		f.Add(s)
	}
	w := start(f)
	alice := w.flags("alice")
	f.Fuzz(func(t *testing.T, doc []byte) {
		before := w.LogPosition(t)
		_, err := alice.ImportFlagd(ctxT(t), &flagv1.ImportFlagdRequest{Environment: "production", Definition: doc, Reason: "fuzz"})
		if err == nil {
			return
		}
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("import: %v (want OK or InvalidArgument)", err)
		}
		var fields int
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() == "" || v.GetDescription() == "" {
						t.Fatalf("field violation without a field or a description: %v", v)
					}
					fields++
				}
			}
		}
		if fields == 0 {
			t.Fatalf("InvalidArgument without a field violation: %v", err)
		}
		if after := w.LogPosition(t); after != before {
			t.Fatalf("a refused import appended events (%d → %d)", before, after)
		}
	})
}

// FuzzOFREPRequest posts arbitrary bodies to the single and bulk OFREP
// endpoints: every answer is one of the protocol's, as a JSON object.
func FuzzOFREPRequest(f *testing.F) {
	for _, s := range []string{
		`{"context": {"targetingKey": "u", "plan": "pro"}}`, `{"context": {}}`, `{}`, ``, `{"context": null}`,
		`{"context": {"targetingKey": 1}}`, `{"context": [1]}`, `{"context": {"n": 1e400}}`, `{"context": {"a": {"b": [1, "x", null]}}}`,
		"{\"context\": {\"targetingKey\": \"\xff\"}}", `{"context": {"targetingKey": "u"}, "extra": 1}`, `null`, `"x"`,
	} {
		f.Add(s)
	}
	w := start(f)
	w.createFlags()
	o := w.ofrep()
	admin := "Bearer " + w.Token("grace")
	f.Fuzz(func(t *testing.T, body string) {
		o.t = t
		for _, path := range []string{prod1("new-welcome"), prod1("banner-text"), "/environments/production/ofrep/v1/evaluate/flags"} {
			r := o.post(path, body, "Authorization", admin)
			switch r.status {
			case http.StatusOK:
				if r.body == nil {
					t.Fatalf("%s %q: 200 without a body", path, body)
				}
			case http.StatusBadRequest:
				if code, _ := r.body["errorCode"].(string); code == "" {
					t.Fatalf("%s %q: 400 without an errorCode: %s", path, body, r.raw)
				}
			default:
				t.Fatalf("%s %q: status %d: %s", path, body, r.status, r.raw)
			}
			if !json.Valid([]byte(r.raw)) {
				t.Fatalf("%s: not JSON: %q", path, r.raw)
			}
		}
	})
}
