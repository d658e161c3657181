package episode_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/eventstore"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const (
	rel    = "01JX5R0000000000000000000A"
	dep    = rel + "-production-1"
	depStg = rel + "-staging-1"
	run    = "gr-0123456789abcdef01234567"
	chg    = "chg-01jx5r0000000000000000000c"
	chgEm  = "chg-01jx5r0000000000000000000e"
	frz    = "frz-01jx5r0000000000000000000f"
)

// scopes is a table that has seen the release, its deployments and its
// gate run in staging, as the notifier would have by the time it maps
// their later events.
func scopes(t *testing.T) *episode.ScopeTable {
	t.Helper()
	st := episode.NewScopeTable()
	for _, ev := range []*eventstore.RecordedEvent{
		record(t, rel, &releasev1.ReleaseCreated{ReleaseId: rel, Product: "payments", Version: "1.2.0"}),
		record(t, dep, &deployv1.DeploymentStarted{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production"}),
		record(t, depStg, &deployv1.DeploymentStarted{DeploymentId: depStg, ReleaseId: rel, Version: "1.2.0", Environment: "staging", Product: "payments"}),
		record(t, run, &gatev1.GatesOpened{ReleaseId: rel, Product: "payments", Version: "1.2.0", Environment: "staging", DeploymentId: depStg}),
	} {
		if err := st.Observe(ev); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func alertChange(to monitorv1.AlertState, notify bool) *monitorv1.AlertChange {
	return &monitorv1.AlertChange{
		Rule: "high_error_rate", RuleVersion: 3, SeverityType: monitorv1.Severity_SEVERITY_CRITICAL, Channels: []string{"slack", "email"},
		Labels: map[string]string{"environment": "production", "team": "payments", "actor": "spoof"}, Series: `{environment="production", team="payments"}`,
		FromState: monitorv1.AlertState_ALERT_STATE_PENDING, ToState: to, At: timestamppb.New(t0), Value: 0.12, Notify: notify,
		Reason: "condition held for 5m0s (for 5m0s)", Cooldown: durationpb.New(0), Condition: "error_ratio > 0.05",
	}
}

// releaseNotes are release notes as the release service renders them.
const releaseNotes = `# Release 1.2.0 - payments (May 4, 2026)

**Faster checkout**

Card payments in one step.

## ✨ New Features
- One-step card form ([link](https://git.example.com/pr/7)) — carol

## 🐛 Bug Fixes
- Retry declined 3-D Secure challenges <once> & only once
`

// TestMap checks the mapping of each notifiable type, and of some events
// that are not told. want.Labels is compared whole; want.Annotations only
// for the keys it has (summary always).
func TestMap(t *testing.T) {
	t.Parallel()
	alertFP := episode.Fingerprint("high_error_rate", map[string]string{"environment": "production", "team": "payments", "actor": "spoof"})
	firingCancelled := alertChange(monitorv1.AlertState_ALERT_STATE_INACTIVE, false)
	firingCancelled.FromState, firingCancelled.Reason = monitorv1.AlertState_ALERT_STATE_FIRING, "rule disabled"
	oldText := alertChange(monitorv1.AlertState_ALERT_STATE_UNSPECIFIED, false)
	oldText.FromState, oldText.From, oldText.SeverityType, oldText.Severity = 0, "firing", 0, "info" //nolint:staticcheck // old events carry the text forms only

	tests := []struct {
		name string
		ev   *eventstore.RecordedEvent
		// noScopes maps without the scope table.
		noScopes bool
		want     routing.Event
		notTold  bool
	}{
		// release
		{
			name: "release created",
			ev: record(t, rel, &releasev1.ReleaseCreated{
				ReleaseId: rel, Product: "payments", Version: "1.2.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: "Faster checkout",
				Description: "Card payments in one step.", TargetEnvironments: []string{"staging", "production"}, Approvers: []string{"carol", "bob"},
				Changes: []*releasev1.Change{{Id: "c1", Summary: "one-step card form"}},
			}),
			want: routing.Event{
				Product: "payments", Severity: "info", EpisodeKey: "release/" + rel, Notice: true,
				Labels: map[string]string{"actor": "alice", "release_id": rel, "version": "1.2.0", "release_type": "minor", "approvers": "bob, carol"},
				Annotations: map[string]string{
					"summary":     "Release payments 1.2.0 created: Faster checkout",
					"description": "alice created minor release payments 1.2.0 (1 changes) for production, staging. Approvers asked: bob, carol.",
					"targets":     "production, staging", "title": "Faster checkout", "event_id": "0196a0c0-0000-7000-8000-000000000001", "position": "42",
				},
			},
		},
		{
			name: "approvals voided",
			ev:   by("bob", record(t, rel, &releasev1.ApprovalsVoided{Environments: []string{"staging", "production"}, ContentRevision: 2, Reason: "a change was added"})),
			want: routing.Event{
				Product: "payments", Severity: "warning", EpisodeKey: "release/" + rel, Notice: true,
				Labels:      map[string]string{"actor": "bob", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Approvals of payments 1.2.0 voided for production, staging: a change was added", "reason": "a change was added"},
			},
		},
		{
			name: "approval granted",
			ev:   by("carol", record(t, rel, &releasev1.ApprovalGranted{Environment: "production", Approver: "carol", Comment: "ok", Roles: []string{"operations"}})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "approval/" + rel + "/production", Notice: true,
				Labels: map[string]string{"actor": "carol", "release_id": rel, "version": "1.2.0", "approver": "carol"},
				Annotations: map[string]string{
					"summary":     "carol approved payments 1.2.0 for production",
					"description": "carol approved payments 1.2.0 for production (roles: operations). Comment: ok.",
				},
			},
		},
		{
			name: "approval granted without scopes names the release",
			ev:   by("carol", record(t, rel, &releasev1.ApprovalGranted{Environment: "production", Approver: "carol"})), noScopes: true,
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "approval/" + rel + "/production", Notice: true,
				Labels:      map[string]string{"actor": "carol", "release_id": rel, "approver": "carol"},
				Annotations: map[string]string{"summary": "carol approved release " + rel + " for production"},
			},
		},
		{
			name: "approval requested is a notice (with buttons in Slack)",
			ev: by("bob", record(t, rel, &releasev1.ApprovalRequested{Environment: "production", Required: 2, Approvals: 1,
				ApproverRoles: []string{"operations", "security"}, Note: "soak passed"})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "warning", EpisodeKey: "approval/" + rel + "/production", Notice: true,
				Labels:      map[string]string{"actor": "bob", "release_id": rel, "version": "1.2.0", "approver_roles": "operations, security"},
				Annotations: map[string]string{"summary": "payments 1.2.0 awaits approval for production (1 of 2): soak passed", "note": "soak passed"},
			},
		},
		{
			name: "release approved is a notice: the approvals were notices, nothing fires",
			ev:   by("dave", record(t, rel, &releasev1.ReleaseApproved{Environment: "production", Approvals: 2, Required: 2})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "approval/" + rel + "/production", Notice: true,
				Labels:      map[string]string{"actor": "dave", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "payments 1.2.0 approved for production (2 of 2 approvals)"},
			},
		},
		{
			name: "release rejected ends the approval: final",
			ev:   by("erin", record(t, rel, &releasev1.ReleaseRejected{Environment: "production", RejectedBy: "erin", Reason: "no rollback plan"})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "warning", EpisodeKey: "approval/" + rel + "/production", Final: true,
				Labels:      map[string]string{"actor": "erin", "release_id": rel, "version": "1.2.0", "rejected_by": "erin"},
				Annotations: map[string]string{"summary": "erin rejected payments 1.2.0 for production: no rollback plan", "reason": "no rollback plan"},
			},
		},
		{
			name: "prerequisite failed",
			ev: record(t, rel, &releasev1.PrerequisiteUpdated{
				PrerequisiteId: "p1", Status: releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_FAILED, Owner: "dba-team", Note: "migration timed out",
			}),
			want: routing.Event{
				Product: "payments", Severity: "warning", EpisodeKey: "prerequisite/" + rel + "/p1",
				Labels:      map[string]string{"actor": "alice", "release_id": rel, "version": "1.2.0", "prerequisite": "p1", "owner": "dba-team"},
				Annotations: map[string]string{"summary": "Prerequisite p1 of payments 1.2.0 failed: migration timed out", "note": "migration timed out"},
			},
		},
		{
			name: "prerequisite completed resolves it",
			ev:   record(t, rel, &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Status: releasev1.PrerequisiteStatus_PREREQUISITE_STATUS_COMPLETED}),
			want: routing.Event{
				Product: "payments", Severity: "info", EpisodeKey: "prerequisite/" + rel + "/p1", Resolved: true,
				Labels:      map[string]string{"actor": "alice", "release_id": rel, "version": "1.2.0", "prerequisite": "p1"},
				Annotations: map[string]string{"summary": "Prerequisite p1 of payments 1.2.0 completed"},
			},
		},
		{name: "prerequisite owner changed: not told", ev: record(t, rel, &releasev1.PrerequisiteUpdated{PrerequisiteId: "p1", Owner: "ops"}), notTold: true},
		{
			name: "release cancelled is a notice",
			ev:   record(t, rel, &releasev1.ReleaseCancelled{Reason: "superseded by 1.2.1"}),
			want: routing.Event{
				Product: "payments", Severity: "info", EpisodeKey: "release/" + rel, Notice: true,
				Labels:      map[string]string{"actor": "alice", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Release payments 1.2.0 cancelled: superseded by 1.2.1"},
			},
		},
		{name: "promotion requested: not told", ev: record(t, rel, &releasev1.PromotionRequested{ReleaseId: rel, Environment: "production"}), notTold: true},
		{
			name: "release live in production: a notice with its notes",
			ev: by("system:floe", record(t, rel, &releasev1.ReleaseDeployed{
				Environment: "production", DeploymentId: dep, Product: "payments", Version: "1.2.0", Title: "Faster checkout", Notes: releaseNotes,
			})),
			noScopes: true, // the event carries what people are told
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "releasenotes/" + rel + "/production", Notice: true,
				Labels: map[string]string{"actor": "system:floe", "release_id": rel, "version": "1.2.0", "deployment_id": dep},
				Annotations: map[string]string{
					"summary":     "payments 1.2.0 is live in production: Faster checkout",
					"description": strings.TrimSpace(releaseNotes), "notes": strings.TrimSpace(releaseNotes), "title": "Faster checkout",
				},
			},
		},
		{
			name: "release live in production, recorded before it carried the notes: from the scopes",
			ev:   by("system:floe", record(t, rel, &releasev1.ReleaseDeployed{Environment: "production", DeploymentId: dep})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "releasenotes/" + rel + "/production", Notice: true,
				Labels: map[string]string{"actor": "system:floe", "release_id": rel, "version": "1.2.0", "deployment_id": dep},
				Annotations: map[string]string{
					"summary":     "payments 1.2.0 is live in production",
					"description": "payments 1.2.0 is live in production. floe release notes " + rel + " prints its release notes.",
				},
			},
		},
		{
			name:    "release live in staging: not told (DeploymentSucceeded tells it)",
			ev:      record(t, rel, &releasev1.ReleaseDeployed{Environment: "staging", DeploymentId: depStg, Product: "payments", Version: "1.2.0", Notes: releaseNotes}),
			notTold: true,
		},
		{
			name: "release deployed without an environment: not told",
			ev:   record(t, rel, &releasev1.ReleaseDeployed{DeploymentId: dep, Notes: releaseNotes}), notTold: true,
		},

		// deploy
		{
			name: "deployment started",
			ev: by("floe/deploy", record(t, dep, &deployv1.DeploymentStarted{
				DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_BLUE_GREEN,
				Attempt: 2, App: "payments-api", PreviousVersion: "1.1.0", RequestedBy: "alice", Product: "payments",
				Plan: []*deployv1.Step{{Kind: deployv1.StepKind_STEP_KIND_START}, {Kind: deployv1.StepKind_STEP_KIND_SET_WEIGHT, Weight: 100}},
			})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "deployment/" + dep,
				Labels: map[string]string{
					"actor": "floe/deploy", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "strategy": "blue-green",
					"app": "payments-api", "attempt": "2", "requested_by": "alice",
				},
				Annotations: map[string]string{
					"summary":          "Deploying payments 1.2.0 to production (blue-green, attempt 2)",
					"description":      "alice asked for payments 1.2.0 to production; the deployer runs a 2-step blue-green plan. It replaces 1.1.0, which a rollback restores.",
					"previous_version": "1.1.0",
				},
			},
		},
		{
			name:     "deployment started with the old strategy text",
			ev:       record(t, depStg, &deployv1.DeploymentStarted{DeploymentId: depStg, ReleaseId: rel, Version: "1.2.0", Environment: "staging", Strategy: "canary", Attempt: 1}), //nolint:staticcheck // old events
			noScopes: true,
			want: routing.Event{
				Environment: "staging", Severity: "info", EpisodeKey: "deployment/" + depStg,
				Labels:      map[string]string{"actor": "alice", "deployment_id": depStg, "release_id": rel, "version": "1.2.0", "strategy": "canary", "attempt": "1"},
				Annotations: map[string]string{"summary": "Deploying version 1.2.0 to staging (canary)"},
			},
		},
		{
			name: "deployment scaled: a notice",
			ev: record(t, dep, &deployv1.DeploymentScaled{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production",
				Replicas: 2, PreviousReplicas: 1, Trigger: "latency", Reason: "p95 > 2, observed 2.5", CauseEventId: "ev-9"}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "deployment/" + dep, Notice: true,
				Labels: map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "trigger": "latency"},
				Annotations: map[string]string{
					"summary":     "payments 1.2.0 scaled to 2 instances in production (trigger latency)",
					"description": "The trigger latency fired, so payments 1.2.0 now runs 2 instances in production instead of 1. Reason: p95 > 2, observed 2.5.",
					"replicas":    "2", "reason": "p95 > 2, observed 2.5",
				},
			},
		},
		{
			name: "scale-up refused: a warning notice",
			ev: record(t, dep, &deployv1.ScaleUpRefused{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production",
				Replicas: 1, Trigger: "latency", Reason: "the exec driver cannot run more than one instance of a version"}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "warning", EpisodeKey: "deployment/" + dep, Notice: true,
				Labels: map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "trigger": "latency"},
				Annotations: map[string]string{
					"summary":     "payments 1.2.0 not scaled up in production (trigger latency): the exec driver cannot run more than one instance of a version",
					"description": "The trigger latency asked for another instance of payments 1.2.0 in production; none was added, it runs 1. Reason: the exec driver cannot run more than one instance of a version.",
					"replicas":    "1", "reason": "the exec driver cannot run more than one instance of a version",
				},
			},
		},
		{name: "step completed: not told", ev: record(t, dep, &deployv1.DeploymentStepCompleted{Index: 1, Result: "weight 25%"}), notTold: true},
		{
			name: "deployment paused takes its scope",
			ev:   record(t, dep, &deployv1.DeploymentPaused{Index: 2, Reason: "manual pause step"}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "warning", EpisodeKey: "deployment/" + dep,
				Labels: map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{
					"summary":     "Deployment of payments 1.2.0 to production paused at step 2: manual pause step",
					"description": "The deployment of payments 1.2.0 to production is paused at step 2 and waits for someone to resume it (floe deploy resume " + dep + "). Reason: manual pause step.",
				},
			},
		},
		{
			name: "deployment paused without scopes",
			ev:   record(t, dep, &deployv1.DeploymentPaused{Index: 2}), noScopes: true,
			want: routing.Event{
				Severity: "warning", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "alice", "deployment_id": dep},
				Annotations: map[string]string{"summary": "Deployment of a release paused at step 2"},
			},
		},
		{
			name: "deployment resumed",
			ev:   record(t, dep, &deployv1.DeploymentResumed{Index: 2}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Deployment of payments 1.2.0 to production resumed at step 2"},
			},
		},
		{
			name: "deployment aborted",
			ev:   by("bob", record(t, dep, &deployv1.DeploymentAborted{Reason: "wrong build"})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "warning", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "bob", "deployment_id": dep, "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Deployment of payments 1.2.0 to production aborted by bob: wrong build"},
			},
		},
		{
			name: "rollback started in production is critical",
			ev:   by("floe/deploy", record(t, dep, &deployv1.RollbackStarted{Reason: "error_rate > 0.1 for 5m", Trigger: "monitor"})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "floe/deploy", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "trigger": "monitor"},
				Annotations: map[string]string{"summary": "Rolling back payments 1.2.0 in production (monitor): error_rate > 0.1 for 5m", "reason": "error_rate > 0.1 for 5m"},
			},
		},
		{
			name: "rollback started in staging is a warning",
			ev:   by("floe/deploy", record(t, depStg, &deployv1.RollbackStarted{Reason: "health check failed", Trigger: "check"})),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "warning", EpisodeKey: "deployment/" + depStg,
				Labels:      map[string]string{"actor": "floe/deploy", "deployment_id": depStg, "release_id": rel, "version": "1.2.0", "trigger": "check"},
				Annotations: map[string]string{"summary": "Rolling back payments 1.2.0 in staging (check): health check failed"},
			},
		},
		{
			name: "deployment succeeded resolves it",
			ev:   record(t, dep, &deployv1.DeploymentSucceeded{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production"}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "deployment/" + dep, Resolved: true,
				Labels:      map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "payments 1.2.0 deployed to production"},
			},
		},
		{
			name: "deployment failed in production: final",
			ev:   record(t, dep, &deployv1.DeploymentFailed{DeploymentId: dep, ReleaseId: rel, Version: "1.2.0", Environment: "production", Reason: "image not found"}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + dep, Final: true,
				Labels: map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{
					"summary":     "Deployment of payments 1.2.0 to production failed: image not found",
					"description": "The deployment of payments 1.2.0 to production stopped without completing and was not rolled back. Reason: image not found. floe deploy retry " + dep + " starts the next attempt.",
				},
			},
		},
		{
			name: "rolled back in dr, a production-class environment: final",
			ev:   record(t, rel+"-dr-1", &deployv1.RolledBack{DeploymentId: rel + "-dr-1", ReleaseId: rel, Version: "1.2.0", Environment: "dr", RestoredVersion: "1.1.0", Reason: "trigger error_rate"}),
			want: routing.Event{
				Environment: "dr", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + rel + "-dr-1", Final: true,
				Labels:      map[string]string{"actor": "alice", "deployment_id": rel + "-dr-1", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "payments 1.2.0 rolled back in dr to 1.1.0: trigger error_rate", "restored_version": "1.1.0"},
			},
		},
		{name: "config delivered: not told", ev: record(t, dep, &deployv1.ConfigDelivered{DeploymentId: dep, Environment: "production"}), notTold: true},

		// gate
		{
			name: "gate failed",
			ev:   by("floe/gate", record(t, run, &gatev1.GateDecided{Gate: "Integration Tests", Outcome: gatev1.GateOutcome_GATE_OUTCOME_FAILED, Reason: "failed: api-tests: 3 of 120 failed"})),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "warning", EpisodeKey: "gate/" + run + "/Integration Tests",
				Labels: map[string]string{"actor": "floe/gate", "gate_run": run, "gate": "Integration Tests", "outcome": "failed", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{
					"summary":     "Gate Integration Tests of payments 1.2.0 in staging failed: failed: api-tests: 3 of 120 failed",
					"description": "The Integration Tests gate of payments 1.2.0 in staging failed. It blocks promoting the release past staging. Reason: failed: api-tests: 3 of 120 failed.",
				},
			},
		},
		{
			name: "gate timed out",
			ev:   record(t, run, &gatev1.GateDecided{Gate: "Security", Outcome: gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT, Reason: "timed out: no results from sast"}),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "warning", EpisodeKey: "gate/" + run + "/Security",
				Labels:      map[string]string{"actor": "alice", "gate_run": run, "gate": "Security", "outcome": "timed_out", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Gate Security of payments 1.2.0 in staging timed out: timed out: no results from sast"},
			},
		},
		{
			name: "gate passed resolves it",
			ev:   record(t, run, &gatev1.GateDecided{Gate: "Security", Outcome: gatev1.GateOutcome_GATE_OUTCOME_PASSED, Reason: "every suite passed"}),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "info", EpisodeKey: "gate/" + run + "/Security", Resolved: true,
				Labels:      map[string]string{"actor": "alice", "gate_run": run, "gate": "Security", "outcome": "passed", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Gate Security of payments 1.2.0 in staging passed"},
			},
		},
		{name: "gate pending again: not told", ev: record(t, run, &gatev1.GateDecided{Gate: "Security", Outcome: gatev1.GateOutcome_GATE_OUTCOME_PENDING}), notTold: true},
		{name: "gate decided overridden: GateOverridden tells it", ev: record(t, run, &gatev1.GateDecided{Gate: "Security", Outcome: gatev1.GateOutcome_GATE_OUTCOME_OVERRIDDEN}), notTold: true},
		{
			name: "gate overridden",
			ev:   by("frank", record(t, run, &gatev1.GateOverridden{Gate: "Security", Reason: "scanner outage, reviewed by hand", ExpiresAt: timestamppb.New(t0.Add(4 * 3600e9))})),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "warning", EpisodeKey: "gate/" + run + "/Security", Resolved: true,
				Labels: map[string]string{"actor": "frank", "gate_run": run, "gate": "Security", "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{
					"summary":    "frank overrode gate Security of payments 1.2.0 in staging: scanner outage, reviewed by hand",
					"expires_at": "2026-05-04T14:30:00Z",
				},
			},
		},
		{
			name: "SARIF baseline accepted in production: a notice",
			ev: by("grace", record(t, "production", &gatev1.SarifBaselineAccepted{Baseline: &gatev1.AcceptedBaseline{
				Product: "payments", Gate: "Security", Suite: "gosec", Errors: 4, Reason: "known, tracked in SEC-12", AcceptedBy: "grace",
			}})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "warning", EpisodeKey: "baseline/production/payments/Security/gosec", Notice: true,
				Labels:      map[string]string{"actor": "grace", "gate": "Security", "suite": "gosec"},
				Annotations: map[string]string{"summary": "grace accepted 4 known findings of gosec (Security gate) for payments in production"},
			},
		},
		{name: "gate verdict: not told", ev: record(t, run, &gatev1.GateVerdict{ReleaseId: rel, Environment: "staging", Satisfied: true}), notTold: true},

		// flag
		{
			name: "flag killed in production: a notice",
			ev:   by("oncall", record(t, "production", &flagv1.FlagKilled{Key: "one-step-checkout", Reason: "card errors"})),
			want: routing.Event{
				Environment: "production", Severity: "warning", EpisodeKey: "flag/production/one-step-checkout", Notice: true,
				Labels:      map[string]string{"actor": "oncall", "flag": "one-step-checkout"},
				Annotations: map[string]string{"summary": "Flag one-step-checkout killed in production by oncall: card errors"},
			},
		},
		{
			name: "flag killed in development is info",
			ev:   record(t, "development", &flagv1.FlagKilled{Key: "x", Reason: "testing"}),
			want: routing.Event{
				Environment: "development", Severity: "info", EpisodeKey: "flag/development/x", Notice: true,
				Labels:      map[string]string{"actor": "alice", "flag": "x"},
				Annotations: map[string]string{"summary": "Flag x killed in development by alice: testing"},
			},
		},
		{
			name: "flag enabled again in production: a notice (the kill was one)",
			ev:   record(t, "production", &flagv1.FlagStateSet{Key: "one-step-checkout", State: flagv1.FlagState_FLAG_STATE_ENABLED, Reason: "fixed in 1.2.1"}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "flag/production/one-step-checkout", Notice: true,
				Labels:      map[string]string{"actor": "alice", "flag": "one-step-checkout"},
				Annotations: map[string]string{"summary": "Flag one-step-checkout enabled in production"},
			},
		},
		{name: "flag disabled in staging: not told", ev: record(t, "staging", &flagv1.FlagStateSet{Key: "x", State: flagv1.FlagState_FLAG_STATE_DISABLED}), notTold: true},
		{name: "flag enabled in staging: not told", ev: record(t, "staging", &flagv1.FlagStateSet{Key: "x", State: flagv1.FlagState_FLAG_STATE_ENABLED}), notTold: true},
		{
			name: "flag of a release updated in production takes the release's product",
			ev: record(t, "production", &flagv1.FlagUpdated{
				Flag: &flagv1.Flag{Environment: "production", Key: "one-step-checkout", State: flagv1.FlagState_FLAG_STATE_ENABLED, ReleaseId: rel, Owner: "payments-team"}, Reason: "new variant",
			}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "flag/production/one-step-checkout", Notice: true,
				Labels:      map[string]string{"actor": "alice", "flag": "one-step-checkout", "release_id": rel, "version": "1.2.0", "owner": "payments-team"},
				Annotations: map[string]string{"summary": "Flag one-step-checkout changed in production: new variant"},
			},
		},
		{
			name: "flag created in production",
			ev:   record(t, "production", &flagv1.FlagCreated{Flag: &flagv1.Flag{Key: "dark-mode", State: flagv1.FlagState_FLAG_STATE_DISABLED, Description: "Dark theme"}, Reason: "new"}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "flag/production/dark-mode", Notice: true,
				Labels: map[string]string{"actor": "alice", "flag": "dark-mode"},
				Annotations: map[string]string{
					"summary":     "Flag dark-mode created in production: new",
					"description": "alice created flag dark-mode in production (disabled). Description: Dark theme. Reason: new.",
				},
			},
		},
		{name: "flag created in staging: not told", ev: record(t, "staging", &flagv1.FlagCreated{Flag: &flagv1.Flag{Key: "x"}}), notTold: true},
		{
			name: "rollout set by hand in production",
			ev: record(t, "production", &flagv1.RolloutSet{Key: "one-step-checkout", Reason: "ramp", Rollout: &flagv1.Rollout{
				Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: 25}},
			}}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "flag/production/one-step-checkout", Notice: true,
				Labels:      map[string]string{"actor": "alice", "flag": "one-step-checkout"},
				Annotations: map[string]string{"summary": "Flag one-step-checkout in production rolls out on to 25 %"},
			},
		},
		{name: "rollout set by a deployment step: not told", ev: record(t, "production", &flagv1.RolloutSet{Key: "x", DeploymentId: dep, Step: 3}), notTold: true},
		{
			name: "flag rollout refused joins the deployment",
			ev:   by("floe/flag", record(t, "production", &flagv1.FlagRolloutRefused{Key: "one-step-checkout", ReleaseId: rel, DeploymentId: dep, Step: 3, Percent: 25, Reason: "the flag is killed"})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "floe/flag", "flag": "one-step-checkout", "deployment_id": dep, "release_id": rel, "version": "1.2.0"},
				Annotations: map[string]string{"summary": "Flag rollout of one-step-checkout refused for payments 1.2.0 in production: the flag is killed"},
			},
		},
		{
			name: "flags imported in prod",
			ev:   record(t, "prod", &flagv1.FlagsImported{Flags: []*flagv1.Flag{{Key: "b"}, {Key: "a"}}, Reason: "migration from flagd", Digest: "sha256:00"}),
			want: routing.Event{
				Environment: "prod", Severity: "info", EpisodeKey: "flagset/prod", Notice: true,
				Labels:      map[string]string{"actor": "alice"},
				Annotations: map[string]string{"summary": "2 flags imported in prod: migration from flagd", "flags": "a, b"},
			},
		},
		{
			name: "flag reverted in production",
			ev:   by("floe/flag", record(t, "production", &flagv1.FlagReverted{Key: "one-step-checkout", ReleaseId: rel, DeploymentId: dep, Cause: "rolled back", Restored: &flagv1.Flag{State: flagv1.FlagState_FLAG_STATE_DISABLED}})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "info", EpisodeKey: "flag/production/one-step-checkout", Notice: true,
				Labels:      map[string]string{"actor": "floe/flag", "flag": "one-step-checkout", "release_id": rel, "version": "1.2.0", "deployment_id": dep},
				Annotations: map[string]string{"summary": "Flag one-step-checkout reverted in production after the rollback of payments 1.2.0"},
			},
		},
		{name: "scheduled change applied: not told", ev: record(t, "production", &flagv1.ScheduledChangeApplied{Key: "x", Id: "s1"}), notTold: true},

		// config and secrets
		{
			name: "configuration promoted to staging",
			ev:   record(t, "staging", &configv1.ConfigVersionSet{Version: 7, Source: 3, FromEnvironment: "development", FromVersion: 12, Reason: "new pool size", Document: `{"database":{"password":"secret://db/password"}}`}),
			want: routing.Event{
				Environment: "staging", Severity: "info", EpisodeKey: "config/staging", Notice: true,
				Labels:      map[string]string{"actor": "alice", "source": "promotion", "from_environment": "development"},
				Annotations: map[string]string{"summary": "Configuration of development promoted to staging (version 7, from development version 12)", "config_version": "7"},
			},
		},
		{
			name: "configuration patched in production",
			ev:   record(t, "production", &configv1.ConfigVersionSet{Version: 8, Source: 2, Reason: "raise timeout"}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "config/production", Notice: true,
				Labels:      map[string]string{"actor": "alice", "source": "patch"},
				Annotations: map[string]string{"summary": "Configuration of production changed: version 8: raise timeout"},
			},
		},
		{name: "configuration set in development: not told", ev: record(t, "development", &configv1.ConfigVersionSet{Version: 3, Source: 1}), notTold: true},
		{
			name: "configuration change proposed",
			ev:   record(t, "production", &configv1.ConfigChangeProposed{Proposal: 4, BaseVersion: 8, Source: 2, Reason: "raise pool", RequiredApprovals: 2, Document: "{}"}),
			want: routing.Event{
				Environment: "production", Severity: "warning", EpisodeKey: "configchange/production/4",
				Labels:      map[string]string{"actor": "alice", "proposal": "4", "source": "patch"},
				Annotations: map[string]string{"summary": "Configuration change 4 for production awaits 2 approvals: raise pool"},
			},
		},
		{
			name: "configuration change approved",
			ev:   by("bob", record(t, "production", &configv1.ConfigChangeApproved{Proposal: 4, Roles: []string{"operations"}})),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "configchange/production/4",
				Labels:      map[string]string{"actor": "bob", "proposal": "4"},
				Annotations: map[string]string{"summary": "bob approved configuration change 4 for production"},
			},
		},
		{
			name: "approved proposal becomes a version and resolves it",
			ev:   by("carol", record(t, "production", &configv1.ConfigVersionSet{Version: 9, Source: 2, Proposal: 4, Approvers: []string{"carol", "bob"}})),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "configchange/production/4", Resolved: true,
				Labels:      map[string]string{"actor": "carol", "proposal": "4", "source": "patch"},
				Annotations: map[string]string{"summary": "Configuration change 4 for production approved: version 9", "approvers": "bob, carol"},
			},
		},
		{
			name: "configuration change withdrawn resolves it",
			ev:   record(t, "production", &configv1.ConfigChangeRejected{Proposal: 5, Reason: "wrong value", Withdrawn: true}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "configchange/production/5", Resolved: true,
				Labels:      map[string]string{"actor": "alice", "proposal": "5", "outcome": "withdrawn"},
				Annotations: map[string]string{"summary": "Configuration change 5 for production withdrawn by alice: wrong value"},
			},
		},
		{
			name: "alert from Alertmanager firing",
			ev: by("floe/notifier", record(t, "am-3f2a", &notifyv1.ExternalAlertReceived{
				Source: "alertmanager", Status: "firing", Name: "DiskFull", Severity: "critical", Fingerprint: "3f2a",
				Labels:      map[string]string{"alertname": "DiskFull", "environment": "production", "instance": "db-1"},
				Annotations: map[string]string{"summary": "disk 97% full"},
			})),
			want: routing.Event{
				Environment: "production", Severity: "critical", EpisodeKey: "external/3f2a",
				Labels:      map[string]string{"actor": "floe/notifier", "alertname": "DiskFull", "environment": "production", "instance": "db-1", "source": "alertmanager", "rule": "DiskFull"},
				Annotations: map[string]string{"summary": "DiskFull firing in production: disk 97% full"},
			},
		},
		{
			name: "alert from Alertmanager resolved",
			ev: by("floe/notifier", record(t, "am-3f2a", &notifyv1.ExternalAlertReceived{
				Source: "alertmanager", Status: "resolved", Name: "DiskFull", Severity: "critical", Fingerprint: "3f2a",
				Labels: map[string]string{"alertname": "DiskFull", "environment": "production", "instance": "db-1"},
			})),
			want: routing.Event{
				Environment: "production", Severity: "critical", EpisodeKey: "external/3f2a", Resolved: true,
				Labels:      map[string]string{"actor": "floe/notifier", "alertname": "DiskFull", "environment": "production", "instance": "db-1", "source": "alertmanager", "rule": "DiskFull"},
				Annotations: map[string]string{"summary": "DiskFull resolved in production: no summary"},
			},
		},
		{
			name: "secret rotation failed in production",
			ev: by("floe/flag", record(t, "production", &configv1.SecretRotationFailed{
				Name: "db/password", Error: "exec rotator exited 1", Attempt: 2, RetryAt: timestamppb.New(t0.Add(120e9)),
			})),
			want: routing.Event{
				Environment: "production", Severity: "critical", EpisodeKey: "secret/production/db/password",
				Labels: map[string]string{"actor": "floe/flag", "secret": "db/password"},
				Annotations: map[string]string{
					"summary": "Rotation of secret db/password in production failed (attempt 2): exec rotator exited 1",
					"reason":  "exec rotator exited 1", "retry_at": "2026-05-04T10:32:00Z",
				},
			},
		},
		{
			name: "secret rotation overdue in staging",
			ev:   record(t, "staging", &configv1.SecretRotationOverdue{Name: "smtp/password", Due: timestamppb.New(t0)}),
			want: routing.Event{
				Environment: "staging", Severity: "info", EpisodeKey: "secret/staging/smtp/password",
				Labels:      map[string]string{"actor": "alice", "secret": "smtp/password"},
				Annotations: map[string]string{"summary": "Secret smtp/password in staging is overdue for rotation (due 2026-05-04T10:30:00Z)"},
			},
		},
		{
			name: "secret rotated resolves it",
			ev:   record(t, "production", &configv1.SecretRotated{Name: "db/password", Version: 5, PreviousVersion: 4, GraceUntil: timestamppb.New(t0)}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "secret/production/db/password", Resolved: true,
				Labels:      map[string]string{"actor": "alice", "secret": "db/password"},
				Annotations: map[string]string{"summary": "Secret db/password in production rotated (version 5)"},
			},
		},
		{
			name: "secret version added resolves it",
			ev:   record(t, "staging", &configv1.SecretVersionAdded{Name: "smtp/password", Version: 3, KeyId: "kek-1", Digest: "sha256:ab"}),
			want: routing.Event{
				Environment: "staging", Severity: "info", EpisodeKey: "secret/staging/smtp/password", Resolved: true,
				Labels:      map[string]string{"actor": "alice", "secret": "smtp/password"},
				Annotations: map[string]string{"summary": "Secret smtp/password in staging has a new version (3)"},
			},
		},
		{
			name: "secret version revoked",
			ev:   record(t, "production", &configv1.SecretVersionRevoked{Name: "db/password", Version: 4, Reason: "leaked in a log"}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "secret/production/db/password/v4", Notice: true,
				Labels:      map[string]string{"actor": "alice", "secret": "db/password"},
				Annotations: map[string]string{"summary": "Version 4 of secret db/password in production revoked: leaked in a log"},
			},
		},

		// monitor
		{
			name: "alert firing",
			ev:   by("floe/monitor", record(t, "high_error_rate", &monitorv1.AlertFiring{Change: alertChange(monitorv1.AlertState_ALERT_STATE_FIRING, true)})),
			want: routing.Event{
				Environment: "production", Severity: "critical", EpisodeKey: "alert/high_error_rate/" + alertFP,
				Labels: map[string]string{"actor": "floe/monitor", "environment": "production", "team": "payments", "rule": "high_error_rate", "channels": "email, slack"},
				Annotations: map[string]string{
					"summary":   `high_error_rate firing in production {environment="production", team="payments"}: value 0.12`,
					"condition": "error_ratio > 0.05", "value": "0.12",
				},
			},
		},
		{name: "alert firing held back by the cooldown: not told", ev: record(t, "high_error_rate", &monitorv1.AlertFiring{Change: alertChange(monitorv1.AlertState_ALERT_STATE_FIRING, false)}), notTold: true},
		{
			name: "alert resolved",
			ev:   by("floe/monitor", record(t, "high_error_rate", &monitorv1.AlertResolved{Change: alertChange(monitorv1.AlertState_ALERT_STATE_RESOLVED, true)})),
			want: routing.Event{
				Environment: "production", Severity: "critical", EpisodeKey: "alert/high_error_rate/" + alertFP, Resolved: true,
				Labels:      map[string]string{"actor": "floe/monitor", "environment": "production", "team": "payments", "rule": "high_error_rate", "channels": "email, slack"},
				Annotations: map[string]string{"summary": `high_error_rate resolved in production {environment="production", team="payments"}`},
			},
		},
		{
			name: "firing alert cancelled by disabling its rule resolves it",
			ev:   by("floe/monitor", record(t, "high_error_rate", &monitorv1.AlertCancelled{Change: firingCancelled})),
			want: routing.Event{
				Environment: "production", Severity: "critical", EpisodeKey: "alert/high_error_rate/" + alertFP, Resolved: true,
				Labels:      map[string]string{"actor": "floe/monitor", "environment": "production", "team": "payments", "rule": "high_error_rate", "channels": "email, slack"},
				Annotations: map[string]string{"summary": `high_error_rate ended in production {environment="production", team="payments"}: rule disabled`},
			},
		},
		{
			name: "firing alert cancelled, old text fields",
			ev:   by("floe/monitor", record(t, "high_error_rate", &monitorv1.AlertCancelled{Change: oldText})),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "alert/high_error_rate/" + alertFP, Resolved: true,
				Labels:      map[string]string{"actor": "floe/monitor", "environment": "production", "team": "payments", "rule": "high_error_rate", "channels": "email, slack"},
				Annotations: map[string]string{"summary": `high_error_rate ended in production {environment="production", team="payments"}: condition held for 5m0s (for 5m0s)`},
			},
		},
		{name: "pending alert cancelled: not told", ev: record(t, "high_error_rate", &monitorv1.AlertCancelled{Change: alertChange(monitorv1.AlertState_ALERT_STATE_INACTIVE, false)}), notTold: true},
		{name: "alert pending: not told", ev: record(t, "high_error_rate", &monitorv1.AlertPending{Change: alertChange(monitorv1.AlertState_ALERT_STATE_PENDING, false)}), notTold: true},
		{
			name: "rollback triggered",
			ev: by("floe/monitor", record(t, dep, &monitorv1.RollbackTriggered{
				DeploymentId: dep, ReleaseId: rel, Environment: "production", Version: "1.2.0", Trigger: "error-rate", RuleVersion: 1,
				Metric: "error_rate", Operator: ">", Threshold: 0.1, Observed: 0.31, SustainedSeconds: 300, Cause: "breach", Reason: "error_rate 0.31 > 0.1 for 5m0s",
			})),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + dep,
				Labels: map[string]string{"actor": "floe/monitor", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "trigger": "error-rate", "cause": "breach"},
				Annotations: map[string]string{
					"summary":   "Trigger error-rate rolls back payments 1.2.0 in production: error_rate > 0.1, observed 0.31",
					"condition": "error_rate > 0.1", "observed": "0.31", "sustained_seconds": "300",
				},
			},
		},
		{
			name: "scale-up trigger fired in staging",
			ev: record(t, depStg, &monitorv1.TriggerFired{
				DeploymentId: depStg, Environment: "staging", Version: "1.2.0", Trigger: "latency", ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_SCALE_UP,
				Cause: "breach", Metric: "response_time_p95", Operator: ">", Threshold: 5, Observed: 7.5, SustainedSeconds: 180,
			}),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "info", EpisodeKey: "deployment/" + depStg,
				Labels: map[string]string{
					"actor": "alice", "deployment_id": depStg, "release_id": rel, "version": "1.2.0", "trigger": "latency", "action": "scale_up", "cause": "breach",
				},
				Annotations: map[string]string{"summary": "Trigger latency fired (scale_up) for payments 1.2.0 in staging: response_time_p95 > 5, observed 7.5"},
			},
		},
		{
			name: "alert trigger fired in production, old action text",
			ev:   record(t, dep, &monitorv1.TriggerFired{DeploymentId: dep, Environment: "production", Trigger: "latency", Action: "alert", Metric: "p95", Operator: ">", Threshold: 5, Observed: 6}), //nolint:staticcheck // old events
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "trigger": "latency", "action": "alert"},
				Annotations: map[string]string{"summary": "Trigger latency fired (alert) for payments 1.2.0 in production: p95 > 5, observed 6"},
			},
		},
		{
			name: "alert trigger with its own severity and channels, during the bake",
			ev: record(t, depStg, &monitorv1.TriggerFired{
				DeploymentId: depStg, Environment: "staging", Version: "1.2.0", Trigger: "latency", ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_ALERT,
				Cause: "breach", Metric: "response_time_p95", Operator: ">", Threshold: 2, Observed: 3, SustainedSeconds: 60,
				ReleaseId: rel, DuringBake: true, Severity: monitorv1.Severity_SEVERITY_CRITICAL, Channels: []string{"slack", "sms"},
				Links: map[string]string{"graph": "http://prom:9090/graph?g0.expr=x", "deployment": "https://console.example.com/deployments/" + depStg},
			}),
			want: routing.Event{
				Environment: "staging", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + depStg,
				Labels: map[string]string{
					"actor": "alice", "deployment_id": depStg, "release_id": rel, "version": "1.2.0", "trigger": "latency", "action": "alert", "cause": "breach",
					"channels": "slack, sms",
				},
				Annotations: map[string]string{
					"summary":     "Trigger latency fired (alert) for payments 1.2.0 in staging: response_time_p95 > 2, observed 3",
					"during_bake": "the deployment had succeeded and was baking",
					"url":         "https://console.example.com/deployments/" + depStg, // the console before the graph
					"link_graph":  "http://prom:9090/graph?g0.expr=x", "link_deployment": "https://console.example.com/deployments/" + depStg,
				},
			},
		},
		{
			name: "analysis failed",
			ev: record(t, dep, &monitorv1.AnalysisCompleted{DeploymentId: dep, Step: 3, Verdict: &monitorv1.Verdict{
				ResultType: monitorv1.VerdictResult_VERDICT_RESULT_FAIL, Reason: "error-rate breached for 40% of samples",
				Checks: []*monitorv1.AnalysisCheck{
					{Trigger: "error-rate", ResultType: monitorv1.VerdictResult_VERDICT_RESULT_FAIL},
					{Trigger: "latency", ResultType: monitorv1.VerdictResult_VERDICT_RESULT_PASS},
				},
			}}),
			want: routing.Event{
				Environment: "production", Product: "payments", Severity: "critical", EpisodeKey: "deployment/" + dep,
				Labels:      map[string]string{"actor": "alice", "deployment_id": dep, "release_id": rel, "version": "1.2.0", "verdict": "fail"},
				Annotations: map[string]string{"summary": "Analysis step 3 of payments 1.2.0 in production: fail: error-rate breached for 40% of samples", "checks": "error-rate"},
			},
		},
		{
			name: "analysis passed: not told",
			ev:   record(t, dep, &monitorv1.AnalysisCompleted{DeploymentId: dep, Step: 3, Verdict: &monitorv1.Verdict{ResultType: monitorv1.VerdictResult_VERDICT_RESULT_PASS}}), notTold: true,
		},
		{name: "trigger evaluated: not told", ev: record(t, dep, &monitorv1.TriggerEvaluated{Trigger: "error-rate", Kind: "none"}), notTold: true},

		// integrity
		{
			name: "tamper detected",
			ev: by("floe/release", record(t, "1234", &integrityv1.TamperDetected{
				Position: 1234, Subject: "floe.evt.release." + rel + ".ReleaseApproved", Aggregate: "release", AggregateId: rel,
				Reason: "hash mismatch", DetectedBy: "floe/release",
			})),
			want: routing.Event{
				Severity: "critical", EpisodeKey: "integrity/1234",
				Labels: map[string]string{"actor": "floe/release", "aggregate": "release", "detected_by": "floe/release"},
				Annotations: map[string]string{
					"summary":     "Tampered event at position 1234 (release " + rel + "): hash mismatch",
					"description": "floe/release found that the event at position 1234 (floe.evt.release." + rel + ".ReleaseApproved) fails verification; release " + rel + " is refused until an administrator acknowledges it (floe integrity ack 1234). Reason: hash mismatch.",
				},
			},
		},
		{
			name: "tamper acknowledged resolves it",
			ev:   by("admin", record(t, "1234", &integrityv1.TamperAcknowledged{Position: 1234, Reason: "restored from backup"})),
			want: routing.Event{
				Severity: "info", EpisodeKey: "integrity/1234", Resolved: true,
				Labels:      map[string]string{"actor": "admin"},
				Annotations: map[string]string{"summary": "Bad event at position 1234 acknowledged by admin: restored from backup"},
			},
		},

		// change
		{
			name: "change submitted: a notice to its approvers",
			ev: record(t, chg, &changev1.ChangeSubmitted{
				Id: chg, Submitter: "alice", Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Title: "Raise the payments pool to 40",
				Environments: []string{"production", "staging"}, Approvers: []string{"carol", "bob"}, Releases: []string{rel},
			}),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "change/" + chg, Notice: true,
				Labels: map[string]string{"actor": "alice", "change_id": chg, "change_class": "normal", "approvers": "bob, carol"},
				Annotations: map[string]string{
					"summary":     "Change " + chg + " submitted by alice: Raise the payments pool to 40",
					"description": "alice submitted normal change " + chg + ` "Raise the payments pool to 40" for production, staging. Approvers asked: bob, carol.`,
					"title":       "Raise the payments pool to 40", "environments": "production, staging", "releases": rel,
				},
			},
		},
		{
			name: "emergency change submitted is a warning with its justification",
			ev: by("oncall", record(t, chgEm, &changev1.ChangeSubmitted{
				Id: chgEm, Submitter: "oncall", Class: changev1.ChangeClass_CHANGE_CLASS_EMERGENCY, Title: "Hotfix card declines",
				Justification: "card payments failing since 10:05", Environments: []string{"production"}, Approvers: []string{"dave"},
			})),
			want: routing.Event{
				Environment: "production", Severity: "warning", EpisodeKey: "change/" + chgEm, Notice: true,
				Labels: map[string]string{"actor": "oncall", "change_id": chgEm, "change_class": "emergency", "approvers": "dave"},
				Annotations: map[string]string{
					"summary":       "EMERGENCY change " + chgEm + " submitted by oncall: Hotfix card declines",
					"description":   "oncall submitted emergency change " + chgEm + ` "Hotfix card declines" for production. Approvers asked: dave. Justification: card payments failing since 10:05.`,
					"justification": "card payments failing since 10:05",
				},
			},
		},
		{name: "change approval granted: not told (ChangeApproved is)", ev: by("carol", record(t, chg, &changev1.ChangeApprovalGranted{Approver: "carol", As: "operations", Counts: true})), notTold: true},
		{
			name: "change approved",
			ev:   by("carol", record(t, chg, &changev1.ChangeApproved{Approvals: 2, Required: 2})),
			want: routing.Event{
				Severity: "info", EpisodeKey: "change/" + chg, Notice: true,
				Labels: map[string]string{"actor": "carol", "change_id": chg},
				Annotations: map[string]string{
					"summary":     "Change " + chg + " approved",
					"description": "Change " + chg + " is approved (2 approvals, 2 required); it goes ahead once scheduled in a window.",
				},
			},
		},
		{
			name: "standard change approved by its template",
			ev:   by("floe/change", record(t, chg, &changev1.ChangeApproved{PreApproved: true, Template: "db-pool-resize"})),
			want: routing.Event{
				Severity: "info", EpisodeKey: "change/" + chg, Notice: true,
				Labels: map[string]string{"actor": "floe/change", "change_id": chg},
				Annotations: map[string]string{
					"summary":     "Change " + chg + " approved",
					"description": "Change " + chg + " is a standard change, pre-approved by template db-pool-resize; it goes ahead once scheduled in a window.",
					"template":    "db-pool-resize",
				},
			},
		},
		{
			name: "change rejected",
			ev:   by("erin", record(t, chg, &changev1.ChangeRejected{By: "erin", Reason: "no rollback plan", Stage: "approval"})),
			want: routing.Event{
				Severity: "info", EpisodeKey: "change/" + chg, Notice: true,
				Labels: map[string]string{"actor": "erin", "change_id": chg},
				Annotations: map[string]string{
					"summary":     "Change " + chg + " rejected by erin: no rollback plan",
					"description": "erin rejected change " + chg + " in approval. Reason: no rollback plan.",
					"reason":      "no rollback plan",
				},
			},
		},
		{
			name: "change scheduled in a window",
			ev: record(t, chg, &changev1.ChangeScheduled{Window: &changev1.AssignedWindow{
				WindowId: "slot-20260505T020000Z", Start: timestamppb.New(time.Date(2026, 5, 5, 2, 0, 0, 0, time.UTC)),
				End: timestamppb.New(time.Date(2026, 5, 5, 6, 0, 0, 0, time.UTC)), At: timestamppb.New(time.Date(2026, 5, 5, 2, 30, 0, 0, time.UTC)),
			}}),
			want: routing.Event{
				Severity: "info", EpisodeKey: "change/" + chg, Notice: true,
				Labels: map[string]string{"actor": "alice", "change_id": chg, "window_id": "slot-20260505T020000Z"},
				Annotations: map[string]string{
					"summary":     "Change " + chg + " scheduled in window slot-20260505T020000Z from 2026-05-05T02:30:00Z",
					"description": "Change " + chg + " may be deployed from 2026-05-05T02:00:00Z until 2026-05-05T06:00:00Z (window slot-20260505T020000Z).",
				},
			},
		},
		{
			name: "change failed is a warning",
			ev:   by("floe/change", record(t, chg, &changev1.ChangeFailed{Reason: "deployment " + dep + " rolled back", DeploymentId: dep})),
			want: routing.Event{
				Severity: "warning", EpisodeKey: "change/" + chg, Notice: true,
				Labels: map[string]string{"actor": "floe/change", "change_id": chg, "deployment_id": dep},
				Annotations: map[string]string{
					"summary":     "Change " + chg + " failed: deployment " + dep + " rolled back",
					"description": "Change " + chg + " failed. Reason: deployment " + dep + " rolled back.",
					"reason":      "deployment " + dep + " rolled back",
				},
			},
		},
		{
			name: "post-implementation review overdue fires until recorded",
			ev:   by("floe/change", record(t, chgEm, &changev1.ChangeReviewOverdue{ReviewDue: timestamppb.New(t0)})),
			want: routing.Event{
				Severity: "warning", EpisodeKey: "changereview/" + chgEm,
				Labels: map[string]string{"actor": "floe/change", "change_id": chgEm},
				Annotations: map[string]string{
					"summary":     "Post-implementation review of change " + chgEm + " is overdue (due 2026-05-04T10:30:00Z)",
					"description": "The post-implementation review of emergency change " + chgEm + " was due by 2026-05-04T10:30:00Z and is not recorded; the change cannot be closed without it (floe change pir " + chgEm + ").",
					"review_due":  "2026-05-04T10:30:00Z",
				},
			},
		},
		{
			name: "post-implementation review recorded resolves it",
			ev: by("oncall", record(t, chgEm, &changev1.ChangePostImplementationReviewed{
				Reviewer: "oncall", RootCause: "card network timeout set too low", Late: true,
				Prevention: []*changev1.Action{{Description: "alert on the decline rate", Owner: "payments-team"}},
			})),
			want: routing.Event{
				Severity: "info", EpisodeKey: "changereview/" + chgEm, Resolved: true,
				Labels: map[string]string{"actor": "oncall", "change_id": chgEm},
				Annotations: map[string]string{
					"summary":     "Post-implementation review of change " + chgEm + " recorded by oncall",
					"description": "oncall recorded the post-implementation review of change " + chgEm + " (1 prevention actions). Root cause: card network timeout set too low.",
					"root_cause":  "card network timeout set too low",
				},
			},
		},
		{
			name: "freeze declared",
			ev: by("carol", record(t, "calendar", &changev1.FreezeCreated{Freeze: &changev1.Freeze{
				Id: frz, Environments: []string{"production", "dr"}, Reason: "end-of-quarter close", CreatedBy: "carol",
				Start: timestamppb.New(t0), End: timestamppb.New(t0.Add(72 * time.Hour)),
			}})),
			want: routing.Event{
				Environment: "production", Severity: "info", EpisodeKey: "freeze/" + frz, Notice: true,
				Labels: map[string]string{"actor": "carol", "freeze_id": frz},
				Annotations: map[string]string{
					"summary":      "Freeze " + frz + " declared by carol: end-of-quarter close",
					"description":  "carol declared freeze " + frz + " of dr, production. Reason: end-of-quarter close.",
					"environments": "dr, production", "reason": "end-of-quarter close",
				},
			},
		},
		{name: "window created: not told", ev: record(t, "calendar", &changev1.WindowCreated{Window: &changev1.DeploymentWindow{Id: "win-nightly", Environment: "production", Name: "Nightly", DurationMinutes: 240}}), notTold: true},
		{
			name: "freeze overridden is a warning",
			ev: by("dave", record(t, "calendar", &changev1.FreezeOverridden{Override: &changev1.FreezeOverride{
				FreezeId: frz, Environment: "production", Reason: "card decline hotfix", RequestedBy: "oncall", OverriddenBy: "dave",
				Roles: []string{"operations"}, GrantedAt: timestamppb.New(t0),
			}})),
			want: routing.Event{
				Environment: "production", Severity: "warning", EpisodeKey: "freeze/" + frz, Notice: true,
				Labels: map[string]string{"actor": "dave", "freeze_id": frz, "requested_by": "oncall"},
				Annotations: map[string]string{
					"summary":     "Freeze " + frz + " overridden in production for oncall by dave: card decline hotfix",
					"description": "dave lets oncall's promotions to production through freeze " + frz + ". Reason: card decline hotfix.",
					"reason":      "card decline hotfix",
				},
			},
		},
	}
	// Every notifiable type has a case here that is told.
	told := map[string]bool{}
	for _, tt := range tests {
		if tt.ev != nil && !tt.notTold {
			told[tt.ev.Type] = true
		}
	}
	for _, ti := range episode.Types() {
		if !told[ti.Type] {
			t.Errorf("%s is notifiable but no case of TestMap tells of it", ti.Type)
		}
	}
	byType := map[string]episode.TypeInfo{}
	for _, ti := range episode.Types() {
		byType[ti.Type] = ti
	}
	st := scopes(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := episode.Mapper{Scopes: st}
			if tt.noScopes {
				m.Scopes = nil
			}
			got, ok, err := m.Map(tt.ev)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if ok == tt.notTold {
				t.Fatalf("Map: ok = %v, want %v (got %+v)", ok, !tt.notTold, got)
			}
			if !ok {
				return
			}
			if err := got.Validate(); err != nil {
				t.Errorf("routing rejects the event: %v", err)
			}
			// TypeInfo says what the event does to its episode.
			ti := byType[tt.ev.Type]
			if !slices.Contains(kindsIn(ti.Kind), kindOf(got)) || got.Resolved && !ti.Resolves {
				t.Errorf("a %s event (resolved %v) of a type whose kind is %q (resolves %v)", kindOf(got), got.Resolved, ti.Kind, ti.Resolves)
			}
			want := tt.want
			want.Type, want.Time = tt.ev.Type, t0
			if got.Annotations["summary"] == "" || strings.Contains(got.Annotations["summary"], "\n") {
				t.Errorf("summary %q: want one non-empty line", got.Annotations["summary"])
			}
			// Compare the annotations the case names; the rest whole.
			gotNotes := map[string]string{}
			for k := range want.Annotations {
				if v, ok := got.Annotations[k]; ok {
					gotNotes[k] = v
				}
			}
			got.Annotations, want.Annotations = gotNotes, maps.Clone(want.Annotations)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Map (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMapDeterministic: the same event maps to the same routing event, so
// replicas and replays agree.
func TestMapDeterministic(t *testing.T) {
	t.Parallel()
	ev := record(t, "high_error_rate", &monitorv1.AlertFiring{Change: alertChange(monitorv1.AlertState_ALERT_STATE_FIRING, true)})
	first, _, _ := episode.Map(ev)
	for range 20 {
		again, _, _ := episode.Map(ev)
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("Map differs between calls (-first +again):\n%s", diff)
		}
	}
}

func TestMapNotTold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   *eventstore.RecordedEvent
	}{
		{"nil", nil},
		{"unknown type", &eventstore.RecordedEvent{Type: "floe.other.v1.SomethingHappened", Data: []byte(`{"x": 1}`)}},
		{"not an event at all", &eventstore.RecordedEvent{Type: "google.protobuf.Timestamp", Data: []byte(`"2026-01-01T00:00:00Z"`)}},
		// An ignored type is not decoded: a body that would not decode is no error.
		{"ignored type with a bad body", &eventstore.RecordedEvent{Type: "floe.deploy.v1.DeploymentStepCompleted", Data: []byte(`{{{`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok, err := episode.Map(tt.ev)
			if ok || err != nil {
				t.Fatalf("Map = %+v, %v, %v; want not told, no error", e, ok, err)
			}
		})
	}
}

func TestMapErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   *eventstore.RecordedEvent
		want func(error) bool
	}{
		{
			name: "a known type that does not decode",
			ev:   &eventstore.RecordedEvent{Seq: 7, Type: "floe.deploy.v1.DeploymentFailed", AggregateID: dep, Data: []byte(`{"reason": 12}`)},
			want: func(err error) bool { var de *eventstore.DecodeError; return errors.As(err, &de) && de.Seq == 7 },
		},
		{
			name: "a deployment event without a deployment id",
			ev:   record(t, "x", &deployv1.DeploymentFailed{Reason: "x"}),
			want: func(err error) bool { return errors.Is(err, episode.ErrNoEpisode) },
		},
		{
			name: "an alert without a rule",
			ev:   record(t, "r", &monitorv1.AlertFiring{Change: &monitorv1.AlertChange{Notify: true}}),
			want: func(err error) bool { return errors.Is(err, episode.ErrNoEpisode) },
		},
	}
	// Neither the aggregate id nor the payload names the deployment.
	tests[1].ev.AggregateID, tests[1].ev.Subject = "", ""
	tests[2].ev.AggregateID, tests[2].ev.Subject = "", ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok, err := episode.Map(tt.ev)
			if ok || err == nil || !tt.want(err) {
				t.Fatalf("Map = %+v, %v, %v; want the error", e, ok, err)
			}
		})
	}
}

