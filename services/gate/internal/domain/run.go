package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
)

// RunID is the id of the gate run of release in environment: "gr-" and 24
// hex digits of SHA-256 over both (ids of either may contain '-' or '_', so
// joining them would be ambiguous).
func RunID(release, environment string) string {
	h := sha256.Sum256([]byte(release + "\x00" + environment))
	return "gr-" + hex.EncodeToString(h[:12])
}

// Run is the gate run of one release in one environment (the gaterun aggregate).
type Run struct {
	ID           string
	Opened       bool
	ReleaseID    string
	Product      string
	Version      string
	Environment  string
	DeploymentID string
	Author       string
	PromotedBy   string
	DefsVersion  uint64
	Attempt      uint32
	OpenedAt     time.Time
	Gates        []*GateState
	Verdict      *gatev1.GateVerdict // the last one recorded
}

// GateState is one gate of a run.
type GateState struct {
	Def      *gatev1.GateDefinition
	Deadline time.Time
	Suites   map[string]*gatev1.SuiteStatus
	Outcome  gatev1.GateOutcome
	Reason   string
	Override *gatev1.Override
	// Beneath is the outcome an override covers (what returns when it expires).
	Beneath       gatev1.GateOutcome
	BeneathReason string
}

// NewRun is a run before any event.
func NewRun(id string) *Run { return &Run{ID: id} }

// Gate is the gate named name (nil if none).
func (r *Run) Gate(name string) *GateState {
	for _, g := range r.Gates {
		if g.Def.GetName() == name {
			return g
		}
	}
	return nil
}

// Apply folds one event of the run, written by actor at at.
func (r *Run) Apply(e proto.Message, actor string, at time.Time) {
	switch ev := e.(type) {
	case *gatev1.GatesOpened:
		*r = Run{
			ID: r.ID, Opened: true, ReleaseID: ev.GetReleaseId(), Product: ev.GetProduct(), Version: ev.GetVersion(),
			Environment: ev.GetEnvironment(), DeploymentID: ev.GetDeploymentId(), Author: ev.GetReleaseAuthor(),
			PromotedBy: ev.GetPromotedBy(), DefsVersion: ev.GetDefinitionsVersion(), Attempt: ev.GetAttempt(), OpenedAt: at,
			Verdict: r.Verdict,
		}
		for _, og := range ev.GetGates() {
			r.Gates = append(r.Gates, &GateState{
				Def: og.GetDefinition(), Deadline: og.GetDeadline().AsTime(), Suites: map[string]*gatev1.SuiteStatus{},
				Outcome: gatev1.GateOutcome_GATE_OUTCOME_PENDING,
			})
		}
	case *gatev1.ResultsReported:
		if g := r.Gate(ev.GetGate()); g != nil {
			g.Suites[ev.GetSuite()] = &gatev1.SuiteStatus{
				Suite: ev.GetSuite(), Reported: true, Passed: ev.GetPassed(), Reason: ev.GetReason(),
				Evidence: ev.GetEvidence(), ReportedBy: actor, ReportedAt: timestamppb.New(at),
			}
		}
	case *gatev1.GateDecided:
		if g := r.Gate(ev.GetGate()); g != nil {
			if ev.GetOutcome() == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN {
				if g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN {
					g.Beneath, g.BeneathReason = g.Outcome, g.Reason
				}
			} else {
				g.Override = nil
			}
			g.Outcome, g.Reason = ev.GetOutcome(), ev.GetReason()
		}
	case *gatev1.GateOverridden:
		if g := r.Gate(ev.GetGate()); g != nil {
			g.Override = &gatev1.Override{By: actor, Reason: ev.GetReason(), At: timestamppb.New(at), ExpiresAt: ev.GetExpiresAt()}
		}
	case *gatev1.GateVerdict:
		r.Verdict = ev
	}
}

func (r *Run) clone() *Run {
	c := *r
	c.Gates = make([]*GateState, len(r.Gates))
	for i, g := range r.Gates {
		cg := *g
		cg.Suites = make(map[string]*gatev1.SuiteStatus, len(g.Suites))
		for k, v := range g.Suites {
			cg.Suites[k] = v
		}
		c.Gates[i] = &cg
	}
	return &c
}

// decision accumulates the events of one decision, folding each into a
// scratch copy of the run so later ones see it.
type decision struct {
	run   *Run
	actor string
	now   time.Time
	out   []proto.Message
}

func decide(r *Run, actor string, now time.Time) *decision {
	return &decision{run: r.clone(), actor: actor, now: now}
}

func (d *decision) add(m proto.Message) {
	d.out = append(d.out, m)
	d.run.Apply(m, d.actor, d.now)
}

