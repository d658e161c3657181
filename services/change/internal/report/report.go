package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// The outcomes of a reported deployment.
const (
	OutcomeSucceeded  = "succeeded"
	OutcomeFailed     = "failed"
	OutcomeRolledBack = "rolled_back"
	OutcomeInProgress = "in_progress"
)

// The review statuses of a reported emergency change.
const (
	ReviewDone    = "done"
	ReviewLate    = "late"
	ReviewOverdue = "overdue"
	ReviewPending = "pending"
)

// Event is one event of the log as the report reads it.
type Event struct {
	// Position is the event's log sequence.
	Position uint64
	// Time is when the event was recorded (its envelope's time).
	Time time.Time
	// Actor is the principal the event's envelope names.
	Actor string
	// Aggregate is the kind of aggregate ("release", "deployment", "gaterun", "change", "changecal", …).
	Aggregate string
	// ID is the aggregate's id.
	ID string
	// Msg is the decoded event; types the report does not read are ignored.
	Msg proto.Message
}

// Builder folds the log's events into a compliance report for one period
// and set of environments. It is not safe for concurrent use.
type Builder struct {
	from, to time.Time
	envs     []string
	all      bool // no environment named: every one is reported

	first, last uint64

	releases map[string]*release
	// deployments are the reported ones, in log order; promotions indexes
	// every promotion (reported or not) by release, environment and attempt;
	// byID the reported ones by deployment id (conventional and actual).
	deployments []*deployment
	promotions  map[attemptKey]*deployment
	byID        map[string]*deployment

	runs      map[string]*gateRun
	changes   map[string]*change
	order     []*change // changes in submission order
	overrides []*changev1.FreezeOverride
}

type release struct {
	author, product, version string
	// approvals are the approvers per environment since the last voiding, in grant order.
	approvals map[string][]string
}

type attemptKey struct {
	release, env string
	attempt      uint32
}

type deployment struct {
	reported bool
	rc       *changev1.ReportedChange
	// What the deployer said before the rollback finished.
	aborted, rollbackReason, rollbackTrigger string
	// settled: the deployer's own events decided the outcome (the release's
	// mirrors then add nothing).
	settled bool
}

type gateRun struct {
	release, environment string
	results              []evidence
}

type evidence struct {
	position uint64
	ev       *changev1.GateEvidence
}

type change struct {
	id, title, submitter, justification string
	class                               changev1.ChangeClass
	state                               changev1.ChangeState
	environments                        []string
	approvals                           []*changev1.Approval
	implementedAt, reviewDue            time.Time
	implementedIn                       []string
	review                              *changev1.PostImplementationReview
	// inPeriod: submitted, or an implementation started, within the period.
	inPeriod bool
}

// New starts a report of the period [from, to) for environments (none: every environment).
func New(from, to time.Time, environments []string) *Builder {
	var envs []string
	for _, e := range environments {
		if e != "" && !slices.Contains(envs, e) {
			envs = append(envs, e)
		}
	}
	return &Builder{
		from: from, to: to, envs: envs, all: len(envs) == 0,
		releases:   map[string]*release{},
		promotions: map[attemptKey]*deployment{},
		byID:       map[string]*deployment{},
		runs:       map[string]*gateRun{},
		changes:    map[string]*change{},
	}
}

