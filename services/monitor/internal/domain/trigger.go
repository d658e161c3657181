package domain

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
)

// What a trigger does when it fires.
const (
	ActionRollback = "rollback"
	ActionAlert    = "alert"
	ActionScaleUp  = "scale_up"
)

// What a trigger does while its metric returns no data (see TriggerState.Observe).
const (
	NoDataHold     = "hold"
	NoDataAlert    = "alert"
	NoDataRollback = "rollback"
)

// Trigger is a rollback trigger: while a deployment is active, when
// "Metric Operator Threshold" holds continuously for Duration, do Action.
//
// Durations are time.Duration (nanoseconds in JSON); the guide's "duration in
// seconds" and "cooldown in minutes" are converted by whoever reads the
// configuration.
type Trigger struct {
	// Name identifies the trigger (e.g. "error_rate"); it appears in aggregate
	// IDs and events, so it is 1-64 of [A-Za-z0-9_-], starting alphanumeric.
	Name string `json:"name"`
	// Metric is the PromQL expression, kept as text and evaluated elsewhere
	// with the deployment's environment and version labels (Deployment.Labels).
	Metric    string   `json:"metric"`
	Operator  Operator `json:"operator"`
	Threshold float64  `json:"threshold"`
	// Duration the breach must be sustained before the trigger fires; 0 fires
	// on the first breaching sample.
	Duration time.Duration `json:"duration"`
	// Action is ActionRollback, ActionAlert or ActionScaleUp.
	Action string `json:"action"`
	// Cooldown after a firing during which another firing of the same action
	// is suppressed.
	Cooldown time.Duration `json:"cooldown"`
	// NoData is NoDataHold, NoDataAlert or NoDataRollback; empty means hold.
	NoData  string `json:"no_data,omitempty"`
	Enabled bool   `json:"enabled"`
	// Version of the rule, bumped on every edit; reported with each firing.
	Version uint64 `json:"version"`
	// Environments and Apps limit the deployments the trigger judges
	// (none: every one).
	Environments []string `json:"environments,omitempty"`
	Apps         []string `json:"apps,omitempty"`
	// Thresholds replace Threshold in the environments they name.
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	// Severity (SeverityCritical, SeverityWarning, SeverityInfo; empty:
	// warning) and Channels say how an alert action's firing is told.
	Severity string   `json:"severity,omitempty"`
	Channels []string `json:"channels,omitempty"`
}

// AlertSeverity is the severity its firing is told with: Severity, or warning.
func (t Trigger) AlertSeverity() string {
	if t.Severity == "" {
		return SeverityWarning
	}
	return t.Severity
}

// Covers reports whether the trigger judges deployments of app in env.
func (t Trigger) Covers(env, app string) bool {
	return (len(t.Environments) == 0 || slices.Contains(t.Environments, env)) && (len(t.Apps) == 0 || slices.Contains(t.Apps, app))
}

// In is the trigger as it judges a deployment in env: its threshold there.
func (t Trigger) In(env string) Trigger {
	if th, ok := t.Thresholds[env]; ok {
		t.Threshold = th
	}
	return t
}

// Scope describes where the trigger applies, for people ("" when everywhere).
func (t Trigger) Scope() string {
	var parts []string
	if len(t.Environments) > 0 {
		parts = append(parts, "environments "+strings.Join(t.Environments, ", "))
	}
	if len(t.Apps) > 0 {
		parts = append(parts, "apps "+strings.Join(t.Apps, ", "))
	}
	for _, env := range SortedKeys(t.Thresholds) {
		parts = append(parts, fmt.Sprintf("threshold %s in %s", formatValue(t.Thresholds[env]), env))
	}
	return strings.Join(parts, "; ")
}

// NoDataPolicy is the effective no-data policy: NoData, or NoDataHold when empty.
func (t Trigger) NoDataPolicy() string {
	if t.NoData == "" {
		return NoDataHold
	}
	return t.NoData
}

// String renders the condition, e.g. "error_rate > 0.1 for 5m0s".
func (t Trigger) String() string {
	return fmt.Sprintf("%s %s %s for %s", t.Name, t.Operator, formatValue(t.Threshold), t.Duration)
}

