package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/errs"
)

// TokenPrefix starts every token Floe generates, so leaked tokens are easy to
// find with secret scanners.
const TokenPrefix = "floe_"

// Authenticator turns a bearer token into a principal.
type Authenticator interface {
	// Authenticate returns the principal for token, or an *errs.UnauthenticatedError.
	Authenticate(ctx context.Context, token string) (*Principal, error)
}

// TokensFile is the on-disk format of the tokens file. Tokens are never
// stored, only their SHA-256 hashes (hex).
//
//	principals:
//	  - id: alice
//	    name: Alice Developer
//	    token_sha256: 9f86d08...
//	    roles:
//	      - role: developer
//	        environments: [development, staging]
//	  - id: notifier
//	    token_sha256: 2c26b46...
//	    acts_for:   # may call these methods on behalf of these principals
//	      methods: [/floe.release.v1.ReleaseService/Approve, /floe.release.v1.ReleaseService/Reject]
//	      principals: [alice]
type TokensFile struct {
	Principals []TokenEntry `yaml:"principals"`
}

// TokenEntry is one principal of a tokens file.
type TokenEntry struct {
	ID          string        `yaml:"id"`
	Name        string        `yaml:"name,omitempty"`
	TokenSHA256 string        `yaml:"token_sha256"`
	Roles       []RoleBinding `yaml:"roles"`
	// ActsFor lets the principal call some methods on behalf of some other
	// principals of the file (see ActsFor); nil for most principals.
	ActsFor *ActsFor `yaml:"acts_for,omitempty"`
}

// GenerateToken returns a new random token (256 bits, URL-safe) with TokenPrefix.
func GenerateToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken returns the hex SHA-256 of token, the form a tokens file stores.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ParseTokensFile parses and validates a tokens file, reporting every problem.
func ParseTokensFile(data []byte) (*TokensFile, error) {
	var tf TokensFile
	if err := yaml.Unmarshal(data, &tf); err != nil {
		return nil, fmt.Errorf("parse tokens file: %w", err)
	}
	var problems []string
	ids := map[string]bool{}
	hashes := map[string]bool{}
	for i, p := range tf.Principals {
		where := fmt.Sprintf("principals[%d]", i)
		if p.ID == "" {
			problems = append(problems, where+".id is empty")
		} else if ids[p.ID] {
			problems = append(problems, fmt.Sprintf("%s.id %q is used twice", where, p.ID))
		}
		ids[p.ID] = true
		h := strings.ToLower(p.TokenSHA256)
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			problems = append(problems, where+".token_sha256 must be 64 hex characters (the SHA-256 of the token, never the token)")
		} else if hashes[h] {
			problems = append(problems, where+".token_sha256 is used twice")
		}
		hashes[h] = true
		for j, rb := range p.Roles {
			if !rb.Role.Valid() {
				problems = append(problems, fmt.Sprintf("%s.roles[%d].role %q is not one of %v", where, j, rb.Role, Roles))
			}
		}
	}
	// Grants name other principals of the file, so they are checked once every id is known.
	for i, p := range tf.Principals {
		if p.ActsFor != nil {
			problems = append(problems, checkActsFor(fmt.Sprintf("principals[%d].acts_for", i), p.ID, p.ActsFor, ids)...)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid tokens file: %s", strings.Join(problems, "; "))
	}
	return &tf, nil
}

// checkActsFor reports the problems of the grant at where, held by the
// principal self; ids are the principals of the file.
func checkActsFor(where, self string, g *ActsFor, ids map[string]bool) []string {
	var problems []string
	entry := ""
	if self != "" {
		entry = fmt.Sprintf(" (entry %q)", self)
	}
	if len(g.Methods) == 0 {
		problems = append(problems, where+".methods is empty: list the full method names (\"/pkg.Service/Method\") it may call for others"+entry)
	}
	seen := map[string]bool{}
	for j, m := range g.Methods {
		switch {
		case !methodShape.MatchString(m):
			problems = append(problems, fmt.Sprintf("%s.methods[%d] %q is not a full method name (\"/pkg.Service/Method\", no wildcards)%s", where, j, m, entry))
		case seen[m]:
			problems = append(problems, fmt.Sprintf("%s.methods[%d] %q is listed twice%s", where, j, m, entry))
		}
		seen[m] = true
	}
	if len(g.Principals) == 0 {
		problems = append(problems, where+".principals is empty: list the ids of the principals it may act for"+entry)
	}
	seen = map[string]bool{}
	for j, id := range g.Principals {
		switch {
		case id == self:
			problems = append(problems, fmt.Sprintf("%s.principals[%d] %q is the entry itself%s", where, j, id, entry))
		case !ids[id] || id == "":
			problems = append(problems, fmt.Sprintf("%s.principals[%d] %q is not the id of a principal in this file (no wildcards)%s", where, j, id, entry))
		case seen[id]:
			problems = append(problems, fmt.Sprintf("%s.principals[%d] %q is listed twice%s", where, j, id, entry))
		}
		seen[id] = true
	}
	return problems
}