// Add folds the next event of the log. Call it for every event from the
// start of the log to the end of the period, in log order.
func (b *Builder) Add(e Event) {
	if !e.Time.Before(b.to) {
		return
	}
	in := !e.Time.Before(b.from)
	if in {
		if b.first == 0 {
			b.first = e.Position
		}
		b.last = e.Position
	}
	switch m := e.Msg.(type) {
	// The release.
	case *releasev1.ReleaseCreated:
		r := b.release(or(m.GetReleaseId(), e.ID))
		r.author, r.product, r.version = e.Actor, m.GetProduct(), m.GetVersion()
	case *releasev1.ApprovalGranted:
		r := b.release(e.ID)
		who := or(m.GetApprover(), e.Actor)
		if !slices.Contains(r.approvals[m.GetEnvironment()], who) {
			r.approvals[m.GetEnvironment()] = append(r.approvals[m.GetEnvironment()], who)
		}
	case *releasev1.ApprovalsVoided:
		r := b.release(e.ID)
		if len(m.GetEnvironments()) == 0 {
			clear(r.approvals)
		}
		for _, env := range m.GetEnvironments() {
			delete(r.approvals, env)
		}
	case *releasev1.PromotionRequested:
		b.promote(e, m, in)
	case *releasev1.ReleaseDeployed:
		if d := b.mirrored(e.ID, m.GetEnvironment(), m.GetDeploymentId()); d != nil && !d.settled && d.rc.GetOutcome() == OutcomeInProgress {
			d.finish(e.Time, OutcomeSucceeded, "")
		}
	case *releasev1.ReleaseDeploymentFailed:
		if d := b.mirrored(e.ID, m.GetEnvironment(), m.GetDeploymentId()); d != nil && !d.settled && d.rc.GetOutcome() == OutcomeInProgress {
			d.finish(e.Time, OutcomeFailed, m.GetReason())
		}
	case *releasev1.ReleaseRolledBack:
		if d := b.mirrored(e.ID, m.GetEnvironment(), m.GetDeploymentId()); d != nil && d.rc.GetOutcome() != OutcomeRolledBack {
			d.finish(e.Time, OutcomeRolledBack, d.rollbackDetail(m.GetReason(), m.GetRestoredVersion()))
		}

	// The deployment.
	case *deployv1.DeploymentStarted:
		b.start(e, m, in)
	case *deployv1.DeploymentSucceeded:
		if d := b.byID[or(m.GetDeploymentId(), e.ID)]; d != nil {
			d.settled = true
			d.finish(e.Time, OutcomeSucceeded, "")
		}
	case *deployv1.DeploymentFailed:
		if d := b.byID[or(m.GetDeploymentId(), e.ID)]; d != nil {
			d.settled = true
			d.finish(e.Time, OutcomeFailed, m.GetReason())
		}
	case *deployv1.DeploymentAborted:
		if d := b.byID[e.ID]; d != nil {
			d.aborted = m.GetReason()
		}
	case *deployv1.RollbackStarted:
		if d := b.byID[e.ID]; d != nil {
			d.rollbackReason, d.rollbackTrigger = m.GetReason(), m.GetTrigger()
		}
	case *deployv1.RolledBack:
		if d := b.byID[or(m.GetDeploymentId(), e.ID)]; d != nil {
			d.settled = true
			d.finish(e.Time, OutcomeRolledBack, d.rollbackDetail(m.GetReason(), m.GetRestoredVersion()))
		}

	// The gate runs.
	case *gatev1.GatesOpened:
		r := b.run(e.ID)
		r.release, r.environment = m.GetReleaseId(), m.GetEnvironment()
	case *gatev1.ResultsReported:
		ev := m.GetEvidence()
		r := b.run(e.ID)
		r.results = append(r.results, evidence{position: e.Position, ev: &changev1.GateEvidence{
			Gate: m.GetGate(), Suite: m.GetSuite(), Format: enumtext.Name(ev.GetFormat()),
			Sha256: strings.TrimPrefix(ev.GetDigest(), "sha256:"), Passed: m.GetPassed(),
		}})

	// The change requests.
	case *changev1.ChangeSubmitted:
		c := b.change(or(m.GetId(), e.ID))
		c.submitter, c.class, c.title, c.justification = or(m.GetSubmitter(), e.Actor), m.GetClass(), m.GetTitle(), m.GetJustification()
		c.environments = slices.Clone(m.GetEnvironments())
		c.state = changev1.ChangeState_CHANGE_STATE_PENDING_APPROVAL
		if m.GetReviewRequired() {
			c.state = changev1.ChangeState_CHANGE_STATE_SUBMITTED
		}
		c.inPeriod = c.inPeriod || in
	case *changev1.ChangeReviewStarted:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_IN_REVIEW
	case *changev1.ChangeReviewCompleted:
		if m.GetOutcome() == "passed" {
			b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_PENDING_APPROVAL
		}
	case *changev1.ChangeApprovalGranted:
		c := b.change(e.ID)
		c.approvals = append(c.approvals, &changev1.Approval{
			Approver: or(m.GetApprover(), e.Actor), As: m.GetAs(), Roles: slices.Clone(m.GetRoles()),
			Comment: m.GetComment(), At: timestamppb.New(e.Time), Counts: m.GetCounts(),
		})
	case *changev1.ChangeApproved:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_APPROVED
	case *changev1.ChangeRejected:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_REJECTED
	case *changev1.ChangeScheduled:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_SCHEDULED
	case *changev1.ChangeCancelled:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_CANCELLED
	case *changev1.ChangeImplementationStarted:
		c := b.change(e.ID)
		c.state = changev1.ChangeState_CHANGE_STATE_IMPLEMENTING
		if c.implementedAt.IsZero() {
			c.implementedAt = e.Time
		}
		if env := m.GetEnvironment(); env != "" && !slices.Contains(c.implementedIn, env) {
			c.implementedIn = append(c.implementedIn, env)
		}
		if m.GetReviewDue() != nil {
			c.reviewDue = m.GetReviewDue().AsTime()
		}
		c.inPeriod = c.inPeriod || in
	case *changev1.ChangeValidated:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_VALIDATED
	case *changev1.ChangeFailed:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_FAILED
	case *changev1.ChangePostImplementationReviewed:
		b.change(e.ID).review = &changev1.PostImplementationReview{
			Reviewer: or(m.GetReviewer(), e.Actor), RootCause: m.GetRootCause(), Prevention: m.GetPrevention(),
			Notes: m.GetNotes(), At: timestamppb.New(e.Time), Late: m.GetLate(),
		}
	case *changev1.ChangeClosed:
		b.change(e.ID).state = changev1.ChangeState_CHANGE_STATE_CLOSED

	// The calendar.
	case *changev1.FreezeOverridden:
		if o := m.GetOverride(); in && o != nil && (o.GetEnvironment() == "" || b.reported(o.GetEnvironment())) {
			b.overrides = append(b.overrides, proto.CloneOf(o))
		}
	}
}

