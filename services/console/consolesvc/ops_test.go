package consolesvc_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/change/changesvc"
	"github.com/penguinmails/floe/services/console/consolesvc"
	"github.com/penguinmails/floe/services/flag/flagsvc"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
	"github.com/penguinmails/floe/services/monitor/rules"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// notifierYAML routes everything to two signed webhooks: ops, whose signing
// secret is put through the flag service's SecretService, and pager, whose
// secret never is (its deliveries fail, saying why).
const notifierYAML = `receivers:
  - name: ops
    kind: webhook
    settings:
      url: %[1]s/ops
      signing_secret: secret://hook/signing
  - name: pager
    kind: webhook
    settings:
      url: %[1]s/pager
      signing_secret: secret://pager/signing
route:
  receivers: [ops, pager]
  group_wait: 0s
`

// startOpsWorld is the console with the services its operations pages
// call — the flag service (configuration, and the receivers' secrets), the
// notifier (notifications, receivers, the status page), the monitor (alerts)
// and the change service (windows, freezes) — in one process on a real
// embedded JetStream, with a webhook endpoint on loopback counting what it
// is sent.
func startOpsWorld(t *testing.T) (*world, *atomic.Int64) {
	t.Helper()
	var received atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "notifier.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(notifierYAML, hook.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	sec := secretsetup.Config{Keyring: keys}
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{
			"alice": testkit.Roles(auth.RoleDeveloper), "carol": testkit.Roles(auth.RoleQA), "grace": testkit.Roles(auth.RoleSupport),
			"dave": testkit.Roles(auth.RoleOperations),
			// erin develops, in development only: elsewhere she may not read the configuration.
			"erin": {{Role: auth.RoleDeveloper, Environments: []string{"development"}}},
		},
		Entries: func() []service.Entry {
			return []service.Entry{
				service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second, Secrets: sec}}),
				service.Of(notifiersvc.Service, notifiersvc.Config{Options: notifiersvc.Options{
					File: file, SecretsEnvironment: "notifier", ProductionEnvironments: "production", Tick: 50 * time.Millisecond,
					MaxAttempts: 3, RetryBase: 50 * time.Millisecond, RetryCap: 200 * time.Millisecond, HTTPAddr: "127.0.0.1:0", // it serves the status page
					Status: notifiersvc.StatusOptions{Name: "Penguin Mails", TimeZone: "UTC"}}, Secrets: sec}),
				service.Of(monitorsvc.Service, monitorsvc.Config{Defaults: &monitorsvc.File{Interval: 250 * time.Millisecond, RuleSet: &rules.Set{}}}),
				service.Of(changesvc.Service, changesvc.Config{}),
				service.Of(consolesvc.Service, consolesvc.Config{Addr: "127.0.0.1:0"}),
			}
		},
	})
	c, ok := p.Handles["console"].(*consolesvc.Console)
	if !ok || c.Addr == "" {
		t.Fatalf("console handle %#v", p.Handles["console"])
	}
	return &world{Process: p, t: t, base: "http://" + c.Addr}, &received
}

