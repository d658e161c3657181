package render

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Slack's Block Kit limits, counted in bytes: never fewer than Slack's
// characters, so a message within them in bytes is within them for Slack,
// which refuses a message over any of them (invalid_blocks) and would lose it.
const (
	slackMaxBlocks  = 50
	slackMaxHeader  = 150
	slackMaxSection = 3000
	slackMaxField   = 2000
	slackMaxFields  = 10
	slackMaxButton  = 75
)

// slackText is a Block Kit text object. mrkdwn objects are verbatim, so
// Slack does not turn a value's bare URL, #channel or @mention into a
// link or a notification; only markup written here (escaped values
// cannot hold any) is parsed.
type slackText struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Emoji    *bool  `json:"emoji,omitempty"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

// slackButton is a link button.
type slackButton struct {
	Type     string    `json:"type"`
	Text     slackText `json:"text"`
	URL      string    `json:"url"`
	ActionID string    `json:"action_id"`
}

type slackBlock struct {
	Type      string       `json:"type"`
	Text      *slackText   `json:"text,omitempty"`
	Fields    []slackText  `json:"fields,omitempty"`
	Accessory *slackButton `json:"accessory,omitempty"`
	Elements  any          `json:"elements,omitempty"`
}

var noEmoji = false

func plainText(s string, limit int) slackText {
	return slackText{Type: "plain_text", Text: truncateBytes(s, limit), Emoji: &noEmoji}
}

func mrkdwn(escaped string, limit int) slackText {
	return slackText{Type: "mrkdwn", Text: truncateEscaped(escaped, limit), Verbatim: true}
}

func button(label, url, actionID string) *slackButton {
	return &slackButton{Type: "button", Text: plainText(label, slackMaxButton), URL: url, ActionID: actionID}
}

// slackEscaper escapes the characters Slack treats as control characters in
// mrkdwn (&, <, >), so that a value cannot mention (<!channel>, <@U123>) or
// link (<https://evil|click>).
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func esc(s string) string { return slackEscaper.Replace(s) }

// slackBlocks builds the Block Kit blocks with encoding/json: a header with
// the subject; then, with the user's own text, that text (escaped) in
// sections; otherwise a section of fields (severity, status, environment,
// product, reason), a section per episode (at most defaultEpisodes, each
// with its Details button, followed by its release notes in up to
// slackMaxNotes sections), the number left out and an Open Floe button;
// and a context line. Every text is cut to Slack's limits, and the blocks
// never number more than slackMaxBlocks.
func slackBlocks(d *Data, subject, text string, userText bool, loc *time.Location) []byte {
	var bs []slackBlock
	if s := strings.TrimSpace(subject); s != "" {
		bs = append(bs, slackBlock{Type: "header", Text: ptr(plainText(s, slackMaxHeader))})
	}
	footer := slackBlock{Type: "context", Elements: []slackText{
		mrkdwn(esc("Floe · "+d.Reason+" · "+formatTime(d.Time, loc)), slackMaxSection),
	}}
	if userText {
		for _, chunk := range chunks(esc(text), slackMaxSection, slackMaxBlocks-len(bs)-1) {
			bs = append(bs, slackBlock{Type: "section", Text: ptr(mrkdwn(chunk, slackMaxSection))})
		}
		return marshalBlocks(append(bs, footer))
	}

	fields := []slackText{
		mrkdwn("*Severity*\n"+esc(strings.ToUpper(d.Severity)), slackMaxField),
		mrkdwn("*Status*\n"+statusLine(d), slackMaxField),
	}
	if v := d.CommonLabels["environment"]; v != "" {
		fields = append(fields, mrkdwn("*Environment*\n"+esc(v), slackMaxField))
	}
	if v := d.CommonLabels["product"]; v != "" {
		fields = append(fields, mrkdwn("*Product*\n"+esc(v), slackMaxField))
	}
	fields = append(fields, mrkdwn("*Notification*\n"+esc(d.Reason), slackMaxField))
	bs = append(bs, slackBlock{Type: "section", Fields: fields[:min(len(fields), slackMaxFields)]})

	shown, more := d.Episodes.First(defaultEpisodes), d.Episodes.More(defaultEpisodes)
	after := 1 // the blocks after the episodes: the footer, the number left out, Open Floe
	if more > 0 {
		after++
	}
	if d.ExternalURL != "" {
		after++
	}
	for i, e := range shown {
		// Release notes follow their episode in sections of their own, as
		// many as the blocks left after every episode's section allow.
		var notes []string
		if v := e.Annotations["notes"]; v != "" {
			room := slackMaxBlocks - len(bs) - (len(shown) - i) - after
			notes = chunks(slackNotes(v), slackMaxSection, min(slackMaxNotes, room))
		}
		b := slackBlock{Type: "section", Text: ptr(mrkdwn(episodeMrkdwn(e, d.Time, loc, len(notes) == 0), slackMaxSection))}
		if e.URL != "" {
			b.Accessory = button("Details", e.URL, "floe_episode_"+strconv.Itoa(i))
		}
		bs = append(bs, b)
		for _, c := range notes {
			bs = append(bs, slackBlock{Type: "section", Text: ptr(mrkdwn(c, slackMaxSection))})
		}
	}
	if more > 0 {
		bs = append(bs, slackBlock{Type: "context", Elements: []slackText{
			mrkdwn("… and "+strconv.Itoa(more)+" more", slackMaxSection),
		}})
	}
	if d.ExternalURL != "" {
		bs = append(bs, slackBlock{Type: "actions", Elements: []*slackButton{button("Open Floe", d.ExternalURL, "floe_open")}})
	}
	return marshalBlocks(append(bs, footer))
}

func ptr[T any](v T) *T { return &v }

// statusLine counts the episodes by marker: "Firing: 2 · Failed: 1 ·
// Resolved: 1 · Notice: 1" (Firing: those that go on, Failed: the final ones).
func statusLine(d *Data) string {
	var parts []string
	failed := len(d.Episodes.Failed())
	for _, c := range []struct {
		name string
		n    int
	}{
		{"Firing", len(d.Episodes.Firing()) - failed},
		{"Failed", failed},
		{"Resolved", len(d.Episodes.Resolved())},
		{"Notice", len(d.Episodes.Notices())},
	} {
		if c.n > 0 {
			parts = append(parts, c.name+": "+strconv.Itoa(c.n))
		}
	}
	if len(parts) == 0 {
		return "Resolved"
	}
	return strings.Join(parts, " · ")
}

// episodeMrkdwn is an episode's section: marker and title in bold, where
// and since when (or how long it lasted, or when it happened), the
// description (unless description is false: release notes follow in
// sections of their own), the reason and the other labels.
func episodeMrkdwn(e Episode, now time.Time, loc *time.Location, description bool) string {
	var b strings.Builder
	b.WriteString("*[" + esc(e.Marker) + "] " + esc(e.Title) + "*\n")
	meta := []string{e.Severity}
	for _, v := range []string{e.Environment, e.Product} {
		if v != "" {
			meta = append(meta, v)
		}
	}
	switch {
	case e.Status == routing.StatusResolved:
		meta = append(meta, "lasted "+since(e.Time, e.Since), "resolved "+formatTime(e.Time, loc))
	case e.Final:
		meta = append(meta, "lasted "+since(e.Time, e.Since), "ended "+formatTime(e.Time, loc))
	case e.Status == routing.StatusNotice:
		meta = append(meta, "at "+formatTime(e.Time, loc))
	default:
		meta = append(meta, "since "+since(now, e.Since))
	}
	b.WriteString(esc(strings.Join(meta, " · ")))
	if v := e.Annotations["description"]; v != "" && description {
		b.WriteString("\n" + esc(truncateRunes(v, 1000)))
	}
	if v := e.Annotations["reason"]; v != "" {
		b.WriteString("\n*Reason:* " + esc(truncateRunes(v, 500)))
	}
	if pairs := e.Labels.Extra().SortedPairs(); len(pairs) > 0 {
		parts := make([]string, len(pairs))
		for i, p := range pairs {
			parts[i] = p.Name + "=" + truncateRunes(p.Value, 200)
		}
		b.WriteString("\n" + esc(strings.Join(parts, " · ")))
	}
	return b.String()
}

// slackMaxNotes is the most sections an episode's release notes take:
// 12,000 bytes, the length of a long release's notes, leaving room for 20
// episodes within slackMaxBlocks.
const slackMaxNotes = 4

// slackNotes is Markdown release notes as escaped mrkdwn, line by line: a
// heading ("## Bug fixes") or a line in bold ("**Title**") becomes a line
// in mrkdwn's bold, a "- " item a "• " one; everything else is shown as
// written. Links stay text: nothing here makes one.
func slackNotes(md string) string {
	lines := strings.Split(md, "\n")
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "#"):
			if h := strings.TrimSpace(strings.TrimLeft(t, "#")); h != "" && strings.HasPrefix(strings.TrimLeft(t, "#"), " ") {
				lines[i] = "*" + esc(h) + "*"
				continue
			}
		case len(t) > 4 && strings.HasPrefix(t, "**") && strings.HasSuffix(t, "**"):
			if b := strings.TrimSpace(t[2 : len(t)-2]); b != "" {
				lines[i] = "*" + esc(b) + "*"
				continue
			}
		case strings.HasPrefix(line, "- "):
			lines[i] = "• " + esc(line[2:])
			continue
		}
		lines[i] = esc(line)
	}
	return strings.Join(lines, "\n")
}

func formatTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

func marshalBlocks(bs []slackBlock) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Slack reads JSON, not HTML; keeps the escaped mrkdwn readable
	if err := enc.Encode(bs); err != nil {
		// Unreachable: the blocks are strings, bools and nested structs.
		panic("render: marshal Slack blocks: " + err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// truncateEscaped cuts escaped mrkdwn to at most limit bytes on a rune
// boundary, not inside an entity (&amp; &lt; &gt;), ending with "…" when it cut.
func truncateEscaped(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:cutPoint(s, limit-len(ellipsis))] + ellipsis
}

// cutPoint is the largest index ≤ limit that is a rune boundary and not
// inside an entity.
func cutPoint(s string, limit int) int {
	i := max(limit, 0)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if amp := strings.LastIndexByte(s[:i], '&'); amp >= 0 && i-amp < len("&amp;") && !strings.Contains(s[amp:i], ";") {
		i = amp
	}
	return i
}

// chunks splits escaped mrkdwn into at most n pieces of at most limit
// (which must exceed len("&amp;…")) bytes, preferring to break after a newline; the last piece ends with "…"
// when the text does not fit. Blank pieces are left out.
func chunks(s string, limit, n int) []string {
	var out []string
	for s != "" && len(out) < n {
		if len(out) == n-1 || len(s) <= limit {
			out = append(out, truncateEscaped(s, limit))
			break
		}
		cut := cutPoint(s, limit)
		if nl := strings.LastIndexByte(s[:cut], '\n'); nl > limit/2 {
			cut = nl + 1
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	var kept []string
	for _, c := range out {
		if strings.TrimSpace(c) != "" {
			kept = append(kept, c)
		}
	}
	return kept
}
