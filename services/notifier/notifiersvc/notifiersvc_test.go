package notifiersvc_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// hooks is a webhook receiver on loopback that checks every request's
// Standard Webhooks signature and counts what it accepted, by webhook-id.
// /ops refuses its first request (503, Retry-After: 1); /gone answers 410.
type hooks struct {
	t        *testing.T
	key      []byte
	mu       sync.Mutex
	accepted map[string]int             // webhook-id → accepted deliveries
	bodies   map[string]json.RawMessage // webhook-id → body
	refused  int
	badSigs  int
	gone     int
}

func newHooks(t *testing.T) (*hooks, *httptest.Server, string) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	h := &hooks{t: t, key: raw, accepted: map[string]int{}, bodies: map[string]json.RawMessage{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv, "whsec_" + base64.StdEncoding.EncodeToString(raw)
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, h.key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	h.mu.Lock()
	defer h.mu.Unlock()
	if !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+want+" ") {
		h.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/gone":
		h.gone++
		w.WriteHeader(http.StatusGone)
	case "/ops":
		if h.refused == 0 {
			h.refused++
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.accepted[id]++
		h.bodies[id] = body
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (h *hooks) snapshot() (accepted map[string]int, gone, badSigs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.accepted {
		out[k] = v
	}
	return out, h.gone, h.badSigs
}

const routingYAML = `receivers:
  - name: ops
    kind: webhook
    settings:
      url: %[1]s/ops
      signing_secret: secret://hook/signing
  - name: gone
    kind: webhook
    settings:
      url: %[1]s/gone
      signing_secret: secret://hook/signing
route:
  receivers: [ops]
  group_by: [episode]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - name: prod-critical
      matchers: [environment="production", severity="critical"]
      receivers: [ops, gone]
`

type world struct {
	t       *testing.T
	hooks   *hooks
	procs   []*testkit.Process
	cfg     notifiersvc.Config
	deploys *eventstore.JetStreamStore
	dataDir string
}

// start runs the flag service (it keeps the receivers' credentials) and the
// notifier in one process, on an embedded NATS.
func start(t *testing.T) *world {
	t.Helper()
	h, srv, signing := newHooks(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "notifier.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(routingYAML, srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	sec := secretsetup.Config{Keyring: keys}
	w := &world{t: t, hooks: h, dataDir: t.TempDir(), cfg: notifiersvc.Config{Options: notifiersvc.Options{
		File: file, SecretsEnvironment: "notifier", ProductionEnvironments: "production", Tick: 50 * time.Millisecond, MaxAttempts: 4,
		RetryBase: 50 * time.Millisecond, RetryCap: 200 * time.Millisecond}, Secrets: sec}}
	// The credentials first, by the flag service alone: the notifier reads them at its start.
	flag := func() service.Entry {
		return service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: time.Second, Secrets: sec}})
	}
	setup := testkit.Start(t, testkit.Options{DataDir: w.dataDir, Users: users, Entries: func() []service.Entry { return []service.Entry{flag()} }})
	if _, err := configv1.NewSecretServiceClient(setup.Conn("ops")).PutSecret(testkit.Context(t), &configv1.PutSecretRequest{
		Environment: "notifier", Name: "hook/signing", Value: []byte(signing), Reason: "the ops webhook's signing secret"}); err != nil {
		t.Fatal(err)
	}
	setup.Stop()
	w.procs = append(w.procs, w.process(setup, flag))
	w.deploys = w.procs[0].Store("deployer")
	return w
}

var users = map[string][]auth.RoleBinding{"ops": testkit.Roles(auth.RoleOperations), "viewer": testkit.Roles(auth.RoleSupport)}

// process starts a notifier (and, with extra, more services) on the world's NATS and data directory.
func (w *world) process(shared *testkit.Process, extra ...func() service.Entry) *testkit.Process {
	return testkit.Start(w.t, testkit.Options{
		Server: shared.NATS, DataDir: w.dataDir, Users: users,
		Entries: func() []service.Entry {
			out := []service.Entry{service.Of(notifiersvc.Service, w.cfg)}
			for _, e := range extra {
				out = append(out, e())
			}
			return out
		},
		Writers: map[string][]string{"deployer": {"deployment"}},
	})
}

// deployment records, as the deployer would, a production deployment that rolls back.
func (w *world) deployment(id string) {
	w.t.Helper()
	ctx := context.Background()
	meta := eventstore.Meta{Actor: "system:deployer"}
	if _, err := w.deploys.Append(ctx, "deployment", id, eventstore.NoStream, meta, eventstore.Event{Message: &deployv1.DeploymentStarted{
		DeploymentId: id, ReleaseId: "r1", Version: "1.0.0", Environment: "production", App: "demo", Product: "penguinmails",
		StrategyType: deployv1.DeploymentStrategy_DEPLOYMENT_STRATEGY_CANARY}}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.deploys.Append(ctx, "deployment", id, 1, meta, eventstore.Event{Message: &deployv1.RollbackStarted{
		Reason: "error rate 12% > 10% for 5m", Trigger: "error-rate"}}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.deploys.Append(ctx, "deployment", id, 2, meta, eventstore.Event{Message: &deployv1.RolledBack{
		DeploymentId: id, ReleaseId: "r1", Environment: "production", RestoredVersion: "0.9.0", Reason: "error rate 12% > 10% for 5m"}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) notifications(p *testkit.Process) []*notifyv1.Notification {
	w.t.Helper()
	r, err := notifyv1.NewNotifyServiceClient(p.Conn("viewer")).ListNotifications(testkit.Context(w.t), &notifyv1.ListNotificationsRequest{PageSize: 500})
	if err != nil {
		w.t.Fatal(err)
	}
	return r.GetNotifications()
}

// settled waits until every notification of the episode has a final status, and returns them.
func (w *world) settled(p *testkit.Process, episode string) []*notifyv1.Notification {
	w.t.Helper()
	var out []*notifyv1.Notification
	testkit.EventuallyWithin(w.t, 30*time.Second, func() error {
		out = nil
		for _, n := range w.notifications(p) {
			for _, e := range n.GetEpisodes() {
				if e.GetKey() == episode {
					out = append(out, n)
					break
				}
			}
		}
		if len(out) < 2 {
			return fmt.Errorf("%d notifications of %s so far", len(out), episode)
		}
		for _, n := range out {
			switch n.GetStatus() {
			case notifyv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED, notifyv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTERED:
			default:
				return fmt.Errorf("notification %s to %s is %s", n.GetId(), n.GetReceiver(), n.GetStatus())
			}
		}
		return nil
	})
	return out
}

// A production deployment that rolls back is told to the ops webhook —
// signed, as CloudEvents, each notification once although the first
// attempt is refused — and the critical part to a receiver that answers
// 410 Gone, which is dead-lettered at once; a restart and a second replica
// tell nothing twice.
func TestDeploymentRollbackIsToldOnce(t *testing.T) {
	w := start(t)
	p := w.procs[0]
	w.deployment("r1-production-1")
	ns := w.settled(p, "deployment/r1-production-1")
	var delivered, dead int
	for _, n := range ns {
		switch {
		case n.GetReceiver() == "ops" && n.GetStatus() == notifyv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED:
			delivered++
		case n.GetReceiver() == "gone" && n.GetStatus() == notifyv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTERED:
			dead++
			if n.GetAttempts() != 1 {
				t.Errorf("a 410 was retried: %d attempts", n.GetAttempts())
			}
		default:
			t.Errorf("notification %s to %s: %s (%s)", n.GetId(), n.GetReceiver(), n.GetStatus(), n.GetLastError())
		}
	}
	if delivered < 2 || dead < 1 {
		t.Fatalf("delivered %d to ops, dead-lettered %d to gone; want the start and the rollback told, the critical part dead-lettered", delivered, dead)
	}
	accepted, gone, bad := w.hooks.snapshot()
	if bad != 0 {
		t.Errorf("%d requests with a bad signature", bad)
	}
	if len(accepted) != delivered || gone < 1 {
		t.Errorf("the receiver accepted %d distinct messages (%v), the notifier says %d delivered", len(accepted), accepted, delivered)
	}
	for id, n := range accepted {
		if n != 1 {
			t.Errorf("message %s accepted %d times", id, n)
		}
	}
	// The rollback's message says what happened, as a CloudEvent.
	var critical bool
	for _, b := range w.hooks.bodies {
		var ce struct {
			SpecVersion, Type, ID string
			Data                  struct {
				Severity string
				Episodes []struct{ Key, Type, Environment string }
			}
		}
		if err := json.Unmarshal(b, &ce); err != nil || ce.SpecVersion != "1.0" || ce.Type != "dev.floe.notification" {
			t.Errorf("not a CloudEvent: %s (%v)", b, err)
		}
		if ce.Data.Severity == "critical" && len(ce.Data.Episodes) > 0 && ce.Data.Episodes[0].Environment == "production" {
			critical = true
		}
	}
	if !critical {
		t.Errorf("no critical message about production among %d", len(w.hooks.bodies))
	}

	// A restart, then a second replica: nothing is told again; a new episode is told once.
	p.Restart()
	second := w.process(p)
	w.deployment("r2-production-1")
	w.settled(second, "deployment/r2-production-1")
	w.settled(p, "deployment/r2-production-1")
	time.Sleep(500 * time.Millisecond) // ten ticks of both replicas: a duplicate would have been sent by now
	accepted, _, _ = w.hooks.snapshot()
	for id, n := range accepted {
		if n != 1 {
			t.Errorf("after the restart and with two replicas, message %s accepted %d times", id, n)
		}
	}
	for _, n := range w.notifications(second) {
		t.Logf("%s → %s: %s reason=%s attempts=%d %v", n.GetId()[:12], n.GetReceiver(), n.GetStatus(), n.GetReason(), n.GetAttempts(), n.GetSubject())
	}
	if len(accepted) < 4 {
		t.Errorf("%d messages accepted in all, want at least 4 (two per deployment)", len(accepted))
	}
}

// amPayload is an Alertmanager webhook (version 4) with one critical
// production alert.
const amPayload = `{"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,"status":"%[1]s","receiver":"floe",
"groupLabels":{"alertname":"DiskFull"},"commonLabels":{"alertname":"DiskFull"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093",
"alerts":[{"status":"%[1]s","labels":{"alertname":"DiskFull","severity":"critical","environment":"production","instance":"db-1"},
"annotations":{"summary":"disk 97%% full"},"startsAt":"2026-12-03T10:00:00Z","endsAt":"%[2]s",
"generatorURL":"http://prometheus:9090/graph","fingerprint":"b4f1c0ffee"}]}`

// An Alertmanager feeds the notifier through its webhook: the alert is told
// (and its resend is not told again), its resolution too; bad tokens and
// payloads are refused.
func TestAlertmanagerReceiver(t *testing.T) {
	w := start(t)
	w.procs[0].Stop()
	w.cfg.HTTPAddr = "127.0.0.1:0"
	p := w.process(w.procs[0])
	addr := p.Handles["notifier"].(*notifiersvc.Notifier).HTTPAddr
	post := func(token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/alertmanager", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	firing := fmt.Sprintf(amPayload, "firing", "0001-01-01T00:00:00Z")
	for _, tc := range []struct {
		name, token, body string
		want              int
	}{
		{"no token", "", firing, http.StatusUnauthorized},
		{"a bad token", "floe_nope", firing, http.StatusUnauthorized},
		{"a token without notify.write", p.Token("viewer"), firing, http.StatusForbidden},
		{"not a payload", p.Token("ops"), `{"version":"4"`, http.StatusBadRequest},
		{"the alert", p.Token("ops"), firing, http.StatusOK},
		{"its resend", p.Token("ops"), firing, http.StatusOK},
	} {
		if got := post(tc.token, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	told := func(want string) {
		t.Helper()
		testkit.EventuallyWithin(t, 30*time.Second, func() error {
			w.hooks.mu.Lock()
			defer w.hooks.mu.Unlock()
			for _, b := range w.hooks.bodies {
				if strings.Contains(string(b), want) {
					return nil
				}
			}
			return fmt.Errorf("no message says %q yet", want)
		})
	}
	told("DiskFull firing in production: disk 97% full")
	if got := post(p.Token("ops"), fmt.Sprintf(amPayload, "resolved", "2026-12-03T10:30:00Z")); got != http.StatusOK {
		t.Fatalf("the resolution: %d", got)
	}
	told("DiskFull resolved in production")
	time.Sleep(300 * time.Millisecond) // six ticks: a second message about the resend would be out
	w.hooks.mu.Lock()
	defer w.hooks.mu.Unlock()
	firings := 0
	for _, b := range w.hooks.bodies {
		if strings.Contains(string(b), "DiskFull firing") {
			firings++
		}
	}
	if firings != 1 {
		t.Errorf("the firing alert was told %d times to ops", firings)
	}
}

// Silences through the API mute what they match (recorded as muted, not
// sent) until they end or are expired; a test send reaches a receiver at
// once; refusals name the field.
func TestSilencesAndTestSend(t *testing.T) {
	w := start(t)
	p := w.procs[0]
	ctx := testkit.Context(t)
	ops := notifyv1.NewNotifyServiceClient(p.Conn("ops"))
	viewer := notifyv1.NewNotifyServiceClient(p.Conn("viewer"))

	// Refusals.
	if _, err := ops.CreateSilence(ctx, &notifyv1.CreateSilenceRequest{Matchers: []string{`environment=~"(unclosed"`}, Duration: durationpb.New(time.Hour), Comment: "x"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a matcher whose regexp does not compile: %v", err)
	}
	if _, err := ops.CreateSilence(ctx, &notifyv1.CreateSilenceRequest{Matchers: []string{`environment="production"`}, Duration: durationpb.New(time.Hour)}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("no comment: %v", err)
	}
	if _, err := viewer.CreateSilence(ctx, &notifyv1.CreateSilenceRequest{Matchers: []string{`environment="production"`}, Duration: durationpb.New(time.Hour), Comment: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a reader: %v", err)
	}

	sil, err := ops.CreateSilence(ctx, &notifyv1.CreateSilenceRequest{RequestId: "maint-1", Matchers: []string{`environment="production"`},
		Duration: durationpb.New(time.Hour), Comment: "database maintenance"})
	if err != nil || sil.GetSilence().GetState() != "active" || sil.GetSilence().GetCreatedBy() != "ops" {
		t.Fatalf("create: %v %v", sil, err)
	}
	again, err := ops.CreateSilence(ctx, &notifyv1.CreateSilenceRequest{RequestId: "maint-1", Matchers: []string{`environment="production"`},
		Duration: durationpb.New(time.Hour), Comment: "database maintenance"})
	if err != nil || again.GetSilence().GetId() != sil.GetSilence().GetId() {
		t.Fatalf("a retried create made another silence: %v %v", again, err)
	}
	// Give the view a moment to learn of it, then a production deployment: muted.
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		l, err := viewer.ListSilences(ctx, &notifyv1.ListSilencesRequest{})
		if err != nil || len(l.GetSilences()) != 1 {
			return fmt.Errorf("silences %v %v", l, err)
		}
		return nil
	})
	before, _, _ := w.hooks.snapshot()
	w.deployment("r7-production-1")
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		var muted int
		for _, n := range w.notifications(p) {
			for _, e := range n.GetEpisodes() {
				if e.GetKey() == "deployment/r7-production-1" && n.GetStatus() == notifyv1.DeliveryStatus_DELIVERY_STATUS_MUTED {
					muted++
					if len(n.GetMutedBy()) == 0 || !strings.Contains(n.GetMutedBy()[0], sil.GetSilence().GetId()) {
						return fmt.Errorf("muted by %v", n.GetMutedBy())
					}
				}
			}
		}
		if muted == 0 {
			return fmt.Errorf("no muted notification of r7 yet")
		}
		return nil
	})
	if after, _, _ := w.hooks.snapshot(); len(after) != len(before) {
		t.Errorf("the silenced deployment was sent: %d messages before, %d after", len(before), len(after))
	}

	// Expired: the next one is told.
	exp, err := ops.ExpireSilence(ctx, &notifyv1.ExpireSilenceRequest{Id: sil.GetSilence().GetId(), Reason: "done early"})
	if err != nil || exp.GetSilence().GetState() != "expired" || exp.GetSilence().GetExpiredBy() != "ops" {
		t.Fatalf("expire: %v %v", exp, err)
	}
	if _, err := ops.ExpireSilence(ctx, &notifyv1.ExpireSilenceRequest{Id: sil.GetSilence().GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("expired twice: %v", err)
	}
	testkit.EventuallyWithin(t, 10*time.Second, func() error {
		l, err := viewer.ListSilences(ctx, &notifyv1.ListSilencesRequest{})
		if err != nil || len(l.GetSilences()) != 0 {
			return fmt.Errorf("active silences after the expiry: %v %v", l, err)
		}
		return nil
	})
	w.deployment("r8-production-1")
	w.settled(p, "deployment/r8-production-1")

	// A test send.
	tr, err := ops.TestReceiver(ctx, &notifyv1.TestReceiverRequest{Receiver: "ops"})
	if err != nil || !tr.GetDelivered() || !strings.HasPrefix(tr.GetSubject(), "[TEST]") {
		t.Fatalf("test send: %v %v", tr, err)
	}
	if _, err := ops.TestReceiver(ctx, &notifyv1.TestReceiverRequest{Receiver: "nobody"}); status.Code(err) != codes.NotFound {
		t.Errorf("test send to nobody: %v", err)
	}
	if tr, err := ops.TestReceiver(ctx, &notifyv1.TestReceiverRequest{Receiver: "gone"}); err != nil || tr.GetDelivered() || !strings.Contains(tr.GetError(), "410") {
		t.Errorf("test send to a receiver that answers 410: %v %v", tr, err)
	}
}
