package report_test

// The harness: a log written event by event (positions from 1, in order),
// folded through a Builder; and the scenario most tests read, a month of
// production changes with a month of context before it.

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/internal/report"
)

// The period reported: March 2026, production.
var (
	from = time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)
	to   = time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)
	// now is after the period: reviews are judged as of to.
	now = time.Date(2026, time.April, 5, 8, 0, 0, 0, time.UTC)
)

const prod = "production"

// at is a moment of 2026.
func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

// eventLog is a log being written: every add takes the next position.
type eventLog struct {
	events []report.Event
}

// add appends an event and returns its position.
func (l *eventLog) add(t time.Time, actor, aggregate, id string, msg proto.Message) uint64 {
	pos := uint64(len(l.events) + 1)
	l.events = append(l.events, report.Event{Position: pos, Time: t, Actor: actor, Aggregate: aggregate, ID: id, Msg: msg})
	return pos
}

// build folds the whole log into a report of the period.
func (l *eventLog) build(t *testing.T, from, to time.Time, envs []string, now time.Time) *changev1.ComplianceReport {
	t.Helper()
	b := report.New(from, to, envs)
	for _, e := range l.events {
		b.Add(e)
	}
	return b.Report(now)
}

// The event helpers, one per kind the scenarios need.

func (l *eventLog) release(t time.Time, author, id, product, version string) uint64 {
	return l.add(t, author, "release", id, &releasev1.ReleaseCreated{ReleaseId: id, Product: product, Version: version})
}

func (l *eventLog) approveRelease(t time.Time, approver, id, env string) uint64 {
	return l.add(t, approver, "release", id, &releasev1.ApprovalGranted{Environment: env, Approver: approver})
}

func (l *eventLog) promote(t time.Time, p *releasev1.PromotionRequested) uint64 {
	if p.Attempt == 0 {
		p.Attempt = 1
	}
	return l.add(t, p.RequestedBy, "release", p.ReleaseId, p)
}

func (l *eventLog) started(t time.Time, id, releaseID, env string, attempt uint32) uint64 {
	return l.add(t, "deployer", "deployment", id, &deployv1.DeploymentStarted{DeploymentId: id, ReleaseId: releaseID, Environment: env, Attempt: attempt})
}

func (l *eventLog) deployment(t time.Time, id string, msg proto.Message) uint64 {
	return l.add(t, "deployer", "deployment", id, msg)
}

func (l *eventLog) gates(t time.Time, run, releaseID, env string) uint64 {
	return l.add(t, "gate", "gaterun", run, &gatev1.GatesOpened{ReleaseId: releaseID, Environment: env})
}

func (l *eventLog) result(t time.Time, run, gate, suite string, format gatev1.EvidenceFormat, digest string, passed bool) uint64 {
	return l.add(t, "ci", "gaterun", run, &gatev1.ResultsReported{
		Gate: gate, Suite: suite, Passed: passed, Evidence: &gatev1.Evidence{Digest: digest, Format: format},
	})
}

func (l *eventLog) submit(t time.Time, submitter, id string, class changev1.ChangeClass, title string, envs ...string) uint64 {
	m := &changev1.ChangeSubmitted{Id: id, Submitter: submitter, Class: class, Title: title, Environments: envs}
	if class == changev1.ChangeClass_CHANGE_CLASS_EMERGENCY {
		m.Justification = "customers cannot pay"
		m.ReviewDeadline = durationpb.New(48 * time.Hour)
	}
	return l.add(t, submitter, "change", id, m)
}

func (l *eventLog) approveChange(t time.Time, approver, id, as string) uint64 {
	return l.add(t, approver, "change", id, &changev1.ChangeApprovalGranted{Approver: approver, As: as, Roles: []string{as}, Counts: true})
}

func (l *eventLog) implement(t time.Time, id, deploymentID, releaseID, env string, reviewDue time.Time) uint64 {
	m := &changev1.ChangeImplementationStarted{DeploymentId: deploymentID, ReleaseId: releaseID, Environment: env}
	if !reviewDue.IsZero() {
		m.ReviewDue = timestamppb.New(reviewDue)
	}
	return l.add(t, "change", "change", id, m)
}

func (l *eventLog) review(t time.Time, reviewer, id string, late bool) uint64 {
	return l.add(t, reviewer, "change", id, &changev1.ChangePostImplementationReviewed{Reviewer: reviewer, RootCause: "expired certificate", Late: late})
}