// promote records a promotion; one to a reported environment within the period starts a reported change.
func (b *Builder) promote(e Event, m *releasev1.PromotionRequested, in bool) {
	id, env := or(m.GetReleaseId(), e.ID), m.GetEnvironment()
	key := attemptKey{release: id, env: env, attempt: m.GetAttempt()}
	d := &deployment{reported: in && b.reported(env)}
	b.promotions[key] = d
	if !d.reported {
		return
	}
	r := b.release(id)
	approvers := slices.Clone(m.GetApprovedBy())
	if len(approvers) == 0 {
		approvers = slices.Clone(r.approvals[env])
	}
	d.rc = &changev1.ReportedChange{
		DeploymentId:     fmt.Sprintf("%s-%s-%d", id, env, m.GetAttempt()),
		ReleaseId:        id,
		Product:          or(m.GetProduct(), r.product),
		Version:          or(m.GetVersion(), r.version),
		Environment:      env,
		Strategy:         strategy(m.GetStrategyType(), m.GetStrategy()),
		RequestedAt:      timestamppb.New(e.Time),
		RequestedBy:      or(m.GetRequestedBy(), e.Actor),
		ReleaseApprovers: approvers,
		ReleaseAuthor:    r.author,
		Outcome:          OutcomeInProgress,
		ChangeId:         m.GetChangeId(),
		FreezeOverride:   m.GetFreezeOverride(),
		Position:         e.Position,
	}
	b.deployments = append(b.deployments, d)
	b.byID[d.rc.GetDeploymentId()] = d
}

// start links the deployer's deployment to its promotion; one started
// without a promotion (a retry, a configuration rollout) is reported on its own.
func (b *Builder) start(e Event, m *deployv1.DeploymentStarted, in bool) {
	id := or(m.GetDeploymentId(), e.ID)
	if d := b.promotions[attemptKey{release: m.GetReleaseId(), env: m.GetEnvironment(), attempt: m.GetAttempt()}]; d != nil && m.GetReleaseId() != "" {
		if d.reported {
			d.rc.DeploymentId = id
			d.rc.ChangeId = or(d.rc.GetChangeId(), m.GetChangeId())
			b.byID[id] = d
		}
		return
	}
	if !in || !b.reported(m.GetEnvironment()) {
		return
	}
	r := b.release(m.GetReleaseId())
	d := &deployment{reported: true, rc: &changev1.ReportedChange{
		DeploymentId:  id,
		ReleaseId:     m.GetReleaseId(),
		Product:       or(m.GetProduct(), r.product),
		Version:       or(m.GetVersion(), r.version),
		Environment:   m.GetEnvironment(),
		Strategy:      strategy(m.GetStrategyType(), m.GetStrategy()),
		RequestedAt:   timestamppb.New(e.Time),
		RequestedBy:   or(m.GetRequestedBy(), e.Actor),
		ReleaseAuthor: r.author,
		Outcome:       OutcomeInProgress,
		ChangeId:      m.GetChangeId(),
		Position:      e.Position,
	}}
	if m.GetReleaseId() == "" {
		d.rc.ReleaseAuthor = ""
	}
	b.deployments = append(b.deployments, d)
	b.byID[id] = d
}

