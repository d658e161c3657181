package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/channel/slack"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// block is a decoded Block Kit block.
type block = map[string]any

func decodeBlocks(t testing.TB, raw []byte) []block {
	t.Helper()
	var bs []block
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatalf("blocks are not a JSON array of objects: %v\n%s", err, raw)
	}
	return bs
}

// textsOf returns the text of each block of type typ that has one.
func textsOf(bs []block, typ string) []string {
	var out []string
	for _, b := range bs {
		if b["type"] != typ {
			continue
		}
		if txt, ok := b["text"].(map[string]any); ok {
			out = append(out, txt["text"].(string))
		}
	}
	return out
}

// textObject is a text object found in blocks, with the key that holds it.
type textObject struct {
	key, typ, text string
	verbatim       bool
}

// textObjects returns every text object in v, depth first.
func textObjects(v any, key string) []textObject {
	var out []textObject
	switch v := v.(type) {
	case map[string]any:
		if typ, ok := v["type"].(string); ok && (typ == "mrkdwn" || typ == "plain_text") {
			txt, _ := v["text"].(string)
			verbatim, _ := v["verbatim"].(bool)
			return []textObject{{key: key, typ: typ, text: txt, verbatim: verbatim}}
		}
		for k, x := range v {
			out = append(out, textObjects(x, k)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, textObjects(x, key)...)
		}
	}
	return out
}

// entity is what an & may start in escaped mrkdwn.
var entity = regexp.MustCompile(`&(amp|lt|gt);`)

// checkSlack checks blocks against Slack's limits and that no mrkdwn
// holds a control character that is not an escape.
func checkSlack(t testing.TB, m channel.Message) {
	t.Helper()
	if !json.Valid(m.Blocks) {
		t.Fatalf("blocks are not valid JSON:\n%s", m.Blocks)
	}
	bs := decodeBlocks(t, m.Blocks)
	if len(bs) == 0 || len(bs) > slackMaxBlocks {
		t.Errorf("%d blocks, want 1 to %d", len(bs), slackMaxBlocks)
	}
	for _, b := range bs {
		if fields, ok := b["fields"].([]any); ok && len(fields) > slackMaxFields {
			t.Errorf("%d fields, want at most %d", len(fields), slackMaxFields)
		}
		if b["type"] == "header" {
			if txt := b["text"].(map[string]any); txt["type"] != "plain_text" || len(txt["text"].(string)) > slackMaxHeader {
				t.Errorf("header %v is not plain text of at most %d bytes", txt, slackMaxHeader)
			}
		}
	}
	for _, o := range textObjects(any(toAny(bs)), "") {
		if o.text == "" || !utf8.ValidString(o.text) {
			t.Errorf("text object %+v is empty or not UTF-8", o)
		}
		limit := slackMaxSection
		switch {
		case o.key == "fields":
			limit = slackMaxField
		case o.typ == "plain_text" && o.key == "text" && len(o.text) <= slackMaxButton:
			limit = slackMaxHeader
		}
		if len(o.text) > limit {
			t.Errorf("%s text of %d bytes in %q, over %d", o.typ, len(o.text), o.key, limit)
		}
		if o.typ != "mrkdwn" {
			continue
		}
		if !o.verbatim {
			t.Errorf("mrkdwn %q is not verbatim", o.text)
		}
		if strings.ContainsAny(o.text, "<>") {
			t.Errorf("mrkdwn %q holds < or >: a value could mention or link", o.text)
		}
		if n := strings.Count(o.text, "&"); n != len(entity.FindAllString(o.text, -1)) {
			t.Errorf("mrkdwn %q holds an & that is not an escape", o.text)
		}
	}
	for _, b := range bs {
		for _, btn := range buttons(b) {
			if u, _ := btn["url"].(string); httpURL(u) != u || u == "" {
				t.Errorf("button URL %q is not an http(s) URL", u)
			}
		}
	}
}

func toAny(bs []block) []any {
	out := make([]any, len(bs))
	for i, b := range bs {
		out[i] = b
	}
	return out
}

func buttons(b block) []map[string]any {
	var out []map[string]any
	if acc, ok := b["accessory"].(map[string]any); ok {
		out = append(out, acc)
	}
	if els, ok := b["elements"].([]any); ok {
		for _, e := range els {
			if m, ok := e.(map[string]any); ok && m["type"] == "button" {
				out = append(out, m)
			}
		}
	}
	return out
}

