package flagsvc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/testkit"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

// ofrep is a client of the flag service's OFREP endpoint.
type ofrep struct {
	t    testing.TB
	base string
}

func (w *world) ofrep() *ofrep {
	h, ok := w.Handles["flag"].(*flagsvc.Flag)
	if !ok || h.OFREPAddr == "" {
		w.t.Fatal("the flag service serves no OFREP endpoint")
	}
	return &ofrep{t: w.t, base: "http://" + h.OFREPAddr}
}

type ofrepReply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends body to path with headers (name, value pairs).
func (o *ofrep) post(path, body string, headers ...string) ofrepReply {
	o.t.Helper()
	return o.do(http.MethodPost, path, body, headers...)
}

func (o *ofrep) do(method, path, body string, headers ...string) ofrepReply {
	o.t.Helper()
	req, err := http.NewRequest(method, o.base+path, strings.NewReader(body))
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := ofrepReply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(bytes.TrimSpace(raw)) > 0 && resp.StatusCode != http.StatusMethodNotAllowed { // net/http's own 405 is text
		if err := json.Unmarshal(raw, &out.body); err != nil {
			o.t.Fatalf("%s %s: %d with a body that is not a JSON object: %q", method, path, resp.StatusCode, raw)
		}
	}
	return out
}

func (r ofrepReply) want(t *testing.T, status int, fields map[string]any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	for k, v := range fields {
		if got := r.body[k]; !reflect.DeepEqual(got, v) {
			t.Fatalf("%s = %#v, want %#v (body %s)", k, got, v, r.raw)
		}
	}
	if ct := r.header.Get("Content-Type"); r.status != http.StatusNotModified && ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func (w *world) createFlags() {
	w.t.Helper()
	ctx := ctxT(w.t)
	if _, err := w.flags("alice").CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: welcome(), Reason: "launch"}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.flags("alice").SetRollout(ctx, &flagv1.SetRolloutRequest{Environment: "production", Key: "new-welcome", Rollout: pct(30), Reason: "ramp"}); err != nil {
		w.t.Fatal(err)
	}
	banner := &flagv1.Flag{
		Environment: "production", Key: "banner-text", Description: "the banner's text", Owner: "growth",
		Variants:       map[string]*structpb.Value{"hello": structpb.NewStringValue("Hello!"), "hi": structpb.NewStringValue("Hi!")},
		DefaultVariant: "hello",
	}
	if _, err := w.flags("alice").CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: banner, Reason: "copy"}); err != nil {
		w.t.Fatal(err)
	}
	// Evaluations read the view as it is (they never wait for the log):
	// let it reach the last change (ExportFlagd does) before evaluating.
	if _, err := w.flags("grace").ExportFlagd(ctx, &flagv1.ExportFlagdRequest{Environment: "production"}); err != nil {
		w.t.Fatal(err)
	}
}

