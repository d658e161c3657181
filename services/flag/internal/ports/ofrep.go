package ports

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/flageval"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
)

// EnvironmentHeader names the environment of an OFREP request made on the
// plain /ofrep/v1 paths (the /environments/{env}/ofrep/v1 paths name it in
// the URL, so a provider's base URL can carry it).
const EnvironmentHeader = "Floe-Environment"

// maxOFREPBody bounds an evaluation request's body.
const maxOFREPBody = 1 << 20

// OFREP serves the OpenFeature Remote Evaluation Protocol
// (github.com/open-feature/protocol, service/openapi.yaml) over HTTP: single
// and bulk evaluations and the configuration endpoint, authenticated with
// the same tokens as the gRPC API (Authorization: Bearer, or X-API-Key) and
// authorised per environment (flag.read).
type OFREP struct {
	sets  *adapters.FlagSets
	authn auth.Authenticator
	authz *auth.Authorizer
	now   func() time.Time
	ready <-chan struct{}
}

// NewOFREP wires the OFREP handler; every dependency is required.
func NewOFREP(sets *adapters.FlagSets, authn auth.Authenticator, authz *auth.Authorizer, now func() time.Time) (*OFREP, error) {
	if sets == nil || authn == nil || authz == nil || now == nil {
		return nil, errors.New("ofrep: every dependency is required")
	}
	return &OFREP{sets: sets, authn: authn, authz: authz, now: now, ready: sets.Projection().Ready()}, nil
}

// Handler routes the OFREP endpoints, on /ofrep/v1/… and on
// /environments/{env}/ofrep/v1/….
func (o *OFREP) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, prefix := range []string{"", "/environments/{env}"} {
		mux.HandleFunc("POST "+prefix+"/ofrep/v1/evaluate/flags/{key}", o.single)
		mux.HandleFunc("POST "+prefix+"/ofrep/v1/evaluate/flags", o.bulk)
		mux.HandleFunc("GET "+prefix+"/ofrep/v1/configuration", o.configuration)
	}
	return mux
}

// ofrepSuccess is OFREP's evaluationSuccess (serverEvaluationSuccess for a
// single evaluation). Value and Variant are omitted when the flag names no
// value for the context (DISABLED, or no default variant): the caller's code
// default applies.
type ofrepSuccess struct {
	Key       string         `json:"key"`
	Value     any            `json:"value,omitempty"`
	Reason    string         `json:"reason"`
	Variant   string         `json:"variant,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Cacheable *bool          `json:"cacheable,omitempty"`
}

// ofrepFailure is OFREP's evaluationFailure, flagNotFound and
// bulkEvaluationFailure (without key), and generalErrorResponse (details only).
type ofrepFailure struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

type ofrepRequest struct {
	Context map[string]any `json:"context"`
}

// begin does what every endpoint does first: readiness, authentication,
// the environment, authorization. It writes the error and returns false
// when the request cannot go on.
func (o *OFREP) begin(w http.ResponseWriter, r *http.Request) (string, bool) {
	select {
	case <-o.ready:
	default:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, ofrepFailure{ErrorDetails: "the flag service is catching up with the event log"})
		return "", false
	}
	p, err := o.principal(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="floe"`)
		writeJSON(w, http.StatusUnauthorized, ofrepFailure{ErrorDetails: err.Error()})
		return "", false
	}
	env, err := environmentOf(r, p)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{ErrorCode: flageval.ErrGeneral, ErrorDetails: err.Error()})
		return "", false
	}
	if err := o.authz.Require(auth.WithPrincipal(r.Context(), p), PermRead, env); err != nil {
		writeJSON(w, http.StatusForbidden, ofrepFailure{ErrorDetails: err.Error()})
		return "", false
	}
	return env, true
}

// principal authenticates the request's Authorization: Bearer or X-API-Key token.
func (o *OFREP) principal(r *http.Request) (*auth.Principal, error) {
	token := r.Header.Get("X-API-Key")
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(t) == "" {
			return nil, errors.New("malformed Authorization header: expected 'Bearer <token>'")
		}
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return nil, errors.New("missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <token>'")
	}
	return o.authn.Authenticate(r.Context(), token)
}

// environmentOf is the environment the request names (URL, then header), or
// the only one the principal's roles are bound to.
func environmentOf(r *http.Request, p *auth.Principal) (string, error) {
	env := r.PathValue("env")
	if env == "" {
		env = r.Header.Get(EnvironmentHeader)
	}
	if env == "" {
		env = onlyEnvironment(p)
	}
	if env == "" {
		return "", fmt.Errorf("no environment: use the base URL <server>/environments/<environment>, or send the %s header", EnvironmentHeader)
	}
	var v errs.Violations
	ident.Check(&v, "environment", env)
	return env, v.Err()
}

