package domain_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func planned(t *testing.T) *domain.Delivery {
	t.Helper()
	d := domain.NewDelivery("n1")
	for _, m := range domain.Plan(d, &notifyv1.Notification{Id: "n1", Receiver: "ops", Status: notifyv1.DeliveryStatus_DELIVERY_STATUS_PENDING, DecidedAt: timestamppb.New(t0)}) {
		d.Apply(m, t0, 1)
	}
	return d
}

func apply(d *domain.Delivery, at time.Time, msgs []proto.Message) {
	for _, m := range msgs {
		d.Apply(m, at, 2)
	}
}

// A delivery's life: planned once, claimed by one instance, failed and
// retried after the backoff (or the receiver's Retry-After), delivered; an
// instance whose claim was taken over records nothing; a permanent failure
// and the last attempt dead-letter.
func TestDeliveryLifecycle(t *testing.T) {
	p := domain.Policy{MaxAttempts: 3, Base: time.Second, Cap: 10 * time.Second, ClaimTimeout: time.Minute}
	rnd := rand.New(rand.NewPCG(1, 2))
	d := planned(t)
	if again := domain.Plan(d, &notifyv1.Notification{Id: "n1"}); again != nil {
		t.Fatalf("planned twice: %v", again)
	}
	if !d.Due(t0, p) {
		t.Fatal("a planned notification is not due")
	}
	claim := domain.Claim(d, t0, "a", p)
	apply(d, t0, claim)
	if d.N.GetAttempts() != 1 || d.ClaimedBy != "a" || d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_SENDING {
		t.Fatalf("after the claim: %v by %s", d.N, d.ClaimedBy)
	}
	if c := domain.Claim(d, t0.Add(time.Second), "b", p); c != nil {
		t.Fatalf("a second instance claimed a notification being sent: %v", c)
	}
	// A failure with Retry-After 30s: the next attempt waits for it.
	fail := domain.Record(d, 1, "a", domain.Outcome{Err: "503", Status: 503, RetryAfter: 30 * time.Second}, t0, p, rnd)
	apply(d, t0, fail)
	if d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_RETRYING || d.N.GetNextAttemptAt().AsTime().Before(t0.Add(30*time.Second)) {
		t.Fatalf("after a 503 with Retry-After: %v", d.N)
	}
	if d.Due(t0.Add(29*time.Second), p) || !d.Due(d.N.GetNextAttemptAt().AsTime(), p) {
		t.Fatal("due before Retry-After, or not due after it")
	}
	// Attempt 2 claimed by a, which dies: b takes over after the claim timeout.
	at := d.N.GetNextAttemptAt().AsTime()
	apply(d, at, domain.Claim(d, at, "a", p))
	if domain.Claim(d, at.Add(59*time.Second), "b", p) != nil {
		t.Fatal("taken over before the claim timeout")
	}
	late := at.Add(time.Minute)
	apply(d, late, domain.Claim(d, late, "b", p))
	if d.N.GetAttempts() != 3 || d.ClaimedBy != "b" {
		t.Fatalf("take-over: attempt %d by %s", d.N.GetAttempts(), d.ClaimedBy)
	}
	if r := domain.Record(d, 2, "a", domain.Outcome{}, late, p, rnd); r != nil {
		t.Fatalf("the instance whose claim was taken over recorded %v", r)
	}
	apply(d, late, domain.Record(d, 3, "b", domain.Outcome{Ref: "ts-1"}, late, p, rnd))
	if d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED || d.N.GetRef() != "ts-1" || d.Due(late.Add(time.Hour), p) {
		t.Fatalf("delivered: %v", d.N)
	}

	// A permanent failure dead-letters at once; so does a failure of the last attempt.
	d = planned(t)
	apply(d, t0, domain.Claim(d, t0, "a", p))
	apply(d, t0, domain.Record(d, 1, "a", domain.Outcome{Err: "410 gone", Status: 410, Permanent: true, Disable: true}, t0, p, rnd))
	if d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTERED || d.N.GetAttempts() != 1 {
		t.Fatalf("a 410: %v", d.N)
	}
	d = planned(t)
	now := t0
	for i := uint32(1); i <= 3; i++ {
		apply(d, now, domain.Claim(d, now, "a", p))
		apply(d, now, domain.Record(d, i, "a", domain.Outcome{Err: "timeout"}, now, p, rnd))
		if i < 3 {
			now = d.N.GetNextAttemptAt().AsTime()
		}
	}
	if d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTERED || d.N.GetLastError() != "timeout" {
		t.Fatalf("after the last attempt: %v", d.N)
	}
	// A claimant that died on the last attempt: the take-over dead-letters.
	d = planned(t)
	now = t0
	for i := uint32(1); i <= 2; i++ {
		apply(d, now, domain.Claim(d, now, "a", p))
		apply(d, now, domain.Record(d, i, "a", domain.Outcome{Err: "timeout"}, now, p, rnd))
		now = d.N.GetNextAttemptAt().AsTime()
	}
	apply(d, now, domain.Claim(d, now, "a", p)) // attempt 3, no outcome
	now = now.Add(time.Minute)
	apply(d, now, domain.Claim(d, now, "b", p))
	if d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTERED {
		t.Fatalf("an abandoned last attempt: %v", d.N)
	}
}