// checkMessage checks what every kind's message must be, whatever the data.
func checkMessage(t testing.TB, kind string, m channel.Message) {
	t.Helper()
	for name, s := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", name, s)
		}
	}
	if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject %q is empty or not one line", m.Subject)
	}
	if len(m.Event) > 0 {
		t.Error("Event is set: the service sets it")
	}
	switch kind {
	case routing.KindSlack:
		checkSlack(t, m)
		// What the Slack channel posts: the blocks as given, the fallback escaped.
		if _, err := slack.Blocks(m); err != nil {
			t.Errorf("the Slack channel refuses the blocks: %v", err)
		}
		if fb := slack.FallbackText(m); strings.ContainsAny(fb, "<>") {
			t.Errorf("fallback text %q holds < or >", fb)
		}
	case routing.KindEmail:
		if m.HTML == "" {
			t.Error("email without HTML")
		}
		if strings.Contains(strings.ToLower(m.HTML), "<script") {
			t.Errorf("HTML holds <script:\n%s", m.HTML)
		}
		if len(m.HTML) > MaxOutputBytes || len(m.Text) > MaxOutputBytes {
			t.Errorf("email bodies of %d and %d bytes, over %d", len(m.Text), len(m.HTML), MaxOutputBytes)
		}
	case routing.KindSMS:
		if n := utf8.RuneCountInString(m.Subject); n > MaxSMSRunes || m.Text != "" {
			t.Errorf("SMS of %d runes (max %d) with text %q", n, MaxSMSRunes, m.Text)
		}
	}
	if kind != routing.KindSMS && utf8.RuneCountInString(m.Subject) > MaxSubjectRunes {
		t.Errorf("subject of %d runes, over %d", utf8.RuneCountInString(m.Subject), MaxSubjectRunes)
	}
}

// hostile returns a notification whose every value an attacker could
// choose (a release title, a reason, labels from an alert) is v.
func hostile(v string) routing.Notification {
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	return routing.Notification{
		ID: "n1", GroupKey: "g", Generation: "1", Receiver: v, Reason: routing.ReasonFiring, At: at,
		GroupLabels: map[string]string{v: v},
		Episodes: []routing.EpisodeStatus{{
			Key: v, Status: routing.StatusFiring, Since: at.Add(-time.Minute),
			Event: routing.Event{
				Type: "floe.release.v1." + v, Environment: v, Product: v, Severity: routing.SeverityCritical,
				EpisodeKey: v, Time: at,
				Labels:      map[string]string{v: v, "version": v},
				Annotations: map[string]string{"summary": v, "description": v, "reason": v, "url": v, v: v},
			},
		}},
	}
}

var hostileValues = []string{
	"<!channel>",
	"<!here|here> <@U012AB3CD> <#C123|general>",
	"<https://evil.example|click here>",
	"</td><script>alert(1)</script>",
	`"><img src=x onerror=alert(1)>`,
	"javascript:alert(1)",
	"&lt;!channel&gt; &amp",
	"*bold* _it_ ~s~ `code` ```block```",
	"line one\r\nline two\rthree\x00\x1b[31mred\x7f\u0085",
	"bad \xff\xfe utf-8 \xc3",
	"{{ .Title }} {{ template \"x\" }}",
	strings.Repeat("<!channel>", 5000),
	strings.Repeat("é&", 40000),
	strings.Repeat("🚨", 30000),
}

