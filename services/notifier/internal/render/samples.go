package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Sample is a realistic notification to preview templates with.
type Sample struct {
	// Name identifies the sample ("deployment-failed").
	Name string
	// Description says what it shows.
	Description  string
	Notification routing.Notification
}

// sampleURL is the console URL the samples link to.
const sampleURL = "https://floe.example.com"

// Samples returns a notification for each common case: deployments failed
// in production (final episodes), an alert firing and resolved, a release
// awaiting approval (a notice), a release's notes when it went live (a
// notice), an escalation of a rollback. The event
// types, labels and annotations are the kind the event mapping produces;
// the values are invented.
func Samples() []Sample {
	at := time.Date(2026, 5, 4, 9, 35, 0, 0, time.UTC)
	deploy := func(region, id string) routing.EpisodeStatus {
		return routing.EpisodeStatus{
			Key: id, Status: routing.StatusFiring, Changed: true, Since: at.Add(-12 * time.Minute),
			Event: routing.Event{
				Type: "floe.deploy.v1.DeploymentFailed", Environment: "production", Product: "penguinmails",
				Severity: routing.SeverityCritical, EpisodeKey: id, Time: at.Add(-30 * time.Second), Final: true,
				Labels: map[string]string{
					"release_id": "rel-01JTX2Q8", "version": "2.4.0", "deployment_id": id,
					"strategy": "canary", "region": region,
				},
				Annotations: map[string]string{
					"summary":     "Deployment failed",
					"description": "Canary step 2 of 4 stopped: the new version did not become healthy in " + region + ".",
					"reason":      "health check failed: 3/5 pods in CrashLoopBackOff",
					"url":         sampleURL + "/deployments/" + id,
				},
			},
		}
	}
	alert := func(resolved bool, t time.Time) routing.EpisodeStatus {
		typ, status := "floe.monitor.v1.AlertFiring", routing.StatusFiring
		if resolved {
			typ, status = "floe.monitor.v1.AlertResolved", routing.StatusResolved
		}
		return routing.EpisodeStatus{
			Key: "alert-7c1e9b2f", Status: status, Changed: true, Since: at.Add(-2 * time.Minute),
			Event: routing.Event{
				Type: typ, Environment: "production", Product: "penguinmails", Severity: routing.SeverityWarning,
				EpisodeKey: "alert-7c1e9b2f", Resolved: resolved, Time: t,
				Labels: map[string]string{"rule": "high-error-rate", "service": "smtp-relay", "region": "eu-west-1"},
				Annotations: map[string]string{
					"summary":     "Error rate above 5%",
					"description": "5xx responses are 7.2% of requests over the last 5 minutes (threshold 5%).",
					"runbook_url": "https://runbooks.example.com/smtp-relay/error-rate",
					"url":         sampleURL + "/alerts/alert-7c1e9b2f",
				},
			},
		}
	}
	rollback := routing.EpisodeStatus{
		Key: "dep-01JTX3A1", Status: routing.StatusFiring, Since: at.Add(-time.Minute),
		Event: routing.Event{
			Type: "floe.deploy.v1.RollbackStarted", Environment: "production", Product: "penguinmails",
			Severity: routing.SeverityCritical, EpisodeKey: "dep-01JTX3A1", Time: at.Add(-time.Minute),
			Labels: map[string]string{
				"release_id": "rel-01JTX2Q8", "version": "2.4.0", "deployment_id": "dep-01JTX3A1",
				"trigger": "monitor", "region": "eu-west-1",
			},
			Annotations: map[string]string{
				"summary":     "Rolling back penguinmails 2.4.0 in production (monitor)",
				"description": "The deployer is restoring the previous version in production; penguinmails 2.4.0 failed to roll out.",
				"reason":      "error rate 7.2% above 5% for 5m",
				"url":         sampleURL + "/deployments/dep-01JTX3A1",
			},
		},
	}
	notification := func(route, receiver string, seq uint64, reason routing.Reason, at time.Time,
		labels map[string]string, eps ...routing.EpisodeStatus,
	) routing.Notification {
		key := "g-" + route
		gen := "gen-" + route
		return routing.Notification{
			ID: routing.NotificationID(route, key, gen, receiver, seq), Route: route, GroupKey: key, Generation: gen,
			GroupLabels: labels, Receiver: receiver, Seq: seq, Reason: reason, At: at, Episodes: eps,
		}
	}
	byProduct := map[string]string{"type": "floe.deploy.v1.DeploymentFailed", "environment": "production", "product": "penguinmails"}
	return []Sample{
		{
			Name:        "deployment-failed",
			Description: "two canary deployments of one release failed in production, grouped by type, environment and product",
			Notification: notification("prod-critical", "ops-slack", 1, routing.ReasonFiring, at, byProduct,
				deploy("eu-west-1", "dep-01JTX3A1"), deploy("us-east-1", "dep-01JTX3B7")),
		},
		{
			Name:        "alert-firing",
			Description: "an alert rule started firing in production",
			Notification: notification("alerts", "ops-slack", 1, routing.ReasonFiring, at,
				map[string]string{"episode": "alert-7c1e9b2f"}, alert(false, at.Add(-2*time.Minute))),
		},
		{
			Name:        "alert-resolved",
			Description: "the same alert resolved 15 minutes later",
			Notification: notification("alerts", "ops-slack", 2, routing.ReasonResolved, at.Add(15*time.Minute),
				map[string]string{"episode": "alert-7c1e9b2f"}, alert(true, at.Add(14*time.Minute))),
		},
		{
			Name:        "approval-requested",
			Description: "a release was created and waits for approval to go to production: a notice",
			Notification: notification("releases", "release-email", 1, routing.ReasonNotice, at,
				map[string]string{"product": "penguinmails"},
				routing.EpisodeStatus{
					Key: "approval-rel-01JTX2Q8-production", Status: routing.StatusNotice, Changed: true, Since: at.Add(-10 * time.Minute),
					Event: routing.Event{
						Type: "floe.release.v1.ReleaseCreated", Environment: "production", Product: "penguinmails",
						Severity: routing.SeverityInfo, EpisodeKey: "approval-rel-01JTX2Q8-production", Time: at.Add(-10 * time.Minute), Notice: true,
						Labels: map[string]string{"release_id": "rel-01JTX2Q8", "version": "2.4.0", "release_type": "minor"},
						Annotations: map[string]string{
							"summary":     "Approval requested: penguinmails 2.4.0 to production",
							"description": "Bounce handling & <List-Unsubscribe> headers for campaign mail. Needs 2 approvals from release-managers.",
							"approvers":   "alice, bob",
							"url":         sampleURL + "/releases/rel-01JTX2Q8",
						},
					},
				}),
		},
		{
			Name:        "release-notes",
			Description: "a release went live in production: its release notes (Markdown) to a stakeholders' list, a notice",
			Notification: notification("release-notes", "stakeholders-email", 1, routing.ReasonNotice, at,
				map[string]string{"episode": "releasenotes/rel-01JTX2Q8/production"},
				routing.EpisodeStatus{
					Key: "releasenotes/rel-01JTX2Q8/production", Status: routing.StatusNotice, Changed: true, Since: at.Add(-time.Minute),
					Event: routing.Event{
						Type: "floe.release.v1.ReleaseDeployed", Environment: "production", Product: "penguinmails",
						Severity: routing.SeverityInfo, EpisodeKey: "releasenotes/rel-01JTX2Q8/production", Time: at.Add(-time.Minute), Notice: true,
						Labels: map[string]string{"release_id": "rel-01JTX2Q8", "version": "2.4.0", "deployment_id": "dep-01JTX3A1"},
						Annotations: map[string]string{
							"summary":     "penguinmails 2.4.0 is live in production: Bounce handling",
							"title":       "Bounce handling",
							"description": sampleNotes,
							"notes":       sampleNotes,
						},
					},
				}),
		},
		{
			Name:        "escalation",
			Description: "a critical rollback in production nobody acknowledged within 15 minutes, told to the escalation receivers",
			Notification: notification("prod-critical", "pager", 1, routing.ReasonEscalation, at.Add(15*time.Minute),
				map[string]string{"episode": "dep-01JTX3A1"}, rollback),
		},
	}
}