func TestMapAggregateIDFromSubject(t *testing.T) {
	t.Parallel()
	ev := record(t, dep, &deployv1.DeploymentPaused{Index: 1})
	ev.AggregateID = ""
	e, ok, err := episode.Map(ev)
	if err != nil || !ok || e.EpisodeKey != "deployment/"+dep {
		t.Fatalf("Map = %q, %v, %v; want the episode of the subject's deployment", e.EpisodeKey, ok, err)
	}
}

func TestProductionEnvironments(t *testing.T) {
	t.Parallel()
	ev := record(t, rel+"-live-1", &deployv1.RolledBack{DeploymentId: rel + "-live-1", Environment: "live", Reason: "x"})
	tests := []struct {
		name string
		prod []string
		want string
	}{
		{"defaults: live is not production-class", nil, routing.SeverityWarning},
		{"live named", []string{"live"}, routing.SeverityCritical},
		{"names compare case-insensitively", []string{"LIVE"}, routing.SeverityCritical},
		{"an empty list: none", []string{}, routing.SeverityWarning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok, err := episode.Mapper{ProductionEnvironments: tt.prod}.Map(ev)
			if err != nil || !ok || e.Severity != tt.want {
				t.Fatalf("Map severity = %q, %v, %v; want %q", e.Severity, ok, err, tt.want)
			}
		})
	}
	if !(episode.Mapper{}).IsProduction("production") || (episode.Mapper{}).IsProduction("") {
		t.Error("IsProduction: the defaults hold production and never the unknown environment")
	}
}

