package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
	"github.com/penguinmails/floe/services/notifier/internal/status"
)

// DefaultMaxAge is how old an event may be and still open an incident.
const DefaultMaxAge = 24 * time.Hour

// Auto opens, updates and resolves incidents from the log's events, as
// Mapper maps them to episodes:
//
//   - an event of a deployment's, an alert rule's or an Alertmanager
//     alert's episode (see autoKind) that fires (not a resolution, a
//     final event or a notice), is critical and is in a production-class
//     environment opens an incident, unless one of its episode is open: its
//     id is made from the episode key (a later one of the same key, after
//     the first was resolved, gets "-2", "-3" …), its name is the event's
//     summary and its body its description; its component is the episode's
//     product, added (with uptime bars) when the page has none of that id,
//     and goes to major outage. An episode without a product opens an
//     incident of critical impact with no component;
//   - a later event of an episode whose incident is open posts its summary
//     as an update (component statuses are left as they are, for people to
//     adjust); a resolution or a final event (a rollback completed, a
//     deployment failed, an alert resolved) resolves it with
//     "resolved: <summary>", and its components go back to operational
//     unless another open incident holds them;
//   - anything else changes nothing, as does an event older than MaxAge
//     that would open an incident (a first start on an old log does not
//     fill the page with its history).
//
// Each event acts once: its update's id is made from its event id, and the
// page refuses a second update of that id, so a redelivered event, a
// restart or a second instance changes nothing twice.
type Auto struct {
	App    *App
	Mapper episode.Mapper
	// MaxAge bounds the age of an event that opens an incident (default DefaultMaxAge).
	MaxAge time.Duration
	// OnError is told of events the page refused (logs); they are skipped.
	OnError func(error)
}

// OnEvent acts on one event of the log (an eventstore.Handler; the context
// carries the event's reaction origin). A refusal of the page is reported
// and skipped: retrying could not change it. Only failures of the log are
// returned, to be retried.
func (au *Auto) OnEvent(ctx context.Context, e *eventstore.RecordedEvent) error {
	if e.Aggregate == Aggregate {
		return nil
	}
	ev, ok, err := au.Mapper.Map(e)
	if err != nil {
		var de *eventstore.DecodeError
		if errors.As(err, &de) || errors.Is(err, episode.ErrNoEpisode) {
			return nil // nothing can be told of it; the notifier's own subscription reports it
		}
		return err
	}
	if !ok || ev.Notice || !autoKind(ev.EpisodeKey) {
		return nil
	}
	maxAge := au.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	src := source{ID: e.ID, Time: e.Time, MaxAge: maxAge}
	if opens(au.Mapper, ev) {
		if comp := componentID(ev.Product); comp != "" {
			// The component first, as a command of its own, so that the
			// incident's decision finds it on the page.
			_, err := au.App.execute(ctx, causal.Key("status-component", e.ID), func(p *status.Page, now time.Time) ([]status.Change, error) {
				if !src.fresh(now) || hasComponent(p, comp) {
					return nil, nil
				}
				return p.AddComponent(status.AddComponent{ID: comp, Name: ev.Product, Showcase: true}, now)
			})
			if err := au.refused(e, err); err != nil {
				return err
			}
		}
	}
	_, err = au.App.execute(ctx, causal.Key("status-incident", e.ID), func(p *status.Page, now time.Time) ([]status.Change, error) {
		return decideAuto(p, au.Mapper, ev, src, now)
	})
	return au.refused(e, err)
}

// refused turns the page's refusal of an automatic step into a report
// (nil: the event is done); other errors are returned for a retry.
func (au *Auto) refused(e *eventstore.RecordedEvent, err error) error {
	if err == nil || !refusal(err) {
		return err
	}
	var ae *errs.AlreadyExistsError
	if !errors.As(err, &ae) && au.OnError != nil { // a repeat is expected on redelivery; anything else is worth a look
		au.OnError(fmt.Errorf("status page: event %d %s changed nothing: %w", e.Seq, e.Type, err))
	}
	return nil
}

// refusal reports an error of the page's state or the command, which a
// retry would meet again (a concurrency conflict is not one).
func refusal(err error) bool {
	var (
		ia *errs.InvalidArgumentError
		nf *errs.NotFoundError
		ae *errs.AlreadyExistsError
		pe *errs.PreconditionError
	)
	return errors.As(err, &ia) || errors.As(err, &nf) || errors.As(err, &ae) || errors.As(err, &pe)
}

// source is the event an automatic step comes from.
type source struct {
	ID     string
	Time   time.Time
	MaxAge time.Duration
}

// fresh reports whether the event is young enough at now to open an incident.
func (s source) fresh(now time.Time) bool { return now.Sub(s.Time) <= s.MaxAge }