// Validate reports every problem at once as an *errs.InvalidArgumentError
// whose field violations use the JSON field names.
func (t Trigger) Validate() error {
	var v errs.Violations
	validateName(&v, "name", t.Name)
	if strings.TrimSpace(t.Metric) == "" {
		v.Add("metric", "must be a PromQL expression, not empty")
	}
	if !t.Operator.Valid() {
		v.Add("operator", "%q is not one of > < >= <= == !=", string(t.Operator))
	}
	if math.IsNaN(t.Threshold) || math.IsInf(t.Threshold, 0) {
		v.Add("threshold", "must be a finite number, got %v", t.Threshold)
	}
	if t.Duration < 0 {
		v.Add("duration", "must not be negative, got %s", t.Duration)
	}
	switch t.Action {
	case ActionRollback, ActionAlert, ActionScaleUp:
	default:
		v.Add("action", "%q is not one of rollback, alert, scale_up", t.Action)
	}
	if t.Cooldown < 0 {
		v.Add("cooldown", "must not be negative, got %s", t.Cooldown)
	}
	switch t.NoData {
	case "", NoDataHold, NoDataAlert, NoDataRollback:
	default:
		v.Add("no_data", "%q is not one of hold, alert, rollback (empty means hold)", t.NoData)
	}
	checkScope(&v, "environments", t.Environments)
	checkScope(&v, "apps", t.Apps)
	switch t.Severity {
	case "", SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		v.Add("severity", "%q is not one of critical, warning, info (empty means warning)", t.Severity)
	}
	for i, c := range t.Channels {
		if strings.TrimSpace(c) == "" {
			v.Add(fmt.Sprintf("channels[%d]", i), "must not be empty")
		} else if slices.Index(t.Channels, c) < i {
			v.Add(fmt.Sprintf("channels[%d]", i), "%q is listed twice", c)
		}
	}
	for _, env := range SortedKeys(t.Thresholds) {
		f := "thresholds." + env
		switch th := t.Thresholds[env]; {
		case !ident.Valid(env):
			v.Add(f, "%q is not an environment name (%s)", env, ident.Description)
		case math.IsNaN(th) || math.IsInf(th, 0):
			v.Add(f, "must be a finite number, got %v", th)
		case len(t.Environments) > 0 && !slices.Contains(t.Environments, env):
			v.Add(f, "%s is not one of the trigger's environments (%s): the threshold would never apply", env, strings.Join(t.Environments, ", "))
		}
	}
	return v.Err()
}

// DefaultTriggers are the release guide's two defaults, enabled, version 1:
//
//   - error_rate > 0.10 sustained for 300 s → rollback, cooldown 60 min;
//   - response_time_p95 > 5 (seconds) sustained for 180 s → alert, cooldown 30 min.
//
// Both hold their timers through no data. Their metrics are the guide's names;
// the monitor's metric catalogue (package rules) gives their PromQL, which
// carries no environment or version matchers: the evaluator adds the
// deployment's labels.
func DefaultTriggers() []Trigger {
	return []Trigger{
		{
			Name:      "error_rate",
			Metric:    "error_rate",
			Operator:  OpGreater,
			Threshold: 0.10,
			Duration:  300 * time.Second,
			Action:    ActionRollback,
			Cooldown:  60 * time.Minute,
			NoData:    NoDataHold,
			Enabled:   true,
			Version:   1,
		},
		{
			Name:      "response_time_p95",
			Metric:    "response_time_p95",
			Operator:  OpGreater,
			Threshold: 5,
			Duration:  180 * time.Second,
			Action:    ActionAlert,
			Cooldown:  30 * time.Minute,
			NoData:    NoDataHold,
			Enabled:   true,
			Version:   1,
		},
	}
}

