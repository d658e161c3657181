package envcfg

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/configdoc"
	"github.com/penguinmails/floe/libs/errs"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// Approvals. An environment whose policy requires approvals (libs/envpolicy:
// required_approvals, approver_roles — the release model) changes its
// configuration through proposals: a set, patch or promotion there is
// recorded as ConfigChangeProposed and becomes a version (ConfigVersionSet,
// naming the proposal and its approvers) once enough distinct holders of an
// approver role, other than the proposer, approve it. One proposal is
// pending at a time; it applies to the version it was made on, so a change
// made meanwhile (none can be, but the schema can) makes it stale.

// MaxComment bounds an approval's comment.
const MaxComment = 1000

// applyProposal folds the proposal events.
func (c *EnvConfig) applyProposal(e proto.Message, m Meta) {
	switch ev := e.(type) {
	case *configv1.ConfigChangeProposed:
		c.Proposals = ev.GetProposal()
		c.Pending = &configv1.ConfigProposal{
			Environment: c.Environment, Proposal: ev.GetProposal(), Status: configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_PENDING,
			BaseVersion: ev.GetBaseVersion(), Version: ev.GetBaseVersion() + 1, Document: ev.GetDocument(), Digest: ev.GetDigest(),
			Reason: ev.GetReason(), Source: configv1.ConfigSource(ev.GetSource()), FromEnvironment: ev.GetFromEnvironment(),
			FromVersion: ev.GetFromVersion(), ProposedBy: m.Actor, ProposedAt: timestamppb.New(m.Time), RequiredApprovals: ev.GetRequiredApprovals(),
		}
	case *configv1.ConfigChangeApproved:
		if c.Pending != nil && c.Pending.GetProposal() == ev.GetProposal() {
			c.Pending.Approvals = append(c.Pending.Approvals, &configv1.ConfigApproval{
				Approver: m.Actor, Comment: ev.GetComment(), Roles: ev.GetRoles(), Time: timestamppb.New(m.Time)})
		}
	case *configv1.ConfigChangeRejected:
		if c.Pending != nil && c.Pending.GetProposal() == ev.GetProposal() {
			c.Pending = nil
		}
	}
}

// Change decides a change to doc: a new version (SetDocument) where no
// approvals are required (required = 0), else a proposal.
func Change(c *EnvConfig, doc configdoc.Document, v *configdoc.Validator, reason string, expected uint64, o Origin, required uint32) ([]proto.Message, error) {
	if required == 0 {
		if c.Pending != nil {
			// The policy changed since the proposal: it can still be approved or rejected.
			return nil, pendingRefusal(c)
		}
		return SetDocument(c, doc, v, reason, expected, o)
	}
	set, err := SetDocument(c, doc, v, reason, expected, o)
	if err != nil || set == nil {
		return nil, err
	}
	if c.Pending != nil {
		return nil, pendingRefusal(c)
	}
	ev := set[0].(*configv1.ConfigVersionSet)
	return []proto.Message{&configv1.ConfigChangeProposed{
		Proposal: c.Proposals + 1, BaseVersion: c.CurrentVersion(), Document: ev.GetDocument(), Digest: ev.GetDigest(),
		Reason: reason, Source: ev.GetSource(), FromEnvironment: ev.GetFromEnvironment(), FromVersion: ev.GetFromVersion(),
		RequiredApprovals: required,
	}}, nil
}

func pendingRefusal(c *EnvConfig) error {
	p := c.Pending
	return errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
		"proposal %d to change the configuration of %s is pending (%d of %d approvals): approve or reject it first",
		p.GetProposal(), c.Environment, len(p.GetApprovals()), p.GetRequiredApprovals())
}

// pending is the pending proposal numbered id, or why there is none.
func pending(c *EnvConfig, id uint64) (*configv1.ConfigProposal, error) {
	if id == 0 {
		return nil, errs.Invalid("proposal", "is required: the number of the pending proposal (floe config get shows it)")
	}
	if c.Pending == nil || c.Pending.GetProposal() != id {
		if id > c.Proposals {
			return nil, &errs.NotFoundError{Kind: "configuration proposal", ID: fmt.Sprintf("%s/%d", c.Environment, id)}
		}
		detail := "none is pending"
		if c.Pending != nil {
			detail = fmt.Sprintf("proposal %d is", c.Pending.GetProposal())
		}
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"proposal %d of %s is no longer pending (it was applied, rejected or withdrawn); %s", id, c.Environment, detail)
	}
	return c.Pending, nil
}

// Approve decides an approval of proposal id by actor, who holds roles (the
// environment's approver roles: the caller checked there is one) now;
// required is the policy's count now. The last approval needed also
// records the version the proposal becomes, after validating it with v
// (the schema may have changed since it was proposed).
func Approve(c *EnvConfig, id uint64, actor string, roles []string, comment string, required uint32, v *configdoc.Validator) ([]proto.Message, error) {
	p, err := pending(c, id)
	if err != nil {
		return nil, err
	}
	var vs errs.Violations
	if len(comment) > MaxComment {
		vs.Add("comment", "is longer than %d bytes", MaxComment)
	} else {
		checkNoSecret(&vs, "comment", comment)
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	var refuse []string
	if actor == p.GetProposedBy() {
		refuse = append(refuse, fmt.Sprintf("separation of duties: %s proposed the change and may not approve it", actor))
	}
	approvers := make([]string, 0, len(p.GetApprovals())+1)
	for _, a := range p.GetApprovals() {
		approvers = append(approvers, a.GetApprover())
	}
	if slices.Contains(approvers, actor) {
		refuse = append(refuse, fmt.Sprintf("%s has already approved proposal %d", actor, id))
	}
	if p.GetBaseVersion() != c.CurrentVersion() {
		refuse = append(refuse, fmt.Sprintf("the proposal was made on version %d and the configuration is now at %d: reject it and propose again", p.GetBaseVersion(), c.CurrentVersion()))
	}
	if len(refuse) > 0 {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION, "%s", strings.Join(refuse, "; "))
	}
	out := []proto.Message{&configv1.ConfigChangeApproved{Proposal: id, Comment: comment, Roles: roles}}
	approvers = append(approvers, actor)
	if required = max(required, p.GetRequiredApprovals()); uint32(len(approvers)) < required {
		return out, nil
	}
	doc, err := configdoc.Parse([]byte(p.GetDocument()))
	if err != nil {
		return nil, err
	}
	if err := v.Validate(doc); err != nil {
		return nil, errs.Refuse(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
			"proposal %d no longer satisfies the schema of %s: %v; reject it and propose again", id, c.Environment, err)
	}
	return append(out, &configv1.ConfigVersionSet{
		Version: c.CurrentVersion() + 1, Document: p.GetDocument(), Digest: p.GetDigest(), Reason: p.GetReason(),
		Source: int32(p.GetSource()), FromEnvironment: p.GetFromEnvironment(), FromVersion: p.GetFromVersion(),
		SchemaDigest: c.Schema.GetDigest(), Proposal: id, Approvers: approvers,
	}), nil
}

// Reject decides that proposal id is dropped by actor: its proposer
// withdrawing it, or (approver set: the caller checked the role) an approver.
func Reject(c *EnvConfig, id uint64, actor string, approver bool, reason string) ([]proto.Message, error) {
	p, err := pending(c, id)
	if err != nil {
		return nil, err
	}
	var vs errs.Violations
	switch {
	case reason == "":
		vs.Add("reason", "is required: say why the change is rejected")
	case len(reason) > MaxReason:
		vs.Add("reason", "is longer than %d bytes", MaxReason)
	default:
		checkNoSecret(&vs, "reason", reason)
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	withdrawn := actor == p.GetProposedBy()
	if !withdrawn && !approver {
		return nil, &errs.PermissionDeniedError{Principal: actor, Permission: "config.approve", Environment: c.Environment,
			Detail: "only an approver of " + c.Environment + " or the proposer may reject a proposal"}
	}
	return []proto.Message{&configv1.ConfigChangeRejected{Proposal: id, Reason: reason, Withdrawn: withdrawn}}, nil
}

// ProposalAfter is the proposal msgs (a decision on c, by actor at t) made,
// approved, applied or dropped, as it stands after them; nil when they
// touch none. c is not changed.
func ProposalAfter(c *EnvConfig, msgs []proto.Message, actor string, t time.Time) *configv1.ConfigProposal {
	sim := &EnvConfig{Environment: c.Environment, Current: c.Current, Schema: c.Schema, Proposals: c.Proposals}
	if c.Pending != nil {
		sim.Pending = proto.CloneOf(c.Pending)
	}
	m := Meta{Actor: actor, Time: t}
	var last *configv1.ConfigProposal
	for _, e := range msgs {
		switch ev := e.(type) {
		case *configv1.ConfigChangeProposed, *configv1.ConfigChangeApproved:
			sim.Apply(e, m)
			last = sim.Pending
		case *configv1.ConfigChangeRejected:
			if p := sim.Pending; p != nil && p.GetProposal() == ev.GetProposal() {
				p.Status, p.RejectedBy, p.RejectionReason = configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_REJECTED, actor, ev.GetReason()
				if ev.GetWithdrawn() {
					p.Status = configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_WITHDRAWN
				}
				last = p
			}
			sim.Apply(e, m)
		case *configv1.ConfigVersionSet:
			if p := sim.Pending; p != nil && ev.GetProposal() == p.GetProposal() {
				p.Status = configv1.ConfigProposalStatus_CONFIG_PROPOSAL_STATUS_APPLIED
				last = p
			}
			sim.Apply(e, m)
		}
	}
	return last
}
