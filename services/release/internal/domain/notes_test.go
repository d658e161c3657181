package domain_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// notesRelease is 2.2.0 with one change of each kind (given out of section
// order), created on March 2, planned for March 4, live in production March 5.
func notesRelease(t *testing.T, extra ...[]ev) *domain.Release {
	t.Helper()
	k := func(kind releasev1.ChangeKind, id, summary, link, author string) *releasev1.Change {
		return &releasev1.Change{Id: id, Kind: kind, Summary: summary, Link: link, Author: author}
	}
	given := slices.Concat(
		byAt("alice", t0, &releasev1.ReleaseCreated{
			ReleaseId: relID, Product: product, Version: "2.2.0", Type: minor,
			Title: "Faster sends", Description: "Batch the SMTP handshake.\n\n",
			Changes: []*releasev1.Change{
				k(releasev1.ChangeKind_CHANGE_KIND_SECURITY, "c1", "Pin TLS 1.3", "https://git/pr/5", "sam"),
				k(releasev1.ChangeKind_CHANGE_KIND_FEATURE, "c2", "Batch sends", "https://git/pr/1", "alice"),
				k(releasev1.ChangeKind_CHANGE_KIND_MIGRATION, "c3", "Run migrate 0042 before deploying", "", ""),
				k(releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, "c4", "Retry on 421", "", "bob"),
				k(releasev1.ChangeKind_CHANGE_KIND_IMPROVEMENT, "c5", "Pool SMTP connections", "https://git/pr/3", ""),
				k(releasev1.ChangeKind_CHANGE_KIND_BREAKING, "c6", "Drop the v1 send API", "https://git/pr/6", "alice"),
			},
			TargetEnvironments: []string{"development", "staging", "production"},
			Schedule:           &releasev1.Schedule{WindowStart: timestamppb.New(t0.Add(48 * time.Hour))},
		}),
	)
	for _, e := range extra {
		given = append(given, e...)
	}
	return releaseFrom(t, given)
}

// liveInProduction: development, staging and production deployed; production on March 5, 14:30 UTC.
func liveInProduction() []ev {
	return slices.Concat(
		deployedTo("development"), deployedTo("staging"), promoted("production", "dave", 1),
		byAt("system:floe", time.Date(2026, time.March, 5, 14, 30, 0, 0, time.UTC), &releasev1.ReleaseDeployed{Environment: "production", DeploymentId: "d9"}),
	)
}

const goldenNotes = `# Release 2.2.0 - floe (March 5, 2026)

**Faster sends**

Batch the SMTP handshake.

## ⚠️ Breaking Changes
- Drop the v1 send API ([link](https://git/pr/6)) — alice

## ✨ New Features
- Batch sends ([link](https://git/pr/1)) — alice

## 🐛 Bug Fixes
- Retry on 421 — bob

## 🔧 Technical Improvements
- Pool SMTP connections ([link](https://git/pr/3))

## 📦 Migration Notes
- Run migrate 0042 before deploying

## 🔒 Security Updates
- Pin TLS 1.3 ([link](https://git/pr/5)) — sam
`

func TestReleaseNotesMarkdownGolden(t *testing.T) {
	t.Parallel()
	got := domain.ReleaseNotes(notesRelease(t, liveInProduction())).Markdown()
	if got != goldenNotes {
		t.Errorf("markdown mismatch (-want +got):\n%s", cmp.Diff(goldenNotes, got))
	}
}

func TestReleaseNotesAreDeterministic(t *testing.T) {
	t.Parallel()
	a, b := domain.ReleaseNotes(notesRelease(t, liveInProduction())), domain.ReleaseNotes(notesRelease(t, liveInProduction()))
	if a.Markdown() != b.Markdown() || a.JSON() != b.JSON() {
		t.Error("two renders of the same release differ")
	}
	// Rendering the same state again gives the same text too.
	r := notesRelease(t, liveInProduction())
	first := domain.ReleaseNotes(r).Markdown()
	if second := domain.ReleaseNotes(r).Markdown(); first != second || first != goldenNotes {
		t.Errorf("re-rendering the same release differs:\n%s", cmp.Diff(first, second))
	}
}

func TestReleaseNotesSections(t *testing.T) {
	t.Parallel()
	n := domain.ReleaseNotes(notesRelease(t, liveInProduction()))
	var kinds []string
	for _, s := range n.Sections {
		kinds = append(kinds, s.Kind)
	}
	if diff := cmp.Diff([]string{"breaking", "feature", "bug_fix", "improvement", "migration", "security"}, kinds); diff != "" {
		t.Errorf("section order mismatch (-want +got):\n%s", diff)
	}

	// Empty sections are left out; items keep the release's order.
	r := releaseFrom(t, planned220(),
		by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2", Kind: releasev1.ChangeKind_CHANGE_KIND_SECURITY, Summary: "Rotate keys"}}),
		by("alice", &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c3", Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: "Templates"}}),
	)
	want := []domain.NoteSection{
		{Title: "✨ New Features", Kind: "feature", Items: []domain.NoteItem{{Summary: "Batch sends"}, {Summary: "Templates"}}},
		{Title: "🔒 Security Updates", Kind: "security", Items: []domain.NoteItem{{Summary: "Rotate keys"}}},
	}
	if diff := cmp.Diff(want, domain.ReleaseNotes(r).Sections); diff != "" {
		t.Errorf("sections mismatch (-want +got):\n%s", diff)
	}
}

func TestReleaseNotesWithoutChanges(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, byAt("alice", t0, &releasev1.ReleaseCreated{
		ReleaseId: relID, Product: product, Version: "2.1.5", Type: patch, Title: "Nothing yet",
		TargetEnvironments: []string{"development"},
	}))
	want := "# Release 2.1.5 - floe (March 2, 2026)\n\n**Nothing yet**\n\nNo changes recorded.\n"
	if got := domain.ReleaseNotes(r).Markdown(); got != want {
		t.Errorf("markdown mismatch (-want +got):\n%s", cmp.Diff(want, got))
	}
}

func TestReleaseNotesDate(t *testing.T) {
	t.Parallel()
	window := &releasev1.Schedule{WindowStart: timestamppb.New(time.Date(2026, time.April, 1, 8, 0, 0, 0, time.UTC))}
	createdWith := func(at time.Time, s *releasev1.Schedule) []ev {
		return byAt("alice", at, &releasev1.ReleaseCreated{
			ReleaseId: relID, Product: product, Version: "2.2.0", Type: minor, Title: "T", Schedule: s,
			TargetEnvironments: []string{"development", "staging", "production"},
		})
	}
	prodLive := time.Date(2026, time.April, 3, 23, 59, 0, 0, time.UTC)
	newYork := time.FixedZone("EST", -5*60*60)
	tests := []struct {
		name  string
		given []ev
		want  string
	}{
		{name: "created", given: createdWith(t0, nil), want: "March 2, 2026"},
		{name: "created, in UTC", given: createdWith(time.Date(2026, time.March, 2, 22, 0, 0, 0, newYork), nil), want: "March 3, 2026"},
		{name: "window start over created", given: createdWith(t0, window), want: "April 1, 2026"},
		{name: "window end alone is no start", given: createdWith(t0, &releasev1.Schedule{WindowEnd: timestamppb.New(prodLive)}), want: "March 2, 2026"},
		{name: "staging deploy does not count", given: slices.Concat(createdWith(t0, window), deployedTo("development"), deployedTo("staging")), want: "April 1, 2026"},
		{
			name: "production deploy over window start",
			given: slices.Concat(createdWith(t0, window), deployedTo("development"), deployedTo("staging"), promoted("production", "dave", 1),
				byAt("system:floe", prodLive, &releasev1.ReleaseDeployed{Environment: "production"})),
			want: "April 3, 2026",
		},
		{
			name: "production deploy without a window",
			given: slices.Concat(createdWith(t0, nil), deployedTo("development"), deployedTo("staging"), promoted("production", "dave", 1),
				byAt("system:floe", prodLive, &releasev1.ReleaseDeployed{Environment: "production"})),
			want: "April 3, 2026",
		},
		{
			name: "production rolled back: back to the window",
			given: slices.Concat(createdWith(t0, window), deployedTo("development"), deployedTo("staging"), promoted("production", "dave", 1),
				byAt("system:floe", prodLive, &releasev1.ReleaseDeployed{Environment: "production"}),
				byAt("system:floe", prodLive.Add(time.Hour), &releasev1.ReleaseRolledBack{Environment: "production"})),
			want: "April 1, 2026",
		},
		{
			name:  "production deploying: not yet",
			given: slices.Concat(createdWith(t0, window), deployedTo("development"), deployedTo("staging"), promoted("production", "dave", 1)),
			want:  "April 1, 2026",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.ReleaseNotes(releaseFrom(t, tt.given)).Date; got != tt.want {
				t.Errorf("Date = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReleaseNotesJSON(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t, byAt("alice", t0, &releasev1.ReleaseCreated{
		ReleaseId: relID, Product: product, Version: "2.1.5", Type: patch, Title: "Fix",
		Changes: []*releasev1.Change{
			{Id: "c1", Kind: releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, Summary: "Retry on 421", Link: "https://git/pr/2"},
		},
		TargetEnvironments: []string{"development"},
	}))
	want := `{
  "product": "floe",
  "version": "2.1.5",
  "date": "March 2, 2026",
  "title": "Fix",
  "sections": [
    {
      "title": "🐛 Bug Fixes",
      "kind": "bug_fix",
      "items": [
        {
          "summary": "Retry on 421",
          "link": "https://git/pr/2"
        }
      ]
    }
  ]
}`
	got := domain.ReleaseNotes(r).JSON()
	if got != want {
		t.Errorf("JSON mismatch (-want +got):\n%s", cmp.Diff(want, got))
	}
	var back domain.Notes
	if err := json.Unmarshal([]byte(got), &back); err != nil {
		t.Fatalf("notes JSON does not parse: %v", err)
	}
	if diff := cmp.Diff(domain.ReleaseNotes(r), back); diff != "" {
		t.Errorf("JSON round trip mismatch (-want +got):\n%s", diff)
	}
}
