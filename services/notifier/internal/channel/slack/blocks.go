package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/services/notifier/internal/channel"
)

// Slack's limits, in bytes (which is never less than Slack's count of
// characters, so staying under them in bytes stays under Slack's).
const (
	maxHeaderText  = 150
	maxSectionText = 3000
	maxSections    = 10   // of a text; the rest is cut with an ellipsis
	maxFallback    = 4000 // Slack advises at most 4,000 characters of text
)

// Block is one Block Kit block of the kinds Blocks builds.
type Block struct {
	Type     string       `json:"type"`
	Text     *TextObject  `json:"text,omitempty"`
	Elements []TextObject `json:"elements,omitempty"`
}

// TextObject is a Block Kit text object.
type TextObject struct {
	Type  string `json:"type"` // "plain_text" or "mrkdwn"
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"` // plain_text only
	// Verbatim (mrkdwn only) turns off Slack's preprocessing of the text:
	// bare URLs, #channel names and @here/@channel/@everyone are left as
	// written instead of being made links and mentions. Control sequences
	// written in <…> (our <!date> token) still work.
	Verbatim bool `json:"verbatim,omitempty"`
}

// mrkdwn is a verbatim mrkdwn text object of text, already escaped.
func mrkdwn(text string) TextObject { return TextObject{Type: "mrkdwn", Text: text, Verbatim: true} }

// Blocks returns the Block Kit "blocks" array of m: m.Blocks as given when
// set (it must be a non-empty JSON array), otherwise a header with the
// subject, sections with the text as escaped mrkdwn and a context line with
// the severity and the time, each left out when its field is empty. Every
// mrkdwn object it builds is escaped (Escape) and verbatim, so that nothing
// in a value becomes a mention, a channel link or a link.
func Blocks(m channel.Message) (json.RawMessage, error) {
	if len(m.Blocks) > 0 {
		t := bytes.TrimSpace(m.Blocks)
		var arr []json.RawMessage
		if len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &arr) != nil || len(arr) == 0 {
			return nil, errors.New("the message's blocks are not a non-empty JSON array")
		}
		return json.RawMessage(t), nil
	}
	var bs []Block
	if s := strings.TrimSpace(m.Subject); s != "" {
		bs = append(bs, Block{Type: "header", Text: &TextObject{Type: "plain_text", Text: truncate(oneLine(s), maxHeaderText), Emoji: true}})
	}
	for _, chunk := range chunks(Escape(m.Text), maxSectionText, maxSections) {
		bs = append(bs, Block{Type: "section", Text: new(mrkdwn(chunk))})
	}
	var ctx []TextObject
	if s := strings.TrimSpace(m.Severity); s != "" {
		ctx = append(ctx, mrkdwn(severityIcon(s)+" *"+Escape(s)+"*"))
	}
	if !m.Time.IsZero() {
		utc := m.Time.UTC()
		// Shown in the reader's time zone; the part after | is what clients
		// that cannot format dates show.
		ctx = append(ctx, mrkdwn("<!date^"+strconv.FormatInt(utc.Unix(), 10)+
			"^{date_short_pretty} {time_secs}|"+utc.Format("2006-01-02 15:04:05 UTC")+">"))
	}
	if len(ctx) > 0 {
		bs = append(bs, Block{Type: "context", Elements: ctx})
	}
	if len(bs) == 0 {
		return nil, errors.New("the message has no subject, text or blocks")
	}
	return json.Marshal(bs)
}

// FallbackText is the top-level text of m, what notifications, screen
// readers and clients without Block Kit show: the subject and the text on
// separate lines, escaped, cut to Slack's advised 4,000 characters.
func FallbackText(m channel.Message) string {
	parts := make([]string, 0, 2)
	for _, p := range []string{strings.TrimSpace(m.Subject), strings.TrimSpace(m.Text)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return truncate(Escape(strings.Join(parts, "\n")), maxFallback)
}

// Escape escapes the three characters Slack's mrkdwn and message text
// treat as control characters (&, <, >), so that text from an event cannot
// mention @channel (<!channel>) or forge a link (<https://…|label>).
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func severityIcon(s string) string {
	switch strings.ToLower(s) {
	case "critical":
		return ":red_circle:"
	case "warning":
		return ":warning:"
	default:
		return ":information_source:"
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most limit bytes on a rune boundary, ending with
// "…" when it cut. An entity (&amp;) cut in half is dropped whole.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := cutPoint(s, limit-len(ellipsis))
	return s[:cut] + ellipsis
}

// cutPoint is the largest index ≤ limit that is a rune boundary and not
// inside an escape entity.
func cutPoint(s string, limit int) int {
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if amp := strings.LastIndexByte(s[:i], '&'); amp >= 0 && !strings.Contains(s[amp:i], ";") && i-amp < 5 {
		i = amp
	}
	return i
}

// chunks splits s into at most max pieces of at most limit bytes,
// preferring to break after a newline; when s does not fit, the last piece
// ends with "…". An empty or blank s gives none.
func chunks(s string, limit, max int) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for s != "" {
		if len(out) == max-1 {
			out = append(out, truncate(s, limit))
			break
		}
		if len(s) <= limit {
			out = append(out, s)
			break
		}
		cut := cutPoint(s, limit)
		if nl := strings.LastIndexByte(s[:cut], '\n'); nl > limit/2 {
			cut = nl + 1
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

// Metadata is Slack message metadata carrying the notification's id.
type Metadata struct {
	EventType    string          `json:"event_type"`
	EventPayload MetadataPayload `json:"event_payload"`
}

// MetadataPayload is the event_payload of a Bot's Metadata.
type MetadataPayload struct {
	ID      string `json:"id"`
	Episode string `json:"episode,omitempty"`
}

// MetadataEventType is the event_type of the metadata a Bot attaches.
const MetadataEventType = "floe_notification"

// retryAfter reads Slack's Retry-After, which is always delay-seconds.
func retryAfter(v string) time.Duration {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0
	}
	return min(time.Duration(n)*time.Second, 24*time.Hour)
}