// opens reports whether ev may open an incident (by its kind, severity and environment).
func opens(m episode.Mapper, ev routing.Event) bool {
	return !ev.Resolved && !ev.Final && !ev.Notice && ev.Severity == routing.SeverityCritical &&
		m.IsProduction(ev.Environment) && autoKind(ev.EpisodeKey)
}

// autoKind reports whether the episode of key is of a kind whose critical
// problems open incidents: deployments (a rollback and what leads to it: a
// trigger's alert, a failed analysis, a refused flag rollout), Floe's alert
// rules and Alertmanager's alerts. Other critical episodes (a failed secret
// rotation, a tampered event) are Floe's own business and stay off the
// public page.
func autoKind(key string) bool {
	kind, _, _ := strings.Cut(key, "/")
	switch kind {
	case "deployment", "alert", "external":
		return true
	}
	return false
}

// decideAuto is what event ev (from src) does to page p at now; see Auto.
func decideAuto(p *status.Page, m episode.Mapper, ev routing.Event, src source, now time.Time) ([]status.Change, error) {
	v := p.View(now)
	uid := UpdateID(src.ID)
	if updateTaken(v, uid) {
		return nil, nil // this event already acted
	}
	base := IncidentID(ev.EpisodeKey)
	latest, n := latestIncident(v, base)
	summary := ev.Annotations["summary"]
	if summary == "" {
		summary = ev.Type
	}
	if latest != nil && latest.Status.Open() {
		if ev.Resolved || ev.Final {
			return p.ResolveIncident(status.ResolveIncident{IncidentID: latest.ID, UpdateID: uid, Body: clip("resolved: "+summary, status.MaxBody)}, now)
		}
		return p.AddIncidentUpdate(status.AddIncidentUpdate{IncidentID: latest.ID, UpdateID: uid, Body: clip(summary, status.MaxBody)}, now)
	}
	if !opens(m, ev) || !src.fresh(now) {
		return nil, nil
	}
	id := base
	if n > 0 {
		id = base + "-" + strconv.Itoa(n+1)
	}
	body := ev.Annotations["description"]
	if strings.TrimSpace(body) == "" {
		body = summary
	}
	started := src.Time
	if started.IsZero() || started.After(now) {
		started = now
	}
	cmd := status.CreateIncident{
		ID: id, UpdateID: uid, Name: clip(summary, status.MaxName), Body: clip(body, status.MaxBody), Status: status.Investigating, StartedAt: started,
	}
	if comp := componentID(ev.Product); comp != "" && hasComponent(p, comp) {
		cmd.Components = map[string]status.ComponentStatus{comp: status.MajorOutage}
	} else {
		cmd.Impact = status.ImpactCritical // nothing to derive it from
	}
	return p.CreateIncident(cmd, now)
}

// IncidentID is the id of the first incident opened for an episode: the
// episode's kind and 20 hex digits of SHA-256 over its key
// ("deployment-3f1c…"); later ones of the same episode add "-2", "-3" ….
func IncidentID(episodeKey string) string {
	kind, _, _ := strings.Cut(episodeKey, "/")
	kind = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(kind))
	if kind == "" || len(kind) > 20 {
		kind = "episode"
	}
	sum := sha256.Sum256([]byte(episodeKey))
	return kind + "-" + hex.EncodeToString(sum[:10])
}

// UpdateID is the id of the update an event of the log posts.
func UpdateID(eventID string) string {
	sum := sha256.Sum256([]byte("status-auto\x00" + eventID))
	return "auto-" + hex.EncodeToString(sum[:12])
}

// latestIncident is the most recent incident opened for the episode whose
// first incident is base, and its number (0: none).
func latestIncident(v status.View, base string) (*status.Incident, int) {
	var latest *status.Incident
	n := 0
	for i := range v.Incidents {
		in := &v.Incidents[i]
		k := 0
		switch {
		case in.ID == base:
			k = 1
		case strings.HasPrefix(in.ID, base+"-"):
			if x, err := strconv.Atoi(strings.TrimPrefix(in.ID, base+"-")); err == nil && x > 1 {
				k = x
			}
		}
		if k > n {
			latest, n = in, k
		}
	}
	return latest, n
}

func updateTaken(v status.View, id string) bool {
	for _, in := range v.Incidents {
		for _, u := range in.Updates {
			if u.ID == id {
				return true
			}
		}
	}
	return false
}

// hasComponent reports whether the page has component id (every component
// has a timeline, so Uptime finds it; over zero days it computes nothing).
func hasComponent(p *status.Page, id string) bool {
	_, ok := p.Uptime(id, time.Time{}, 0)
	return ok
}

// componentID is the component a product is shown as: its name, when it
// is a valid component id ("" otherwise, and for no product).
func componentID(product string) string {
	if product == "" || len(product) > status.MaxID {
		return ""
	}
	for _, r := range product {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return ""
		}
	}
	return product
}

// clip shortens s to at most limit bytes, on a rune boundary, marking the cut.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
