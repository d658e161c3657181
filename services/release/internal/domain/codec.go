package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// A release's snapshot encoding: JSON of its state, with the protobuf parts
// in protojson. Snapshots and view checkpoints are caches, rebuilt from the
// log whenever their schema (ReleaseSchema) changes.

// ReleaseSchema names the encoding of MarshalRelease; bump it with any change.
const ReleaseSchema = "release/2"

type releaseJSON struct {
	ID               string                  `json:"id"`
	Product          string                  `json:"product"`
	Version          string                  `json:"version"`
	Type             int32                   `json:"type"`
	Title            string                  `json:"title"`
	Description      string                  `json:"description,omitempty"`
	Changes          []json.RawMessage       `json:"changes,omitempty"`
	Targets          []string                `json:"targets"`
	Schedule         json.RawMessage         `json:"schedule,omitempty"`
	Approvers        []string                `json:"approvers,omitempty"`
	RollbackPlan     string                  `json:"rollback_plan,omitempty"`
	TestingPlan      string                  `json:"testing_plan,omitempty"`
	Author           string                  `json:"author"`
	CreatedAt        time.Time               `json:"created_at"`
	UpdatedAt        time.Time               `json:"updated_at"`
	ContentRevision  uint64                  `json:"content_revision"`
	Cancelled        bool                    `json:"cancelled,omitempty"`
	CancelReason     string                  `json:"cancel_reason,omitempty"`
	Envs             map[string]envStateJSON `json:"envs"`
	Prereqs          []json.RawMessage       `json:"prereqs,omitempty"`
	Risk             json.RawMessage         `json:"risk,omitempty"`
	AggregateVersion uint64                  `json:"aggregate_version"`
	LastChange       string                  `json:"last_change,omitempty"`
}

type envStateJSON struct {
	Status           int32             `json:"status"`
	Approvals        []json.RawMessage `json:"approvals,omitempty"`
	Rejections       []json.RawMessage `json:"rejections,omitempty"`
	PromotedBy       string            `json:"promoted_by,omitempty"`
	PromotedAt       time.Time         `json:"promoted_at"`
	Strategy         int32             `json:"strategy,omitempty"`
	Attempts         uint32            `json:"attempts,omitempty"`
	DeploymentID     string            `json:"deployment_id,omitempty"`
	UpdatedAt        time.Time         `json:"updated_at"`
	Reason           string            `json:"reason,omitempty"`
	ApprovedRevision uint64            `json:"approved_revision,omitempty"`
}

func pjson(m proto.Message) (json.RawMessage, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil, nil
	}
	return protojson.Marshal(m)
}

func pjsonAll[M proto.Message](in []M) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(in))
	for _, m := range in {
		b, err := protojson.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func unpjson[M proto.Message](raw json.RawMessage, newM func() M) (M, error) {
	var zero M
	if len(raw) == 0 {
		return zero, nil
	}
	m := newM()
	if err := protojson.Unmarshal(raw, m); err != nil {
		return zero, err
	}
	return m, nil
}

func unpjsonAll[M proto.Message](raw []json.RawMessage, newM func() M) ([]M, error) {
	var out []M
	for _, r := range raw {
		m, err := unpjson(r, newM)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// MarshalRelease encodes a release for snapshots and view checkpoints.
func MarshalRelease(r *Release) ([]byte, error) {
	j := releaseJSON{
		ID: r.id, Product: r.product, Version: r.version, Type: int32(r.typ), Title: r.title, Description: r.description,
		Targets: r.targets, Approvers: r.approvers, RollbackPlan: r.rollbackPlan, TestingPlan: r.testingPlan,
		Author: r.author, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt, ContentRevision: r.contentRevision,
		Cancelled: r.cancelled, CancelReason: r.cancelReason, Envs: map[string]envStateJSON{},
		AggregateVersion: r.aggregateVersion, LastChange: r.lastChange,
	}
	var err error
	if j.Changes, err = pjsonAll(r.changes); err != nil {
		return nil, err
	}
	if j.Prereqs, err = pjsonAll(r.prereqs); err != nil {
		return nil, err
	}
	if r.schedule != nil {
		if j.Schedule, err = pjson(r.schedule); err != nil {
			return nil, err
		}
	}
	if r.risk != nil {
		if j.Risk, err = pjson(r.risk); err != nil {
			return nil, err
		}
	}
	for name, st := range r.envs {
		e := envStateJSON{
			Status: int32(st.Status), PromotedBy: st.PromotedBy, PromotedAt: st.PromotedAt, Strategy: int32(st.Strategy),
			Attempts: st.Attempts, DeploymentID: st.DeploymentID, UpdatedAt: st.UpdatedAt, Reason: st.Reason, ApprovedRevision: st.approvedRevision,
		}
		if e.Approvals, err = pjsonAll(st.Approvals); err != nil {
			return nil, err
		}
		if e.Rejections, err = pjsonAll(st.Rejections); err != nil {
			return nil, err
		}
		j.Envs[name] = e
	}
	return json.Marshal(j)
}

// UnmarshalRelease decodes MarshalRelease's encoding.
func UnmarshalRelease(b []byte) (*Release, error) {
	var j releaseJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("release snapshot: %w", err)
	}
	r := NewRelease()
	r.id, r.product, r.version, r.typ, r.title, r.description = j.ID, j.Product, j.Version, releasev1.ReleaseType(j.Type), j.Title, j.Description
	r.targets, r.approvers, r.rollbackPlan, r.testingPlan = j.Targets, j.Approvers, j.RollbackPlan, j.TestingPlan
	r.author, r.createdAt, r.updatedAt, r.contentRevision = j.Author, j.CreatedAt, j.UpdatedAt, j.ContentRevision
	r.cancelled, r.cancelReason, r.aggregateVersion, r.lastChange = j.Cancelled, j.CancelReason, j.AggregateVersion, j.LastChange
	var err error
	if r.changes, err = unpjsonAll(j.Changes, func() *releasev1.Change { return &releasev1.Change{} }); err != nil {
		return nil, err
	}
	if r.prereqs, err = unpjsonAll(j.Prereqs, func() *releasev1.Prerequisite { return &releasev1.Prerequisite{} }); err != nil {
		return nil, err
	}
	if r.schedule, err = unpjson(j.Schedule, func() *releasev1.Schedule { return &releasev1.Schedule{} }); err != nil {
		return nil, err
	}
	if r.risk, err = unpjson(j.Risk, func() *releasev1.RiskAssessment { return &releasev1.RiskAssessment{} }); err != nil {
		return nil, err
	}
	for name, e := range j.Envs {
		st := &envState{
			Status: releasev1.ReleaseStatus(e.Status), PromotedBy: e.PromotedBy, PromotedAt: e.PromotedAt,
			Strategy: deployv1.DeploymentStrategy(e.Strategy), Attempts: e.Attempts, DeploymentID: e.DeploymentID,
			UpdatedAt: e.UpdatedAt, Reason: e.Reason, approvedRevision: e.ApprovedRevision,
		}
		if st.Approvals, err = unpjsonAll(e.Approvals, func() *releasev1.Approval { return &releasev1.Approval{} }); err != nil {
			return nil, err
		}
		if st.Rejections, err = unpjsonAll(e.Rejections, func() *releasev1.Rejection { return &releasev1.Rejection{} }); err != nil {
			return nil, err
		}
		r.envs[name] = st
	}
	return r, nil
}