// mirrored finds the deployment a release event mirrors: by its id, else
// the latest reported deployment of the release to env.
func (b *Builder) mirrored(releaseID, env, deploymentID string) *deployment {
	if d := b.byID[deploymentID]; d != nil {
		return d
	}
	if deploymentID != "" {
		return nil
	}
	for _, d := range slices.Backward(b.deployments) {
		if d.rc.GetReleaseId() == releaseID && d.rc.GetEnvironment() == env {
			return d
		}
	}
	return nil
}

func (d *deployment) finish(at time.Time, outcome, detail string) {
	d.rc.Outcome, d.rc.OutcomeDetail, d.rc.FinishedAt = outcome, detail, timestamppb.New(at)
}

// rollbackDetail says why a deployment was rolled back, what triggered it and what runs again.
func (d *deployment) rollbackDetail(reason, restored string) string {
	var parts []string
	if why := or(reason, d.rollbackReason); why != "" {
		parts = append(parts, why)
	} else if d.aborted != "" {
		parts = append(parts, "aborted: "+d.aborted)
	}
	if d.rollbackTrigger != "" {
		parts = append(parts, "trigger "+d.rollbackTrigger)
	}
	if restored != "" {
		parts = append(parts, "restored "+restored)
	}
	return strings.Join(parts, "; ")
}

func (b *Builder) reported(env string) bool {
	return b.all || slices.Contains(b.envs, env)
}

func (b *Builder) release(id string) *release {
	r := b.releases[id]
	if r == nil {
		r = &release{approvals: map[string][]string{}}
		b.releases[id] = r
	}
	return r
}

func (b *Builder) run(id string) *gateRun {
	r := b.runs[id]
	if r == nil {
		r = &gateRun{}
		b.runs[id] = r
	}
	return r
}

func (b *Builder) change(id string) *change {
	c := b.changes[id]
	if c == nil {
		c = &change{id: id}
		b.changes[id] = c
		b.order = append(b.order, c)
	}
	return c
}

// Report is the report as the log stood at the end of the period; reviews
// are judged overdue as of min(to, now), and now is its generation time.
// Its verification is left for the caller to attach.
func (b *Builder) Report(now time.Time) *changev1.ComplianceReport {
	asOf := b.to
	if now.Before(asOf) {
		asOf = now
	}
	r := &changev1.ComplianceReport{
		From: timestamppb.New(b.from), To: timestamppb.New(b.to), Environments: slices.Clone(b.envs),
		GeneratedAt:   timestamppb.New(now),
		FirstPosition: b.first, LastPosition: b.last,
		Summary: &changev1.ReportSummary{},
	}
	s := r.Summary
	for _, d := range b.deployments {
		rc := b.reportedChange(d)
		r.Changes = append(r.Changes, rc)
		s.Deployments++
		if rc.GetChangeId() != "" {
			s.WithChangeRequest++
		} else {
			s.WithoutChangeRequest++
		}
		switch rc.GetOutcome() {
		case OutcomeRolledBack:
			s.Rollbacks++
		case OutcomeFailed:
			s.Failed++
		}
		if !rc.GetSeparationOfDuties() {
			s.SelfApprovals++
		}
	}
	slices.SortStableFunc(r.Changes, func(x, y *changev1.ReportedChange) int { return cmp.Compare(x.GetPosition(), y.GetPosition()) })
	for _, c := range b.order {
		if c.class != changev1.ChangeClass_CHANGE_CLASS_EMERGENCY || !c.inPeriod || !b.touches(c) {
			continue
		}
		em := c.emergency(asOf)
		r.Emergencies = append(r.Emergencies, em)
		s.EmergencyChanges++
		if em.GetReviewStatus() == ReviewOverdue {
			s.ReviewsOverdue++
		}
	}
	for _, o := range b.overrides {
		r.FreezeOverrides = append(r.FreezeOverrides, proto.CloneOf(o))
	}
	s.FreezeOverrides = uint32(len(r.FreezeOverrides))
	return r
}

