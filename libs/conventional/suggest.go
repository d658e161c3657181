package conventional

import (
	"fmt"
	"strings"
)

// Bump is the kind of version increase.
type Bump int

// The bumps, in increasing order.
const (
	BumpNone Bump = iota
	BumpPatch
	BumpMinor
	BumpMajor
)

// String returns "none", "patch", "minor" or "major".
func (b Bump) String() string {
	switch b {
	case BumpNone:
		return "none"
	case BumpPatch:
		return "patch"
	case BumpMinor:
		return "minor"
	case BumpMajor:
		return "major"
	}
	return fmt.Sprintf("Bump(%d)", int(b))
}

// The change kinds, matching Floe's ChangeKind (floe.release.v1).
const (
	KindFeature     = "feature"
	KindBugFix      = "bug_fix"
	KindImprovement = "improvement"
	KindSecurity    = "security"
	KindMigration   = "migration"
	KindBreaking    = "breaking"
)

// Change is a release change derived from a commit.
type Change struct {
	// Kind is one of the Kind constants.
	Kind string
	// Summary is one line: the description (or, for a breaking change, the
	// BREAKING CHANGE note), prefixed with "scope: " when there is a scope.
	Summary string
	// Ticket is the commit's first ref, or "".
	Ticket string
	// Author is the commit's author.
	Author string
	// Commit is the commit's hash.
	Commit string
}

// Suggestion is the outcome of Suggest for a set of commits.
type Suggestion struct {
	// Current is the version Suggest started from, normalised: no leading
	// "v", and "0.0.0" for no release yet.
	Current string
	// Next is the suggested next version, or "" when Bump is BumpNone.
	Next string
	// Bump is the increase, after the pre-1.0.0 rule.
	Bump Bump
	// Type is Floe's release type: "major", "minor", "patch", or "" for none.
	Type string
	// Reasons explain the suggestion, one line each: every commit that bumps
	// the version (`feat(api): add scheduling (abc1234) → minor`), the
	// pre-1.0.0 and prerelease rules when they applied, and the outcome.
	Reasons []string
	// Changes has the release changes, in the order of the commits.
	Changes []Change
	// Skipped has the commits that give no change: non-conventional ones and
	// those of types such as chore, docs, style, test, ci and build.
	Skipped []Commit
}

// typeRules maps a commit type to its change kind and bump.
var typeRules = map[string]struct {
	kind string
	bump Bump
}{
	"feat":      {KindFeature, BumpMinor},
	"fix":       {KindBugFix, BumpPatch},
	"perf":      {KindImprovement, BumpPatch},
	"refactor":  {KindImprovement, BumpNone},
	"security":  {KindSecurity, BumpPatch},
	"migration": {KindMigration, BumpPatch},
}

// classify returns the change kind ("" for none) and bump of c.
func classify(c Commit) (kind string, bump Bump) {
	typ := strings.ToLower(c.Type)
	if typ == "" {
		return "", BumpNone
	}
	rule := typeRules[typ]
	kind, bump = rule.kind, rule.bump
	switch typ {
	case "feat", "fix", "perf", "refactor":
		switch strings.ToLower(c.Scope) {
		case "security":
			kind = KindSecurity
		case "migration", "migrations":
			kind = KindMigration
		}
	}
	if c.Breaking {
		bump = BumpMajor
	}
	return kind, bump
}

// Suggest computes the next version from the current one and the commits
// made since, given oldest first. current is a semantic version with or
// without a leading "v"; "" or "0.0.0" means no release yet. It fails only
// for an invalid current version (the error quotes it) or a version number
// that would overflow. See the package documentation for the rules.
func Suggest(current string, commits []Commit) (Suggestion, error) {
	cur, err := parseVersion(current)
	if err != nil {
		return Suggestion{}, err
	}
	s := Suggestion{Current: cur.String()}

	highest := BumpNone
	for _, c := range commits {
		kind, bump := classify(c)
		if kind == "" && bump == BumpNone {
			s.Skipped = append(s.Skipped, c)
			continue
		}
		if kind != "" {
			s.Changes = append(s.Changes, newChange(c, kind, c.Description))
		}
		if c.Breaking {
			note := c.BreakingNote
			if note == "" {
				note = c.Description
			}
			s.Changes = append(s.Changes, newChange(c, KindBreaking, note))
		}
		if bump != BumpNone {
			s.Reasons = append(s.Reasons, fmt.Sprintf("%s → %s", describe(c), bump))
		}
		highest = max(highest, bump)
	}

	if highest == BumpNone {
		if len(commits) == 0 {
			s.Reasons = append(s.Reasons, "no commits in range: no release needed")
		} else {
			s.Reasons = append(s.Reasons, "no feat, fix, perf, security, migration or breaking commits in range: no release needed")
		}
		return s, nil
	}

	rel := cur.release()
	if rel == (version{}) {
		s.Reasons = append(s.Reasons, "no release yet: starting from 0.0.0")
	}
	s.Bump = highest
	if rel.major == 0 && highest == BumpMajor {
		s.Bump = BumpMinor
		s.Reasons = append(s.Reasons, "pre-1.0.0: breaking change bumps minor, not major (release 1.0.0 deliberately)")
	}
	if cur.pre != "" && rel != (version{}) {
		s.Reasons = append(s.Reasons, fmt.Sprintf("current %s is a prerelease of %s: next is %s itself unless the bump needs more", s.Current, rel, rel))
	}
	next, err := cur.bump(s.Bump)
	if err != nil {
		return Suggestion{}, err
	}
	s.Next = next.String()
	s.Type = s.Bump.String()
	s.Reasons = append(s.Reasons, fmt.Sprintf("%s → %s (%s)", s.Current, s.Next, s.Type))
	return s, nil
}

// newChange builds a change of kind for c with the given text.
func newChange(c Commit, kind, text string) Change {
	summary := strings.Join(strings.Fields(text), " ")
	if scope := strings.Join(strings.Fields(c.Scope), " "); scope != "" {
		summary = scope + ": " + summary
	}
	ch := Change{Kind: kind, Summary: summary, Author: c.Author, Commit: c.Hash}
	if len(c.Refs) > 0 {
		ch.Ticket = c.Refs[0]
	}
	return ch
}

// describe renders c as `type(scope)!: description (hash)` for Reasons.
func describe(c Commit) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(c.Type))
	if c.Scope != "" {
		b.WriteString("(" + c.Scope + ")")
	}
	if c.Breaking {
		b.WriteString("!")
	}
	b.WriteString(": " + c.Description)
	if h := c.Hash; h != "" {
		if len(h) > 7 {
			h = h[:7]
		}
		b.WriteString(" (" + h + ")")
	}
	return b.String()
}
