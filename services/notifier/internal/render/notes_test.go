package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// releaseNotes is a notification of n releases live in production, each
// with notes as its description and notes annotations (as the episode
// mapping sets them).
func releaseNotes(notes string, n int) routing.Notification {
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	out := routing.Notification{ID: "n", GroupKey: "g", Receiver: "stakeholders", Reason: routing.ReasonNotice, At: at}
	for i := range n {
		key := fmt.Sprintf("releasenotes/rel-%02d/production", i)
		out.Episodes = append(out.Episodes, routing.EpisodeStatus{
			Key: key, Status: routing.StatusNotice, Changed: true, Since: at,
			Event: routing.Event{
				Type: "floe.release.v1.ReleaseDeployed", Environment: "production", Product: "penguinmails", Severity: routing.SeverityInfo,
				EpisodeKey: key, Time: at, Notice: true, Labels: map[string]string{"release_id": fmt.Sprintf("rel-%02d", i), "version": "2.4.0"},
				Annotations: map[string]string{"summary": "penguinmails 2.4.0 is live in production: Bounce handling", "description": notes, "notes": notes},
			},
		})
	}
	return out
}

// TestReleaseNotesInEmail: the email shows the notes once, whole, with
// their line breaks: as written in the text, escaped in a <pre> in the HTML.
func TestReleaseNotesInEmail(t *testing.T) {
	t.Parallel()
	m, warnings, err := Render(routing.KindEmail, releaseNotes(sampleNotes, 1), nil, Options{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Render = %q, %v", warnings, err)
	}
	checkMessage(t, routing.KindEmail, m)
	if n := strings.Count(m.Text, sampleNotes); n != 1 {
		t.Errorf("the text holds the notes %d times, want once, whole:\n%s", n, m.Text)
	}
	escaped := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(sampleNotes)
	if n := strings.Count(m.HTML, ">"+escaped+"</pre>"); n != 1 {
		t.Errorf("the HTML holds the escaped notes in a <pre> %d times, want once:\n%s", n, m.HTML)
	}
	if strings.Contains(m.HTML, "<List-Unsubscribe>") || strings.Contains(m.HTML, "white-space:pre-wrap\">"+escaped[:20]) {
		t.Errorf("the HTML holds the notes unescaped, or as the description too:\n%s", m.HTML)
	}
	// An episode without notes shows its description, right after when it happened.
	plain := releaseNotes(sampleNotes, 1)
	delete(plain.Episodes[0].Event.Annotations, "notes")
	m, _, _ = Render(routing.KindEmail, plain, nil, Options{})
	if !strings.Contains(m.Text, "UTC\n"+sampleNotes+"\nrelease_id=") {
		t.Errorf("without notes the text shows the description where it always did:\n%s", m.Text)
	}
}

// TestReleaseNotesWithinLimits: long notes, hostile notes and many of
// them stay within Slack's limits and the email's 64 KiB; in Slack the
// notes take at most slackMaxNotes sections of their own.
func TestReleaseNotesWithinLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("## Heading & <!channel>\n- an item with <https://evil|a link> and é\n", 400) // over MaxValueBytes
	tests := []struct {
		name  string
		notes string
		n     int
		// sections is the number of Slack sections of notes after the first episode's.
		sections int
	}{
		{name: "one release", notes: sampleNotes, n: 1, sections: 1},
		{name: "long notes", notes: long, n: 1, sections: slackMaxNotes},
		{name: "twenty releases", notes: long, n: 20, sections: slackMaxNotes},
		{name: "thirty releases", notes: long, n: 30, sections: slackMaxNotes}, // the later ones get fewer: 50 blocks in all
	}
	for _, v := range hostileValues {
		tests = append(tests, struct {
			name     string
			notes    string
			n        int
			sections int
		}{name: "hostile " + truncateBytes(v, 20), notes: v, n: 2, sections: -1})
	}
	for _, tt := range tests {
		for _, kind := range kinds {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				m, warnings, err := Render(kind, releaseNotes(tt.notes, tt.n), nil, Options{ExternalURL: "https://floe.example.com"})
				if err != nil || len(warnings) > 0 {
					t.Fatalf("Render = %q, %v", warnings, err)
				}
				checkMessage(t, kind, m)
				if kind != routing.KindSlack || tt.sections < 0 {
					return
				}
				// The sections after the first episode's, up to the next episode's.
				var first []string
				secs := textsOf(decodeBlocks(t, m.Blocks), "section")
				for i, s := range secs {
					if strings.HasPrefix(s, "*[NOTICE]") {
						for _, next := range secs[i+1:] {
							if strings.HasPrefix(next, "*[NOTICE]") {
								break
							}
							first = append(first, next)
						}
						break
					}
				}
				if len(first) != tt.sections {
					t.Errorf("%d sections of notes after the first episode, want %d", len(first), tt.sections)
				}
				if tt.sections == slackMaxNotes && len(first) > 0 && !strings.HasSuffix(first[len(first)-1], ellipsis) {
					t.Errorf("the last section of cut notes does not end with %q", ellipsis)
				}
			})
		}
	}
}

func TestSlackNotes(t *testing.T) {
	t.Parallel()
	in := "# Release 2.4.0 - pm (May 4, 2026)\n\n**Bounce & <b>**\n\n## ✨ New Features\n- Parse <!channel> ([link](https://x.example))\n  - nested\n#hashtag\n** **\n****"
	want := "*Release 2.4.0 - pm (May 4, 2026)*\n\n*Bounce &amp; &lt;b&gt;*\n\n*✨ New Features*\n• Parse &lt;!channel&gt; ([link](https://x.example))\n  - nested\n#hashtag\n** **\n****"
	if diff := cmp.Diff(want, slackNotes(in)); diff != "" {
		t.Errorf("slackNotes (-want +got):\n%s", diff)
	}
}