func TestHostileValues(t *testing.T) {
	t.Parallel()
	for i, v := range hostileValues {
		for _, kind := range kinds {
			t.Run(fmt.Sprintf("%s/%d", kind, i), func(t *testing.T) {
				t.Parallel()
				m, warnings, err := Render(kind, hostile(v), nil, Options{ExternalURL: "https://floe.example.com"})
				if err != nil || len(warnings) > 0 {
					t.Fatalf("Render = %q, %v", warnings, err)
				}
				checkMessage(t, kind, m)
			})
		}
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	n := hostile("<!channel> & <https://evil|click> </td><script>")
	slackMsg, _, _ := Render(routing.KindSlack, n, nil, Options{})
	var all strings.Builder
	for _, o := range textObjects(toAny(decodeBlocks(t, slackMsg.Blocks)), "") {
		if o.typ == "mrkdwn" {
			all.WriteString(o.text + "\n")
		}
	}
	if want := "&lt;!channel&gt; &amp; &lt;https://evil|click&gt; &lt;/td&gt;&lt;script&gt;"; !strings.Contains(all.String(), want) {
		t.Errorf("mrkdwn does not hold the escaped value %q:\n%s", want, all.String())
	}
	// The header is plain_text, which Slack does not parse: the value as given.
	if h := textsOf(decodeBlocks(t, slackMsg.Blocks), "header"); len(h) != 1 || !strings.Contains(h[0], "<!channel> & <https://evil|click>") {
		t.Errorf("header = %q", h)
	}

	email, _, _ := Render(routing.KindEmail, n, nil, Options{})
	if want := "&lt;!channel&gt; &amp; &lt;https://evil|click&gt; &lt;/td&gt;&lt;script&gt;"; !strings.Contains(email.HTML, want) {
		t.Errorf("HTML does not hold the escaped value %q:\n%s", want, email.HTML)
	}
	// An annotation url that is not http(s) is no link at all.
	for _, v := range []string{"javascript:alert(1)", "data:text/html,x", "//evil.example", "https://user:pw@evil.example", "http://"} {
		e, _, _ := Render(routing.KindEmail, hostile(v), nil, Options{ExternalURL: v})
		if strings.Contains(e.HTML, "href=") {
			t.Errorf("url %q made a link:\n%s", v, e.HTML)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	long := strings.Repeat("&<x>é", 3000) // over MaxValueBytes
	n := routing.Notification{ID: "n", GroupKey: "g", Receiver: "r", Reason: routing.ReasonUpdate, At: at}
	for i := range 120 {
		key := fmt.Sprintf("ep-%03d", i)
		labels := map[string]string{}
		for j := range 3 {
			labels[fmt.Sprintf("label_%02d", j)] = long
		}
		status := routing.StatusFiring
		if i%3 == 0 {
			status = routing.StatusResolved
		}
		n.Episodes = append(n.Episodes, routing.EpisodeStatus{
			Key: key, Status: status, Since: at.Add(-time.Duration(i) * time.Minute),
			Event: routing.Event{
				Type: "floe.monitor.v1.AlertFiring", Environment: "production", EpisodeKey: key, Time: at,
				Resolved: status == routing.StatusResolved, Labels: labels,
				Annotations: map[string]string{"summary": long, "description": long, "reason": long, "url": "https://x.example/" + key},
			},
		})
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			m, warnings, err := Render(kind, n, nil, Options{ExternalURL: "https://floe.example.com"})
			if err != nil || len(warnings) > 0 {
				t.Fatalf("Render = %q, %v", warnings, err)
			}
			checkMessage(t, kind, m)
			if m.Text != "" && !strings.Contains(m.Text, "… and 100 more") {
				t.Errorf("the text does not say how many episodes it left out")
			}
		})
	}

	t.Run("entities are not cut", func(t *testing.T) {
		t.Parallel()
		for limit := 10; limit < 30; limit++ {
			got := truncateEscaped(esc(strings.Repeat("a&<", 20)), limit)
			if len(got) > limit || strings.Count(got, "&") != len(entity.FindAllString(got, -1)) {
				t.Errorf("truncateEscaped(%d) = %q", limit, got)
			}
		}
		for limit := 1; limit < 12; limit++ {
			if got := truncateBytes("ééééé", limit); len(got) > limit || !utf8.ValidString(got) {
				t.Errorf("truncateBytes(%d) = %q", limit, got)
			}
		}
	})

	t.Run("a long user text is split into sections", func(t *testing.T) {
		t.Parallel()
		set, err := Parse("r", map[string]string{"text": `{{ range .Episodes }}{{ .Annotations.description }}{{ "\n" }}{{ end }}`})
		if err != nil {
			t.Fatal(err)
		}
		small := n
		small.Episodes = n.Episodes[:3]
		m, warnings, _ := Render(routing.KindSlack, small, set, Options{})
		if len(warnings) > 0 {
			t.Fatal(warnings)
		}
		checkSlack(t, m)
		if got := len(textsOf(decodeBlocks(t, m.Blocks), "section")); got < 20 {
			t.Errorf("%d sections for 64 KiB of text", got)
		}
	})
}