// sampleNotes are release notes as the release service writes them.
const sampleNotes = `# Release 2.4.0 - penguinmails (May 4, 2026)

**Bounce handling**

Campaign mail gets <List-Unsubscribe> headers & bounces are parsed.

## ✨ New Features
- Parse DSN bounces ([link](https://git.example.com/pm/pull/812)) — alice
- One-click unsubscribe (RFC 8058) — bob

## 🐛 Bug Fixes
- Retry on 421 (PM-1234)`

// Rendered is one sample rendered for one receiver kind.
type Rendered struct {
	Sample   string
	Kind     string
	Message  channel.Message
	Warnings []string
}

// Preview renders every sample for kind with set (nil: the defaults), for
// `floe notify preview`.
func Preview(kind string, set *Set, opts Options) ([]Rendered, error) {
	var out []Rendered
	for _, s := range Samples() {
		m, warnings, err := Render(kind, s.Notification, set, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, Rendered{Sample: s.Name, Kind: kind, Message: m, Warnings: warnings})
	}
	return out, nil
}

// String shows the rendered message for a person: its fields, then each
// non-empty body (blocks as indented JSON), then the warnings.
func (r Rendered) String() string {
	var b strings.Builder
	m := r.Message
	fmt.Fprintf(&b, "sample:   %s\nkind:     %s\nid:       %s\nepisode:  %s\nseverity: %s\ntime:     %s\nsubject:  %s\n",
		r.Sample, r.Kind, m.ID, m.Episode, m.Severity, m.Time.UTC().Format(time.RFC3339), m.Subject)
	section := func(name, body string) {
		if body != "" {
			fmt.Fprintf(&b, "--- %s\n%s\n", name, strings.TrimRight(body, "\n"))
		}
	}
	section("text", m.Text)
	if len(m.Blocks) > 0 {
		var ind bytes.Buffer
		if err := json.Indent(&ind, m.Blocks, "", "  "); err != nil {
			section("blocks (invalid JSON: "+err.Error()+")", string(m.Blocks))
		} else {
			section("blocks", ind.String())
		}
	}
	section("html", m.HTML)
	section("warnings", strings.Join(r.Warnings, "\n"))
	return b.String()
}