// page GETs path as the signed-in browser c and checks the answer's status.
func (w *world) page(c *http.Client, path string, want int) string {
	w.t.Helper()
	resp, body := w.do(c, "GET", path, nil, nil)
	if resp.StatusCode != want {
		w.t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

// eventually GETs path until the page holds every one of want.
func (w *world) eventually(c *http.Client, path string, want ...string) string {
	w.t.Helper()
	var body string
	testkit.EventuallyWithin(w.t, 30*time.Second, func() error {
		body = w.page(c, path, http.StatusOK)
		for _, s := range want {
			if !strings.Contains(body, s) {
				return fmt.Errorf("GET %s lacks %q:\n%s", path, s, body)
			}
		}
		return nil
	})
	return body
}

// hostile is user input that must be shown as text.
const hostile = `<script>alert(1)</script>`

// asText checks that body shows hostile escaped, never as markup.
func asText(t *testing.T, what, body string) {
	t.Helper()
	if strings.Contains(body, hostile) || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("%s does not show %s as text:\n%s", what, hostile, body)
	}
}

// TestConsoleOpsPages: the read pages of operations — notifications and
// receivers, alerts and incidents, configuration and its differences, the
// change calendar — each showing what was put in through the services' gRPC
// APIs, user input escaped, filters applied, and a refusal shown with the
// service's reason.
func TestConsoleOpsPages(t *testing.T) {
	w, received := startOpsWorld(t)
	ctx := testkit.Context(t)
	grace := w.signIn("grace")

	// Before anything happened: empty states, and the receivers of the configuration file, credentials as references.
	body := w.page(grace, "/notifications?receiver=nobody", http.StatusOK)
	for _, want := range []string{"No notification matches.", "secret://hook/signing", "secret://pager/signing", ">ops</a>", ">pager</a>", "webhook"} {
		if !strings.Contains(body, want) {
			t.Errorf("empty notifications page lacks %q:\n%s", want, body)
		}
	}
	if body := w.page(grace, "/alerts", http.StatusOK); !strings.Contains(body, "No pending or firing alerts.") || !strings.Contains(body, "No open incidents.") {
		t.Errorf("empty alerts page:\n%s", body)
	}
	if body := w.page(grace, "/windows", http.StatusOK); !strings.Contains(body, "No deployment windows") || !strings.Contains(body, "No freezes.") {
		t.Errorf("empty windows page:\n%s", body)
	}
	if body := w.page(grace, "/notifications?status=lost", http.StatusBadRequest); !strings.Contains(body, "dead_lettered") {
		t.Errorf("a bad status filter is not refused with the statuses:\n%s", body)
	}

	// The data, through the services' APIs.
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	if _, err := configv1.NewSecretServiceClient(w.Conn("dave")).PutSecret(ctx, &configv1.PutSecretRequest{Environment: "notifier", Name: "hook/signing",
		Value: []byte("whsec_" + base64.StdEncoding.EncodeToString(raw)), Reason: "the ops webhook's signing secret"}); err != nil {
		t.Fatal(err)
	}
	cal := changev1.NewWindowServiceClient(w.Conn("dave"))
	now := time.Now()
	freeze, err := cal.CreateFreeze(ctx, &changev1.CreateFreezeRequest{Freeze: &changev1.Freeze{Environments: []string{"production"}, Reason: hostile,
		Start: timestamppb.New(now.Add(-time.Minute)), End: timestamppb.New(now.Add(2 * time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cal.CreateWindow(ctx, &changev1.CreateWindowRequest{Window: &changev1.DeploymentWindow{Id: "tuesdays", Environment: "staging",
		Name: "Tuesday <b>mornings</b>", Recurrence: &changev1.Recurrence{Days: []string{"tue"}, At: "10:00"}, DurationMinutes: 90, TimeZone: "Europe/Berlin"}}); err != nil {
		t.Fatal(err)
	}
	status := notifyv1.NewStatusServiceClient(w.Conn("dave"))
	if _, err := status.AddComponent(ctx, &notifyv1.AddComponentRequest{Id: "payments", Name: "Payments"}); err != nil {
		t.Fatal(err)
	}
	inc, err := status.CreateIncident(ctx, &notifyv1.CreateIncidentRequest{Name: "Checkout fails " + hostile, Body: "We are investigating failed payments.",
		Components: map[string]notifyv1.ComponentStatus{"payments": notifyv1.ComponentStatus_COMPONENT_STATUS_PARTIAL_OUTAGE}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := status.AddIncidentUpdate(ctx, &notifyv1.AddIncidentUpdateRequest{IncidentId: inc.GetIncident().GetId(),
		Status: notifyv1.IncidentStatus_INCIDENT_STATUS_IDENTIFIED, Body: "The card processor's certificate expired."}); err != nil {
		t.Fatal(err)
	}
	if _, err := monitorv1.NewMonitorServiceClient(w.Conn("dave")).CreateAlertRule(ctx, &monitorv1.CreateAlertRuleRequest{Rule: &monitorv1.AlertRule{
		Name: "queue_backlog", Description: "the mail queue is backing up", Condition: `label_replace(vector(7), "queue", "<mail>", "", "") > 5`,
		SeverityType: monitorv1.Severity_SEVERITY_WARNING, Channels: []string{"slack"}, Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	cfg := configv1.NewConfigServiceClient(w.Conn("alice"))
	if _, err := cfg.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "development", Reason: "first",
		Document: `{"branding": {"banner": "` + hostile + `"}, "cache": {"ttlSeconds": 60}}`}); err != nil {
		t.Fatal(err)
	}
	// Staging needs one approval (the built-in policy): proposed, approved by QA, then a second change left pending.
	set, err := cfg.SetConfig(ctx, &configv1.SetConfigRequest{Environment: "staging", Reason: "first", Document: `{"branding": {"banner": "hello"}, "billing": {"currency": "EUR"}}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := configv1.NewConfigServiceClient(w.Conn("carol")).ApproveConfigChange(ctx, &configv1.ApproveConfigChangeRequest{Environment: "staging",
		Proposal: set.GetProposal().GetProposal(), Comment: "checked"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.PatchConfig(ctx, &configv1.PatchConfigRequest{Environment: "staging", Patch: `{"billing": {"currency": "CHF"}}`,
		Reason: "Swiss <i>launch</i>"}); err != nil {
		t.Fatal(err)
	}

	t.Run("notifications", func(t *testing.T) {
		// The freeze is told to both receivers: ops gets it, pager's secret never resolves.
		all := w.eventually(grace, "/notifications", "freeze/"+freeze.GetFreeze().GetId(), `class="status s-delivered"`, "does not resolve")
		if received.Load() == 0 {
			t.Error("the webhook received nothing")
		}
		for _, want := range []string{"ops <small>(webhook)</small>", "pager <small>(webhook)</small>", "notice"} {
			if !strings.Contains(all, want) {
				t.Errorf("notifications page lacks %q:\n%s", want, all)
			}
		}
		if strings.Contains(all, "<script>") {
			t.Errorf("notifications page holds markup from user input:\n%s", all)
		}
		delivered := w.page(grace, "/notifications?status=delivered", http.StatusOK)
		if !strings.Contains(delivered, `s-delivered`) || strings.Contains(delivered, "does not resolve") || strings.Contains(delivered, "pager <small>") ||
			!strings.Contains(delivered, `<option value="delivered" selected>`) {
			t.Errorf("filtered by status delivered:\n%s", delivered)
		}
		pager := w.page(grace, "/notifications?receiver=pager", http.StatusOK)
		if !strings.Contains(pager, "does not resolve") || strings.Contains(pager, "ops <small>") || strings.Contains(pager, "s-delivered") {
			t.Errorf("filtered by receiver pager:\n%s", pager)
		}
	})

	t.Run("alerts", func(t *testing.T) {
		body := w.eventually(grace, "/alerts", "queue_backlog", `class="status s-firing"`, "The card processor&#39;s certificate expired.")
		for _, want := range []string{`queue=&#34;&lt;mail&gt;&#34;`, "<td>7</td>", "warning", "Penguin Mails",
			"Checkout fails &lt;script&gt;alert(1)&lt;/script&gt;", "identified", "The card processor&#39;s certificate expired.",
			"We are investigating failed payments.", "<code>payments</code>", "partial outage"} {
			if !strings.Contains(body, want) {
				t.Errorf("alerts page lacks %q:\n%s", want, body)
			}
		}
		asText(t, "alerts page", body)
		if critical := w.page(grace, "/alerts?severity=critical", http.StatusOK); !strings.Contains(critical, "No pending or firing alerts.") {
			t.Errorf("critical alerts only:\n%s", critical)
		}
	})

	t.Run("config", func(t *testing.T) {
		body := w.eventually(grace, "/config?from=development&to=staging", "Swiss &lt;i&gt;launch&lt;/i&gt;")
		for _, want := range []string{
			"Configuration of staging", "<dt>Version</dt><dd>1</dd>", "approved by carol)", // the current version, made of the approved proposal
			"<code>branding.banner</code>", "<code>&#34;hello&#34;</code>", // the differences from development
			"<code>cache", "Pending proposal", "Swiss &lt;i&gt;launch&lt;/i&gt;", "0 of 1", // the change awaiting approval
			"<code>billing.currency</code>", "<code>&#34;CHF&#34;</code>", "<code>&#34;EUR&#34;</code>",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("config page lacks %q:\n%s", want, body)
			}
		}
		asText(t, "config diff", body)
		dev := w.page(grace, "/config?to=development", http.StatusOK)
		asText(t, "development's document", dev)
		if !strings.Contains(dev, "nothing awaits approval in development") {
			t.Errorf("development has nothing pending:\n%s", dev)
		}
		if empty := w.page(grace, "/config?to=qa", http.StatusOK); !strings.Contains(empty, "qa has no configuration version yet") {
			t.Errorf("an environment without configuration:\n%s", empty)
		}
		// Erin may read development's configuration, not production's: the flag service's refusal, shown.
		erin := w.signIn("erin")
		w.page(erin, "/config?to=development", http.StatusOK)
		refused := w.page(erin, "/config?from=development&to=production", http.StatusForbidden)
		if !strings.Contains(refused, "PermissionDenied") || !strings.Contains(refused, "config.read") {
			t.Errorf("erin's production configuration:\n%s", refused)
		}
	})

	t.Run("windows", func(t *testing.T) {
		body := w.eventually(grace, "/windows", "<code>tuesdays</code>", "<code>"+freeze.GetFreeze().GetId()+"</code>")
		for _, want := range []string{"<code>" + freeze.GetFreeze().GetId() + "</code>", "<code>tuesdays</code>", "Tuesday &lt;b&gt;mornings&lt;/b&gt;",
			"tue at 10:00", "1h30m", "Europe/Berlin", `class="status s-frozen"`, "by dave"} {
			if !strings.Contains(body, want) {
				t.Errorf("windows page lacks %q:\n%s", want, body)
			}
		}
		asText(t, "windows page", body)
		if !strings.Contains(body, "needs change.calendar") || !strings.Contains(body, "needs change.override") {
			t.Errorf("support may neither declare a freeze nor override one; the page does not say so:\n%s", body)
		}
		staging := w.page(grace, "/windows?env=staging", http.StatusOK)
		if strings.Contains(staging, freeze.GetFreeze().GetId()) || !strings.Contains(staging, "tuesdays") {
			t.Errorf("the staging calendar:\n%s", staging)
		}
	})

	// The actions, as operations: an incident updated and resolved; a freeze declared, and alice's
	// promotions let through it (never one's own); support's forged post refused by the service.
	dave := w.signIn("dave")
	post := func(c *http.Client, page, path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", csrfRE.FindStringSubmatch(w.page(c, page, http.StatusOK))[1])
		resp, body := w.do(c, "POST", path, form, nil)
		return resp.StatusCode, body
	}
	t.Run("incident actions", func(t *testing.T) {
		id := inc.GetIncident().GetId()
		if code, body := post(dave, "/alerts", "/incidents/"+id+"/update", url.Values{"status": {"monitoring"}, "body": {"A fix is deployed; watching payments."}}); code != http.StatusSeeOther {
			t.Fatalf("update: %d\n%s", code, body)
		}
		w.eventually(dave, "/alerts", "A fix is deployed; watching payments.")
		if code, body := post(grace, "/alerts", "/incidents/"+id+"/resolve", url.Values{"body": {"x"}}); code != http.StatusForbidden || !strings.Contains(body, "notify.write") {
			t.Errorf("resolve by support: %d\n%s", code, body)
		}
		if code, body := post(dave, "/alerts", "/incidents/"+id+"/resolve", url.Values{"body": {"Payments are back."}}); code != http.StatusSeeOther {
			t.Fatalf("resolve: %d\n%s", code, body)
		}
		testkit.EventuallyWithin(t, 20*time.Second, func() error {
			page, err := status.GetStatusPage(ctx, &notifyv1.GetStatusPageRequest{})
			if err != nil || len(page.GetIncidents()) != 0 {
				return fmt.Errorf("open incidents after the resolution: %v %v", err, page.GetIncidents())
			}
			return nil
		})
	})
	t.Run("silences and acknowledgements", func(t *testing.T) {
		code, body := post(dave, "/notifications", "/silences", url.Values{"matchers": {`receiver="pager"`}, "duration": {"1h"}, "comment": {"pager is being replaced"}})
		if code != http.StatusSeeOther {
			t.Fatalf("create a silence: %d\n%s", code, body)
		}
		nc := notifyv1.NewNotifyServiceClient(w.Conn("dave"))
		var id string
		testkit.EventuallyWithin(t, 20*time.Second, func() error { // the notifier's view catches up
			sil, err := nc.ListSilences(ctx, &notifyv1.ListSilencesRequest{})
			if err != nil || len(sil.GetSilences()) != 1 || sil.GetSilences()[0].GetCreatedBy() != "dave" {
				return fmt.Errorf("silences after the console created one: %v %v", err, sil.GetSilences())
			}
			id = sil.GetSilences()[0].GetId()
			return nil
		})
		w.eventually(dave, "/notifications", "<code>"+id+"</code>", "pager is being replaced")
		if code, body := post(dave, "/notifications", "/silences/"+id+"/expire", url.Values{"reason": {"replaced"}}); code != http.StatusSeeOther {
			t.Fatalf("expire: %d\n%s", code, body)
		}
		testkit.EventuallyWithin(t, 20*time.Second, func() error {
			all, err := nc.ListSilences(ctx, &notifyv1.ListSilencesRequest{All: true})
			if err != nil || len(all.GetSilences()) != 1 || all.GetSilences()[0].GetExpiredBy() != "dave" {
				return fmt.Errorf("the silence after its expiry: %v %v", err, all.GetSilences())
			}
			return nil
		})
		ns, err := nc.ListNotifications(ctx, &notifyv1.ListNotificationsRequest{})
		if err != nil || len(ns.GetNotifications()) == 0 || len(ns.GetNotifications()[0].GetEpisodes()) == 0 {
			t.Fatalf("notifications: %v %v", err, ns.GetNotifications())
		}
		n := ns.GetNotifications()[0]
		code, body = post(dave, "/notifications", "/episodes/ack", url.Values{"group_id": {n.GetGroupId()}, "episode": {n.GetEpisodes()[0].GetKey()}, "comment": {"on it"}})
		if code != http.StatusSeeOther {
			t.Errorf("acknowledge %s: %d\n%s", n.GetEpisodes()[0].GetKey(), code, body)
		}
	})
	t.Run("freeze actions", func(t *testing.T) {
		now := time.Now().UTC()
		code, body := post(dave, "/windows", "/freezes", url.Values{"id": {"launch-week"}, "environments": {"production"}, "reason": {"launch week"},
			"start": {now.Add(-time.Minute).Format("2006-01-02T15:04")}, "end": {now.Add(3 * time.Hour).Format("2006-01-02T15:04")}})
		if code != http.StatusSeeOther {
			t.Fatalf("declare: %d\n%s", code, body)
		}
		w.eventually(dave, "/windows", "<code>launch-week</code>")
		if code, body := post(dave, "/windows", "/freezes/launch-week/override", url.Values{"environment": {"production"}, "for": {"dave"}, "reason": {"mine"}}); code == http.StatusSeeOther || !strings.Contains(body, "second person") {
			t.Errorf("an override for oneself: %d\n%s", code, body)
		}
		if code, body := post(dave, "/windows", "/freezes/launch-week/override", url.Values{"environment": {"production"}, "for": {"alice"}, "reason": {"the launch fix"}}); code != http.StatusSeeOther {
			t.Fatalf("override for alice: %d\n%s", code, body)
		}
		w.eventually(dave, "/windows", "the launch fix")
	})
}
