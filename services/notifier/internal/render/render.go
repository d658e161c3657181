package render

import (
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Limits of the rendered messages.
const (
	// MaxSubjectRunes is the longest subject; longer ones are cut with "…".
	MaxSubjectRunes = 200
	// MaxSMSRunes is the longest text message; longer ones are cut with "…".
	MaxSMSRunes = 320
)

// Options are the deployment's settings that templates see.
type Options struct {
	// ExternalURL is the Floe console's base URL, linked from messages
	// (only an absolute http or https URL is used).
	ExternalURL string
	// Location is the time zone times are shown in; UTC when nil.
	Location *time.Location
}

// Render renders n for a receiver of kind (slack, email, sms, webhook) with
// the templates of set (nil: the defaults), as channel.Message:
//
//   - slack: Subject, Text (plain, the fallback: the Slack channel escapes
//     it) and Blocks (built here, every value escaped);
//   - email: Subject, Text and HTML;
//   - sms: Subject holds the whole text message (one line, at most
//     MaxSMSRunes), Text is empty;
//   - webhook: Subject and Text; Event is left for the service to set to
//     the CloudEvent.
//
// ID is n.ID, Episode the group key and generation (so that a thread
// follows the group), Severity the highest and Time n.At.
//
// A user template that fails, writes nothing or writes more than
// MaxOutputBytes does not lose the message: the default is used and the
// problem is returned as a warning naming the template and the line. The
// error is only for an unknown kind.
func Render(kind string, n routing.Notification, set *Set, opts Options) (channel.Message, []string, error) {
	switch kind {
	case routing.KindSlack, routing.KindEmail, routing.KindSMS, routing.KindWebhook:
	default:
		return channel.Message{}, nil, errs.Invalid("kind", "%q is not a receiver kind: want slack, email, sms or webhook", kind)
	}
	r := &renderer{d: NewData(n, opts), set: set, loc: opts.Location}
	m := channel.Message{
		ID:       n.ID,
		Episode:  episodeID(n),
		Severity: r.d.Severity,
		Time:     n.At,
	}
	if kind == routing.KindSMS {
		sms, _ := r.exec(KeySMS)
		m.Subject = truncateRunes(oneLine(sms), MaxSMSRunes)
		return m, r.warnings, nil
	}
	subject, _ := r.exec(KeySubject)
	m.Subject = truncateRunes(oneLine(subject), MaxSubjectRunes)
	text, userText := r.exec(KeyText)
	m.Text = strings.Trim(text, "\n")
	switch kind {
	case routing.KindEmail:
		m.HTML, _ = r.exec(KeyHTML)
	case routing.KindSlack:
		m.Blocks = slackBlocks(r.d, m.Subject, m.Text, userText, r.loc)
	}
	return m, r.warnings, nil
}

// episodeID is the channel.Message Episode of n: its group and the group's lifetime.
func episodeID(n routing.Notification) string {
	if n.Generation == "" {
		return n.GroupKey
	}
	return n.GroupKey + "/" + n.Generation
}

// renderer executes one notification's templates, collecting warnings.
type renderer struct {
	d        *Data
	set      *Set
	loc      *time.Location
	warnings []string
}

// exec runs the user template for key when the set has one, and the
// default otherwise or when the user's fails or writes nothing; the bool
// reports whether the user's template wrote the result.
func (r *renderer) exec(key string) (string, bool) {
	if r.set.Has(key) {
		c := r.set.tmpls[key]
		out, err := c.execute(r.d, r.loc, false)
		if err == nil && strings.TrimSpace(out) == "" {
			err = errEmpty
		}
		if err == nil {
			return out, true
		}
		r.warnings = append(r.warnings, c.name()+": "+err.Error()+"; the default template was used")
	}
	out, err := defaults[key].execute(r.d, r.loc, true)
	if err != nil || strings.TrimSpace(out) == "" {
		// Not expected: the defaults are tested on hostile data. Still, the message goes out.
		if err == nil {
			err = errEmpty
		}
		r.warnings = append(r.warnings, "default."+key+": "+err.Error()+"; a minimal text was used")
		if key == KeyHTML {
			return "", false // the email goes as text only
		}
		return "[" + r.d.Marker + "] " + r.d.Title, false
	}
	return out, false
}

var errEmpty = &templateError{msg: "wrote nothing"}
