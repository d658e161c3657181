package flagsvc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/testkit"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

const day = 24 * time.Hour

func (w *world) secret(name string) *configv1.Secret {
	w.t.Helper()
	r, err := w.secrets("dave").GetSecret(ctxT(w.t), &configv1.GetSecretRequest{Environment: "staging", Name: name})
	if err != nil {
		w.t.Fatal(err)
	}
	return r.GetSecret()
}

func (w *world) advance(d time.Duration) { w.offset.Add(int64(d)) }

func live(sec *configv1.Secret) []uint64 {
	var out []uint64
	for _, v := range sec.GetVersions() {
		if !v.GetRevoked() {
			out = append(out, v.GetVersion())
		}
	}
	return out
}

// The guide's policy on a fixed clock: rotated at 30 days, both versions
// live for the 7 days' grace, the old one revoked after it — with the
// service restarted in the middle of the grace.
func TestRotationOnSchedule(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	dave := w.secrets("dave")
	if _, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: "api/key", Value: []byte("first-value"), Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	policy := &configv1.RotationPolicy{Rotator: &configv1.RotationPolicy_Generate{Generate: &configv1.GenerateRotator{}}}
	set, err := dave.SetRotationPolicy(ctx, &configv1.SetRotationPolicyRequest{Environment: "staging", Name: "api/key", Policy: policy, Reason: "the guide's policy"})
	if err != nil {
		t.Fatal(err)
	}
	p := set.GetSecret().GetRotation()
	if p.GetInterval().AsDuration() != 30*day || p.GetGrace().AsDuration() != 7*day || p.GetGenerate().GetLength() != 32 || p.GetGenerate().GetAlphabet() != "alphanumeric" {
		t.Fatalf("defaults: %v", p)
	}
	start := set.GetSecret().GetNextRotation().AsTime().Add(-30 * day)

	w.advance(29 * day)
	time.Sleep(200 * time.Millisecond) // ten scheduler ticks: nothing is due yet
	if v := live(w.secret("api/key")); len(v) != 1 {
		t.Fatalf("rotated before 30 days: live %v", v)
	}

	w.advance(day + time.Minute)
	testkit.Eventually(t, func() error {
		if v := live(w.secret("api/key")); len(v) != 2 {
			return fmt.Errorf("live versions %v", v)
		}
		return nil
	})
	sec := w.secret("api/key")
	v1, v2 := sec.GetVersions()[0], sec.GetVersions()[1]
	if v2.GetActor() != "system:secret-scheduler" || v2.GetReason() != "scheduled rotation" {
		t.Fatalf("rotation recorded as %s: %q", v2.GetActor(), v2.GetReason())
	}
	// (decided just before the append that stamps Created)
	if grace := v1.GetExpires().AsTime().Sub(v2.GetCreated().AsTime()); grace < 7*day-time.Second || grace > 7*day {
		t.Fatalf("grace %s", grace)
	}
	if next := sec.GetNextRotation().AsTime().Sub(start); next < 60*day || next > 60*day+2*time.Minute {
		t.Fatalf("next rotation %s after the first put", next)
	}

	// Restart in the middle of the grace: the timers are in the log.
	w.advance(3 * day)
	w.Restart()
	if v := live(w.secret("api/key")); len(v) != 2 {
		t.Fatalf("after the restart, live %v", v)
	}
	w.advance(4*day + time.Minute)
	testkit.Eventually(t, func() error {
		if v := live(w.secret("api/key")); len(v) != 1 || v[0] != 2 {
			return fmt.Errorf("live versions %v", v)
		}
		return nil
	})
	v1 = w.secret("api/key").GetVersions()[0]
	if v1.GetRevokedBy() != "system:secret-scheduler" {
		t.Fatalf("revoked by %q", v1.GetRevokedBy())
	}
}

