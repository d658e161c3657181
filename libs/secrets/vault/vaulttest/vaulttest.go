// Package vaulttest is a stand-in for a HashiCorp Vault server, for tests:
// no Vault server can run where Floe's tests run, so this loopback HTTP
// server implements exactly the KV v2 and AppRole endpoints the vault
// package uses, with the request and response shapes Vault documents
// (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2 and
// .../auth/approle):
//
//	PUT|POST /v1/<mount>/data/<path>               {"data":{...},"options":{...}}
//	                                               → {"data":{"version":N,"created_time":...,"deletion_time":"","destroyed":false,"custom_metadata":null}}
//	GET      /v1/<mount>/data/<path>[?version=N]   → {"data":{"data":{...},"metadata":{...}}};
//	                                                 404 {"errors":[]} when there is no such secret or version,
//	                                                 404 {"data":{"data":null,"metadata":{...,"destroyed":true}}} for a destroyed one
//	GET      /v1/<mount>/metadata/<path>           → {"data":{"current_version":N,"oldest_version":1,"versions":{"1":{...}},...}}
//	PUT|POST /v1/<mount>/destroy/<path>            {"versions":[N,...]} → 204
//	PUT|POST /v1/auth/approle/login                {"role_id":...,"secret_id":...} → {"auth":{"client_token":...,...}}
//
// Every request except the login must carry a valid X-Vault-Token (else
// 403 {"errors":["permission denied"]}, as Vault answers). Any other
// endpoint fails the test: that is how a test shows the provider uses no
// other. It is not Vault: no policies, leases, CAS or soft delete.
package vaulttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server.
type Options struct {
	// Mount is the KV v2 mount ("secret" when empty).
	Mount string
	// RootToken is accepted as X-Vault-Token (a random one when empty).
	RootToken string
	// RoleID and SecretID are the AppRole credentials accepted by
	// auth/approle/login (AppRole is refused when RoleID is empty).
	RoleID, SecretID string
}

// Server is the stand-in Vault.
type Server struct {
	// URL is the server's address, for vault.Config.Address.
	URL string
	// RootToken is a token it accepts.
	RootToken string

	t     testing.TB
	opts  Options
	mu    sync.Mutex
	kv    map[string]*secret
	valid map[string]bool // tokens accepted
	logs  []string        // "METHOD /path" of every request
}

type secret struct {
	current  int
	versions map[int]*version
	created  time.Time
	updated  time.Time
}

type version struct {
	data      map[string]any
	created   time.Time
	destroyed bool
}

// New starts a Server, closed when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Mount == "" {
		opts.Mount = "secret"
	}
	if opts.RootToken == "" {
		opts.RootToken = "hvs." + randomHex(12)
	}
	s := &Server{RootToken: opts.RootToken, t: t, opts: opts, kv: map[string]*secret{}, valid: map[string]bool{opts.RootToken: true}}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RevokeTokens makes every token issued by AppRole login invalid, as their
// expiry would (the root token stays valid).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.valid = map[string]bool{s.opts.RootToken: true}
}

// Requests are "METHOD /path" of every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logs...)
}

// Data is the stored data of a version (nil when absent or destroyed), to
// look at what the provider wrote.
func (s *Server) Data(path string, n int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.kv[path]
	if sec == nil || sec.versions[n] == nil || sec.versions[n].destroyed {
		return nil
	}
	return sec.versions[n].data
}

// Write stores data as a new version of path, as an operator would with
// `vault kv put`.
func (s *Server) Write(path string, data map[string]any) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(path, data)
}