// settle records every gate whose outcome its suites change (not a new
// reason for the same outcome: the reports say that), then the verdict if
// it changed.
func (d *decision) settle() []proto.Message {
	for _, g := range d.run.Gates {
		if outcome, reason := evaluate(g); outcome != g.Outcome {
			d.add(&gatev1.GateDecided{Gate: g.Def.GetName(), Outcome: outcome, Reason: reason})
		}
	}
	v := d.run.verdict()
	if d.run.Verdict == nil || !proto.Equal(v, d.run.Verdict) {
		d.add(v)
	}
	return d.out
}

// evaluate is a gate's outcome from its suites. Timed-out gates stay timed
// out; an override stands unless the suites now pass.
func evaluate(g *GateState) (gatev1.GateOutcome, string) {
	if g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT {
		return g.Outcome, g.Reason
	}
	var failed, waiting []string
	for _, s := range g.Def.GetSuites() {
		st, ok := g.Suites[s]
		switch {
		case !ok:
			waiting = append(waiting, s)
		case !st.GetPassed():
			failed = append(failed, fmt.Sprintf("%s (%s)", s, st.GetReason()))
		}
	}
	var outcome gatev1.GateOutcome
	var reason string
	switch {
	case len(failed) > 0 && g.Def.GetOnFailure() == gatev1.OnFailure_ON_FAILURE_BLOCK:
		outcome, reason = gatev1.GateOutcome_GATE_OUTCOME_FAILED, "failed: "+strings.Join(failed, "; ")
	case len(failed) > 0:
		outcome, reason = gatev1.GateOutcome_GATE_OUTCOME_WARNED, "failed: "+strings.Join(failed, "; ")
	case len(waiting) > 0:
		outcome, reason = gatev1.GateOutcome_GATE_OUTCOME_PENDING, fmt.Sprintf("waiting for %s until %s", strings.Join(waiting, ", "), g.Deadline.UTC().Format(time.RFC3339))
	default:
		outcome, reason = gatev1.GateOutcome_GATE_OUTCOME_PASSED, "every suite passed"
	}
	if g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN && outcome != gatev1.GateOutcome_GATE_OUTCOME_PASSED {
		return g.Outcome, g.Reason
	}
	return outcome, reason
}

// reason is the gate's outcome in words; a pending gate names the suites
// it still waits for.
func (g *GateState) reason() string {
	if g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_PENDING {
		_, r := evaluate(g)
		return r
	}
	return g.Reason
}

// Satisfied reports whether a gate allows promoting past its environment.
func (g *GateState) Satisfied() bool {
	return !g.Def.GetRequired() || g.Def.GetOnFailure() == gatev1.OnFailure_ON_FAILURE_IGNORE ||
		g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_PASSED || g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN
}

func (r *Run) verdict() *gatev1.GateVerdict {
	v := &gatev1.GateVerdict{ReleaseId: r.ReleaseID, Environment: r.Environment, Satisfied: true, Attempt: r.Attempt}
	var until time.Time
	for _, g := range r.Gates {
		if !g.Satisfied() {
			v.Satisfied = false
			v.Unmet = append(v.Unmet, &gatev1.UnmetGate{Gate: g.Def.GetName(), Outcome: g.Outcome, Reason: g.reason(), OnFailure: g.Def.GetOnFailure()})
			continue
		}
		if g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN && g.Override.GetExpiresAt() != nil && g.Def.GetRequired() {
			if t := g.Override.GetExpiresAt().AsTime(); until.IsZero() || t.Before(until) {
				until = t
			}
		}
	}
	if !until.IsZero() {
		v.ValidUntil = timestamppb.New(until)
	}
	return v
}

// Opening is what opens a run: the release and how it got there.
type Opening struct {
	ReleaseID, Product, Version, Environment string
	DeploymentID                             string // "" when a report opens the run
	Author, PromotedBy                       string
}

// Open decides the opening of r for a deployment (or a report, without one)
// with the environment's definitions. A deployment already opened is a no-op
// (a redelivered event); a report-opened run stays open.
func Open(r *Run, o Opening, defs *Defs, actor string, now time.Time) []proto.Message {
	if r.Opened && (o.DeploymentID == "" || o.DeploymentID == r.DeploymentID) {
		return nil
	}
	ev := &gatev1.GatesOpened{
		ReleaseId: o.ReleaseID, Product: o.Product, Version: o.Version, Environment: o.Environment,
		DeploymentId: o.DeploymentID, ReleaseAuthor: o.Author, PromotedBy: o.PromotedBy,
		DefinitionsVersion: defs.Version, Attempt: r.Attempt + 1,
	}
	for _, g := range defs.Gates {
		ev.Gates = append(ev.Gates, &gatev1.OpenedGate{Definition: g, Deadline: timestamppb.New(now.Add(g.GetTimeout().AsDuration()))})
	}
	d := decide(r, actor, now)
	d.add(ev)
	d.run.Verdict = nil // a new attempt always records its verdict
	return d.settle()
}

