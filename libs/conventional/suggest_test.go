package conventional_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/conventional"
)

// commit parses msg and sets a hash built from short and a fixed author.
func commit(short, msg string) conventional.Commit {
	c := conventional.Parse(msg)
	c.Hash = short + strings.Repeat("0", 40-len(short))
	c.Author = "Ann"
	return c
}

func hash(short string) string { return short + strings.Repeat("0", 40-len(short)) }

func TestSuggest(t *testing.T) {
	t.Parallel()
	const noRelease = "no feat, fix, perf, security, migration or breaking commits in range: no release needed"
	tests := []struct {
		name    string
		current string
		commits []conventional.Commit
		want    conventional.Suggestion
	}{
		{
			name:    "feat bumps minor",
			current: "1.4.2",
			commits: []conventional.Commit{commit("abc1234", "feat(api): add scheduling\n\nRefs: PROJ-1, #2")},
			want: conventional.Suggestion{
				Current: "1.4.2", Next: "1.5.0", Bump: conventional.BumpMinor, Type: "minor",
				Reasons: []string{"feat(api): add scheduling (abc1234) → minor", "1.4.2 → 1.5.0 (minor)"},
				Changes: []conventional.Change{{Kind: "feature", Summary: "api: add scheduling", Ticket: "PROJ-1", Author: "Ann", Commit: hash("abc1234")}},
			},
		},
		{
			name:    "fix and perf bump patch",
			current: "1.4.2",
			commits: []conventional.Commit{commit("a1", "fix: crash on empty input"), commit("a2", "perf(db): faster listing")},
			want: conventional.Suggestion{
				Current: "1.4.2", Next: "1.4.3", Bump: conventional.BumpPatch, Type: "patch",
				Reasons: []string{"fix: crash on empty input (a100000) → patch", "perf(db): faster listing (a200000) → patch", "1.4.2 → 1.4.3 (patch)"},
				Changes: []conventional.Change{
					{Kind: "bug_fix", Summary: "crash on empty input", Author: "Ann", Commit: hash("a1")},
					{Kind: "improvement", Summary: "db: faster listing", Author: "Ann", Commit: hash("a2")},
				},
			},
		},
		{
			name:    "highest bump wins, order kept, non-release commits skipped",
			current: "v2.0.0",
			commits: []conventional.Commit{
				commit("b1", "fix: a"),
				commit("b2", "chore(deps): bump x"),
				commit("b3", "feat!: b\n\nBREAKING CHANGE: the old\n  endpoint is gone"),
				commit("b4", "feat: c"),
				commit("b5", "Merge branch 'x'"),
			},
			want: conventional.Suggestion{
				Current: "2.0.0", Next: "3.0.0", Bump: conventional.BumpMajor, Type: "major",
				Reasons: []string{"fix: a (b100000) → patch", "feat!: b (b300000) → major", "feat: c (b400000) → minor", "2.0.0 → 3.0.0 (major)"},
				Changes: []conventional.Change{
					{Kind: "bug_fix", Summary: "a", Author: "Ann", Commit: hash("b1")},
					{Kind: "feature", Summary: "b", Author: "Ann", Commit: hash("b3")},
					{Kind: "breaking", Summary: "the old endpoint is gone", Author: "Ann", Commit: hash("b3")},
					{Kind: "feature", Summary: "c", Author: "Ann", Commit: hash("b4")},
				},
				Skipped: []conventional.Commit{commit("b2", "chore(deps): bump x"), commit("b5", "Merge branch 'x'")},
			},
		},
		{
			name:    "breaking chore gives only a breaking change, with the description",
			current: "1.0.0",
			commits: []conventional.Commit{commit("c1", "chore(ci)!: drop support for Node 6")},
			want: conventional.Suggestion{
				Current: "1.0.0", Next: "2.0.0", Bump: conventional.BumpMajor, Type: "major",
				Reasons: []string{"chore(ci)!: drop support for Node 6 (c100000) → major", "1.0.0 → 2.0.0 (major)"},
				Changes: []conventional.Change{{Kind: "breaking", Summary: "ci: drop support for Node 6", Author: "Ann", Commit: hash("c1")}},
			},
		},
		{
			name:    "pre-1.0.0: breaking change bumps minor",
			current: "0.3.4",
			commits: []conventional.Commit{commit("d1", "fix: a"), commit("d2", "refactor!: rename b")},
			want: conventional.Suggestion{
				Current: "0.3.4", Next: "0.4.0", Bump: conventional.BumpMinor, Type: "minor",
				Reasons: []string{
					"fix: a (d100000) → patch",
					"refactor!: rename b (d200000) → major",
					"pre-1.0.0: breaking change bumps minor, not major (release 1.0.0 deliberately)",
					"0.3.4 → 0.4.0 (minor)",
				},
				Changes: []conventional.Change{
					{Kind: "bug_fix", Summary: "a", Author: "Ann", Commit: hash("d1")},
					{Kind: "improvement", Summary: "rename b", Author: "Ann", Commit: hash("d2")},
					{Kind: "breaking", Summary: "rename b", Author: "Ann", Commit: hash("d2")},
				},
			},
		},
		{
			name:    "first release",
			current: "",
			commits: []conventional.Commit{commit("e1", "feat: first")},
			want: conventional.Suggestion{
				Current: "0.0.0", Next: "0.1.0", Bump: conventional.BumpMinor, Type: "minor",
				Reasons: []string{"feat: first (e100000) → minor", "no release yet: starting from 0.0.0", "0.0.0 → 0.1.0 (minor)"},
				Changes: []conventional.Change{{Kind: "feature", Summary: "first", Author: "Ann", Commit: hash("e1")}},
			},
		},
		{
			name:    "prerelease current",
			current: "1.2.0-rc.1",
			commits: []conventional.Commit{commit("f1", "fix: a")},
			want: conventional.Suggestion{
				Current: "1.2.0-rc.1", Next: "1.2.0", Bump: conventional.BumpPatch, Type: "patch",
				Reasons: []string{
					"fix: a (f100000) → patch",
					"current 1.2.0-rc.1 is a prerelease of 1.2.0: next is 1.2.0 itself unless the bump needs more",
					"1.2.0-rc.1 → 1.2.0 (patch)",
				},
				Changes: []conventional.Change{{Kind: "bug_fix", Summary: "a", Author: "Ann", Commit: hash("f1")}},
			},
		},
		{
			name:    "chore-only range: no release",
			current: "1.4.2",
			commits: []conventional.Commit{
				commit("g1", "chore: tidy"), commit("g2", "docs: typo"), commit("g3", "style: gofmt"),
				commit("g4", "test: more"), commit("g5", "ci: cache"), commit("g6", "build: go 1.26"),
				commit("g7", "wip"), commit("g8", "revert: let us never again speak of the noodle incident"),
			},
			want: conventional.Suggestion{
				Current: "1.4.2",
				Reasons: []string{noRelease},
				Skipped: []conventional.Commit{
					commit("g1", "chore: tidy"), commit("g2", "docs: typo"), commit("g3", "style: gofmt"),
					commit("g4", "test: more"), commit("g5", "ci: cache"), commit("g6", "build: go 1.26"),
					commit("g7", "wip"), commit("g8", "revert: let us never again speak of the noodle incident"),
				},
			},
		},
		{
			name:    "refactor gives a change but no release",
			current: "1.4.2",
			commits: []conventional.Commit{commit("h1", "refactor(store): split files"), commit("h2", "docs: x")},
			want: conventional.Suggestion{
				Current: "1.4.2",
				Reasons: []string{noRelease},
				Changes: []conventional.Change{{Kind: "improvement", Summary: "store: split files", Author: "Ann", Commit: hash("h1")}},
				Skipped: []conventional.Commit{commit("h2", "docs: x")},
			},
		},
		{
			name:    "no commits",
			current: "1.4.2",
			want:    conventional.Suggestion{Current: "1.4.2", Reasons: []string{"no commits in range: no release needed"}},
		},
		{
			name:    "security and migration kinds",
			current: "1.0.0",
			commits: []conventional.Commit{
				commit("i1", "security: escape HTML in notes\n\nFixes #31"),
				commit("i2", "fix(Security): rotate keys"),
				commit("i3", "feat(migrations): add index on releases"),
				commit("i4", "migration: backfill owners"),
				commit("i5", "chore(security): update policy"),
			},
			want: conventional.Suggestion{
				Current: "1.0.0", Next: "1.1.0", Bump: conventional.BumpMinor, Type: "minor",
				Reasons: []string{
					"security: escape HTML in notes (i100000) → patch",
					"fix(Security): rotate keys (i200000) → patch",
					"feat(migrations): add index on releases (i300000) → minor",
					"migration: backfill owners (i400000) → patch",
					"1.0.0 → 1.1.0 (minor)",
				},
				Changes: []conventional.Change{
					{Kind: "security", Summary: "escape HTML in notes", Ticket: "#31", Author: "Ann", Commit: hash("i1")},
					{Kind: "security", Summary: "Security: rotate keys", Author: "Ann", Commit: hash("i2")},
					{Kind: "migration", Summary: "migrations: add index on releases", Author: "Ann", Commit: hash("i3")},
					{Kind: "migration", Summary: "backfill owners", Author: "Ann", Commit: hash("i4")},
				},
				Skipped: []conventional.Commit{commit("i5", "chore(security): update policy")},
			},
		},
		{
			name:    "hand-built commit without hash",
			current: "1.0.0",
			commits: []conventional.Commit{{Type: "FIX", Description: "x", Refs: []string{"#1", "#2"}}},
			want: conventional.Suggestion{
				Current: "1.0.0", Next: "1.0.1", Bump: conventional.BumpPatch, Type: "patch",
				Reasons: []string{"fix: x → patch", "1.0.0 → 1.0.1 (patch)"},
				Changes: []conventional.Change{{Kind: "bug_fix", Summary: "x", Ticket: "#1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := conventional.Suggest(tt.current, tt.commits)
			if err != nil {
				t.Fatalf("Suggest(%q) error: %v", tt.current, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Suggest(%q) mismatch (-want +got):\n%s", tt.current, diff)
			}
		})
	}
}

// TestSuggestVersions covers the version arithmetic: bump precedence, the
// pre-1.0.0 rule, first releases, leading v, build metadata and prereleases.
func TestSuggestVersions(t *testing.T) {
	t.Parallel()
	const (
		fix      = "fix: x"
		feat     = "feat: x"
		breaking = "feat!: x"
		footer   = "fix: x\n\nBREAKING CHANGE: y"
		chore    = "chore: x"
	)
	tests := []struct {
		name     string
		current  string
		msgs     []string
		wantCur  string
		wantNext string
		wantBump conventional.Bump
	}{
		{"fix", "1.4.2", []string{fix}, "1.4.2", "1.4.3", conventional.BumpPatch},
		{"feat", "1.4.2", []string{feat}, "1.4.2", "1.5.0", conventional.BumpMinor},
		{"breaking !", "1.4.2", []string{breaking}, "1.4.2", "2.0.0", conventional.BumpMajor},
		{"breaking footer", "1.4.2", []string{footer}, "1.4.2", "2.0.0", conventional.BumpMajor},
		{"feat beats fix", "1.4.2", []string{fix, feat, fix}, "1.4.2", "1.5.0", conventional.BumpMinor},
		{"breaking beats feat", "1.4.2", []string{feat, footer, fix}, "1.4.2", "2.0.0", conventional.BumpMajor},
		{"chore does not lower", "1.4.2", []string{fix, chore}, "1.4.2", "1.4.3", conventional.BumpPatch},
		{"chore only", "1.4.2", []string{chore}, "1.4.2", "", conventional.BumpNone},
		{"leading v", "v1.4.2", []string{fix}, "1.4.2", "1.4.3", conventional.BumpPatch},
		{"surrounding space", " v1.4.2\n", []string{fix}, "1.4.2", "1.4.3", conventional.BumpPatch},
		{"build metadata is dropped from next", "1.4.2+build.7", []string{fix}, "1.4.2+build.7", "1.4.3", conventional.BumpPatch},

		{"pre-1.0 fix", "0.3.4", []string{fix}, "0.3.4", "0.3.5", conventional.BumpPatch},
		{"pre-1.0 feat", "0.3.4", []string{feat}, "0.3.4", "0.4.0", conventional.BumpMinor},
		{"pre-1.0 breaking", "0.3.4", []string{breaking}, "0.3.4", "0.4.0", conventional.BumpMinor},
		{"pre-1.0 breaking footer", "v0.9.0", []string{footer}, "0.9.0", "0.10.0", conventional.BumpMinor},

		{"empty fix", "", []string{fix}, "0.0.0", "0.0.1", conventional.BumpPatch},
		{"0.0.0 feat", "0.0.0", []string{feat}, "0.0.0", "0.1.0", conventional.BumpMinor},
		{"0.0.0 breaking", "v0.0.0", []string{breaking}, "0.0.0", "0.1.0", conventional.BumpMinor},
		{"0.0.0 prerelease is like 0.0.0", "0.0.0-alpha", []string{fix}, "0.0.0-alpha", "0.0.1", conventional.BumpPatch},

		{"rc fix releases it", "1.2.0-rc.1", []string{fix}, "1.2.0-rc.1", "1.2.0", conventional.BumpPatch},
		{"rc feat releases it", "1.2.0-rc.1", []string{feat}, "1.2.0-rc.1", "1.2.0", conventional.BumpMinor},
		{"rc breaking goes to the next major", "1.2.0-rc.1", []string{breaking}, "1.2.0-rc.1", "2.0.0", conventional.BumpMajor},
		{"major rc breaking releases it", "2.0.0-rc.1", []string{breaking}, "2.0.0-rc.1", "2.0.0", conventional.BumpMajor},
		{"patch prerelease fix releases it", "1.2.3-beta", []string{fix}, "1.2.3-beta", "1.2.3", conventional.BumpPatch},
		{"patch prerelease feat goes to the next minor", "1.2.3-beta", []string{feat}, "1.2.3-beta", "1.3.0", conventional.BumpMinor},
		{"pre-1.0 rc breaking releases it", "0.4.0-rc.2", []string{breaking}, "0.4.0-rc.2", "0.4.0", conventional.BumpMinor},
		{"prerelease without release commits", "1.2.0-rc.1", []string{chore}, "1.2.0-rc.1", "", conventional.BumpNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var commits []conventional.Commit
			for _, m := range tt.msgs {
				commits = append(commits, conventional.Parse(m))
			}
			got, err := conventional.Suggest(tt.current, commits)
			if err != nil {
				t.Fatalf("Suggest(%q) error: %v", tt.current, err)
			}
			type result struct {
				Current, Next, Type string
				Bump                conventional.Bump
			}
			wantType := tt.wantBump.String()
			if tt.wantBump == conventional.BumpNone {
				wantType = ""
			}
			want := result{tt.wantCur, tt.wantNext, wantType, tt.wantBump}
			if diff := cmp.Diff(want, result{got.Current, got.Next, got.Type, got.Bump}); diff != "" {
				t.Errorf("Suggest(%q, %q) mismatch (-want +got):\n%s", tt.current, tt.msgs, diff)
			}
		})
	}
}

func TestSuggestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		current string
		msg     string
	}{
		{"one number", "1", "fix: x"},
		{"two numbers", "1.2", "fix: x"},
		{"four numbers", "1.2.3.4", "fix: x"},
		{"leading zero", "01.2.3", "fix: x"},
		{"leading zero in prerelease number", "1.2.3-01", "fix: x"},
		{"empty prerelease", "1.2.3-", "fix: x"},
		{"empty build", "1.2.3+", "fix: x"},
		{"capital V", "V1.2.3", "fix: x"},
		{"two vs", "vv1.2.3", "fix: x"},
		{"just v", "v", "fix: x"},
		{"word", "latest", "fix: x"},
		{"inner space", "1.2. 3", "fix: x"},
		{"negative", "-1.2.3", "fix: x"},
		{"too large", "18446744073709551616.0.0", "fix: x"},
		{"invalid even without commits", "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var commits []conventional.Commit
			if tt.msg != "" {
				commits = append(commits, conventional.Parse(tt.msg))
			}
			got, err := conventional.Suggest(tt.current, commits)
			if err == nil {
				t.Fatalf("Suggest(%q) = %+v, want an error", tt.current, got)
			}
			if want := `"` + tt.current + `"`; !strings.Contains(err.Error(), want) {
				t.Errorf("Suggest(%q) error %q does not name the input %s", tt.current, err, want)
			}
		})
	}

	t.Run("overflow", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ current, msg string }{
			{"18446744073709551615.0.0", "feat!: x"},
			{"1.18446744073709551615.0", "feat: x"},
			{"1.0.18446744073709551615", "fix: x"},
		} {
			if got, err := conventional.Suggest(tc.current, []conventional.Commit{conventional.Parse(tc.msg)}); err == nil {
				t.Errorf("Suggest(%q, %q) = %+v, want an overflow error", tc.current, tc.msg, got)
			}
		}
	})
}

func TestBumpString(t *testing.T) {
	t.Parallel()
	got := []string{
		conventional.BumpNone.String(), conventional.BumpPatch.String(),
		conventional.BumpMinor.String(), conventional.BumpMajor.String(), conventional.Bump(9).String(),
	}
	want := []string{"none", "patch", "minor", "major", "Bump(9)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Bump.String mismatch (-want +got):\n%s", diff)
	}
}
