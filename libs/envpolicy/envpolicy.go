// Package envpolicy is Floe's environments file: each environment's
// definition and promotion policy (order, required approvals, approver
// roles, default strategy), in promotion order. The release service enforces
// it for releases; the flag service for configuration changes.
package envpolicy

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
)

// Environment is one environment's definition and promotion policy.
type Environment struct {
	Name           string   `yaml:"name"`
	Purpose        string   `yaml:"purpose"`
	After          []string `yaml:"after"`
	Infrastructure []string `yaml:"infrastructure"`
	DataSource     string   `yaml:"data_source"`
	DataRetention  string   `yaml:"data_retention"`
	Backup         string   `yaml:"backup"`
	Access         []string `yaml:"access"`
	// RequiredApprovals a promotion needs before risk adds more.
	RequiredApprovals int `yaml:"required_approvals"`
	// ApproverRoles: holders of these roles (in this environment) may approve.
	ApproverRoles []string `yaml:"approver_roles"`
	// HotfixMaySkip lists environments of After that a hotfix need not pass through.
	HotfixMaySkip []string `yaml:"hotfix_may_skip"`
	// Strategy is the default deployment strategy, as text (e.g. "canary").
	Strategy string `yaml:"strategy"`
	// ChangeRequired makes the environment production-class for change
	// management: a promotion there needs an approved change request linked
	// to the release whose window contains the moment of promotion.
	ChangeRequired bool `yaml:"change_required"`
}

// DefaultStrategy is the environment's strategy (rolling-update when it names none).
func (e Environment) DefaultStrategy() deployv1.DeploymentStrategy {
	if s, ok := enumtext.Parse[deployv1.DeploymentStrategy](e.Strategy); ok {
		return s
	}
	return deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_ROLLING_UPDATE
}

// ApproverRolesOf returns the environment's approver roles p holds there,
// or a PermissionDeniedError naming perm (the duty: approving and rejecting
// are the same one).
func (e Environment) ApproverRolesOf(p *auth.Principal, perm auth.Permission) ([]string, error) {
	var roles []string
	for _, role := range e.ApproverRoles {
		if p.HasRole(auth.Role(role), e.Name) {
			roles = append(roles, role)
		}
	}
	if len(roles) > 0 {
		return roles, nil
	}
	detail := fmt.Sprintf("approving or rejecting for %s needs one of the roles %s there", e.Name, strings.Join(e.ApproverRoles, ", "))
	if len(e.ApproverRoles) == 0 {
		detail = fmt.Sprintf("%s's policy names no approver roles, so nobody approves or rejects there", e.Name)
	}
	return nil, &errs.PermissionDeniedError{Principal: p.ID, Permission: string(perm), Environment: e.Name, Detail: detail}
}

// Environments is the validated set, in file order (the promotion order).
type Environments struct {
	list []Environment
}

// DefaultTargets are a release's target environments when none are given.
var DefaultTargets = []string{"development", "staging", "production"}

// DefaultEnvironmentsYAML is the built-in environments file, after the
// PenguinMails guide: dev → staging → prod, with local, qa and dr beside them.
const DefaultEnvironmentsYAML = `# Floe environments: definitions and promotion policy, in promotion order.
environments:
  - name: local
    purpose: Developer machines (localhost)
    after: []
    infrastructure: [developer workstation]
    data_source: Synthetic data
    data_retention: none
    backup: none
    access: ["developers: full access"]
    required_approvals: 0
    strategy: big-bang
  - name: development
    purpose: Feature development and testing
    after: []
    infrastructure: ["VPS: 2 vCPUs, 4GB RAM", "Database: NileDB dev instance", "Storage: local file system", "Networking: internal only"]
    data_source: Synthetic/anonymized data
    data_retention: 30 days
    backup: Daily snapshots
    access: ["developers: full access", "qa: read-only access", "security: automated scanning"]
    required_approvals: 0
    strategy: rolling-update
  - name: qa
    purpose: QA and testing
    after: [development]
    infrastructure: ["VPS: 2 vCPUs, 4GB RAM", "Database: NileDB qa instance"]
    data_source: Synthetic/anonymized data
    data_retention: 30 days
    backup: Daily snapshots
    access: ["qa: full testing access", "developers: limited access"]
    required_approvals: 0
    strategy: rolling-update
  - name: staging
    purpose: Pre-production validation
    after: [development]
    infrastructure: ["VPS: 4 vCPUs, 8GB RAM", "Database: NileDB staging instance", "Storage: cloud storage with CDN", "Networking: restricted external access"]
    data_source: Production-like data (anonymized)
    data_retention: 90 days
    backup: Hourly snapshots
    access: ["developers: limited access", "qa: full testing access", "product: demo access", "security: full monitoring"]
    required_approvals: 1
    approver_roles: [qa, release-manager]
    strategy: blue-green
  - name: production
    purpose: Live user-facing system
    after: [staging]
    infrastructure: ["VPS: 8-16 vCPUs, 32-64GB RAM (auto-scaling)", "Database: NileDB production cluster", "Storage: geo-redundant cloud storage", "Networking: global CDN with WAF"]
    data_source: Live user data
    data_retention: Per data classification policy
    backup: Continuous replication
    access: ["users: application access", "support: limited debugging access", "operations: administrative access", "security: 24/7 monitoring"]
    required_approvals: 2
    approver_roles: [release-manager, operations, product, security]
    hotfix_may_skip: [staging]
    strategy: canary
    change_required: true
  - name: dr
    purpose: Disaster recovery
    after: [production]
    infrastructure: ["Standby of production in a second region"]
    data_source: Replica of production
    data_retention: Per data classification policy
    backup: Continuous replication
    access: ["operations: administrative access", "security: 24/7 monitoring"]
    required_approvals: 1
    approver_roles: [operations, release-manager]
    strategy: big-bang
    change_required: true
`