// Report is one suite's evaluated report.
type Report struct {
	Gate, Suite string
	Evidence    *gatev1.Evidence
	Passed      bool
	Reason      string
}

// CheckReportTarget is nil when the run has the report's gate and suite.
func (r *Run) CheckReportTarget(gate, suite string) error {
	var v errs.Violations
	g := r.Gate(gate)
	switch {
	case g == nil:
		v.Add("gate", "%s has no gate %q (gates: %s)", r.Environment, gate, strings.Join(r.gateNames(), ", "))
	case !slices.Contains(g.Def.GetSuites(), suite):
		v.Add("suite", "gate %q has no suite %q (suites: %s)", gate, suite, strings.Join(g.Def.GetSuites(), ", "))
	}
	return v.Err()
}

func (r *Run) gateNames() []string {
	names := make([]string, 0, len(r.Gates))
	for _, g := range r.Gates {
		names = append(names, g.Def.GetName())
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// RecordReport decides a suite's report.
func RecordReport(r *Run, rep Report, actor string, now time.Time) ([]proto.Message, error) {
	if !r.Opened {
		return nil, &errs.NotFoundError{Kind: "gate run", ID: r.ID}
	}
	if err := r.CheckReportTarget(rep.Gate, rep.Suite); err != nil {
		return nil, err
	}
	g := r.Gate(rep.Gate)
	if g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT || !now.Before(g.Deadline) {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_GATE_CLOSED,
			"the %s gate of %s closed at %s (its deadline): reports are taken until then; a new deployment to %s opens the gates again",
			rep.Gate, r.Environment, g.Deadline.UTC().Format(time.RFC3339), r.Environment)
	}
	d := decide(r, actor, now)
	d.add(&gatev1.ResultsReported{Gate: rep.Gate, Suite: rep.Suite, Evidence: rep.Evidence, Passed: rep.Passed, Reason: rep.Reason})
	return d.settle(), nil
}

// Tick decides what time does to r at now: pending gates past their
// deadline time out, overrides past their expiry lapse.
func Tick(r *Run, now time.Time) []proto.Message {
	if !r.Opened {
		return nil
	}
	d := decide(r, "", now)
	for _, g := range d.run.Gates {
		switch {
		case g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_PENDING && !now.Before(g.Deadline):
			var missing []string
			for _, s := range g.Def.GetSuites() {
				if _, ok := g.Suites[s]; !ok {
					missing = append(missing, s)
				}
			}
			d.add(&gatev1.GateDecided{Gate: g.Def.GetName(), Outcome: gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT,
				Reason: fmt.Sprintf("timed out: no results from %s by %s", strings.Join(missing, ", "), g.Deadline.UTC().Format(time.RFC3339))})
		case g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN && g.Override.GetExpiresAt() != nil && !now.Before(g.Override.GetExpiresAt().AsTime()):
			d.add(&gatev1.GateDecided{Gate: g.Def.GetName(), Outcome: g.Beneath,
				Reason: fmt.Sprintf("the override by %s expired at %s; %s", g.Override.GetBy(), g.Override.GetExpiresAt().AsTime().UTC().Format(time.RFC3339), g.BeneathReason)})
		}
	}
	if len(d.out) == 0 {
		return nil
	}
	return d.settle()
}

// Next is when time next changes r (zero: never).
func (r *Run) Next() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, g := range r.Gates {
		switch {
		case g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_PENDING:
			earlier(g.Deadline)
		case g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN && g.Override.GetExpiresAt() != nil:
			earlier(g.Override.GetExpiresAt().AsTime())
		}
	}
	return next
}