// reportedChange completes a deployment with its change request, its gate evidence and the separation of duties.
func (b *Builder) reportedChange(d *deployment) *changev1.ReportedChange {
	rc := proto.CloneOf(d.rc)
	var problems []string
	add := func(format string, args ...any) {
		if p := fmt.Sprintf(format, args...); !slices.Contains(problems, p) {
			problems = append(problems, p)
		}
	}
	if c := b.changes[rc.GetChangeId()]; c != nil && rc.GetChangeId() != "" {
		rc.ChangeClass, rc.ChangeTitle, rc.ChangeSubmitter = c.class, c.title, c.submitter
		for _, a := range c.approvals {
			rc.ChangeApprovals = append(rc.ChangeApprovals, proto.CloneOf(a))
			if a.GetApprover() != "" && a.GetApprover() == c.submitter {
				add("change %s approved by its submitter %s", c.id, c.submitter)
			}
		}
	}
	for _, who := range rc.GetReleaseApprovers() {
		if who == "" {
			continue
		}
		if who == rc.GetReleaseAuthor() {
			add("release %s approved by its author %s", rc.GetReleaseId(), who)
		}
		if who == rc.GetRequestedBy() {
			add("release %s approved by %s, who promoted it", rc.GetReleaseId(), who)
		}
	}
	rc.SeparationProblems = problems
	rc.SeparationOfDuties = len(problems) == 0

	// Gate runs are found through their GatesOpened (a run's id is a hash of
	// release and environment), the reports of each kept in log order.
	var found []evidence
	if rc.GetReleaseId() != "" {
		for _, run := range b.runs {
			if run.release != rc.GetReleaseId() {
				continue
			}
			for _, ev := range run.results {
				if ev.position < rc.GetPosition() {
					g := proto.CloneOf(ev.ev)
					g.Environment = run.environment
					found = append(found, evidence{position: ev.position, ev: g})
				}
			}
		}
	}
	slices.SortFunc(found, func(x, y evidence) int { return cmp.Compare(x.position, y.position) })
	for _, ev := range found {
		rc.GateEvidence = append(rc.GateEvidence, ev.ev)
	}
	return rc
}

// touches reports whether a change covers, or was implemented in, a reported environment.
func (b *Builder) touches(c *change) bool {
	if b.all {
		return true
	}
	return slices.ContainsFunc(c.environments, b.reported) || slices.ContainsFunc(c.implementedIn, b.reported)
}

// emergency reports an emergency change and its review status as of asOf.
func (c *change) emergency(asOf time.Time) *changev1.ReportedEmergency {
	em := &changev1.ReportedEmergency{
		ChangeId: c.id, Title: c.title, Submitter: c.submitter, Justification: c.justification,
		State: c.state, Review: proto.CloneOf(c.review),
	}
	for _, a := range c.approvals {
		em.Approvals = append(em.Approvals, proto.CloneOf(a))
	}
	if !c.implementedAt.IsZero() {
		em.ImplementedAt = timestamppb.New(c.implementedAt)
	}
	if !c.reviewDue.IsZero() {
		em.ReviewDue = timestamppb.New(c.reviewDue)
	}
	switch {
	case c.review != nil && (c.review.GetLate() || !c.reviewDue.IsZero() && c.review.GetAt().AsTime().After(c.reviewDue)):
		em.ReviewStatus = ReviewLate
	case c.review != nil:
		em.ReviewStatus = ReviewDone
	case !c.reviewDue.IsZero() && asOf.After(c.reviewDue):
		em.ReviewStatus = ReviewOverdue
	default:
		em.ReviewStatus = ReviewPending
	}
	return em
}

// strategy is a strategy's text, from the enum or, for older events, its deprecated text twin.
func strategy(v deployv1.DeploymentStrategy, text string) string {
	if s, ok := enumtext.Resolve(v, text); ok && enumtext.Name(s) != "" {
		return enumtext.Name(s)
	}
	if name := enumtext.Name(v); name != "" {
		return name
	}
	return text
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}