// TestNoSecretValues plants a value in every field of a config, secret and
// flag event that could hold one and checks it reaches no label or annotation.
func TestNoSecretValues(t *testing.T) {
	t.Parallel()
	const planted = "hunter2-PLANTED"
	evs := []*eventstore.RecordedEvent{
		record(t, "production", &configv1.ConfigVersionSet{Version: 2, Source: 3, FromEnvironment: "staging", Document: `{"db":{"password":"` + planted + `"}}`, Digest: planted, SchemaDigest: planted}),
		record(t, "production", &configv1.ConfigChangeProposed{Proposal: 1, Document: `{"k":"` + planted + `"}`, Digest: planted}),
		record(t, "production", &configv1.SecretVersionAdded{Name: "db/password", Version: 2, KeyId: planted, Digest: planted}),
		record(t, "production", &flagv1.FlagUpdated{Flag: &flagv1.Flag{Key: "k", Targeting: planted, DefaultVariant: planted}}),
		record(t, dep, &deployv1.ConfigDelivered{DeploymentId: dep, ConfigDigest: planted, Secrets: []*deployv1.DeliveredSecret{{Reference: "secret://" + planted}}}),
	}
	for _, ev := range evs {
		e, _, err := episode.Map(ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		for k, v := range e.Labels {
			if strings.Contains(v, planted) {
				t.Errorf("%s: label %s = %q holds the planted value", ev.Type, k, v)
			}
		}
		for k, v := range e.Annotations {
			if strings.Contains(v, planted) {
				t.Errorf("%s: annotation %s = %q holds the planted value", ev.Type, k, v)
			}
		}
	}
}

func TestLongTextIsClipped(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000)
	e, ok, err := episode.Map(record(t, dep, &deployv1.DeploymentAborted{Reason: long}))
	if err != nil || !ok {
		t.Fatalf("Map: %v, %v", ok, err)
	}
	for k, v := range e.Annotations {
		if n := len([]rune(v)); n > 2000 {
			t.Errorf("annotation %s has %d runes", k, n)
		}
	}
	if n := len([]rune(e.Annotations["summary"])); n > 200 || !strings.HasSuffix(e.Annotations["summary"], "…") {
		t.Errorf("summary has %d runes (want at most 200, ending in …)", n)
	}
}

