// Package domain is the release service's model: releases, products,
// environments and their policies, as pure Go. Commands are decisions —
// functions of (state, command, now) that return the events to append or a
// typed error — and state is rebuilt only through Apply. No NATS, no gRPC.
package domain

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Meta is what the log says about an event besides its body.
type Meta struct {
	ID    string // the event id (carries the request key of the command that wrote it)
	Actor string
	Time  time.Time
}

// EnvState is a release's progress in one environment.
type EnvState struct {
	Status       releasev1.ReleaseStatus
	Approvals    []*releasev1.Approval // at the current content revision
	Rejections   []*releasev1.Rejection
	PromotedBy   string
	PromotedAt   time.Time
	Strategy     string
	Attempts     uint32
	DeploymentID string
	UpdatedAt    time.Time
	Reason       string
	// approvedRevision is the content revision the approvals were given at.
	approvedRevision uint64
}

// Release is the Release aggregate's state.
type Release struct {
	ID, Product, Version string
	Type                 releasev1.ReleaseType
	Title, Description   string
	Changes              []*releasev1.Change
	Targets              []string
	Schedule             *releasev1.Schedule
	Approvers            []string
	RollbackPlan         string
	TestingPlan          string
	Author               string
	CreatedAt, UpdatedAt time.Time
	ContentRevision      uint64
	Cancelled            bool
	CancelReason         string
	Envs                 map[string]*EnvState
	Prereqs              []*releasev1.Prerequisite
	Risk                 *releasev1.RiskAssessment
	// AggregateVersion is the number of events applied.
	AggregateVersion uint64
	// requests holds the request keys of the commands already applied (idempotency).
	requests map[string]bool
	// lastChange is the environment whose status changed last (for the overall status).
	lastChange string
}

// NewRelease returns the state of a release with no events.
func NewRelease() *Release {
	return &Release{Envs: map[string]*EnvState{}, requests: map[string]bool{}}
}

// Exists reports whether the release has been created.
func (r *Release) Exists() bool { return r.ID != "" }

// HasRequest reports whether events of the command with request key k are applied.
func (r *Release) HasRequest(k string) bool { return k != "" && r.requests[k] }

func (r *Release) env(name string) *EnvState {
	e, ok := r.Envs[name]
	if !ok {
		e = &EnvState{Status: releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED}
		r.Envs[name] = e
	}
	return e
}

// Apply folds one event into the release; it is the only way state changes.
func Apply(r *Release, ev proto.Message, m Meta) {
	r.AggregateVersion++
	r.UpdatedAt = m.Time
	if k := RequestKeyOf(m.ID); k != "" {
		r.requests[k] = true
	}
	switch e := ev.(type) {
	case *releasev1.ReleaseCreated:
		r.ID, r.Product, r.Version, r.Type = e.GetReleaseId(), e.GetProduct(), e.GetVersion(), e.GetType()
		r.Title, r.Description = e.GetTitle(), e.GetDescription()
		r.Changes = e.GetChanges()
		r.Targets = e.GetTargetEnvironments()
		r.Schedule, r.Approvers = e.GetSchedule(), e.GetApprovers()
		r.RollbackPlan, r.TestingPlan = e.GetRollbackPlan(), e.GetTestingPlan()
		r.Author, r.CreatedAt = m.Actor, m.Time
		r.ContentRevision = 1
		for _, t := range r.Targets {
			r.env(t)
		}
	case *releasev1.ReleaseUpdated:
		r.Title, r.Description = e.GetTitle(), e.GetDescription()
		r.Targets, r.Schedule, r.Approvers = e.GetTargetEnvironments(), e.GetSchedule(), e.GetApprovers()
		r.RollbackPlan, r.TestingPlan = e.GetRollbackPlan(), e.GetTestingPlan()
		for _, t := range r.Targets {
			r.env(t)
		}
		if e.GetContentChanged() {
			r.ContentRevision++
		}
	case *releasev1.ChangeAdded:
		r.Changes = append(r.Changes, e.GetChange())
		r.ContentRevision++
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
		})
	case *releasev1.PrerequisiteAdded:
		r.Prereqs = append(r.Prereqs, e.GetPrerequisite())
	case *releasev1.PrerequisiteUpdated:
		for _, p := range r.Prereqs {
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
		r.Risk = e.GetRisk()
	case *releasev1.PromotionRequested:
		st := r.env(e.GetEnvironment())
		st.Status = releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING
		st.PromotedBy, st.PromotedAt, st.Strategy, st.Attempts = e.GetRequestedBy(), m.Time, e.GetStrategy(), e.GetAttempt()
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
		r.Cancelled, r.CancelReason = true, e.GetReason()
	}
}

// Status is the release's overall status: cancelled once cancelled;
// otherwise the status of the environment that changed last among those a
// promotion has reached (deploying, deployed, failed, rolled back); before
// any promotion, approved when some environment is approved, else planned.
func (r *Release) Status() releasev1.ReleaseStatus {
	if r.Cancelled {
		return releasev1.ReleaseStatus_RELEASE_STATUS_CANCELLED
	}
	if r.lastChange != "" {
		return r.Envs[r.lastChange].Status
	}
	for _, name := range r.Targets {
		if st, ok := r.Envs[name]; ok && st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED {
			return releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED
		}
	}
	return releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED
}

// promoted reports whether any environment has been promoted to.
func (r *Release) promoted() bool { return r.lastChange != "" }

// RequestKeyOf extracts the request key from an event id written by a
// command ("<key>.<n>"), or "" for ids without one.
func RequestKeyOf(eventID string) string {
	k, _, ok := strings.Cut(eventID, ".")
	if !ok || !strings.HasPrefix(k, "rq-") {
		return ""
	}
	return k
}

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
	return uint32(env.RequiredApprovals) + RiskExtraApprovals(r.Risk)
}

// countedApprovers are the distinct approvers of env at the current
// revision, minus the author and minus exclude (the promotion's requester).
func (r *Release) countedApprovers(env, exclude string) []string {
	st, ok := r.Envs[env]
	if !ok || st.approvedRevision != r.ContentRevision {
		return nil
	}
	var out []string
	for _, a := range st.Approvals {
		who := a.GetApprover()
		if who == r.Author || who == exclude || slices.Contains(out, who) {
			continue
		}
		out = append(out, who)
	}
	return out
}