// Marshal renders the file as YAML with an explanatory header.
func (tf *TokensFile) Marshal() ([]byte, error) {
	body, err := yaml.Marshal(tf)
	if err != nil {
		return nil, err
	}
	return append([]byte("# Floe tokens file: principals and their roles. Only SHA-256 hashes of tokens are stored here.\n"), body...), nil
}

// TokenFileAuthenticator authenticates against a tokens file. It re-reads the
// file when its modification time changes (checked at most every few
// seconds), so principals can be added or revoked without a restart; a file
// that stops parsing keeps the last good contents and is reported in the log
// by the caller through LastError.
type TokenFileAuthenticator struct {
	path string
	now  func() time.Time

	mu        sync.Mutex
	byHash    map[string]*Principal
	byID      map[string]*Principal
	modTime   time.Time
	checkedAt time.Time
	lastErr   error
}

// recheckEvery bounds how often the file's modification time is looked at.
const recheckEvery = 2 * time.Second

// NewTokenFileAuthenticator loads path; it fails when the file is missing or invalid.
func NewTokenFileAuthenticator(path string) (*TokenFileAuthenticator, error) {
	a := &TokenFileAuthenticator{path: path, now: time.Now}
	if err := a.reload(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *TokenFileAuthenticator) reload() error {
	fi, err := os.Stat(a.path)
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	if fi.ModTime().Equal(a.modTime) && a.byHash != nil {
		return nil
	}
	data, err := os.ReadFile(a.path)
	if err != nil {
		return fmt.Errorf("tokens file: %w", err)
	}
	tf, err := ParseTokensFile(data)
	if err != nil {
		return fmt.Errorf("%s: %w", a.path, err)
	}
	byHash := make(map[string]*Principal, len(tf.Principals))
	byID := make(map[string]*Principal, len(tf.Principals))
	for _, e := range tf.Principals {
		roles := append([]RoleBinding(nil), e.Roles...)
		sort.SliceStable(roles, func(i, j int) bool { return roles[i].Role < roles[j].Role })
		p := &Principal{ID: e.ID, Name: e.Name, Authenticator: "token", Roles: roles, ActsFor: e.ActsFor}
		byHash[strings.ToLower(e.TokenSHA256)] = p
		byID[e.ID] = p
	}
	a.byHash, a.byID, a.modTime = byHash, byID, fi.ModTime()
	return nil
}

// refresh re-reads the file when recheckEvery has passed; a.mu is held.
func (a *TokenFileAuthenticator) refresh() {
	if now := a.now(); now.Sub(a.checkedAt) >= recheckEvery {
		a.checkedAt = now
		a.lastErr = a.reload()
	}
}

// LastError returns the error of the last failed reload, if the file is currently unreadable.
func (a *TokenFileAuthenticator) LastError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// Authenticate implements Authenticator.
func (a *TokenFileAuthenticator) Authenticate(_ context.Context, token string) (*Principal, error) {
	h := HashToken(token)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refresh()
	// Looked up by the SHA-256 of the presented token: a caller cannot steer
	// the hash, so the lookup's timing tells nothing about stored tokens.
	if p, ok := a.byHash[h]; ok {
		return p, nil
	}
	return nil, &errs.UnauthenticatedError{Message: "unknown token"}
}

// Lookup implements Directory: the file's principal with id, as Authenticate
// would return it for that principal's token.
func (a *TokenFileAuthenticator) Lookup(_ context.Context, id string) (*Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refresh()
	if p, ok := a.byID[id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q in the tokens file", ErrUnknownPrincipal, id)
}