// Load reads the environments file at path, or (path "") the default set.
func Load(path string) (*Environments, error) {
	if path == "" {
		return DefaultEnvironments(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("environments file: %w", err)
	}
	return ParseEnvironments(data)
}

// DefaultEnvironments parses DefaultEnvironmentsYAML.
func DefaultEnvironments() *Environments {
	envs, err := ParseEnvironments([]byte(DefaultEnvironmentsYAML))
	if err != nil {
		panic("built-in environments file is invalid: " + err.Error())
	}
	return envs
}

// ParseEnvironments parses and validates an environments file, reporting
// every problem: names unique and subject-safe, `after` naming earlier
// environments (so the order is acyclic), known approver roles and
// strategies, approver roles whenever approvals are required.
func ParseEnvironments(data []byte) (*Environments, error) {
	var file struct {
		Environments []Environment `yaml:"environments"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("environments file: %w", err)
	}
	var problems []string
	seen := map[string]bool{}
	for i, e := range file.Environments {
		where := fmt.Sprintf("environments[%d] (%s)", i, e.Name)
		if !validName(e.Name) {
			problems = append(problems, where+": name must be "+NameDescription+" ("+NamePattern+")")
		}
		if seen[e.Name] {
			problems = append(problems, where+": name used twice")
		}
		for _, a := range e.After {
			if !seen[a] {
				problems = append(problems, fmt.Sprintf("%s: after %q must name an environment listed before it", where, a))
			}
		}
		for _, s := range e.HotfixMaySkip {
			if !slices.Contains(e.After, s) {
				problems = append(problems, fmt.Sprintf("%s: hotfix_may_skip %q is not in after", where, s))
			}
		}
		if e.RequiredApprovals < 0 || e.RequiredApprovals > 10 {
			problems = append(problems, where+": required_approvals must be 0-10")
		}
		if e.RequiredApprovals > 0 && len(e.ApproverRoles) == 0 {
			problems = append(problems, where+": approver_roles is empty but approvals are required")
		}
		for _, r := range e.ApproverRoles {
			if !auth.Role(r).Valid() {
				problems = append(problems, fmt.Sprintf("%s: approver role %q is not one of %v", where, r, auth.Roles))
			}
		}
		if _, ok := enumtext.Parse[deployv1.DeploymentStrategy](e.Strategy); e.Strategy != "" && !ok {
			problems = append(problems, fmt.Sprintf("%s: strategy %q is not one of %v", where, e.Strategy, enumtext.Names[deployv1.DeploymentStrategy]()))
		}
		seen[e.Name] = true
	}
	if len(file.Environments) == 0 {
		problems = append(problems, "no environments defined")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("environments file: %s", strings.Join(problems, "; "))
	}
	return &Environments{list: file.Environments}, nil
}

// The rule for product and environment names. They become subject tokens
// and KV keys, so they are identifiers (libs/ident), and they are kept to
// the lower case and 32 characters they have always had.
const (
	NamePattern     = `^[a-z0-9-]{1,32}$`
	NameDescription = "1-32 lower case ASCII letters, digits or '-'"
)

// ProductName is the rule for a product's name (CreateRelease's product).
var ProductName = ident.Rule{Noun: "product name", Description: NameDescription, Pattern: NamePattern, Allow: lowerName}

// lowerName is the part of the name rule beyond ident's: at most 32 bytes,
// no upper case, no '_'.
func lowerName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c == '_' {
			return false
		}
	}
	return true
}

// validName reports whether s is a valid product or environment name.
func validName(s string) bool { return ProductName.Valid(s) }

// Get returns the named environment.
func (e *Environments) Get(name string) (Environment, bool) {
	for _, env := range e.list {
		if env.Name == name {
			return env, true
		}
	}
	return Environment{}, false
}

// All returns the environments in promotion order.
func (e *Environments) All() []Environment { return slices.Clone(e.list) }

// Names returns the environment names in promotion order.
func (e *Environments) Names() []string {
	out := make([]string, len(e.list))
	for i, env := range e.list {
		out[i] = env.Name
	}
	return out
}

// ChangeRequired lists the environments that require a change request, in order.
func (e *Environments) ChangeRequired() []string {
	var out []string
	for _, env := range e.list {
		if env.ChangeRequired {
			out = append(out, env.Name)
		}
	}
	return out
}

// Index is the environment's position in promotion order (-1 if unknown).
func (e *Environments) Index(name string) int {
	for i, env := range e.list {
		if env.Name == name {
			return i
		}
	}
	return -1
}
