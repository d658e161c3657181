package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Field limits.
const (
	MaxTitle       = 200
	MaxDescription = 10_000
	MaxSummary     = 500
	MaxLink        = 2_000
	MaxChanges     = 500
	MaxPlan        = 10_000
	MaxReason      = 2_000
	MaxListItems   = 50
)

// The catalogued reasons of the release's refusals (proto/floe/errors/v1).
const (
	reasonCancelled     = errorsv1.ErrorReason_ERROR_REASON_RELEASE_CANCELLED
	reasonNotEditable   = errorsv1.ErrorReason_ERROR_REASON_RELEASE_NOT_EDITABLE
	reasonNotATarget    = errorsv1.ErrorReason_ERROR_REASON_NOT_A_TARGET
	reasonByAuthor      = errorsv1.ErrorReason_ERROR_REASON_APPROVAL_BY_AUTHOR
	reasonByPromoter    = errorsv1.ErrorReason_ERROR_REASON_APPROVAL_BY_PROMOTER
	reasonApproved      = errorsv1.ErrorReason_ERROR_REASON_ALREADY_APPROVED
	reasonDeployed      = errorsv1.ErrorReason_ERROR_REASON_ALREADY_DEPLOYED
	reasonBusy          = errorsv1.ErrorReason_ERROR_REASON_ENVIRONMENT_BUSY
	reasonOrder         = errorsv1.ErrorReason_ERROR_REASON_PROMOTION_ORDER
	reasonApprovals     = errorsv1.ErrorReason_ERROR_REASON_APPROVALS_MISSING
	reasonRejected      = errorsv1.ErrorReason_ERROR_REASON_RELEASE_REJECTED
	reasonPrerequisite  = errorsv1.ErrorReason_ERROR_REASON_PREREQUISITE_NOT_MET
	reasonGate          = errorsv1.ErrorReason_ERROR_REASON_GATE_NOT_PASSED
	reasonOutsideWindow = errorsv1.ErrorReason_ERROR_REASON_OUTSIDE_DEPLOYMENT_WINDOW
)

// CreateCommand plans a release.
type CreateCommand struct {
	ReleaseID    string
	RequestKey   string
	Product      string
	Version      string
	Type         releasev1.ReleaseType
	Title        string
	Description  string
	Changes      []*releasev1.Change
	Targets      []string
	Schedule     *releasev1.Schedule
	Approvers    []string
	RollbackPlan string
	TestingPlan  string
}

// Create decides a new release: the product's VersionReserved and the
// release's ReleaseCreated. Every invalid field is reported at once.
func Create(cmd CreateCommand, product *Product, envs *Environments) (productEvent *releasev1.VersionReserved, created *releasev1.ReleaseCreated, err error) {
	var v errs.Violations
	c := checkCreate(&v, cmd, envs)
	var versionReason errs.Reason
	if c.ver != nil && c.typeOK {
		if problem, reason := checkVersion(c.ver, cmd.Type, product); problem != "" {
			v.Add("version", "%s", problem)
			versionReason = reason
		}
	}
	if err := v.Err(); err != nil {
		var ia *errs.InvalidArgumentError
		if versionReason != 0 && errors.As(err, &ia) {
			ia.Reason = versionReason // the version rule broken, for clients to switch on
		}
		return nil, nil, err
	}
	return &releasev1.VersionReserved{Version: cmd.Version, ReleaseId: cmd.ReleaseID, Type: cmd.Type, RequestKey: cmd.RequestKey},
		createdEvent(cmd, c.changes, c.targets), nil
}

// CheckCreate reports every problem of cmd that does not depend on the
// product's earlier releases, all at once (nil when there is none). The API
// calls it for a request whose product is not a valid name: such a product
// cannot be loaded, and the caller still learns everything else that is wrong.
func CheckCreate(cmd CreateCommand, envs *Environments) error {
	var v errs.Violations
	checkCreate(&v, cmd, envs)
	return v.Err()
}

// checkedCreate is what checkCreate derives from a command.
type checkedCreate struct {
	ver     *semver.Version // nil when the version is not valid semver
	typeOK  bool
	changes []*releasev1.Change
	targets []string
}

