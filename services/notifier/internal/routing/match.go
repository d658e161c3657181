package routing

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/penguinmails/floe/libs/errs"
)

// The names under which an event's fields appear in its label set, for
// matchers and group_by. They take precedence over labels of the same name.
const (
	LabelType        = "type"
	LabelEnvironment = "environment"
	LabelProduct     = "product"
	LabelSeverity    = "severity"
	LabelEpisode     = "episode"
)

// Severities of an event.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Event is what the notifier is asked to tell people about: a Floe event
// (floe.release.v1.*, floe.deploy.v1.*, floe.monitor.v1.* …) reduced to what
// routing needs.
type Event struct {
	// Type is the event type, e.g. "floe.monitor.v1.AlertFiring".
	Type        string            `json:"type"`
	Environment string            `json:"environment,omitempty"`
	Product     string            `json:"product,omitempty"`
	Severity    string            `json:"severity,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Annotations describe the event for people (summary, description,
	// reason, links…); routes do not match on them, a change of them
	// updates the episode.
	Annotations map[string]string `json:"annotations,omitempty"`
	// EpisodeKey is what makes an episode: a deployment's id for its
	// rollout and rollback, an alert's fingerprint for its firing and
	// resolution. Later events of the same episode update it.
	EpisodeKey string `json:"episode"`
	// Resolved ends the episode (an alert resolved, a deployment finished).
	Resolved bool `json:"resolved,omitempty"`
	// Notice marks a one-off event that nothing resolves (a flag or
	// configuration changed, a secret version revoked, a release created):
	// it is told once, with status StatusNotice, in the group's next
	// notification, then dropped; it is never repeated or escalated, and it
	// leaves the state of its episode key untouched. A later notice of the
	// same episode key is told again.
	Notice bool `json:"notice,omitempty"`
	// Final marks the event that ends its episode with a problem (a
	// deployment failed or rolled back: a retry is a new episode): the
	// episode is told once more, as firing, in the group's next
	// notification, then dropped without a resolution; it is not repeated,
	// and not escalated once told.
	Final bool `json:"final,omitempty"`
	// Time is when the event happened (shown to people; decisions use the
	// clock passed to Group).
	Time time.Time `json:"time"`
}

// Validate checks the fields routing relies on.
func (e Event) Validate() error {
	var v errs.Violations
	if e.Type == "" {
		v.Add("type", "is required")
	}
	if e.EpisodeKey == "" {
		v.Add("episode", "is required: what makes the episode (a deployment id, an alert fingerprint)")
	}
	switch e.Severity {
	case "", SeverityInfo, SeverityWarning, SeverityCritical:
	default:
		v.Add("severity", "must be info, warning or critical")
	}
	switch {
	case e.Notice && e.Final:
		v.Add("final", "cannot be set on a notice: a notice is no episode's end")
	case e.Notice && e.Resolved:
		v.Add("notice", "cannot resolve an episode: a notice is told once and needs no resolution")
	case e.Final && e.Resolved:
		v.Add("final", "cannot be set on a resolution: a final event ends its episode with a problem")
	}
	return v.Err()
}

// LabelSet is what matchers and group_by see: the labels, overridden by
// type, environment, product, severity (info when unset) and episode.
func (e Event) LabelSet() map[string]string {
	ls := make(map[string]string, len(e.Labels)+5)
	maps.Copy(ls, e.Labels)
	ls[LabelType] = e.Type
	ls[LabelEnvironment] = e.Environment
	ls[LabelProduct] = e.Product
	ls[LabelSeverity] = e.severity()
	ls[LabelEpisode] = e.EpisodeKey
	return ls
}

func (e Event) severity() string {
	if e.Severity == "" {
		return SeverityInfo
	}
	return e.Severity
}

// Match returns the routes an event goes to, in order, as Alertmanager does:
// depth first from the root, a route matching when its matchers do; the
// deepest matching routes win over their parent; after a matching child,
// its following siblings are tried only when it has continue: true. The
// root, which matches everything, is the result when no child matches.
func Match(cfg *Config, e Event) []*Route {
	if cfg == nil || cfg.Route == nil {
		return nil
	}
	return matchRoute(cfg.Route, e.LabelSet())
}

func matchRoute(r *Route, ls map[string]string) []*Route {
	if !r.Matchers.Matches(ls) {
		return nil
	}
	var all []*Route
	for _, c := range r.Routes {
		m := matchRoute(c, ls)
		all = append(all, m...)
		if m != nil && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}

// GroupLabels are the values of the route's group_by names in the event
// (every label for "...").
func GroupLabels(r *Route, e Event) map[string]string {
	ls := e.LabelSet()
	if r.groupAll() {
		return ls
	}
	out := make(map[string]string, len(r.GroupBy))
	for _, name := range r.GroupBy {
		out[name] = ls[name]
	}
	return out
}

// GroupKey identifies the group of an event on a route: a stable hash of
// the route's ID and the group labels, the same in every replica and across
// restarts.
func GroupKey(r *Route, e Event) string {
	ls := GroupLabels(r, e)
	parts := []string{"group", r.ID()}
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		parts = append(parts, k, ls[k])
	}
	return digest(parts...)
}

// NotificationID is the deterministic ID of the seq-th notification to a
// receiver in one lifetime (generation) of a group: two replicas deciding
// the same thing produce the same ID.
func NotificationID(routeID, groupKey, generation, receiver string, seq uint64) string {
	return digest("notification", routeID, groupKey, generation, receiver, strconv.FormatUint(seq, 10))
}

// digest hashes length-prefixed parts, so no two lists of parts collide.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
