// Package channeltest is the conformance suite every notifier channel
// passes against its real server on loopback (a Slack API, an SMTP server,
// a Twilio-compatible API, a webhook receiver, each built in its test).
package channeltest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/services/notifier/internal/channel"
)

// Got is a message as the loopback server received it.
type Got struct {
	// ID is the message's id as sent (webhook-id, Message-ID, …; "" when the channel has none).
	ID string
	// Text is the body as the receiver shows it (plain text).
	Text string
	// ThreadRef is the reference the message was threaded on ("" for none).
	ThreadRef string
}

// Harness is a channel under test and its server.
type Harness struct {
	// Channel sends to the server.
	Channel channel.Channel
	// Received lists what the server accepted, in order.
	Received func() []Got
	// Fail makes the server refuse the next n requests: transiently (a 5xx,
	// a 4xx SMTP reply, a 429 with retryAfter when non-zero) or permanently.
	Fail func(n int, permanent bool, retryAfter time.Duration)
	// Secrets are the credentials the channel holds: no error may show them.
	Secrets []string
}

// Run runs the suite; newHarness starts a fresh server and channel;
// threads says whether the channel threads an episode's messages (Slack).
func Run(t *testing.T, threads bool, newHarness func(t *testing.T) *Harness) {
	ctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return c
	}
	msg := func(id, text string) channel.Message {
		return channel.Message{ID: id, Episode: "ep-1", Subject: "Rollback of 1.4.0 in production", Text: text, Severity: "critical", Time: time.Now()}
	}

	t.Run("delivers", func(t *testing.T) {
		h := newHarness(t)
		r, err := h.Channel.Send(ctx(t), msg("m-1", "canary 1.4.0 failed: error rate 12%"), channel.Thread{})
		if err != nil {
			t.Fatal(err)
		}
		got := h.Received()
		if len(got) != 1 || !strings.Contains(got[0].Text, "canary 1.4.0 failed: error rate 12%") {
			t.Fatalf("received %+v", got)
		}
		if got[0].ID != "" && got[0].ID != "m-1" && !strings.Contains(got[0].ID, "m-1") {
			t.Fatalf("id %q does not carry the message's id m-1", got[0].ID)
		}
		if threads && r.Ref == "" {
			t.Fatal("a threading channel returned no reference to thread on")
		}
	})

	t.Run("the id is stable across retries", func(t *testing.T) {
		h := newHarness(t)
		m := msg("m-2", "first try")
		h.Fail(1, false, 0)
		if _, err := h.Channel.Send(ctx(t), m, channel.Thread{}); err == nil {
			t.Fatal("a refused send reported success")
		}
		if _, err := h.Channel.Send(ctx(t), m, channel.Thread{}); err != nil {
			t.Fatal(err)
		}
		got := h.Received()
		if len(got) != 1 {
			t.Fatalf("received %d messages, want the retried one", len(got))
		}
		if got[0].ID != "" && !strings.Contains(got[0].ID, "m-2") {
			t.Fatalf("the retry's id %q is not the message's", got[0].ID)
		}
	})

	if threads {
		t.Run("threads an episode", func(t *testing.T) {
			h := newHarness(t)
			first, err := h.Channel.Send(ctx(t), msg("m-3", "rolling back"), channel.Thread{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.Channel.Send(ctx(t), msg("m-4", "rolled back to 1.3.2"), channel.Thread{Ref: first.Ref}); err != nil {
				t.Fatal(err)
			}
			got := h.Received()
			if len(got) != 2 || got[0].ThreadRef != "" || got[1].ThreadRef == "" {
				t.Fatalf("received %+v; want the second in the first's thread", got)
			}
		})
	}

	t.Run("transient and permanent failures", func(t *testing.T) {
		h := newHarness(t)
		h.Fail(1, false, 3*time.Second)
		_, err := h.Channel.Send(ctx(t), msg("m-5", "x"), channel.Thread{})
		var ce *channel.Error
		if !errors.As(err, &ce) || ce.Permanent {
			t.Fatalf("a transient failure: %v (want a *channel.Error, not permanent)", err)
		}
		if ce.RetryAfter != 0 && ce.RetryAfter != 3*time.Second {
			t.Fatalf("retry after %s, the server asked for 3s", ce.RetryAfter)
		}
		h.Fail(1, true, 0)
		_, err = h.Channel.Send(ctx(t), msg("m-6", "x"), channel.Thread{})
		if !errors.As(err, &ce) || !ce.Permanent {
			t.Fatalf("a permanent failure: %v (want a permanent *channel.Error)", err)
		}
		for _, s := range h.Secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Fatalf("the error shows a credential: %v", err)
			}
		}
	})

	t.Run("a cancelled context ends the send", func(t *testing.T) {
		h := newHarness(t)
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.Channel.Send(c, msg("m-7", "x"), channel.Thread{}); err == nil {
			t.Fatal("a send with a cancelled context succeeded")
		}
	})
}
