package domain

import (
	"encoding/json"
	"fmt"
	"strings"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// NoteSection is one heading of the release notes.
type NoteSection struct {
	Title string     `json:"title"`
	Kind  string     `json:"kind"`
	Items []NoteItem `json:"items"`
}

// NoteItem is one change in the notes.
type NoteItem struct {
	Summary string `json:"summary"`
	Link    string `json:"link,omitempty"`
	Author  string `json:"author,omitempty"`
}

// Notes are a release's notes.
type Notes struct {
	Product     string        `json:"product"`
	Version     string        `json:"version"`
	Date        string        `json:"date"`
	Title       string        `json:"title"`
	Description string        `json:"description,omitempty"`
	Sections    []NoteSection `json:"sections"`
}

// noteOrder is the section order, after the guide's example (features, bug
// fixes, technical improvements, migration notes, security updates), with
// breaking changes first because readers must see them.
var noteOrder = []struct {
	kind  releasev1.ChangeKind
	name  string
	title string
}{
	{releasev1.ChangeKind_CHANGE_KIND_BREAKING, "breaking", "⚠️ Breaking Changes"},
	{releasev1.ChangeKind_CHANGE_KIND_FEATURE, "feature", "✨ New Features"},
	{releasev1.ChangeKind_CHANGE_KIND_BUG_FIX, "bug_fix", "🐛 Bug Fixes"},
	{releasev1.ChangeKind_CHANGE_KIND_IMPROVEMENT, "improvement", "🔧 Technical Improvements"},
	{releasev1.ChangeKind_CHANGE_KIND_MIGRATION, "migration", "📦 Migration Notes"},
	{releasev1.ChangeKind_CHANGE_KIND_SECURITY, "security", "🔒 Security Updates"},
}

// notesDateLayout is how the notes write their date ("March 5, 2026").
const notesDateLayout = "January 2, 2006"

// ReleaseNotes builds the notes. They depend only on the release's events, so
// the same release always gives the same notes: the date is when the release
// reached production, else the start of its planned window, else its creation.
func ReleaseNotes(r *Release) Notes {
	date := r.createdAt
	if s := r.schedule.GetWindowStart(); s != nil {
		date = s.AsTime()
	}
	if st, ok := r.envs["production"]; ok && st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
		date = st.UpdatedAt
	}
	n := Notes{Product: r.product, Version: r.version, Date: date.UTC().Format(notesDateLayout), Title: r.title, Description: r.description}
	for _, sec := range noteOrder {
		var items []NoteItem
		for _, c := range r.changes {
			if c.GetKind() == sec.kind {
				items = append(items, NoteItem{Summary: c.GetSummary(), Link: c.GetLink(), Author: c.GetAuthor()})
			}
		}
		if len(items) > 0 {
			n.Sections = append(n.Sections, NoteSection{Title: sec.title, Kind: sec.name, Items: items})
		}
	}
	return n
}

// Markdown renders the notes like the guide's example.
func (n Notes) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Release %s - %s (%s)\n", n.Version, n.Product, n.Date)
	if n.Title != "" {
		fmt.Fprintf(&b, "\n**%s**\n", n.Title)
	}
	if n.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(n.Description))
	}
	if len(n.Sections) == 0 {
		b.WriteString("\nNo changes recorded.\n")
	}
	for _, s := range n.Sections {
		fmt.Fprintf(&b, "\n## %s\n", s.Title)
		for _, it := range s.Items {
			line := "- " + it.Summary
			switch {
			case strings.HasPrefix(it.Link, "https://"), strings.HasPrefix(it.Link, "http://"):
				line += fmt.Sprintf(" ([link](%s))", it.Link)
			case it.Link != "":
				line += " (" + it.Link + ")" // a ticket key such as PM-123 or #45, not a URL
			}
			if it.Author != "" {
				line += " — " + it.Author
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// JSON renders the notes as JSON.
func (n Notes) JSON() string {
	out, _ := json.MarshalIndent(n, "", "  ") // plain structs of strings cannot fail
	return string(out)
}
