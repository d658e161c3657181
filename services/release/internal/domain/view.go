package domain

import (
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// ToProto renders the release for the API as of now (overdue flags depend
// on it). The result shares nothing with r, so it stays valid while r takes
// further events.
func ToProto(r *Release, envs *Environments, now time.Time) *releasev1.Release {
	out := &releasev1.Release{
		Id: r.id, Product: r.product, Version: r.version, Type: r.typ, Title: r.title, Description: r.description,
		TargetEnvironments: slices.Clone(r.targets), Approvers: slices.Clone(r.approvers), Status: r.Status(),
		RollbackPlan: r.rollbackPlan, TestingPlan: r.testingPlan, Author: r.author,
		CreatedAt: timestamppb.New(r.createdAt), UpdatedAt: timestamppb.New(r.updatedAt),
		ContentRevision: r.contentRevision, AggregateVersion: r.aggregateVersion,
	}
	if r.schedule != nil {
		out.Schedule = proto.Clone(r.schedule).(*releasev1.Schedule)
	}
	for _, c := range r.changes {
		out.Changes = append(out.Changes, proto.Clone(c).(*releasev1.Change))
	}
	for _, name := range r.targets {
		st := r.envs[name]
		if st == nil {
			continue
		}
		env, _ := envs.Get(name)
		es := &releasev1.EnvironmentState{
			Environment: name, Status: st.Status, ApprovalsRequired: r.RequiredApprovals(env),
			PromotedBy: st.PromotedBy, StrategyType: st.Strategy, Strategy: enumtext.Name(st.Strategy), DeploymentId: st.DeploymentID, Reason: st.Reason,
			Rejections: cloneAll(st.Rejections),
		}
		if st.approvedRevision == r.contentRevision {
			es.Approvals = cloneAll(st.Approvals)
		}
		if !st.PromotedAt.IsZero() {
			es.PromotedAt = timestamppb.New(st.PromotedAt)
		}
		if !st.UpdatedAt.IsZero() {
			es.UpdatedAt = timestamppb.New(st.UpdatedAt)
		}
		out.Environments = append(out.Environments, es)
	}
	for _, p := range r.prereqs {
		c := proto.Clone(p).(*releasev1.Prerequisite)
		c.Overdue = Overdue(p, now)
		out.Prerequisites = append(out.Prerequisites, c)
	}
	if r.risk != nil {
		out.Risk = proto.Clone(r.risk).(*releasev1.RiskAssessment)
	}
	return out
}

func cloneAll[M proto.Message](in []M) []M {
	out := make([]M, len(in))
	for i, m := range in {
		out[i] = proto.Clone(m).(M)
	}
	return out
}

// EnvironmentProto renders an environment's definition.
func EnvironmentProto(e Environment) *releasev1.EnvironmentSpec {
	return &releasev1.EnvironmentSpec{
		Name: e.Name, Purpose: e.Purpose, After: e.After, Infrastructure: e.Infrastructure,
		DataSource: e.DataSource, DataRetention: e.DataRetention, Backup: e.Backup, Access: e.Access,
		RequiredApprovals: uint32(e.RequiredApprovals), ApproverRoles: e.ApproverRoles, HotfixMaySkip: e.HotfixMaySkip,
		StrategyType: e.DefaultStrategy(), Strategy: enumtext.Name(e.DefaultStrategy()),
	}
}