func (s *Server) write(path string, data map[string]any) int {
	now := time.Now().UTC()
	sec := s.kv[path]
	if sec == nil {
		sec = &secret{versions: map[int]*version{}, created: now}
		s.kv[path] = sec
	}
	sec.current++
	sec.updated = now
	sec.versions[sec.current] = &version{data: data, created: now}
	return sec.current
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func errorsBody(msgs ...string) map[string]any {
	if msgs == nil {
		msgs = []string{}
	}
	return map[string]any{"errors": msgs}
}

func (v *version) metadata(n int) map[string]any {
	return map[string]any{
		"created_time":    v.created.Format(time.RFC3339Nano),
		"custom_metadata": nil,
		"deletion_time":   "",
		"destroyed":       v.destroyed,
		"version":         n,
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, r.Method+" "+r.URL.Path)
	write := r.Method == http.MethodPut || r.Method == http.MethodPost

	if r.URL.Path == "/v1/auth/approle/login" && write {
		s.login(w, r)
		return
	}
	if !s.valid[r.Header.Get("X-Vault-Token")] {
		reply(w, http.StatusForbidden, errorsBody("permission denied"))
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/"+s.opts.Mount+"/")
	if !ok {
		s.unexpected(w, r)
		return
	}
	op, path, _ := strings.Cut(rest, "/")
	switch {
	case op == "data" && write:
		var body struct {
			Data    map[string]any `json:"data"`
			Options map[string]any `json:"options"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Data == nil {
			reply(w, http.StatusBadRequest, errorsBody("no data provided"))
			return
		}
		n := s.write(path, body.Data)
		reply(w, http.StatusOK, map[string]any{"data": s.kv[path].versions[n].metadata(n)})
	case op == "data" && r.Method == http.MethodGet:
		sec := s.kv[path]
		if sec == nil {
			reply(w, http.StatusNotFound, errorsBody())
			return
		}
		n := sec.current
		if q := r.URL.Query().Get("version"); q != "" && q != "0" {
			var err error
			if n, err = strconv.Atoi(q); err != nil {
				reply(w, http.StatusBadRequest, errorsBody("invalid version"))
				return
			}
		}
		v := sec.versions[n]
		if v == nil {
			reply(w, http.StatusNotFound, errorsBody())
			return
		}
		if v.destroyed {
			reply(w, http.StatusNotFound, map[string]any{"data": map[string]any{"data": nil, "metadata": v.metadata(n)}})
			return
		}
		reply(w, http.StatusOK, map[string]any{"data": map[string]any{"data": v.data, "metadata": v.metadata(n)}})
	case op == "metadata" && r.Method == http.MethodGet:
		sec := s.kv[path]
		if sec == nil {
			reply(w, http.StatusNotFound, errorsBody())
			return
		}
		versions := map[string]any{}
		ns := make([]int, 0, len(sec.versions))
		for n, v := range sec.versions {
			m := v.metadata(n)
			delete(m, "version") // the metadata endpoint keys versions by number
			delete(m, "custom_metadata")
			versions[strconv.Itoa(n)] = m
			ns = append(ns, n)
		}
		sort.Ints(ns)
		reply(w, http.StatusOK, map[string]any{"data": map[string]any{
			"cas_required":         false,
			"created_time":         sec.created.Format(time.RFC3339Nano),
			"current_version":      sec.current,
			"custom_metadata":      nil,
			"delete_version_after": "0s",
			"max_versions":         0,
			"oldest_version":       ns[0],
			"updated_time":         sec.updated.Format(time.RFC3339Nano),
			"versions":             versions,
		}})
	case op == "destroy" && write:
		var body struct {
			Versions []int `json:"versions"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Versions) == 0 {
			reply(w, http.StatusBadRequest, errorsBody("no version number provided"))
			return
		}
		if sec := s.kv[path]; sec != nil {
			for _, n := range body.Versions {
				if v := sec.versions[n]; v != nil {
					v.destroyed, v.data = true, nil
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.unexpected(w, r)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		reply(w, http.StatusBadRequest, errorsBody("failed to parse JSON input"))
		return
	}
	if s.opts.RoleID == "" || body.RoleID != s.opts.RoleID || body.SecretID != s.opts.SecretID {
		reply(w, http.StatusBadRequest, errorsBody("invalid role or secret ID"))
		return
	}
	tok := "hvs." + randomHex(12)
	s.valid[tok] = true
	reply(w, http.StatusOK, map[string]any{
		"request_id": randomHex(8), "lease_id": "", "renewable": false, "lease_duration": 0, "data": nil,
		"auth": map[string]any{
			"client_token": tok, "accessor": randomHex(8), "policies": []string{"default", "floe"},
			"token_policies": []string{"default", "floe"}, "metadata": map[string]any{"role_name": "floe"},
			"lease_duration": 3600, "renewable": true, "entity_id": "", "token_type": "service", "orphan": true,
		},
	})
}

func (s *Server) unexpected(w http.ResponseWriter, r *http.Request) {
	s.t.Errorf("vaulttest: unexpected request %s %s (the provider must use only the documented endpoints)", r.Method, r.URL.Path)
	reply(w, http.StatusMethodNotAllowed, errorsBody("unsupported path"))
}
