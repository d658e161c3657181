// Package inbound is what the notifier takes in over HTTP: alerts from an
// Alertmanager (its webhook receiver), recorded in the log as
// ExternalAlertReceived so they are routed and told like Floe's own.
package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/alertmanager"
)

// AggExternalAlert is the aggregate of an alert received from outside (id:
// its source and fingerprint).
const AggExternalAlert = "extalert"

// ExternalAlert is an external alert's state: how many times it was received.
type ExternalAlert struct{ Received int }

// ExternalAlertKind describes the aggregate to the kernel.
var ExternalAlertKind = kernel.Kind[*ExternalAlert]{
	Name: AggExternalAlert,
	New:  func(string) *ExternalAlert { return &ExternalAlert{} },
	Apply: func(s *ExternalAlert, _ *eventstore.RecordedEvent) (*ExternalAlert, error) {
		s.Received++
		return s, nil
	},
}

// AggSlackInbox is the aggregate of refused Slack interactions (id: the receiver).
const AggSlackInbox = "slackinbox"

// SlackInboxKind describes it to the kernel (its state counts refusals).
var SlackInboxKind = kernel.Kind[*ExternalAlert]{
	Name: AggSlackInbox,
	New:  func(string) *ExternalAlert { return &ExternalAlert{} },
	Apply: func(s *ExternalAlert, _ *eventstore.RecordedEvent) (*ExternalAlert, error) {
		s.Received++
		return s, nil
	},
}

// PermReceive is what a sender's token needs (in any environment).
const PermReceive auth.Permission = "notify.write"

// Alertmanager is the receiver of Alertmanager's webhook (version 4
// payloads): POST the payload with "Authorization: Bearer <token>" of a
// principal holding notify.write (Alertmanager's http_config.authorization).
// Each alert becomes an ExternalAlertReceived on its fingerprint's
// aggregate, idempotently (a resend of the same alert state records
// nothing); 200 when all are recorded, 400 for a bad payload, 401/403 for
// a bad token, 413 for one too large, 503 when the log is unavailable
// (Alertmanager retries).
type Alertmanager struct {
	Alerts *kernel.Handler[*ExternalAlert]
	Authn  auth.Authenticator
	Authz  *auth.Authorizer
	// OnError is told of failures (logs).
	OnError func(error)
}

// ServeHTTP implements http.Handler.
func (h *Alertmanager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an Alertmanager webhook payload", http.StatusMethodNotAllowed)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="floe"`)
		http.Error(w, "an Authorization: Bearer token is required", http.StatusUnauthorized)
		return
	}
	p, err := h.Authn.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="floe"`)
		http.Error(w, "the token is not valid", http.StatusUnauthorized)
		return
	}
	ctx := auth.WithPrincipal(r.Context(), p)
	if err := h.Authz.Require(ctx, PermReceive, ""); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	n, err := alertmanager.Decode(http.MaxBytesReader(w, r.Body, alertmanager.MaxBody+1))
	if err != nil {
		var tl *errs.TooLargeError
		var mb *http.MaxBytesError
		if errors.As(err, &tl) || errors.As(err, &mb) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx = causal.With(ctx, causal.Origin{Actor: p.ID, CorrelationID: "am-" + shortHash(n.GroupKey)})
	for _, a := range n.Alerts {
		if err := h.record(ctx, n, a); err != nil {
			if h.OnError != nil {
				h.OnError(fmt.Errorf("alertmanager alert %s: %w", a.Fingerprint, err))
			}
			http.Error(w, "the alert could not be recorded; retry", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Alertmanager) record(ctx context.Context, n *alertmanager.Notification, a alertmanager.Alert) error {
	fp := a.Fingerprint
	if fp == "" {
		fp = shortHash(a.Name + "\x00" + fmt.Sprint(a.Labels))
	}
	sev := ""
	if a.Severity != alertmanager.SeverityUnknown {
		sev = a.Severity.String()
	}
	ev := &notifyv1.ExternalAlertReceived{
		Source: "alertmanager", Receiver: n.Receiver, ExternalUrl: n.ExternalURL, Status: string(a.Status), Name: a.Name, Severity: sev,
		Labels: a.Labels, Annotations: a.Annotations, GeneratorUrl: a.GeneratorURL, Fingerprint: fp,
	}
	if !a.StartsAt.IsZero() {
		ev.StartsAt = timestamppb.New(a.StartsAt)
	}
	if !a.EndsAt.IsZero() {
		ev.EndsAt = timestamppb.New(a.EndsAt)
	}
	id := "am-" + shortHash(fp)
	_, err := h.Alerts.Execute(ctx, kernel.Command[*ExternalAlert]{
		ID:     id,
		Key:    causal.Key("alertmanager", fp, string(a.Status), a.StartsAt.String(), a.EndsAt.String()),
		Decide: func(*ExternalAlert) ([]proto.Message, error) { return []proto.Message{ev}, nil },
	})
	return err
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