// checkCreate adds to v every problem of cmd that does not depend on the product's history.
func checkCreate(v *errs.Violations, cmd CreateCommand, envs *Environments) checkedCreate {
	var c checkedCreate
	ProductName.Check(v, "product", cmd.Product)
	c.typeOK = cmd.Type != releasev1.ReleaseType_RELEASE_TYPE_UNSPECIFIED && releasev1.ReleaseType_name[int32(cmd.Type)] != ""
	if !c.typeOK {
		v.Add("type", "must be one of major, minor, patch, hotfix")
	}
	ver, verErr := ParseVersion(cmd.Version)
	if verErr != nil {
		v.Add("version", "%s", verErr.Error())
	} else {
		c.ver = ver
	}
	checkText(v, "title", cmd.Title, MaxTitle, true)
	checkText(v, "description", cmd.Description, MaxDescription, false)
	checkText(v, "rollback_plan", cmd.RollbackPlan, MaxPlan, false)
	checkText(v, "testing_plan", cmd.TestingPlan, MaxPlan, false)
	c.changes = checkChanges(v, cmd.Changes)
	targets := cmd.Targets
	if len(targets) == 0 {
		targets = DefaultTargets
	}
	c.targets = checkTargets(v, "target_environments", targets, envs, cmd.Type == releasev1.ReleaseType_RELEASE_TYPE_HOTFIX)
	checkSchedule(v, cmd.Schedule)
	if len(cmd.Approvers) > MaxListItems {
		v.Add("approvers", "at most %d", MaxListItems)
	}
	return c
}

// CreatedEvent is the ReleaseCreated of an already validated command whose
// version is reserved (used to complete a retried CreateRelease).
func CreatedEvent(cmd CreateCommand, envs *Environments) *releasev1.ReleaseCreated {
	var v errs.Violations // already validated when the version was reserved
	targets := cmd.Targets
	if len(targets) == 0 {
		targets = DefaultTargets
	}
	return createdEvent(cmd, checkChanges(&v, cmd.Changes), checkTargets(&v, "target_environments", targets, envs, cmd.Type == releasev1.ReleaseType_RELEASE_TYPE_HOTFIX))
}

func createdEvent(cmd CreateCommand, changes []*releasev1.Change, targets []string) *releasev1.ReleaseCreated {
	return &releasev1.ReleaseCreated{
		ReleaseId: cmd.ReleaseID, Product: cmd.Product, Version: cmd.Version, Type: cmd.Type,
		Title: strings.TrimSpace(cmd.Title), Description: cmd.Description, Changes: changes,
		TargetEnvironments: targets, Schedule: cmd.Schedule, Approvers: cmd.Approvers,
		RollbackPlan: cmd.RollbackPlan, TestingPlan: cmd.TestingPlan,
	}
}

func checkText(v *errs.Violations, field, s string, limit int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "must not be empty")
	case len(s) > limit:
		v.Add(field, "is %d bytes; the limit is %d", len(s), limit)
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	default:
		// The text is kept in the log for good: a credential pasted into it
		// (a change summary, a plan, a reason) is refused, never recorded.
		for _, f := range leakscan.Scan(s) {
			v.Add(field, "%s; %s", f.Description, f.Hint)
		}
	}
}

func checkChanges(v *errs.Violations, in []*releasev1.Change) []*releasev1.Change {
	if len(in) > MaxChanges {
		v.Add("changes", "%d changes; the limit is %d", len(in), MaxChanges)
		return nil
	}
	out := make([]*releasev1.Change, 0, len(in))
	for i, c := range in {
		out = append(out, checkChange(v, fmt.Sprintf("changes[%d]", i), c, fmt.Sprintf("c%d", i+1)))
	}
	return out
}

func checkChange(v *errs.Violations, field string, c *releasev1.Change, id string) *releasev1.Change {
	if c == nil {
		v.Add(field, "is empty")
		return nil
	}
	if c.GetKind() == releasev1.ChangeKind_CHANGE_KIND_UNSPECIFIED || releasev1.ChangeKind_name[int32(c.GetKind())] == "" {
		v.Add(field+".kind", "must be one of feature, bug_fix, improvement, security, migration, breaking")
	}
	checkText(v, field+".summary", c.GetSummary(), MaxSummary, true)
	checkText(v, field+".link", c.GetLink(), MaxLink, false)
	checkText(v, field+".author", c.GetAuthor(), MaxTitle, false)
	return &releasev1.Change{Id: id, Kind: c.GetKind(), Summary: strings.TrimSpace(c.GetSummary()), Link: c.GetLink(), Author: c.GetAuthor()}
}

// checkTargets validates target environments: known, no duplicates, in
// promotion order, and closed under "after" (a target's predecessors are
// targets too, except those a hotfix may skip), so promotion order cannot be
// bypassed by leaving an environment out.
func checkTargets(v *errs.Violations, field string, targets []string, envs *Environments, hotfix bool) []string {
	var out []string
	for i, t := range targets {
		env, ok := envs.Get(t)
		if !ok {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "unknown environment %q (known: %s)", t, strings.Join(envs.Names(), ", "))
			continue
		}
		if slices.Contains(out, t) {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is listed twice", t)
			continue
		}
		for _, a := range env.After {
			if !slices.Contains(targets, a) && !(hotfix && slices.Contains(env.HotfixMaySkip, a)) {
				v.Add(fmt.Sprintf("%s[%d]", field, i), "%s comes after %s, which is not a target", t, a)
			}
		}
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b string) int { return envs.Index(a) - envs.Index(b) })
	return out
}

func checkSchedule(v *errs.Violations, s *releasev1.Schedule) {
	if s == nil || s.GetWindowStart() == nil || s.GetWindowEnd() == nil {
		return
	}
	if s.GetWindowEnd().AsTime().Before(s.GetWindowStart().AsTime()) {
		v.Add("schedule.window_end", "is before window_start")
	}
}

func notFound(r *Release, id string) error {
	if !r.Exists() {
		return &errs.NotFoundError{Kind: "release", ID: id}
	}
	return nil
}

// editable refuses edits once a promotion was requested or the release was cancelled.
func (r *Release) editable(what string) error {
	if r.cancelled {
		return errs.Refuse(reasonCancelled, "release %s is cancelled: it cannot %s", r.version, what)
	}
	if r.promoted() {
		return errs.Refuse(reasonNotEditable, "release %s has been promoted (status %s): only a planned release can %s", r.version, statusName(r.Status()), what)
	}
	return nil
}

// approvedEnvs lists environments with approvals at the current revision.
func (r *Release) approvedEnvs() []string {
	var out []string
	for _, name := range r.targets {
		if st, ok := r.envs[name]; ok && (len(st.Approvals) > 0 || len(st.Rejections) > 0) {
			out = append(out, name)
		}
	}
	return out
}

// UpdateCommand edits a planned release.
type UpdateCommand struct {
	Title, Description        string
	Targets                   []string
	Schedule                  *releasev1.Schedule
	Approvers                 []string
	RollbackPlan, TestingPlan string
}

// Update decides an edit; a change of title or description voids approvals.
func Update(r *Release, id string, cmd UpdateCommand, envs *Environments) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	if err := r.editable("be edited"); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "title", cmd.Title, MaxTitle, true)
	checkText(&v, "description", cmd.Description, MaxDescription, false)
	checkText(&v, "rollback_plan", cmd.RollbackPlan, MaxPlan, false)
	checkText(&v, "testing_plan", cmd.TestingPlan, MaxPlan, false)
	targets := cmd.Targets
	if len(targets) == 0 {
		targets = r.targets
	}
	targets = checkTargets(&v, "target_environments", targets, envs, r.typ == releasev1.ReleaseType_RELEASE_TYPE_HOTFIX)
	checkSchedule(&v, cmd.Schedule)
	if err := v.Err(); err != nil {
		return nil, err
	}
	content := strings.TrimSpace(cmd.Title) != r.title || cmd.Description != r.description
	out := []proto.Message{&releasev1.ReleaseUpdated{
		Title: strings.TrimSpace(cmd.Title), Description: cmd.Description, TargetEnvironments: targets,
		Schedule: cmd.Schedule, Approvers: cmd.Approvers, RollbackPlan: cmd.RollbackPlan, TestingPlan: cmd.TestingPlan,
		ContentChanged: content,
	}}
	if content {
		out = append(out, r.voidApprovals("title or description changed")...)
	}
	return out, nil
}

func (r *Release) voidApprovals(reason string) []proto.Message {
	envs := r.approvedEnvs()
	if len(envs) == 0 {
		return nil
	}
	return []proto.Message{&releasev1.ApprovalsVoided{Environments: envs, ContentRevision: r.contentRevision, Reason: reason}}
}

// AddChange decides adding a change; it voids approvals.
func AddChange(r *Release, id string, c *releasev1.Change) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	if err := r.editable("take new changes"); err != nil {
		return nil, err
	}
	var v errs.Violations
	if len(r.changes) >= MaxChanges {
		v.Add("change", "the release already has %d changes, the limit", MaxChanges)
	}
	change := checkChange(&v, "change", c, fmt.Sprintf("c%d", len(r.changes)+1))
	if err := v.Err(); err != nil {
		return nil, err
	}
	return append([]proto.Message{&releasev1.ChangeAdded{Change: change}}, r.voidApprovals("a change was added")...), nil
}

// Channel says how a decision reached Floe when a delegate relayed it on
// its principal's behalf (auth.DelegationFrom): Via is the channel
// ("slack"), Delegate the relaying principal's id. It is zero for a direct
// call. It is recorded, never consulted: every rule applies to the principal.
type Channel struct {
	Via      string
	Delegate string
}

// Approve decides an approval by p for env, arriving through ch. Separation
// of duties: the author may not approve, nor whoever requested the
// environment's promotion; one approval per principal; the approver must hold
// an approver role of the environment, in that environment. A delegate's own
// identity and roles play no part.
func Approve(r *Release, id string, p *auth.Principal, ch Channel, envName, comment string, envs *Environments) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	env, err := targetEnv(r, envName, envs)
	if err != nil {
		return nil, err
	}
	if len(comment) > MaxReason {
		return nil, errs.Invalid("comment", "is %d bytes; the limit is %d", len(comment), MaxReason)
	}
	roles, err := env.ApproverRolesOf(p, "release.approve")
	if err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	if r.cancelled {
		refuse.Add(reasonCancelled, "the release is cancelled")
	}
	st := r.env(envName)
	// Approvals may be added before a promotion and after a failed or rolled-back
	// one (for the next attempt), not while deploying or once deployed.
	if st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING || st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
		kind := reasonBusy
		if st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
			kind = reasonDeployed
		}
		refuse.Add(kind, "the release is already %s in %s", statusName(st.Status), envName)
	}
	if p.ID == r.author {
		refuse.Add(reasonByAuthor, "separation of duties: %s created the release and may not approve it", p.ID)
	}
	if st.PromotedBy == p.ID {
		refuse.Add(reasonByPromoter, "separation of duties: %s requested the promotion to %s and may not approve it", p.ID, envName)
	}
	if slices.ContainsFunc(st.Approvals, func(a *releasev1.Approval) bool { return a.GetApprover() == p.ID }) {
		refuse.Add(reasonApproved, "%s has already approved %s for %s", p.ID, r.version, envName)
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	out := []proto.Message{&releasev1.ApprovalGranted{Environment: envName, Approver: p.ID, Comment: comment, ContentRevision: r.contentRevision, Roles: roles,
		Via: ch.Via, Delegate: ch.Delegate}}
	need := r.RequiredApprovals(env)
	have := uint32(len(r.countedApprovers(envName, ""))) + 1
	if need > 0 && have >= need && st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_PLANNED {
		out = append(out, &releasev1.ReleaseApproved{Environment: envName, Approvals: have, Required: need})
	}
	return out, nil
}

// RequestApproval decides a request to the approvers of envName to decide
// on the release: only where the policy requires approvals, while the
// release still needs them there (not approved at its current content, not
// deploying or deployed, not cancelled).
func RequestApproval(r *Release, id string, envName, note string, envs *Environments) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	env, err := targetEnv(r, envName, envs)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "note", note, MaxReason, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	need := r.RequiredApprovals(env)
	var refuse errs.Refusals
	if r.cancelled {
		refuse.Add(reasonCancelled, "the release is cancelled")
	}
	if need == 0 {
		refuse.Add(reasonNotATarget, "%s requires no approvals: promote it there directly", envName)
	}
	st := r.env(envName)
	switch st.Status {
	case releasev1.ReleaseStatus_RELEASE_STATUS_APPROVED:
		refuse.Add(reasonApproved, "%s is already approved for %s", r.version, envName)
	case releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING, releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED:
		refuse.Add(reasonDeployed, "the release is already %s in %s", statusName(st.Status), envName)
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&releasev1.ApprovalRequested{Environment: envName, Required: need, Approvals: uint32(len(r.countedApprovers(envName, ""))),
		ApproverRoles: env.ApproverRoles, Note: note, ContentRevision: r.contentRevision}}, nil
}

// Reject decides a rejection by a holder of an approver role, arriving
// through ch; the reason is required.
func Reject(r *Release, id string, p *auth.Principal, ch Channel, envName, reason string, envs *Environments) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	env, err := targetEnv(r, envName, envs)
	if err != nil {
		return nil, err
	}
	if _, err := env.ApproverRolesOf(p, "release.approve"); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", reason, MaxReason, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if r.cancelled {
		return nil, errs.Refuse(reasonCancelled, "the release is cancelled")
	}
	return []proto.Message{&releasev1.ReleaseRejected{Environment: envName, RejectedBy: p.ID, Reason: strings.TrimSpace(reason), ContentRevision: r.contentRevision,
		Via: ch.Via, Delegate: ch.Delegate}}, nil
}

func targetEnv(r *Release, name string, envs *Environments) (Environment, error) {
	env, ok := envs.Get(name)
	if !ok {
		return Environment{}, errs.Invalid("environment", "unknown environment %q (known: %s)", name, strings.Join(envs.Names(), ", "))
	}
	if !slices.Contains(r.targets, name) {
		return Environment{}, errs.Refuse(reasonNotATarget, "%s is not a target of release %s (targets: %s)", name, r.version, strings.Join(r.targets, ", "))
	}
	return env, nil
}

// GateChecker reports why the gates of environment env are not met for a
// release (none when they are). A release is promoted to an environment
// only once the gates of every environment before it are met; skipped says
// a hotfix skipped env, where only its blocking gates count. The release
// service answers it from the gate service's events (adapters.Gates).
type GateChecker func(releaseID, env string, skipped bool) []string

// ChangeChecker decides change management's part of a promotion of
// releaseID to env requested by requester: the calendar (freezes and
// windows) and, when requireChange, the approved change request that
// authorizes it. A refusal is an *errs.PreconditionError whose reasons
// (and their kinds) join the promotion's other refusals. The release
// service answers it from the change service's events (changeview).
type ChangeChecker func(releaseID, env, requester string, requireChange bool) (ChangeAuthorization, error)

// ChangeAuthorization is what let a promotion through change management.
type ChangeAuthorization struct {
	ChangeID, WindowID, FreezeOverride string
}

// Promote decides a promotion request by p with a strategy (unspecified: the
// environment's default, else rolling-update). A refusal lists every reason.
// In an environment that requires a change request, the release's own
// planned window (its schedule), when it has one, must contain now too.
func Promote(r *Release, id string, p *auth.Principal, envName string, strategy deployv1.DeploymentStrategy, envs *Environments, gates GateChecker, changes ChangeChecker, now time.Time) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	env, err := targetEnv(r, envName, envs)
	if err != nil {
		return nil, err
	}
	if strategy == deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_UNSPECIFIED {
		strategy = env.DefaultStrategy()
	}
	if !enumtext.Defined(strategy) {
		return nil, errs.Invalid("strategy_type", "%d is not one of %s", strategy, strings.Join(enumtext.Names[deployv1.DeploymentStrategy](), ", "))
	}
	var refuse errs.Refusals
	if r.cancelled {
		refuse.Add(reasonCancelled, "the release is cancelled")
	}
	st := r.env(envName)
	switch st.Status {
	case releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING:
		refuse.Add(reasonBusy, "a deployment to %s is already in progress", envName)
	case releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED:
		refuse.Add(reasonDeployed, "%s is already deployed to %s", r.version, envName)
	}
	hotfix := r.typ == releasev1.ReleaseType_RELEASE_TYPE_HOTFIX
	var skipped []string
	for _, before := range env.After {
		if hotfix && slices.Contains(env.HotfixMaySkip, before) {
			if bs, ok := r.envs[before]; !ok || bs.Status != releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
				skipped = append(skipped, before)
			}
			continue
		}
		if bs, ok := r.envs[before]; !ok || bs.Status != releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED {
			have := "not promoted"
			if ok {
				have = statusName(bs.Status)
			}
			refuse.Add(reasonOrder, "promotion order: %s must be deployed to %s first (it is %s there)", r.version, before, have)
		}
	}
	need := r.RequiredApprovals(env)
	counted := r.countedApprovers(envName, p.ID)
	if uint32(len(counted)) < need {
		msg := fmt.Sprintf("approvals: %s needs %d approval(s) from distinct people other than the author and the requester, has %d", envName, need, len(counted))
		if RiskExtraApprovals(r.risk) > 0 {
			msg += fmt.Sprintf(" (%d added by the risk assessment)", RiskExtraApprovals(r.risk))
		}
		if slices.ContainsFunc(st.Approvals, func(a *releasev1.Approval) bool { return a.GetApprover() == p.ID }) {
			msg += fmt.Sprintf("; %s's own approval does not count for a promotion %s requests", p.ID, p.ID)
		}
		refuse.Add(reasonApprovals, "%s", msg)
	}
	// Rejections are voided with approvals when the content changes, so any left stand.
	for _, rej := range st.Rejections {
		refuse.Add(reasonRejected, "rejected for %s by %s: %s", envName, rej.GetRejectedBy(), rej.GetReason())
	}
	for _, pr := range r.prereqs {
		if pr.GetEnvironment() != "" && pr.GetEnvironment() != envName {
			continue
		}
		switch pr.GetStatus() {
		case releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_PENDING:
			msg := fmt.Sprintf("prerequisite %s (%s) is pending, owner %s", pr.GetId(), pr.GetDescription(), orNone(pr.GetOwner()))
			if Overdue(pr, now) {
				msg += ", overdue since " + pr.GetDeadline().AsTime().UTC().Format(time.RFC3339)
			}
			refuse.Add(reasonPrerequisite, "%s", msg)
		case releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_FAILED:
			refuse.Add(reasonPrerequisite, "prerequisite %s (%s) failed", pr.GetId(), pr.GetDescription())
		}
	}
	if gates != nil {
		for _, before := range env.After {
			// An environment the release has not reached is refused above.
			if bs, ok := r.envs[before]; (ok && bs.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYED) || slices.Contains(skipped, before) {
				for _, g := range gates(r.id, before, slices.Contains(skipped, before)) {
					refuse.Add(reasonGate, "%s", g)
				}
			}
		}
	}
	if s := r.schedule; env.ChangeRequired && s.GetWindowStart() != nil && s.GetWindowEnd() != nil {
		start, end := s.GetWindowStart().AsTime(), s.GetWindowEnd().AsTime()
		if now.Before(start) || !now.Before(end) {
			refuse.Add(reasonOutsideWindow, "%s is outside release %s's planned window %s – %s", now.UTC().Format(time.RFC3339), r.version, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		}
	}
	var ca ChangeAuthorization
	if changes != nil {
		var err error
		ca, err = changes(r.id, envName, p.ID, env.ChangeRequired)
		var pe *errs.PreconditionError
		switch {
		case errors.As(err, &pe):
			for i, text := range pe.Reasons {
				kind := pe.Reason
				if i < len(pe.Kinds) {
					kind = pe.Kinds[i]
				}
				refuse.Add(kind, "%s", text)
			}
		case err != nil:
			return nil, err
		}
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&releasev1.PromotionRequested{
		ReleaseId: r.id, Product: r.product, Version: r.version, Environment: envName,
		StrategyType: strategy, Strategy: enumtext.Name(strategy),
		RequestedBy: p.ID, ApprovedBy: counted, Attempt: st.Attempts + 1, SkippedEnvironments: skipped,
		ChangeId: ca.ChangeID, WindowId: ca.WindowID, FreezeOverride: ca.FreezeOverride,
	}}, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Overdue reports whether a prerequisite is pending past its deadline.
func Overdue(p *releasev1.Prerequisite, now time.Time) bool {
	return p.GetStatus() == releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_PENDING && p.GetDeadline() != nil && now.After(p.GetDeadline().AsTime())
}

// Cancel decides a cancellation; not while a deployment runs.
func Cancel(r *Release, id, reason string) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", reason, MaxReason, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var refuse errs.Refusals
	if r.cancelled {
		refuse.Add(reasonCancelled, "the release is already cancelled")
	}
	for _, name := range r.targets {
		if st := r.envs[name]; st != nil && st.Status == releasev1.ReleaseStatus_RELEASE_STATUS_DEPLOYING {
			refuse.Add(reasonBusy, "a deployment to %s is in progress: abort or roll it back first", name)
		}
	}
	if err := refuse.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&releasev1.ReleaseCancelled{Reason: strings.TrimSpace(reason)}}, nil
}

// AddPrerequisite decides a new pending prerequisite.
func AddPrerequisite(r *Release, id string, p *releasev1.Prerequisite, envs *Environments) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	var v errs.Violations
	if p.GetType() == releasev1.PrerequisiteType_PREREQUISITE_TYPE_UNSPECIFIED || releasev1.PrerequisiteType_name[int32(p.GetType())] == "" {
		v.Add("type", "must be one of database, infrastructure, third_party, compliance")
	}
	checkText(&v, "description", p.GetDescription(), MaxSummary, true)
	checkText(&v, "owner", p.GetOwner(), MaxTitle, false)
	if p.GetEnvironment() != "" && !slices.Contains(r.targets, p.GetEnvironment()) {
		v.Add("environment", "%q is not a target of the release", p.GetEnvironment())
	}
	if len(r.prereqs) >= MaxListItems {
		v.Add("prerequisites", "the release already has %d prerequisites, the limit", MaxListItems)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if r.cancelled {
		return nil, errs.Refuse(reasonCancelled, "the release is cancelled")
	}
	return []proto.Message{&releasev1.PrerequisiteAdded{Prerequisite: &releasev1.Prerequisite{
		Id: fmt.Sprintf("p%d", len(r.prereqs)+1), Type: p.GetType(), Description: strings.TrimSpace(p.GetDescription()),
		Status: releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_PENDING, Owner: p.GetOwner(), Deadline: p.GetDeadline(), Environment: p.GetEnvironment(),
	}}}, nil
}

// UpdatePrerequisite decides a prerequisite update.
func UpdatePrerequisite(r *Release, id string, u *releasev1.PrerequisiteUpdated) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(r.prereqs, func(p *releasev1.Prerequisite) bool { return p.GetId() == u.GetPrerequisiteId() }) {
		return nil, &errs.NotFoundError{Kind: "prerequisite", ID: u.GetPrerequisiteId()}
	}
	var v errs.Violations
	if u.GetStatus() != releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_UNSPECIFIED && releasev1.PrerequisiteStatus_name[int32(u.GetStatus())] == "" {
		v.Add("status", "must be one of pending, completed, failed")
	}
	checkText(&v, "owner", u.GetOwner(), MaxTitle, false)
	checkText(&v, "note", u.GetNote(), MaxReason, false)
	if u.GetStatus() == releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_UNSPECIFIED && u.GetOwner() == "" && u.GetDeadline() == nil {
		v.Add("status", "nothing to update: give a status, owner or deadline")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{u}, nil
}

// SetRisk decides a risk assessment.
func SetRisk(r *Release, id string, risk *releasev1.RiskAssessment) ([]proto.Message, error) {
	if err := notFound(r, id); err != nil {
		return nil, err
	}
	var v errs.Violations
	if risk.GetImpact() == releasev1.RiskImpact_RISK_IMPACT_UNSPECIFIED || releasev1.RiskImpact_name[int32(risk.GetImpact())] == "" {
		v.Add("impact", "must be one of low, medium, high, critical")
	}
	if risk.GetLikelihood() == releasev1.RiskLikelihood_RISK_LIKELIHOOD_UNSPECIFIED || releasev1.RiskLikelihood_name[int32(risk.GetLikelihood())] == "" {
		v.Add("likelihood", "must be one of low, medium, high")
	}
	for _, f := range []struct {
		name  string
		items []string
	}{{"mitigation", risk.GetMitigation()}, {"contingency", risk.GetContingency()}} {
		if len(f.items) > MaxListItems {
			v.Add(f.name, "at most %d items", MaxListItems)
		}
		for i, s := range f.items {
			checkText(&v, fmt.Sprintf("%s[%d]", f.name, i), s, MaxSummary, true)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if r.cancelled {
		return nil, errs.Refuse(reasonCancelled, "the release is cancelled")
	}
	out := proto.Clone(risk).(*releasev1.RiskAssessment)
	out.ExtraApprovals = RiskExtraApprovals(out)
	return []proto.Message{&releasev1.RiskAssessed{Risk: out}}, nil
}

func statusName(s releasev1.ReleaseStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "RELEASE_STATUS_"))
}