// OFREP answers with the protocol's shapes and the same results as the
// gRPC Evaluate, for every caller the API admits and no other.
func TestOFREPEvaluations(t *testing.T) {
	w := start(t)
	w.createFlags()
	o := w.ofrep()
	admin := "Bearer " + w.Token("grace")
	prod := "/environments/production/ofrep/v1/evaluate/flags/"

	// A static flag, with its flag's log position in the metadata.
	g, err := w.flags("grace").GetFlag(ctxT(t), &flagv1.GetFlagRequest{Environment: "production", Key: "banner-text"})
	if err != nil {
		t.Fatal(err)
	}
	f := g.GetFlag()
	r := o.post(prod+"banner-text", `{"context": {}}`, "Authorization", admin)
	r.want(t, http.StatusOK, map[string]any{"key": "banner-text", "value": "Hello!", "reason": "STATIC", "variant": "hello", "cacheable": false})
	md, _ := r.body["metadata"].(map[string]any)
	if md["floe.position"] != float64(f.GetPosition()) || md["floe.environment"] != "production" {
		t.Fatalf("metadata %v, want floe.position %d", md, f.GetPosition())
	}

	// Fractional: every targeting key gets what the gRPC API says.
	split := map[string]int{}
	for i := range 200 {
		tk := fmt.Sprintf("user-%d", i)
		r := o.post(prod+"new-welcome", fmt.Sprintf(`{"context": {"targetingKey": %q, "plan": "pro"}}`, tk), "Authorization", admin)
		c, _ := structpb.NewStruct(map[string]any{"targetingKey": tk, "plan": "pro"})
		g, err := w.flags("grace").Evaluate(ctxT(t), &flagv1.EvaluateRequest{Environment: "production", Key: "new-welcome", Context: c})
		if err != nil {
			t.Fatal(err)
		}
		r.want(t, http.StatusOK, map[string]any{"value": g.GetEvaluation().GetValue().AsInterface(), "variant": g.GetEvaluation().GetVariant(), "reason": g.GetEvaluation().GetReason()})
		split[r.body["variant"].(string)]++
	}
	if split["on"] < 30 || split["on"] > 90 {
		t.Fatalf("30%% rollout gave %v of 200", split)
	}

	// Errors, in OFREP's shapes.
	o.post(prod+"nope", `{"context": {"targetingKey": "u"}}`, "Authorization", admin).
		want(t, http.StatusNotFound, map[string]any{"key": "nope", "errorCode": "FLAG_NOT_FOUND"})
	for _, body := range []string{`{"context": 7}`, `{"context": {"targetingKey": 7}}`, `{"context":`, `[1]`} {
		o.post(prod+"banner-text", body, "Authorization", admin).
			want(t, http.StatusBadRequest, map[string]any{"key": "banner-text", "errorCode": "INVALID_CONTEXT"})
	}
	o.post(prod+"banner-text", strings.Repeat(" ", 2<<20), "Authorization", admin).
		want(t, http.StatusBadRequest, map[string]any{"errorCode": "INVALID_CONTEXT"})
	o.post(prod+"banner-text", ``, "Authorization", admin).want(t, http.StatusOK, map[string]any{"value": "Hello!"})
	if r := o.do(http.MethodGet, prod+"banner-text", ""); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET an evaluation: %d", r.status)
	}

	// Who may ask, and for which environment.
	o.post(prod+"banner-text", `{}`).want(t, http.StatusUnauthorized, nil)
	o.post(prod+"banner-text", `{}`, "Authorization", "Bearer forged").want(t, http.StatusUnauthorized, nil)
	o.post(prod+"banner-text", `{}`, "Authorization", "Basic eDp5").want(t, http.StatusUnauthorized, nil)
	o.post(prod+"banner-text", `{}`, "X-API-Key", w.Token("grace")).want(t, http.StatusOK, map[string]any{"value": "Hello!"})
	o.post(prod+"banner-text", `{}`, "X-API-Key", w.Token("sam")).want(t, http.StatusForbidden, nil)
	o.post("/ofrep/v1/evaluate/flags/banner-text", `{}`, "Authorization", admin, "Floe-Environment", "production").
		want(t, http.StatusOK, map[string]any{"value": "Hello!"})
	o.post("/ofrep/v1/evaluate/flags/banner-text", `{}`, "Authorization", admin).
		want(t, http.StatusBadRequest, map[string]any{"errorCode": "GENERAL"})
	o.post("/environments/prod%20uction/ofrep/v1/evaluate/flags/banner-text", `{}`, "Authorization", admin).
		want(t, http.StatusBadRequest, map[string]any{"errorCode": "GENERAL"})
	// sam's roles name one environment: it is the default, and has no flags.
	o.post("/ofrep/v1/evaluate/flags/banner-text", `{}`, "X-API-Key", w.Token("sam")).
		want(t, http.StatusNotFound, map[string]any{"errorCode": "FLAG_NOT_FOUND"})
	o.do(http.MethodGet, "/environments/production/ofrep/v1/configuration", "", "Authorization", admin).
		want(t, http.StatusOK, map[string]any{"name": "Floe"})
}

// The bulk evaluation carries an ETag; asking again with it gets 304 until
// a flag changes.
func TestOFREPBulk(t *testing.T) {
	w := start(t)
	w.createFlags()
	o := w.ofrep()
	admin := "Bearer " + w.Token("grace")
	bulk := "/environments/production/ofrep/v1/evaluate/flags"
	ctxBody := `{"context": {"targetingKey": "user-1"}}`

	r := o.post(bulk, ctxBody, "Authorization", admin)
	r.want(t, http.StatusOK, nil)
	flags, _ := r.body["flags"].([]any)
	if len(flags) != 2 {
		t.Fatalf("flags %v", r.raw)
	}
	for _, f := range flags {
		if m := f.(map[string]any); m["key"] == "banner-text" && m["value"] != "Hello!" {
			t.Fatalf("bulk banner-text %v", m)
		}
	}
	tag := r.header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	o.post(bulk, ctxBody, "Authorization", admin, "If-None-Match", tag).want(t, http.StatusNotModified, nil)
	o.post(bulk, ctxBody, "Authorization", admin, "If-None-Match", `"x", W/`+tag).want(t, http.StatusNotModified, nil)
	// Another context is another answer (and tag).
	if r2 := o.post(bulk, `{"context": {"targetingKey": "user-2"}}`, "Authorization", admin, "If-None-Match", tag); r2.status == http.StatusNotModified && r2.header.Get("ETag") != tag {
		t.Fatal("304 for a different tag")
	}

	if _, err := w.flags("dave").KillFlag(ctxT(t), &flagv1.KillFlagRequest{Environment: "production", Key: "new-welcome", Reason: "INC-9"}); err != nil {
		t.Fatal(err)
	}
	// The kill reaches OFREP as soon as the view has it.
	testkit.Eventually(t, func() error {
		if r := o.post(bulk, ctxBody, "Authorization", admin, "If-None-Match", tag); r.status != http.StatusOK || r.header.Get("ETag") == tag {
			return fmt.Errorf("status %d, ETag %s", r.status, r.header.Get("ETag"))
		}
		return nil
	})
	r = o.post(prod1("new-welcome"), ctxBody, "Authorization", admin)
	r.want(t, http.StatusOK, map[string]any{"key": "new-welcome", "reason": "DISABLED"})
	if _, has := r.body["value"]; has {
		t.Fatalf("a killed flag names a value (the caller's default applies): %s", r.raw)
	}
	o.post(bulk, `{"context": 1}`, "Authorization", admin).want(t, http.StatusBadRequest, map[string]any{"errorCode": "INVALID_CONTEXT"})
}

func prod1(key string) string { return "/environments/production/ofrep/v1/evaluate/flags/" + key }
