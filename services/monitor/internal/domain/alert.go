package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// Alert severities.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Alert states.
const (
	AlertInactive = "inactive"
	AlertPending  = "pending"
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// AlertRule is an alerting rule: when Condition (PromQL, kept as text and
// evaluated elsewhere) has held for For, the alert fires and notifies Channels.
type AlertRule struct {
	// Name follows NameRule: 1-64 of [A-Za-z0-9_-], starting with a letter or digit.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Condition   string `json:"condition"`
	// Severity is SeverityCritical, SeverityWarning or SeverityInfo.
	Severity string `json:"severity"`
	// Channels notified (at least one, no empty or repeated entries).
	Channels []string `json:"channels"`
	// For is how long the condition must hold before the alert fires; 0 fires
	// at the first evaluation where it holds.
	For time.Duration `json:"for"`
	// Cooldown after a notified alert resolves during which a new firing does
	// not notify.
	Cooldown time.Duration `json:"cooldown"`
	Enabled  bool          `json:"enabled"`
	Version  uint64        `json:"version"`
	// Environments and Apps limit the series the condition watches (the
	// environment and app labels); none: every series it selects.
	Environments []string `json:"environments,omitempty"`
	Apps         []string `json:"apps,omitempty"`
}

// Validate reports every problem at once as an *errs.InvalidArgumentError
// whose field violations use the JSON field names.
func (r AlertRule) Validate() error {
	var v errs.Violations
	validateName(&v, "name", r.Name)
	if strings.TrimSpace(r.Condition) == "" {
		v.Add("condition", "must be a PromQL expression, not empty")
	}
	switch r.Severity {
	case SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		v.Add("severity", "%q is not one of critical, warning, info", r.Severity)
	}
	if len(r.Channels) == 0 {
		v.Add("channels", "must name at least one channel")
	}
	seen := map[string]bool{}
	for i, c := range r.Channels {
		field := fmt.Sprintf("channels[%d]", i)
		switch {
		case strings.TrimSpace(c) == "":
			v.Add(field, "must not be empty")
		case seen[c]:
			v.Add(field, "%q is listed twice", c)
		}
		seen[c] = true
	}
	if r.For < 0 {
		v.Add("for", "must not be negative, got %s", r.For)
	}
	if r.Cooldown < 0 {
		v.Add("cooldown", "must not be negative, got %s", r.Cooldown)
	}
	checkScope(&v, "environments", r.Environments)
	checkScope(&v, "apps", r.Apps)
	return v.Err()
}

// AlertState is one alert rule's state, plain data (JSON) for persistence.
// The zero value is an inactive alert with no history.
type AlertState struct {
	// State is one of the Alert constants; empty means inactive.
	State string `json:"state,omitempty"`
	// RuleVersion is the rule version of the last evaluation.
	RuleVersion uint64 `json:"rule_version,omitempty"`
	// Evaluations counts the evaluations taken into account; LastEvalAt is the latest.
	Evaluations uint64    `json:"evaluations,omitempty"`
	LastEvalAt  time.Time `json:"last_eval_at,omitzero"`
	// ActiveSince is when the condition began to hold (pending or firing).
	ActiveSince time.Time `json:"active_since,omitzero"`
	// FiredAt is when the alert last began firing, ResolvedAt when it last resolved.
	FiredAt    time.Time `json:"fired_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Notified: the current (or last) firing was notified.
	Notified bool `json:"notified,omitempty"`
	// QuietUntil: firings before this time do not notify (the cooldown).
	QuietUntil time.Time `json:"quiet_until,omitzero"`
}

// Current is the state, with the zero value read as inactive.
func (s AlertState) Current() string {
	if s.State == "" {
		return AlertInactive
	}
	return s.State
}

// AlertTransition is a change of an alert's state, or a notification.
type AlertTransition struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	// Notify: send this to the rule's channels.
	Notify bool `json:"notify"`
	// Value is the value the caller passed with the evaluation (not validated).
	Value  float64 `json:"value"`
	Reason string  `json:"reason"`
}

// Observe folds one evaluation of the rule at time at into the state: holds
// is whether the condition held, value what was measured. It reports the
// transition and true when the state changed or something must be notified,
// and a zero transition and false otherwise. The rules (Prometheus semantics
// plus a cooldown):
//
//   - An evaluation not later than the previous one is ignored.
//   - inactive or resolved, condition holds: pending (from now), or straight
//     to firing when For is 0. resolved otherwise behaves as inactive and
//     stays resolved until the condition holds again.
//   - pending: fires at the first evaluation at or after ActiveSince+For at
//     which the condition still holds; one evaluation where it does not hold
//     returns it to inactive (the next hold starts For again).
//   - firing, condition no longer holds: resolved. The resolution notifies
//     when the firing did.
//   - Cooldown: when a notified firing resolves at R, firings before
//     R+Cooldown are suppressed: the state is firing but Notify is false (and
//     their resolution does not notify nor extend the cooldown). If such an
//     alert is still firing once the cooldown is over, the first evaluation at
//     or after R+Cooldown notifies it (a firing → firing transition).
//   - Rule edits: a pending alert whose rule version changed restarts For
//     from this evaluation; a firing alert stays firing.
//   - Disabled rule: a pending or firing alert goes to inactive without
//     notifying; otherwise nothing happens.
func (s *AlertState) Observe(r AlertRule, holds bool, value float64, at time.Time) (AlertTransition, bool) {
	if s.Evaluations > 0 && !at.After(s.LastEvalAt) {
		return AlertTransition{}, false
	}
	versionChanged := s.Evaluations > 0 && s.RuleVersion != r.Version
	s.Evaluations, s.LastEvalAt, s.RuleVersion = s.Evaluations+1, at, r.Version
	from := s.Current()
	tr := AlertTransition{From: from, At: at, Value: value}
	if !r.Enabled {
		if from != AlertPending && from != AlertFiring {
			return AlertTransition{}, false
		}
		s.State, s.ActiveSince, s.Notified = AlertInactive, time.Time{}, false
		tr.To, tr.Reason = AlertInactive, "rule disabled"
		return tr, true
	}
	switch from {
	case AlertPending:
		if !holds {
			s.State, s.ActiveSince = AlertInactive, time.Time{}
			tr.To, tr.Reason = AlertInactive, "condition no longer holds before "+r.For.String()
			return tr, true
		}
		if versionChanged {
			s.ActiveSince = at
		}
		if at.Sub(s.ActiveSince) < r.For {
			return AlertTransition{}, false
		}
		s.fire(r, &tr)
		return tr, true
	case AlertFiring:
		if !holds {
			s.State, s.ResolvedAt, s.ActiveSince = AlertResolved, at, time.Time{}
			tr.To, tr.Notify = AlertResolved, s.Notified
			tr.Reason = "condition no longer holds"
			if s.Notified && r.Cooldown > 0 {
				s.QuietUntil = at.Add(r.Cooldown)
				tr.Reason += fmt.Sprintf("; firings until %s will not notify", stamp(s.QuietUntil))
			}
			return tr, true
		}
		if s.Notified || at.Before(s.QuietUntil) {
			return AlertTransition{}, false
		}
		s.Notified = true
		tr.To, tr.Notify, tr.Reason = AlertFiring, true, "cooldown over while still firing"
		return tr, true
	default: // inactive, resolved (or an unknown state, read as inactive)
		if !holds {
			return AlertTransition{}, false
		}
		s.ActiveSince = at
		if r.For > 0 {
			s.State = AlertPending
			tr.To, tr.Reason = AlertPending, fmt.Sprintf("condition holds; fires if it still holds at %s", stamp(at.Add(r.For)))
			return tr, true
		}
		s.fire(r, &tr)
		return tr, true
	}
}

// fire moves the alert to firing at tr.At, notifying unless in the cooldown.
func (s *AlertState) fire(r AlertRule, tr *AlertTransition) {
	s.State, s.FiredAt = AlertFiring, tr.At
	tr.To = AlertFiring
	held := fmt.Sprintf("condition held for %s (for %s)", tr.At.Sub(s.ActiveSince), r.For)
	if tr.At.Before(s.QuietUntil) {
		s.Notified = false
		tr.Reason = held + fmt.Sprintf("; notification suppressed by the cooldown until %s", stamp(s.QuietUntil))
		return
	}
	s.Notified, tr.Notify, tr.Reason = true, true, held
}

// Restore rebuilds the state from the transitions Observe reported (in
// order), which is all the monitor records. ruleVersion is the rule version
// of each transition's evaluation and cooldown the rule's cooldown then. The
// result decides every later evaluation as the original state would, with
// one conservative exception: a rule edit while pending (which restarts For
// without a transition) is seen at the first evaluation after the restore.
func RestoreAlertState(trs []AlertTransition, ruleVersions []uint64, cooldowns []time.Duration) AlertState {
	var s AlertState
	for i, tr := range trs {
		s.Evaluations++
		s.LastEvalAt, s.RuleVersion = tr.At, ruleVersions[i]
		switch tr.To {
		case AlertPending:
			s.State, s.ActiveSince = AlertPending, tr.At
		case AlertFiring:
			if tr.From != AlertFiring {
				s.FiredAt = tr.At
				if tr.From != AlertPending {
					s.ActiveSince = tr.At
				}
			}
			s.State, s.Notified = AlertFiring, tr.Notify
		case AlertResolved:
			s.State, s.ResolvedAt, s.ActiveSince = AlertResolved, tr.At, time.Time{}
			if tr.Notify && cooldowns[i] > 0 {
				s.QuietUntil = tr.At.Add(cooldowns[i])
			}
		default:
			s.State, s.ActiveSince, s.Notified = AlertInactive, time.Time{}, false
		}
	}
	return s
}

// checkScope checks a scope list: identifiers, each once.
func checkScope(v *errs.Violations, field string, names []string) {
	for i, n := range names {
		if ident.Check(v, fmt.Sprintf("%s[%d]", field, i), n) && slices.Index(names, n) < i {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is listed twice", n)
		}
	}
}
