// Package channel is how the notifier reaches people: one interface, one
// implementation per kind of channel (Slack, email over SMTP, SMS through a
// Twilio-compatible API, signed webhooks), each checked by the same
// conformance suite (channeltest) against a real server on loopback.
package channel

import (
	"context"
	"time"
)

// Message is one notification to send, already rendered for people.
type Message struct {
	// ID is stable across retries of the same delivery (a webhook's
	// webhook-id, an email's Message-ID, a Slack message's metadata), so a
	// receiver can drop a duplicate.
	ID string
	// Episode groups the messages of one alert or release episode: channels
	// that thread (Slack) put every message after the first into the
	// first one's thread.
	Episode string
	// Subject is a one-line summary (email subject, Slack fallback text, SMS prefix).
	Subject string
	// Text is the plain-text body (every channel can show it).
	Text string
	// HTML is the HTML body (email), optional.
	HTML string
	// Blocks is a Slack Block Kit "blocks" array as JSON, optional.
	Blocks []byte
	// Event is the CloudEvents JSON of the event the message is about (webhooks send it as their body).
	Event []byte
	// Severity is info, warning or critical.
	Severity string
	// Time is when the notified event happened.
	Time time.Time
}

// Receipt is what a channel reports of a sent message.
type Receipt struct {
	// Ref identifies the sent message at the receiver (Slack's ts, an SMS
	// sid, the email's Message-ID): a later message of the same episode is
	// threaded on it.
	Ref string
}

// Thread is what the notifier remembers of an episode's first message on a channel.
type Thread struct {
	// Ref of the episode's first message (empty for the first one).
	Ref string
}

// Channel sends messages to one receiver.
type Channel interface {
	// Kind is "slack", "email", "sms" or "webhook".
	Kind() string
	// Send delivers m, in thread t when the channel threads. Its errors say
	// whether to retry (see Error).
	Send(ctx context.Context, m Message, t Thread) (Receipt, error)
}

// Error is a failed send.
type Error struct {
	// Permanent failures are not retried (a 4xx other than 408/429, a
	// webhook's 410 which also disables the endpoint).
	Permanent bool
	// Disable says the receiver asked not to be sent to again (webhook 410).
	Disable bool
	// RetryAfter is the receiver's requested wait (Retry-After, Slack's
	// rate limits), zero when it named none.
	RetryAfter time.Duration
	// Status is the receiver's status code or SMTP reply code, when one came.
	Status int
	// Err is the cause; it never holds a credential.
	Err error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }
