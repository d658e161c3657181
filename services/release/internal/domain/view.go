package domain

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// ToProto renders the release for the API as of now (overdue flags depend on it).
func ToProto(r *Release, envs *Environments, now time.Time) *releasev1.Release {
	out := &releasev1.Release{
		Id: r.ID, Product: r.Product, Version: r.Version, Type: r.Type, Title: r.Title, Description: r.Description,
		TargetEnvironments: r.Targets, Schedule: r.Schedule, Approvers: r.Approvers, Status: r.Status(),
		RollbackPlan: r.RollbackPlan, TestingPlan: r.TestingPlan, Author: r.Author,
		CreatedAt: timestamppb.New(r.CreatedAt), UpdatedAt: timestamppb.New(r.UpdatedAt),
		ContentRevision: r.ContentRevision, AggregateVersion: r.AggregateVersion,
	}
	for _, c := range r.Changes {
		out.Changes = append(out.Changes, proto.Clone(c).(*releasev1.Change))
	}
	for _, name := range r.Targets {
		st := r.Envs[name]
		if st == nil {
			continue
		}
		env, _ := envs.Get(name)
		es := &releasev1.EnvironmentState{
			Environment: name, Status: st.Status, ApprovalsRequired: r.RequiredApprovals(env),
			PromotedBy: st.PromotedBy, Strategy: st.Strategy, DeploymentId: st.DeploymentID, Reason: st.Reason,
			Rejections: st.Rejections,
		}
		if st.approvedRevision == r.ContentRevision {
			es.Approvals = st.Approvals
		}
		if !st.PromotedAt.IsZero() {
			es.PromotedAt = timestamppb.New(st.PromotedAt)
		}
		if !st.UpdatedAt.IsZero() {
			es.UpdatedAt = timestamppb.New(st.UpdatedAt)
		}
		out.Environments = append(out.Environments, es)
	}
	for _, p := range r.Prereqs {
		c := proto.Clone(p).(*releasev1.Prerequisite)
		c.Overdue = Overdue(p, now)
		out.Prerequisites = append(out.Prerequisites, c)
	}
	if r.Risk != nil {
		out.Risk = proto.Clone(r.Risk).(*releasev1.RiskAssessment)
	}
	return out
}

// EnvironmentProto renders an environment's definition.
func EnvironmentProto(e Environment) *releasev1.EnvironmentSpec {
	return &releasev1.EnvironmentSpec{
		Name: e.Name, Purpose: e.Purpose, After: e.After, Infrastructure: e.Infrastructure,
		DataSource: e.DataSource, DataRetention: e.DataRetention, Backup: e.Backup, Access: e.Access,
		RequiredApprovals: uint32(e.RequiredApprovals), ApproverRoles: e.ApproverRoles, HotfixMaySkip: e.HotfixMaySkip,
		Strategy: e.Strategy,
	}
}