// onlyEnvironment is the single environment every role binding of p is
// limited to ("" when p has an unscoped binding or several environments).
func onlyEnvironment(p *auth.Principal) string {
	only := ""
	for _, b := range p.Roles {
		if len(b.Environments) != 1 || (only != "" && b.Environments[0] != only) {
			return ""
		}
		only = b.Environments[0]
	}
	return only
}

// context reads the request body's evaluation context. An empty body is an
// empty context.
func (o *OFREP) context(w http.ResponseWriter, r *http.Request) (flageval.Context, error) {
	var req ofrepRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOFREPBody))
	if err != nil {
		return flageval.Context{}, fmt.Errorf("reading the request body: %w", err)
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return flageval.Context{}, fmt.Errorf("the request body is not an evaluation request ({\"context\": {…}}): %w", err)
		}
	}
	ec := flageval.Context{Attributes: req.Context, Now: o.now()}
	if tk, ok := req.Context["targetingKey"]; ok {
		s, isString := tk.(string)
		if !isString {
			return flageval.Context{}, errors.New("context.targetingKey must be a string")
		}
		ec.TargetingKey = s
		delete(req.Context, "targetingKey")
	}
	return ec.Normalize()
}

// snapshot is env's flag set with its evaluator (false, after writing a 500,
// when its definition does not compile).
func snapshotEval(w http.ResponseWriter, set *adapters.Snapshot) (*flageval.Set, bool) {
	if set.Eval == nil {
		writeJSON(w, http.StatusInternalServerError, ofrepFailure{ErrorDetails: fmt.Sprintf("the flags of %s cannot be evaluated: %v", set.Environment, set.CompileError)})
		return nil, false
	}
	return set.Eval, true
}

var notCacheable = false

func (o *OFREP) single(w http.ResponseWriter, r *http.Request) {
	env, ok := o.begin(w, r)
	if !ok {
		return
	}
	key := r.PathValue("key")
	ec, err := o.context(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: flageval.ErrInvalidContext, ErrorDetails: err.Error()})
		return
	}
	ev, ok := snapshotEval(w, o.sets.Current(env))
	if !ok {
		return
	}
	res := ev.Evaluate(key, ec)
	switch res.ErrorCode {
	case "":
		// Not cacheable: a kill switch must reach every caller at once.
		writeJSON(w, http.StatusOK, success(key, res, &notCacheable))
	case flageval.ErrFlagNotFound:
		writeJSON(w, http.StatusNotFound, ofrepFailure{Key: key, ErrorCode: res.ErrorCode, ErrorDetails: res.ErrorMessage})
	default:
		writeJSON(w, http.StatusBadRequest, ofrepFailure{Key: key, ErrorCode: res.ErrorCode, ErrorDetails: res.ErrorMessage})
	}
}

func success(key string, res flageval.Result, cacheable *bool) ofrepSuccess {
	return ofrepSuccess{Key: key, Value: res.Value, Reason: res.Reason, Variant: res.Variant, Metadata: res.Metadata, Cacheable: cacheable}
}

func (o *OFREP) bulk(w http.ResponseWriter, r *http.Request) {
	env, ok := o.begin(w, r)
	if !ok {
		return
	}
	ec, err := o.context(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ofrepFailure{ErrorCode: flageval.ErrInvalidContext, ErrorDetails: err.Error()})
		return
	}
	ev, ok := snapshotEval(w, o.sets.Current(env))
	if !ok {
		return
	}
	flags := make([]any, 0, len(ev.Keys()))
	for _, key := range ev.Keys() {
		res := ev.Evaluate(key, ec)
		if res.ErrorCode != "" {
			flags = append(flags, ofrepFailure{Key: key, ErrorCode: res.ErrorCode, ErrorDetails: res.ErrorMessage})
			continue
		}
		flags = append(flags, success(key, res, nil))
	}
	writeTagged(w, r, map[string]any{"flags": flags})
}

// configuration is OFREP's optional configuration endpoint.
func (o *OFREP) configuration(w http.ResponseWriter, r *http.Request) {
	if _, ok := o.begin(w, r); !ok {
		return
	}
	writeTagged(w, r, map[string]any{
		"name": "Floe",
		"capabilities": map[string]any{
			"cacheInvalidation": map[string]any{"polling": map[string]any{"enabled": true, "minPollingIntervalMs": 1000}},
			"flagEvaluation":    map[string]any{"supportedTypes": []string{"int", "float", "string", "boolean", "object"}},
		},
	})
}

// writeTagged writes v with an ETag of its bytes, or 304 when the request's
// If-None-Match names that tag: a result that depends on the time (a gradual
// rollout) changes its tag when it changes its answer.
func writeTagged(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, ofrepFailure{ErrorDetails: "encoding the response: " + err.Error()})
		return
	}
	sum := sha256.Sum256(body)
	tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	w.Header().Set("ETag", tag)
	if etagMatches(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