// The backoff is full jitter under min(cap, base·2ⁿ⁻¹), never below Retry-After.
func TestBackoff(t *testing.T) {
	p := domain.Policy{Base: time.Second, Cap: 8 * time.Second}.WithDefaults()
	rnd := rand.New(rand.NewPCG(3, 4))
	for n := uint32(1); n <= 40; n++ {
		ceiling := min(p.Cap, time.Second<<min(n-1, 30))
		for range 50 {
			if d := p.Backoff(n, 0, rnd); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: %s outside [0, %s]", n, d, ceiling)
			}
		}
		if d := p.Backoff(n, time.Minute, rnd); d != time.Minute {
			t.Fatalf("attempt %d with Retry-After 1m: %s", n, d)
		}
	}
}

const cfgYAML = `receivers:
  - name: ops
    kind: webhook
    settings: {url: "http://127.0.0.1:1/x", signing_secret: "secret://hook"}
route:
  receivers: [ops]
  group_wait: 30s
`

// Evaluating a group decides from a copy: the same state and time give the
// same notifications (ids included), nothing is due before group_wait, and
// the decision's recorded state rebuilds the group.
func TestGroupEvaluation(t *testing.T) {
	cfg, err := routing.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Route
	ev := routing.Event{Type: "floe.deploy.v1.DeploymentFailed", Environment: "production", Severity: "critical", EpisodeKey: "deployment/d1", Time: t0}
	id := domain.GroupID(r.ID(), routing.GroupKey(r, ev))
	g := domain.NewGroup(cfg, id)
	obs, err := domain.Observe(r, ev, "e1", ev.Type)
	if err != nil {
		t.Fatal(err)
	}
	g.Apply(obs[0], t0, "system:deployer")
	kinds := func(string) string { return routing.KindWebhook }
	if msgs, err := domain.Evaluate(g, t0.Add(29*time.Second), kinds, nil); err != nil || msgs != nil {
		t.Fatalf("before group_wait: %v %v", msgs, err)
	}
	a, err := domain.Evaluate(g, t0.Add(30*time.Second), kinds, nil)
	if err != nil || len(a) != 1 {
		t.Fatalf("at group_wait: %v %v", a, err)
	}
	b, _ := domain.Evaluate(g, t0.Add(30*time.Second), kinds, nil)
	if !proto.Equal(a[0], b[0]) {
		t.Fatal("the same state and time decided differently")
	}
	ge := a[0].(*notifyv1.GroupEvaluated)
	if len(ge.GetNotifications()) != 1 || ge.GetNotifications()[0].GetReceiver() != "ops" || ge.GetNotifications()[0].GetReceiverKind() != "webhook" || ge.GetNotifications()[0].GetGroupId() != id {
		t.Fatalf("the decision: %v", ge.GetNotifications())
	}
	g.Apply(ge, t0.Add(30*time.Second), "system:notifier")
	if again, _ := domain.Evaluate(g, t0.Add(31*time.Second), kinds, nil); again != nil {
		t.Fatalf("told again right after: %v", again)
	}
	// The snapshot round trip keeps the state.
	blob, err := domain.MarshalGroup(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.UnmarshalGroup(cfg, blob)
	if err != nil || back.Orphan != "" || !back.Next().Equal(g.Next()) {
		t.Fatalf("round trip: %v orphan %q next %s vs %s", err, back.Orphan, back.Next(), g.Next())
	}
}