func (l *eventLog) override(t time.Time, freeze, env, requestedBy, by string) uint64 {
	return l.add(t, by, "changecal", "calendar", &changev1.FreezeOverridden{Override: &changev1.FreezeOverride{
		FreezeId: freeze, Environment: env, Reason: "quarter-end fix", RequestedBy: requestedBy, OverriddenBy: by,
		Roles: []string{"release-manager"}, GrantedAt: timestamppb.New(t), ExpiresAt: timestamppb.New(t.Add(4 * time.Hour)),
	}})
}

// scenario is March 2026 in production, with February as context:
//
//   - rel-1 (shop 1.4.0, by alice), gated in staging in February, promoted
//     by bob on March 3 with frank's release approval and change CHG-1
//     (normal, submitted by carol, approved by pat as product and otto as
//     operations in February); it succeeded.
//   - rel-0, promoted on February 28 and deployed on March 1: outside the period.
//   - rel-2 (by gina), approved and promoted by gina herself without a change
//     request; rolled back by the monitor.
//   - rel-3, promoted by kim through a freeze override with CHG-3, which its
//     submitter judy approved herself; it failed.
//   - emergencies CHG-E1 (review overdue), CHG-E2 (reviewed late, a title
//     with a pipe and a line break) and CHG-E3 (staging only).
//   - freeze overrides: one in February, one in staging, one in production in March.
//   - a promotion to staging, and one to production stamped at the end of the period.
type scenario struct {
	log eventLog
	// The positions of the first and last events of March, and of the promotions reported.
	first, last            uint64
	promo1, promo2, promo3 uint64
}

func newScenario() *scenario {
	s := &scenario{}
	l := &s.log
	const (
		normal    = changev1.ChangeClass_CHANGE_CLASS_NORMAL
		emergency = changev1.ChangeClass_CHANGE_CLASS_EMERGENCY
		junit     = gatev1.EvidenceFormat_EVIDENCE_FORMAT_JUNIT
		sarif     = gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF
	)

	// February: context.
	l.release(at(time.February, 10, 9, 0), "alice", "rel-1", "shop", "1.4.0")
	l.gates(at(time.February, 11, 9, 0), "gr-rel-1-staging", "rel-1", "staging")
	l.result(at(time.February, 11, 9, 5), "gr-rel-1-staging", "Integration Tests", "api", junit, "sha256:aaa111", true)
	l.result(at(time.February, 11, 9, 6), "gr-rel-1-staging", "Security", "gosec", sarif, "sha256:bbb222", true)
	l.submit(at(time.February, 20, 9, 0), "carol", "CHG-1", normal, "Ship shop 1.4.0", prod)
	l.approveChange(at(time.February, 21, 9, 0), "pat", "CHG-1", "product")
	l.approveChange(at(time.February, 21, 10, 0), "otto", "CHG-1", "operations")
	l.add(at(time.February, 21, 10, 0), "change", "change", "CHG-1", &changev1.ChangeApproved{Approvals: 2, Required: 2})
	l.override(at(time.February, 25, 9, 0), "fz-feb", prod, "bob", "olga")
	l.release(at(time.February, 27, 9, 0), "alice", "rel-0", "shop", "1.3.9")
	l.promote(at(time.February, 28, 23, 0), &releasev1.PromotionRequested{ReleaseId: "rel-0", Environment: prod, RequestedBy: "bob", ApprovedBy: []string{"frank"}})

	// March: the period.
	s.first = l.started(at(time.March, 1, 0, 30), "rel-0-production-1", "rel-0", prod, 1)
	l.deployment(at(time.March, 1, 1, 0), "rel-0-production-1", &deployv1.DeploymentSucceeded{DeploymentId: "rel-0-production-1", ReleaseId: "rel-0", Environment: prod})

	l.approveRelease(at(time.March, 2, 9, 0), "frank", "rel-1", prod)
	s.promo1 = l.promote(at(time.March, 3, 10, 0), &releasev1.PromotionRequested{
		ReleaseId: "rel-1", Product: "shop", Version: "1.4.0", Environment: prod, RequestedBy: "bob", ApprovedBy: []string{"frank"},
		StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BLUE_GREEN, ChangeId: "CHG-1", WindowId: "w-tue",
	})
	l.started(at(time.March, 3, 10, 1), "rel-1-production-1", "rel-1", prod, 1)
	l.implement(at(time.March, 3, 10, 1), "CHG-1", "rel-1-production-1", "rel-1", prod, time.Time{})
	l.deployment(at(time.March, 3, 10, 20), "rel-1-production-1", &deployv1.DeploymentSucceeded{DeploymentId: "rel-1-production-1", ReleaseId: "rel-1", Environment: prod})
	// Evidence reported after the promotion is not its evidence.
	l.gates(at(time.March, 3, 10, 21), "gr-rel-1-production", "rel-1", prod)
	l.result(at(time.March, 3, 11, 0), "gr-rel-1-production", "Smoke", "smoke", junit, "sha256:ccc333", true)

	l.release(at(time.March, 5, 9, 0), "gina", "rel-2", "shop", "1.5.0")
	l.promote(at(time.March, 5, 10, 0), &releasev1.PromotionRequested{ReleaseId: "rel-2", Environment: "staging", RequestedBy: "gina"})
	l.approveRelease(at(time.March, 6, 9, 0), "gina", "rel-2", prod)
	s.promo2 = l.promote(at(time.March, 6, 10, 0), &releasev1.PromotionRequested{
		ReleaseId: "rel-2", Product: "shop", Version: "1.5.0", Environment: prod, RequestedBy: "gina", ApprovedBy: []string{"gina"},
	})
	l.started(at(time.March, 6, 10, 1), "rel-2-production-1", "rel-2", prod, 1)
	l.deployment(at(time.March, 6, 10, 30), "rel-2-production-1", &deployv1.RollbackStarted{Reason: "error rate 5% > 1%", Trigger: "monitor"})
	l.deployment(at(time.March, 6, 10, 35), "rel-2-production-1", &deployv1.RolledBack{DeploymentId: "rel-2-production-1", ReleaseId: "rel-2", Environment: prod, RestoredVersion: "1.4.0"})

	l.submit(at(time.March, 10, 9, 0), "hank", "CHG-E1", emergency, "Payments down", prod)
	l.approveChange(at(time.March, 10, 9, 10), "sam", "CHG-E1", "security")
	l.implement(at(time.March, 10, 12, 0), "CHG-E1", "rel-e1-production-1", "rel-e1", prod, at(time.March, 12, 12, 0))

	l.submit(at(time.March, 15, 9, 0), "hank", "CHG-E2", emergency, "Hotfix | login\nbypass", prod)
	l.approveChange(at(time.March, 15, 9, 10), "otto", "CHG-E2", "operations")
	l.implement(at(time.March, 15, 10, 0), "CHG-E2", "rel-e2-production-1", "rel-e2", prod, at(time.March, 17, 10, 0))
	l.review(at(time.March, 18, 9, 0), "hank", "CHG-E2", true)

	l.submit(at(time.March, 16, 9, 0), "hank", "CHG-E3", emergency, "Staging only", "staging")

	l.override(at(time.March, 20, 9, 0), "fz-quarter-end", prod, "kim", "olga")
	l.override(at(time.March, 20, 9, 5), "fz-quarter-end", "staging", "kim", "olga")

	l.release(at(time.March, 21, 9, 0), "alice", "rel-3", "billing", "2.0.0")
	l.submit(at(time.March, 22, 9, 0), "judy", "CHG-3", normal, "Billing 2.0", prod)
	l.approveChange(at(time.March, 22, 10, 0), "judy", "CHG-3", "product")
	l.approveChange(at(time.March, 22, 11, 0), "otto", "CHG-3", "operations")
	s.promo3 = l.promote(at(time.March, 23, 10, 0), &releasev1.PromotionRequested{
		ReleaseId: "rel-3", Product: "billing", Version: "2.0.0", Environment: prod, RequestedBy: "kim", ApprovedBy: []string{"frank"},
		StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY, ChangeId: "CHG-3", FreezeOverride: "fz-quarter-end",
	})
	l.started(at(time.March, 23, 10, 1), "rel-3-production-1", "rel-3", prod, 1)
	l.deployment(at(time.March, 23, 10, 40), "rel-3-production-1", &deployv1.DeploymentFailed{DeploymentId: "rel-3-production-1", ReleaseId: "rel-3", Environment: prod, Reason: "health check failed"})

	s.last = l.add(at(time.March, 31, 23, 59), "carol", "change", "CHG-1", &changev1.ChangeClosed{Outcome: "successful"})
	// Stamped at the end of the period: not in it.
	l.promote(to, &releasev1.PromotionRequested{ReleaseId: "rel-1", Environment: prod, RequestedBy: "bob", Attempt: 2})
	return s
}

// report is the scenario's report of March in production.
func (s *scenario) report(t *testing.T) *changev1.ComplianceReport {
	t.Helper()
	return s.log.build(t, from, to, []string{prod}, now)
}

// positions are the positions of the reported changes, in report order.
func positions(changes []*changev1.ReportedChange) []uint64 {
	out := []uint64{}
	for _, c := range changes {
		out = append(out, c.GetPosition())
	}
	return out
}
