// Package domain is the release service's model: releases, products,
// environments and their policies, as pure Go. Commands are decisions —
// functions of (state, command, now) that return the events to append or a
// typed error — and state is rebuilt only through Apply. No NATS, no gRPC.
package domain

import (
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Meta is what the log says about an event besides its body.
type Meta struct {
	Actor string
	Time  time.Time
}

// envState is a release's progress in one environment.
type envState struct {
	Status       releasev1.ReleaseStatus
	Approvals    []*releasev1.Approval // at the current content revision
	Rejections   []*releasev1.Rejection
	PromotedBy   string
	PromotedAt   time.Time
	Strategy     deployv1.DeploymentStrategy
	Attempts     uint32
	DeploymentID string
	UpdatedAt    time.Time
	Reason       string
	// approvedRevision is the content revision the approvals were given at.
	approvedRevision uint64
}

// Release is the Release aggregate's state.
type Release struct {
	id, product, version string
	typ                  releasev1.ReleaseType
	title, description   string
	changes              []*releasev1.Change
	targets              []string
	schedule             *releasev1.Schedule
	approvers            []string
	rollbackPlan         string
	testingPlan          string
	author               string
	createdAt, updatedAt time.Time
	contentRevision      uint64
	cancelled            bool
	cancelReason         string
	envs                 map[string]*envState
	prereqs              []*releasev1.Prerequisite
	risk                 *releasev1.RiskAssessment
	// aggregateVersion is the number of events applied.
	aggregateVersion uint64
	// lastChange is the environment whose status changed last (for the overall status).
	lastChange string
}

// NewRelease returns the state of a release with no events.
func NewRelease() *Release {
	return &Release{envs: map[string]*envState{}}
}

// Exists reports whether the release has been created.
func (r *Release) Exists() bool { return r.id != "" }

// ID is the release id.
func (r *Release) ID() string { return r.id }

// Product is the product the release belongs to.
func (r *Release) Product() string { return r.product }

// Version is the release's semver.
func (r *Release) Version() string { return r.version }

// AggregateVersion is the number of events applied.
func (r *Release) AggregateVersion() uint64 { return r.aggregateVersion }

// CancelReason is why the release was cancelled ("" when it is not).
func (r *Release) CancelReason() string { return r.cancelReason }

// CreatedAt is when the release was planned.
func (r *Release) CreatedAt() time.Time { return r.createdAt }

func (r *Release) env(name string) *envState {
	e, ok := r.envs[name]
	if !ok {
		e = &envState{Status: releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED}
		r.envs[name] = e
	}
	return e
}

// Apply folds one event into the release; it is the only way state changes.
func Apply(r *Release, ev proto.Message, m Meta) {
	r.aggregateVersion++
	r.updatedAt = m.Time
	switch e := ev.(type) {
	case *releasev1.ReleaseCreated:
		r.id, r.product, r.version, r.typ = e.GetReleaseId(), e.GetProduct(), e.GetVersion(), e.GetType()
		r.title, r.description = e.GetTitle(), e.GetDescription()
		r.changes = e.GetChanges()
		r.targets = e.GetTargetEnvironments()
		r.schedule, r.approvers = e.GetSchedule(), e.GetApprovers()
		r.rollbackPlan, r.testingPlan = e.GetRollbackPlan(), e.GetTestingPlan()
		r.author, r.createdAt = m.Actor, m.Time
		r.contentRevision = 1
		for _, t := range r.targets {
			r.env(t)
		}
	case *releasev1.ReleaseUpdated:
		r.title, r.description = e.GetTitle(), e.GetDescription()
		r.targets, r.schedule, r.approvers = e.GetTargetEnvironments(), e.GetSchedule(), e.GetApprovers()
		r.rollbackPlan, r.testingPlan = e.GetRollbackPlan(), e.GetTestingPlan()
		for _, t := range r.targets {
			r.env(t)
		}
		if e.GetContentChanged() {
			r.contentRevision++
		}
	case *releasev1.ChangeAdded:
		r.changes = append(r.changes, e.GetChange())
		r.contentRevision++
	case *releasev1.ApprovalsVoided:
		for _, name := range e.GetEnvironments() {
			st := r.env(name)
			st.Approvals, st.Rejections = nil, nil
			if st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED {
				st.Status = releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED
			}
		}
	case *releasev1.ApprovalGranted:
		st := r.env(e.GetEnvironment())
		st.Approvals = append(st.Approvals, &releasev1.Approval{
			Environment: e.GetEnvironment(), Approver: e.GetApprover(), Comment: e.GetComment(), Time: timestamppb.New(m.Time),
			Via: e.GetVia(), Delegate: e.GetDelegate(),
		})
		st.approvedRevision = e.GetContentRevision()
	case *releasev1.ReleaseApproved:
		st := r.env(e.GetEnvironment())
		if st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED {
			st.Status = releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED
			st.UpdatedAt = m.Time
		}
	case *releasev1.ReleaseRejected:
		st := r.env(e.GetEnvironment())
		st.Rejections = append(st.Rejections, &releasev1.Rejection{
			Environment: e.GetEnvironment(), RejectedBy: e.GetRejectedBy(), Reason: e.GetReason(), Time: timestamppb.New(m.Time),
			Via: e.GetVia(), Delegate: e.GetDelegate(),
		})
	case *releasev1.PrerequisiteAdded:
		r.prereqs = append(r.prereqs, e.GetPrerequisite())
	case *releasev1.PrerequisiteUpdated:
		for _, p := range r.prereqs {
			if p.GetId() != e.GetPrerequisiteId() {
				continue
			}
			if e.GetStatus() != releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_UNSPECIFIED {
				p.Status = e.GetStatus()
			}
			if e.GetOwner() != "" {
				p.Owner = e.GetOwner()
			}
			if e.GetDeadline() != nil {
				p.Deadline = e.GetDeadline()
			}
		}
	case *releasev1.RiskAssessed:
		r.risk = e.GetRisk()
	case *releasev1.PromotionRequested:
		st := r.env(e.GetEnvironment())
		st.Status = releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING
		st.PromotedBy, st.PromotedAt, st.Attempts = e.GetRequestedBy(), m.Time, e.GetAttempt()
		st.Strategy, _ = enumtext.Resolve(e.GetStrategyType(), e.GetStrategy()) //nolint:staticcheck // the text form, for events written before strategy_type
		st.UpdatedAt, st.Reason, st.DeploymentID = m.Time, "", ""
		r.lastChange = e.GetEnvironment()
	case *releasev1.ReleaseDeploying:
		st := r.env(e.GetEnvironment())
		st.Status, st.DeploymentID, st.UpdatedAt = releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING, e.GetDeploymentId(), m.Time
		r.lastChange = e.GetEnvironment()
	case *releasev1.ReleaseDeployed:
		st := r.env(e.GetEnvironment())
		st.Status, st.DeploymentID, st.UpdatedAt, st.Reason = releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED, e.GetDeploymentId(), m.Time, ""
		r.lastChange = e.GetEnvironment()
	case *releasev1.ReleaseDeploymentFailed:
		st := r.env(e.GetEnvironment())
		st.Status, st.DeploymentID, st.UpdatedAt, st.Reason = releasev1.ReleaseStatus_RELEASE_STATUS_FAILED, e.GetDeploymentId(), m.Time, e.GetReason()
		r.lastChange = e.GetEnvironment()
	case *releasev1.ReleaseRolledBack:
		st := r.env(e.GetEnvironment())
		st.Status, st.DeploymentID, st.UpdatedAt, st.Reason = releasev1.ReleaseStatus_RELEASE_STATUS_ROLLED_BACK, e.GetDeploymentId(), m.Time, e.GetReason()
		r.lastChange = e.GetEnvironment()
	case *releasev1.ReleaseCancelled:
		r.cancelled, r.cancelReason = true, e.GetReason()
	}
}

// Status is the release's overall status: cancelled once cancelled;
// otherwise the status of the environment that changed last among those a
// promotion has reached (deploying, deployed, failed, rolled back); before
// any promotion, approved when some environment is approved, else planned.
func (r *Release) Status() releasev1.ReleaseStatus {
	if r.cancelled {
		return releasev1.ReleaseStatus_RELEASE_STATUS_CANCELLED
	}
	if r.lastChange != "" {
		return r.envs[r.lastChange].Status
	}
	for _, name := range r.targets {
		if st, ok := r.envs[name]; ok && st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED {
			return releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED
		}
	}
	return releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED
}

// promoted reports whether any environment has been promoted to.
func (r *Release) promoted() bool { return r.lastChange != "" }

// RiskExtraApprovals is what a risk assessment adds to an environment that
// requires approval: critical impact, or high impact with high likelihood,
// adds two; high impact, or medium impact with high likelihood, adds one.
func RiskExtraApprovals(r *releasev1.RiskAssessment) uint32 {
	if r == nil {
		return 0
	}
	i, l := r.GetImpact(), r.GetLikelihood()
	switch {
	case i == releasev1.RiskImpact_RISK_IMPACT_CRITICAL,
		i == releasev1.RiskImpact_RISK_IMPACT_HIGH && l == releasev1.RiskLikelihood_RISK_LIKELIHOOD_HIGH:
		return 2
	case i == releasev1.RiskImpact_RISK_IMPACT_HIGH,
		i == releasev1.RiskImpact_RISK_IMPACT_MEDIUM && l == releasev1.RiskLikelihood_RISK_LIKELIHOOD_HIGH:
		return 1
	}
	return 0
}

// RequiredApprovals is what env needs for this release.
func (r *Release) RequiredApprovals(env Environment) uint32 {
	if env.RequiredApprovals == 0 {
		return 0
	}
	return uint32(env.RequiredApprovals) + RiskExtraApprovals(r.risk)
}

// countedApprovers are the distinct approvers of env at the current
// revision, minus the author and minus exclude (the promotion's requester).
func (r *Release) countedApprovers(env, exclude string) []string {
	st, ok := r.envs[env]
	if !ok || st.approvedRevision != r.contentRevision {
		return nil
	}
	var out []string
	for _, a := range st.Approvals {
		who := a.GetApprover()
		if who == r.author || who == exclude || slices.Contains(out, who) {
			continue
		}
		out = append(out, who)
	}
	return out
}