// Deployment is the scope of a trigger's evaluation: one deployment of one
// version to one environment, from DeploymentStarted until it ends.
type Deployment struct {
	ID          string    `json:"id"`
	ReleaseID   string    `json:"release_id,omitempty"`
	Environment string    `json:"environment"`
	Version     string    `json:"version"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	// EndedAt is zero while the deployment is active.
	EndedAt time.Time `json:"ended_at,omitzero"`
}

// Labels are the label matchers the evaluator adds to a trigger's PromQL so
// that it measures only this deployment.
func (d Deployment) Labels() map[string]string {
	return map[string]string{"environment": d.Environment, "version": d.Version}
}

// Covers reports whether a sample taken at at belongs to the deployment:
// at or after StartedAt and, once ended, before EndedAt.
func (d Deployment) Covers(at time.Time) bool {
	if at.Before(d.StartedAt) {
		return false
	}
	return d.EndedAt.IsZero() || at.Before(d.EndedAt)
}

// Kinds of Decision. Every kind but KindNone reports a change of state.
const (
	KindNone          = "none"
	KindBreachStarted = "breach_started"
	KindBreachCleared = "breach_cleared"
	KindFired         = "fired"
	KindSuppressed    = "suppressed"
)

// Causes of a firing (or suppression).
const (
	CauseBreach = "breach"
	CauseNoData = "no_data"
)

// Decision is what one sample meant for a trigger.
type Decision struct {
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Cause says which timer the sample bore on: CauseBreach for a breaching
	// sample and for breach_cleared; CauseNoData for a missing sample under
	// the alert or rollback no-data policy; empty otherwise (a healthy sample,
	// a missing one under hold, an ignored one).
	Cause string `json:"cause,omitempty"`
	// Action is what to do (fired) or what was held back (suppressed): the
	// trigger's action for a breach, the no-data policy for no data.
	Action string `json:"action,omitempty"`
	// At is the sample's time.
	At time.Time `json:"at"`
	// Observed is the sample's value; 0 for a missing sample.
	Observed float64 `json:"observed"`
	// SustainedFor is the time counted toward Duration by the timer Cause
	// names, at this sample; for breach_cleared, what the breach had reached.
	SustainedFor time.Duration `json:"sustained_for,omitempty"`
	// Since is when that breach (or no-data run) began.
	Since time.Time `json:"since,omitzero"`
	// Reason explains the decision to a person.
	Reason string `json:"reason"`
}

// Episode is one run of breaching samples (or of missing samples).
type Episode struct {
	Active bool `json:"active,omitempty"`
	// Since is the time of the episode's first sample.
	Since time.Time `json:"since,omitzero"`
	// Sustained is the time counted toward the trigger's Duration so far.
	Sustained time.Duration `json:"sustained,omitempty"`
	// Fired: the episode fired. Suppressed: it came due inside the cooldown
	// and has not fired (it fires once the cooldown is over, if still due).
	Fired      bool `json:"fired,omitempty"`
	Suppressed bool `json:"suppressed,omitempty"`
}

// TriggerState tracks one trigger for one deployment. The zero value is a
// state with no deployment bounds and no history; it is plain data (JSON)
// so the service can persist it between evaluations.
type TriggerState struct {
	Deployment Deployment `json:"deployment"`
	// RuleVersion is the trigger version of the last sample observed.
	RuleVersion uint64 `json:"rule_version,omitempty"`
	// Samples counts the samples taken into account; LastAt is the latest.
	Samples uint64    `json:"samples,omitempty"`
	LastAt  time.Time `json:"last_at,omitzero"`
	// LastBreaching: the latest sample was data that breached.
	LastBreaching bool `json:"last_breaching,omitempty"`
	// Breach is the current breach, NoData the current run of missing samples
	// (tracked only under the alert and rollback no-data policies).
	Breach Episode `json:"breach,omitzero"`
	NoData Episode `json:"no_data,omitzero"`
	// LastFired is when each action last fired, for the cooldown.
	LastFired map[string]time.Time `json:"last_fired,omitempty"`
}

// NewTriggerState starts tracking a trigger for deployment d.
func NewTriggerState(d Deployment) *TriggerState { return &TriggerState{Deployment: d} }

// End marks the deployment ended at at; samples at or after it are ignored.
// Ending twice keeps the first end.
func (s *TriggerState) End(at time.Time) {
	if s.Deployment.EndedAt.IsZero() {
		s.Deployment.EndedAt = at
	}
}

// Observe folds one sample into the state and says what it meant. It is
// deterministic: the sample's time is the clock. The rules, in order:
//
//   - Scope: a sample outside the deployment (before StartedAt, at or after
//     EndedAt) is ignored, as is one not later than the last sample taken
//     into account (out of order or duplicate). Ignored samples change nothing.
//   - Rule edits: when t.Version differs from the version of the previous
//     sample, the breach and no-data timers restart (the condition may mean
//     something else now); the cooldown carries over.
//   - Disabled: a disabled trigger is not evaluated; its timers reset
//     (breach_cleared if a breach was in progress), the cooldown carries over.
//   - Breach: a sample with data whose value satisfies the operator breaches.
//     The first breaching sample starts a breach (breach_started). The breach
//     is sustained for the time between consecutive breaching samples, so
//     with continuous data a breach that started at S is sustained for
//     at - S; the trigger fires at the first sample where that reaches
//     Duration (every 15 s with Duration 300 s: not at S+285s, at S+300s).
//     A single sample with data that does not breach ends the breach
//     (breach_cleared); the next breaching sample starts a new one from zero.
//   - No data (NoData, or a NaN value) never advances and never resets the
//     breach: the time around missing samples does not count toward Duration,
//     and breaching resumes where it stopped. Under the hold policy that is
//     all. Under alert and rollback, a run of missing samples is also timed
//     like a breach, from the first missing sample; when it has lasted
//     Duration it fires with the policy's action (alert or rollback) and
//     Cause no_data. Any sample with data ends the run.
//   - Firing and cooldown: a breach (or no-data run) fires at most once. It
//     fires with Kind fired unless the same action fired less than Cooldown
//     ago (at < lastFired+Cooldown), in which case it is suppressed: Kind
//     suppressed once, then none while it stays due. A suppressed breach
//     that is still sustained when the cooldown is over fires then. Cooldowns
//     are per action, so a no-data alert does not hold back a rollback.
//
// Observe assumes a trigger that passed Validate but never panics on one that
// did not: an invalid operator never breaches, a negative Duration or Cooldown
// counts as zero and an unknown no-data policy as hold.
func (s *TriggerState) Observe(t Trigger, sample Sample) (d Decision) {
	d = Decision{Kind: KindNone, At: sample.At}
	if !s.Deployment.Covers(sample.At) {
		d.Reason = "sample outside the deployment; ignored"
		return d
	}
	if s.Samples > 0 && !sample.At.After(s.LastAt) {
		d.Reason = fmt.Sprintf("sample at %s is not after the last one at %s; ignored", stamp(sample.At), stamp(s.LastAt))
		return d
	}
	var notes []string
	if s.Samples > 0 && t.Version != s.RuleVersion {
		if s.Breach.Active || s.NoData.Active {
			notes = append(notes, fmt.Sprintf("rule changed from version %d to %d, timers restarted", s.RuleVersion, t.Version))
		}
		d.Since, d.SustainedFor = s.Breach.Since, s.Breach.Sustained
		wasBreaching := s.Breach.Active
		s.Breach, s.NoData, s.LastBreaching = Episode{}, Episode{}, false
		defer func() {
			// A restarted breach that does not go on is reported as cleared.
			if wasBreaching && !s.Breach.Active && d.Kind == KindNone {
				d.Kind, d.Cause = KindBreachCleared, CauseBreach
			}
		}()
	}
	prevAt, prevBreaching := s.LastAt, s.LastBreaching
	s.RuleVersion, s.Samples, s.LastAt = t.Version, s.Samples+1, sample.At
	if !sample.Missing() {
		d.Observed = sample.Value
	}
	if !t.Enabled {
		if s.Breach.Active {
			d.Kind, d.Cause, d.Since, d.SustainedFor = KindBreachCleared, CauseBreach, s.Breach.Since, s.Breach.Sustained
		}
		s.Breach, s.NoData, s.LastBreaching = Episode{}, Episode{}, false
		d.Reason = join(notes, "trigger disabled; not evaluated")
		return d
	}
	if sample.Missing() {
		s.observeNoData(t, sample.At, prevAt, &d)
		d.Reason = join(notes, d.Reason)
		return d
	}

	// A sample with data.
	s.NoData = Episode{}
	condition := fmt.Sprintf("%s %s %s", formatValue(sample.Value), t.Operator, formatValue(t.Threshold))
	if !t.Operator.Holds(sample.Value, t.Threshold) {
		s.LastBreaching = false
		if s.Breach.Active {
			d.Kind, d.Cause, d.Since, d.SustainedFor = KindBreachCleared, CauseBreach, s.Breach.Since, s.Breach.Sustained
			d.Reason = join(notes, fmt.Sprintf("%s: %s does not hold; breach cleared after %s", t.Name, condition, s.Breach.Sustained))
			s.Breach = Episode{}
		} else {
			d.Reason = join(notes, fmt.Sprintf("%s: %s does not hold", t.Name, condition))
		}
		return d
	}
	started := false
	switch {
	case !s.Breach.Active:
		s.Breach, started = Episode{Active: true, Since: sample.At}, true
	case prevBreaching:
		s.Breach.Sustained = addSat(s.Breach.Sustained, sample.At.Sub(prevAt))
		// Otherwise the previous sample was missing: the breach resumes where it stopped.
	}
	s.LastBreaching = true
	d.Cause, d.Since, d.SustainedFor = CauseBreach, s.Breach.Since, s.Breach.Sustained
	need := max(t.Duration, 0)
	msg := fmt.Sprintf("%s: %s, sustained %s of %s", t.Name, condition, s.Breach.Sustained, need)
	if s.Breach.Sustained >= need {
		s.due(&s.Breach, t.Action, t.Cooldown, sample.At, &d)
		msg += "; " + d.Reason
	}
	if d.Kind == KindNone && started {
		d.Kind = KindBreachStarted
	}
	d.Reason = join(notes, msg)
	return d
}

// observeNoData applies the no-data policy to a missing sample at at.
func (s *TriggerState) observeNoData(t Trigger, at, prevAt time.Time, d *Decision) {
	s.LastBreaching = false
	held := "breach timer held"
	if s.Breach.Active {
		held = fmt.Sprintf("breach timer held at %s", s.Breach.Sustained)
	}
	policy := t.NoDataPolicy()
	if policy != NoDataAlert && policy != NoDataRollback {
		d.Reason = fmt.Sprintf("%s: no data (policy hold); %s", t.Name, held)
		return
	}
	if !s.NoData.Active {
		s.NoData = Episode{Active: true, Since: at}
	} else {
		s.NoData.Sustained = addSat(s.NoData.Sustained, at.Sub(prevAt))
	}
	need := max(t.Duration, 0)
	d.Cause, d.Since, d.SustainedFor = CauseNoData, s.NoData.Since, s.NoData.Sustained
	msg := fmt.Sprintf("%s: no data for %s of %s (policy %s); %s", t.Name, s.NoData.Sustained, need, policy, held)
	if s.NoData.Sustained >= need {
		s.due(&s.NoData, policy, t.Cooldown, at, d)
		msg += "; " + d.Reason
	}
	d.Reason = msg
}

// due handles an episode that has been sustained long enough: it fires,
// is suppressed by the cooldown of action, or has already done either.
func (s *TriggerState) due(ep *Episode, action string, cooldown time.Duration, at time.Time, d *Decision) {
	switch {
	case ep.Fired:
		d.Reason = "already fired"
		return
	case s.inCooldown(action, cooldown, at):
		until := s.LastFired[action].Add(cooldown)
		if ep.Suppressed {
			d.Reason = fmt.Sprintf("%s still suppressed by the cooldown until %s", action, stamp(until))
			return
		}
		ep.Suppressed = true
		d.Kind, d.Action = KindSuppressed, action
		d.Reason = fmt.Sprintf("%s suppressed: it fired at %s, cooldown %s until %s", action, stamp(s.LastFired[action]), cooldown, stamp(until))
		return
	}
	ep.Fired = true
	if s.LastFired == nil {
		s.LastFired = map[string]time.Time{}
	}
	s.LastFired[action] = at
	d.Kind, d.Action = KindFired, action
	d.Reason = "fired: " + action
}

func (s *TriggerState) inCooldown(action string, cooldown time.Duration, at time.Time) bool {
	last, ok := s.LastFired[action]
	return ok && cooldown > 0 && at.Sub(last) < cooldown
}

// addSat adds two non-negative durations, saturating instead of overflowing.
func addSat(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func join(notes []string, msg string) string {
	if len(notes) == 0 {
		return msg
	}
	return strings.Join(notes, "; ") + "; " + msg
}

// NameRule is the rule for alert rule and trigger names: they are the ids
// of their aggregates (NATS subject tokens), so identifiers (libs/ident),
// and they start with a letter or digit.
var NameRule = ident.Rule{
	Noun:        "name",
	Description: "1-64 ASCII letters, digits, '-' or '_', starting with a letter or digit",
	Pattern:     `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`,
	Allow:       func(s string) bool { return s[0] != '-' && s[0] != '_' }, // s is an identifier: not empty
}

// validateName checks a rule or trigger name against NameRule.
func validateName(v *errs.Violations, field, name string) { NameRule.Check(v, field, name) }
