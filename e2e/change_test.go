package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/testkit"
)

// TestChangeManagement drives change management through the CLI against
// `floe dev`: a production promotion refused without a change request, then
// refused inside a freeze, allowed with the approved change inside its
// window once a second person overrides the freeze; an emergency change
// whose deployment is rolled back during the freeze (rollbacks are never
// blocked) and whose post-implementation review becomes overdue; and the
// compliance report of the period, which lists all of it and says the audit
// verification of exactly the positions it read passed.
func TestChangeManagement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	// Development → production (which requires a change), no gates, a canary
	// that pauses long enough to be rolled back by hand, and reviews due 3 s
	// after an emergency's implementation starts.
	envs := writeFile(t, dataDir, "environments.yaml", `environments:
  - {name: development, after: [], required_approvals: 0, strategy: big-bang}
  - {name: production, after: [development], required_approvals: 1, approver_roles: [operations, release-manager], strategy: canary, change_required: true}
`)
	gates := writeFile(t, dataDir, "gates.yaml", "environments: {}\n")
	deployer := writeFile(t, dataDir, "deployer-change.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
strategies:
  production:
    canary: {steps: ["setWeight 50", "pause 2m"]}
`)
	d := startDev(t, dataDir, "--environments-file", envs, "--gates-file", gates, "--deployer-config", deployer, "--change-review-deadline", "3s")
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	cli := func(args ...string) (string, error) { return runCLI(t, ctx, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		out, err := cli(args...)
		if err != nil {
			t.Fatalf("floe %s: %v\n%s\nserver stderr:\n%s", strings.Join(args, " "), err, out, d.stderr)
		}
		return out
	}
	refused := func(what string, want, notWant []string, args ...string) {
		t.Helper()
		out, err := cli(args...)
		if err == nil {
			t.Errorf("%s: accepted, want refused\n%s", what, out)
			return
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the refusal does not say %q:\n%s", what, w, out)
			}
		}
		for _, w := range notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: the refusal says %q:\n%s", what, w, out)
			}
		}
	}
	start := time.Now().UTC()
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }

	release := func(version string) string {
		t.Helper()
		out := must("--as", "alice", "release", "create", "--product", "penguinmails", "--version", version, "--type", "minor",
			"--title", "Release "+version, "--change", "feature:Campaign scheduling", "--env", "development,production", "-o", "json")
		var created struct {
			Release struct {
				ID string `json:"id"`
			} `json:"release"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
			t.Fatalf("create %s: %v\n%s", version, err, out)
		}
		id := created.Release.ID
		must("--as", "bob", "release", "promote", id, "--env", "development")
		waitEnvStatus(t, cli, id, "development", "RELEASE_STATUS_DEPLOYED")
		must("--as", "dave", "release", "approve", id, "--env", "production")
		return id
	}
	plan := []string{"--implementation-step", "Promote to production|bob|10|the release is deployed",
		"--rollback-step", "Roll back with floe deploy rollback|bob|5", "--testing-step", "Smoke test sending a campaign"}

	// 1. Without a change request, production is refused and the refusal says what is missing.
	id1 := release("1.1.0")
	refused("production without a change", []string{"CHANGE_REQUEST_REQUIRED", "no change request links the release"}, nil,
		"--as", "bob", "release", "promote", id1, "--env", "production", "--strategy", "big-bang")

	// 2. A year-end freeze of production, declared by operations.
	must("--as", "dave", "freeze", "create", "--id", "year-end", "--env", "production", "--reason", "year-end freeze",
		"--start", stamp(start.Add(-time.Minute)), "--end", stamp(start.Add(time.Hour)))

	// 3. A normal change: reviewed by security, approved by product and operations, scheduled now.
	out := must(append([]string{"--as", "alice", "change", "submit", "--id", "chg-campaigns", "--title", "Campaign scheduling to production",
		"--description", "Release 1.1.0", "--type", "enhancement", "--priority", "medium", "--impact", "medium", "--risk", "low",
		"--env", "production", "--release", id1, "--planned-start", stamp(start), "--duration", "30m"}, plan...)...)
	if !strings.HasPrefix(out, "change chg-campaigns submitted: submitted") {
		t.Errorf("submit prints %q first, want the id and state", strings.SplitN(out, "\n", 2)[0])
	}
	refused("the submitter reviewing her own change", []string{"PermissionDenied"}, nil, "--as", "alice", "change", "review", "chg-campaigns", "--pass")
	must("--as", "erin", "change", "review", "chg-campaigns", "--pass", "--notes", "plans complete")
	must("--as", "frank", "change", "approve", "chg-campaigns", "--comment", "scope agreed")
	must("--as", "dave", "change", "approve", "chg-campaigns")
	must("--as", "dave", "change", "schedule", "chg-campaigns", "--start", stamp(start.Add(-time.Minute)), "--end", stamp(start.Add(time.Hour)))

	// 4. Inside the freeze, the approved change is not enough.
	refused("production during the freeze", []string{"ENVIRONMENT_FROZEN", "year-end"}, []string{"CHANGE_REQUEST_REQUIRED"},
		"--as", "bob", "release", "promote", id1, "--env", "production", "--strategy", "big-bang")
	// 5. A second person with an override role lets bob's promotions through, with a reason.
	refused("overriding for oneself", []string{"second person"}, nil,
		"--as", "bob", "freeze", "override", "year-end", "--env", "production", "--for", "bob", "--reason", "campaign launch")
	must("--as", "dave", "freeze", "override", "year-end", "--env", "production", "--for", "bob", "--reason", "campaign launch agreed with sales")
	must("--as", "bob", "release", "promote", id1, "--env", "production", "--strategy", "big-bang")
	waitEnvStatus(t, cli, id1, "production", "RELEASE_STATUS_DEPLOYED")
	waitChange(t, cli, "chg-campaigns", "CHANGE_STATE_VALIDATED")
	must("--as", "erin", "change", "close", "chg-campaigns", "--notes", "campaigns are live")

	// 6. An emergency change (one approval, from operations), deployed with a
	// canary during the freeze and rolled back by hand: the rollback is not held.
	id2 := release("1.2.0")
	must(append([]string{"--as", "alice", "change", "submit", "--id", "chg-hotfix", "--class", "emergency", "--justification", "bounces are not processed",
		"--title", "Bounce processing fix", "--type", "bug_fix", "--priority", "critical", "--impact", "high", "--risk", "medium",
		"--env", "production", "--release", id2, "--planned-start", stamp(time.Now()), "--duration", "15m"}, plan...)...)
	must("--as", "dave", "change", "approve", "chg-hotfix")
	must("--as", "dave", "change", "schedule", "chg-hotfix", "--start", stamp(start.Add(-time.Minute)), "--end", stamp(start.Add(time.Hour)))
	must("--as", "bob", "release", "promote", id2, "--env", "production", "--strategy", "canary")
	dep := id2 + "-production-1"
	testkit.EventuallyWithin(t, time.Minute, func() error {
		out, err := cli("deploy", "get", dep, "-o", "json")
		if err != nil || !strings.Contains(out, "DEPLOYMENT_STATUS_RUNNING") {
			return fmt.Errorf("deployment %s not running yet: %v\n%s", dep, err, out)
		}
		return nil
	})
	must("--as", "bob", "deploy", "rollback", dep, "--reason", "bounce rate up after the fix")
	waitEnvStatus(t, cli, id2, "production", "RELEASE_STATUS_ROLLED_BACK")
	waitChange(t, cli, "chg-hotfix", "CHANGE_STATE_FAILED")
	// Its review was due 3 s after the deployment started.
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		out, err := cli("change", "list", "--overdue", "-o", "json")
		if err != nil || !strings.Contains(out, "chg-hotfix") {
			return fmt.Errorf("chg-hotfix is not listed as overdue: %v\n%s", err, out)
		}
		return nil
	})
	refused("closing without the review", []string{"POST_IMPLEMENTATION_REVIEW_REQUIRED"}, nil, "--as", "erin", "change", "close", "chg-hotfix")

	// 7. The compliance report of the period says all of it, from the log, and that the log verified.
	from, to := stamp(start.Add(-time.Hour)), stamp(time.Now().Add(time.Hour))
	out = must("--as", "erin", "compliance", "report", "--from", from, "--to", to, "--env", "production", "--format", "json")
	var rep struct {
		Summary struct {
			Deployments          int `json:"deployments"`
			WithChangeRequest    int `json:"with_change_request"`
			WithoutChangeRequest int `json:"without_change_request"`
			Rollbacks            int `json:"rollbacks"`
			EmergencyChanges     int `json:"emergency_changes"`
			ReviewsOverdue       int `json:"reviews_overdue"`
			FreezeOverrides      int `json:"freeze_overrides"`
			SelfApprovals        int `json:"self_approvals"`
		} `json:"summary"`
		Changes []struct {
			ReleaseID          string   `json:"release_id"`
			ChangeID           string   `json:"change_id"`
			Outcome            string   `json:"outcome"`
			RequestedBy        string   `json:"requested_by"`
			SeparationOfDuties bool     `json:"separation_of_duties"`
			FreezeOverride     string   `json:"freeze_override"`
			ReleaseApprovers   []string `json:"release_approvers"`
			ChangeApprovals    []struct {
				Approver string `json:"approver"`
			} `json:"change_approvals"`
		} `json:"changes"`
		Emergencies []struct {
			ChangeID     string `json:"change_id"`
			ReviewStatus string `json:"review_status"`
		} `json:"emergencies"`
		Verification struct {
			OK            bool   `json:"ok"`
			FirstPosition string `json:"first_position"`
			LastPosition  string `json:"last_position"`
			Events        string `json:"events"`
		} `json:"verification"`
		FirstPosition string `json:"first_position"`
		LastPosition  string `json:"last_position"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	s := rep.Summary
	if s.Deployments != 2 || s.WithChangeRequest != 2 || s.WithoutChangeRequest != 0 || s.Rollbacks != 1 || s.EmergencyChanges != 1 || s.ReviewsOverdue != 1 || s.FreezeOverrides != 1 || s.SelfApprovals != 0 {
		t.Errorf("report summary %+v, want 2 deployments with changes, 1 rollback, 1 emergency overdue, 1 override, no self-approval\n%s", s, out)
	}
	byRelease := map[string]int{}
	for i, c := range rep.Changes {
		byRelease[c.ReleaseID] = i
	}
	if i, ok := byRelease[id1]; !ok {
		t.Errorf("the report lacks release %s", id1)
	} else if c := rep.Changes[i]; c.ChangeID != "chg-campaigns" || c.Outcome != "succeeded" || c.RequestedBy != "bob" || !c.SeparationOfDuties ||
		!strings.Contains(c.FreezeOverride, "year-end") || len(c.ChangeApprovals) != 2 || strings.Join(c.ReleaseApprovers, ",") != "dave" {
		t.Errorf("the report's first production change: %+v", c)
	}
	if i, ok := byRelease[id2]; !ok {
		t.Errorf("the report lacks release %s", id2)
	} else if c := rep.Changes[i]; c.ChangeID != "chg-hotfix" || c.Outcome != "rolled_back" {
		t.Errorf("the report's rolled back change: %+v", c)
	}
	if len(rep.Emergencies) != 1 || rep.Emergencies[0].ChangeID != "chg-hotfix" || rep.Emergencies[0].ReviewStatus != "overdue" {
		t.Errorf("the report's emergencies: %+v", rep.Emergencies)
	}
	if v := rep.Verification; !v.OK || v.FirstPosition != rep.FirstPosition || v.LastPosition != rep.LastPosition || v.Events == "" {
		t.Errorf("the report's verification %+v, want OK over exactly positions %s..%s", v, rep.FirstPosition, rep.LastPosition)
	}
	// The auditor's sample: one command, markdown.
	md := must("--as", "erin", "compliance", "report", "--from", from, "--to", to, "--env", "production", "--sample", "1", "--seed", "7")
	for _, want := range []string{"chg-", "overdue", "year-end"} {
		if !strings.Contains(md, want) {
			t.Errorf("the markdown sample lacks %q:\n%s", want, md)
		}
	}
	if out, err := cli("audit", "verify"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}

// waitChange polls `floe change get` until the change is in state want.
func waitChange(t *testing.T, cli func(...string) (string, error), id, want string) {
	t.Helper()
	testkit.EventuallyWithin(t, 60*time.Second, func() error {
		out, err := cli("change", "get", id, "-o", "json")
		if err != nil {
			return fmt.Errorf("floe change get %s: %v\n%s", id, err, out)
		}
		var r struct {
			Change struct {
				State string `json:"state"`
			} `json:"change"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return fmt.Errorf("parse floe change get %s: %v\n%s", id, err, out)
		}
		if r.Change.State != want {
			return fmt.Errorf("change %s is %s, want %s", id, r.Change.State, want)
		}
		return nil
	})
}