// OverrideGate decides an override of a warned gate by principal.
func OverrideGate(r *Run, gate, principal, reason string, expires *timestamppb.Timestamp, now time.Time) ([]proto.Message, error) {
	var v errs.Violations
	checkReason(&v, reason)
	if expires != nil && (!expires.IsValid() || !expires.AsTime().After(now)) {
		v.Add("expires_at", "must be in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !r.Opened {
		return nil, &errs.NotFoundError{Kind: "gate run", ID: r.ID}
	}
	g := r.Gate(gate)
	if g == nil {
		return nil, errs.Invalid("gate", "%s has no gate %q (gates: %s)", r.Environment, gate, strings.Join(r.gateNames(), ", "))
	}
	switch {
	case g.Def.GetOnFailure() != gatev1.OnFailure_ON_FAILURE_WARN || !g.Def.GetAllowOverride():
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_OVERRIDE_NOT_ALLOWED,
			"the %s gate of %s cannot be overridden (on failure: %s, overrides allowed: %v)", gate, r.Environment, onFailureName(g.Def.GetOnFailure()), g.Def.GetAllowOverride())
	case g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_WARNED && g.Outcome != gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT:
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_OVERRIDE_NOT_ALLOWED,
			"the %s gate of %s is %s: only a warned or timed-out gate can be overridden", gate, r.Environment, OutcomeName(g.Outcome))
	case principal == r.Author:
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_OVERRIDE_BY_AUTHOR_OR_PROMOTER,
			"%s wrote release %s and may not override its gates", principal, r.ReleaseID)
	case principal == r.PromotedBy:
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_OVERRIDE_BY_AUTHOR_OR_PROMOTER,
			"%s promoted release %s to %s and may not override its gates there", principal, r.ReleaseID, r.Environment)
	}
	d := decide(r, principal, now)
	d.add(&gatev1.GateOverridden{Gate: gate, Reason: reason, ExpiresAt: expires})
	d.add(&gatev1.GateDecided{Gate: gate, Outcome: gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN, Reason: fmt.Sprintf("overridden by %s: %s", principal, reason)})
	return d.settle(), nil
}

// OutcomeName is an outcome in words ("timed out").
func OutcomeName(o gatev1.GateOutcome) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(o.String(), "GATE_OUTCOME_")), "_", " ")
}

func onFailureName(f gatev1.OnFailure) string {
	return strings.ToLower(strings.TrimPrefix(f.String(), "ON_FAILURE_"))
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// View is r as clients see it.
func (r *Run) View() *gatev1.GateRun {
	out := &gatev1.GateRun{
		RunId: r.ID, ReleaseId: r.ReleaseID, Product: r.Product, Version: r.Version, Environment: r.Environment,
		DeploymentId: r.DeploymentID, DefinitionsVersion: r.DefsVersion, Attempt: r.Attempt,
		ReleaseAuthor: r.Author, PromotedBy: r.PromotedBy,
	}
	if !r.OpenedAt.IsZero() {
		out.OpenedAt = timestamp(r.OpenedAt)
	}
	for _, g := range r.Gates {
		gs := &gatev1.GateStatus{Definition: g.Def, Outcome: g.Outcome, Reason: g.reason(), Deadline: timestamp(g.Deadline), Override: g.Override}
		if g.Outcome == gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN {
			gs.OverriddenOutcome, gs.OverriddenReason = g.Beneath, g.BeneathReason
		}
		for _, s := range g.Def.GetSuites() {
			if st, ok := g.Suites[s]; ok {
				gs.Suites = append(gs.Suites, st)
			} else {
				gs.Suites = append(gs.Suites, &gatev1.SuiteStatus{Suite: s})
			}
		}
		out.Gates = append(out.Gates, gs)
	}
	v := r.verdict()
	out.Satisfied, out.Unmet = v.GetSatisfied(), v.GetUnmet()
	return out
}

// FromView is the run a View describes (snapshots and view checkpoints store
// runs as their view: it holds the whole state).
func FromView(v *gatev1.GateRun) *Run {
	r := &Run{
		ID: v.GetRunId(), Opened: v.GetAttempt() > 0, ReleaseID: v.GetReleaseId(), Product: v.GetProduct(), Version: v.GetVersion(),
		Environment: v.GetEnvironment(), DeploymentID: v.GetDeploymentId(), Author: v.GetReleaseAuthor(), PromotedBy: v.GetPromotedBy(),
		DefsVersion: v.GetDefinitionsVersion(), Attempt: v.GetAttempt(),
	}
	if v.GetOpenedAt() != nil {
		r.OpenedAt = v.GetOpenedAt().AsTime()
	}
	for _, gs := range v.GetGates() {
		g := &GateState{
			Def: gs.GetDefinition(), Deadline: gs.GetDeadline().AsTime(), Suites: map[string]*gatev1.SuiteStatus{},
			Outcome: gs.GetOutcome(), Reason: gs.GetReason(), Override: gs.GetOverride(),
			Beneath: gs.GetOverriddenOutcome(), BeneathReason: gs.GetOverriddenReason(),
		}
		for _, st := range gs.GetSuites() {
			if st.GetReported() {
				g.Suites[st.GetSuite()] = st
			}
		}
		r.Gates = append(r.Gates, g)
	}
	if r.Opened {
		r.Verdict = r.verdict() // every decision ends with the verdict recorded
	}
	return r
}

// MarshalRun and UnmarshalRun encode a run (as its view, binary protobuf).
func MarshalRun(r *Run) ([]byte, error) { return proto.Marshal(r.View()) }

// UnmarshalRun decodes MarshalRun's encoding.
func UnmarshalRun(b []byte) (*Run, error) {
	var v gatev1.GateRun
	if err := proto.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return FromView(&v), nil
}