// TestReleaseNotesAreKept: a release's notes keep their line breaks and are
// cut at 16 KiB, on a character, with "…"; so is the description.
func TestReleaseNotesAreKept(t *testing.T) {
	t.Parallel()
	const limit = 16<<10 - len("…")
	long := strings.Repeat("- Löng change\n", 2000) // 30,000 bytes
	umlauts := strings.Repeat("ö", 10_000)          // 20,000 bytes, the limit odd: inside an ö
	tests := []struct {
		name, notes, want string
	}{
		{name: "short", notes: "\n" + releaseNotes + "\n\n", want: strings.TrimSpace(releaseNotes)},
		{name: "long", notes: long, want: long[:limit] + "…"},
		{name: "cut on a character", notes: umlauts, want: umlauts[:limit-1] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok, err := episode.Map(record(t, rel, &releasev1.ReleaseDeployed{Environment: "dr", DeploymentId: dep, Product: "payments", Version: "1.2.0", Notes: tt.notes}))
			if err != nil || !ok {
				t.Fatalf("Map: %v, %v", ok, err)
			}
			for _, k := range []string{"notes", "description"} {
				if got := e.Annotations[k]; got != tt.want {
					t.Errorf("%s: %d bytes ending %q, want %d bytes ending %q", k, len(got), got[max(len(got)-20, 0):], len(tt.want), tt.want[max(len(tt.want)-20, 0):])
				}
			}
			if e.EpisodeKey != "releasenotes/"+rel+"/dr" || !e.Notice {
				t.Errorf("episode %q, notice %v: want releasenotes/%s/dr, a notice", e.EpisodeKey, e.Notice, rel)
			}
		})
	}
}