// Rotators that run a command: its output is the value; a failure is an
// alert event whose text holds neither the value nor the output, retried
// with a backoff; a secret rotated by hand is reported overdue once.
func TestRotators(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	dave := w.secrets("dave")
	for _, name := range []string{"ext/token", "broken", "by-hand"} {
		if _, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: name, Value: []byte("v1-" + name), Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	execPolicy := func(script string) *configv1.RotationPolicy {
		return &configv1.RotationPolicy{Interval: durationpb.New(time.Hour), Grace: durationpb.New(time.Minute),
			Rotator: &configv1.RotationPolicy_Exec{Exec: &configv1.ExecRotator{Command: []string{"sh", "-c", script}}}}
	}
	if _, err := dave.SetRotationPolicy(ctx, &configv1.SetRotationPolicyRequest{Environment: "staging", Name: "ext/token",
		Policy: execPolicy(`printf 'new-%s-%s\n' "$FLOE_SECRET_NAME" "$FLOE_SECRET_VERSION"`), Reason: "external"}); err != nil {
		t.Fatal(err)
	}
	r, err := dave.RotateSecret(ctx, &configv1.RotateSecretRequest{Environment: "staging", Name: "ext/token", Reason: "now"})
	if err != nil || r.GetVersion().GetVersion() != 2 {
		t.Fatalf("exec rotation: %v %v", r, err)
	}

	leak := "LEAKED-OUTPUT-" + fmt.Sprint(time.Now().UnixNano())
	if _, err := dave.SetRotationPolicy(ctx, &configv1.SetRotationPolicyRequest{Environment: "staging", Name: "broken",
		Policy: execPolicy(`echo ` + leak + `; echo ` + leak + ` >&2; exit 3`), Reason: "flaky"}); err != nil {
		t.Fatal(err)
	}
	_, err = dave.RotateSecret(ctx, &configv1.RotateSecretRequest{Environment: "staging", Name: "broken", Reason: "now"})
	if status.Code(err) != codes.Unavailable || strings.Contains(err.Error(), leak) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("a failing rotator: %v", err)
	}
	b := w.secret("broken")
	if b.GetRotationAttempts() != 1 || b.GetRotationError() == "" || strings.Contains(b.GetRotationError(), leak) || len(live(b)) != 1 {
		t.Fatalf("after the failure: attempts %d, error %q, live %v", b.GetRotationAttempts(), b.GetRotationError(), live(b))
	}
	if retry := b.GetNextRotation().AsTime().Sub(time.Now().Add(time.Duration(w.offset.Load()))); retry < 50*time.Second || retry > 2*time.Minute {
		t.Fatalf("retry in %s, want about a minute", retry)
	}

	bad := []*configv1.RotationPolicy{
		{Interval: durationpb.New(time.Second), Rotator: &configv1.RotationPolicy_Manual{Manual: &configv1.ManualRotator{}}},
		{Interval: durationpb.New(time.Hour), Grace: durationpb.New(2 * time.Hour), Rotator: &configv1.RotationPolicy_Manual{Manual: &configv1.ManualRotator{}}},
		{Rotator: &configv1.RotationPolicy_Generate{Generate: &configv1.GenerateRotator{Length: 8}}},
		{Rotator: &configv1.RotationPolicy_Generate{Generate: &configv1.GenerateRotator{Alphabet: "emoji"}}},
		{Rotator: &configv1.RotationPolicy_Exec{Exec: &configv1.ExecRotator{}}},
		{},
	}
	for i, p := range bad {
		if _, err := dave.SetRotationPolicy(ctx, &configv1.SetRotationPolicyRequest{Environment: "staging", Name: "by-hand", Policy: p, Reason: "x"}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("bad policy %d: %v", i, err)
		}
	}
	if _, err := dave.SetRotationPolicy(ctx, &configv1.SetRotationPolicyRequest{Environment: "staging", Name: "by-hand", Reason: "by hand",
		Policy: &configv1.RotationPolicy{Interval: durationpb.New(time.Hour), Grace: durationpb.New(time.Minute), Rotator: &configv1.RotationPolicy_Manual{Manual: &configv1.ManualRotator{}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dave.RotateSecret(ctx, &configv1.RotateSecretRequest{Environment: "staging", Name: "by-hand", Reason: "now"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("rotating a secret rotated by hand: %v", err)
	}
	w.advance(time.Hour + time.Minute)
	testkit.Eventually(t, func() error {
		if w.secret("by-hand").GetOverdueSince() == nil {
			return fmt.Errorf("not reported overdue")
		}
		return nil
	})
	// Putting its value by hand ends the overdue state.
	if _, err := dave.PutSecret(ctx, &configv1.PutSecretRequest{Environment: "staging", Name: "by-hand", Value: []byte("v2"), Reason: "rotated by hand"}); err != nil {
		t.Fatal(err)
	}
	if s := w.secret("by-hand"); s.GetOverdueSince() != nil || s.GetNextRotation().AsTime().Before(time.Now().Add(time.Duration(w.offset.Load())+50*time.Minute)) {
		t.Fatalf("after a put by hand: overdue %v, next %v", s.GetOverdueSince(), s.GetNextRotation())
	}
}
