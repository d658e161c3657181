package flagsvc_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

var users = map[string][]auth.RoleBinding{
	"alice": testkit.Roles(auth.RoleDeveloper),  // flag.write
	"dave":  testkit.Roles(auth.RoleOperations), // flag.write, flag.kill
	"grace": testkit.Roles(auth.RoleSupport),    // reads
	// approvers of the built-in environments' policy
	"bob":   testkit.Roles(auth.RoleReleaseManager),
	"carol": testkit.Roles(auth.RoleQA),
	"erin":  testkit.Roles(auth.RoleSecurity),
	// reads in staging only
	"sam": {{Role: auth.RoleSupport, Environments: []string{"staging"}}},
}

type world struct {
	*testkit.Process
	log    *testkit.SyncBuffer // the process's log, at debug level
	t      testing.TB
	offset atomic.Int64
}

func start(t testing.TB) *world {
	w := &world{t: t, log: &testkit.SyncBuffer{}}
	keys := filepath.Join(t.TempDir(), "secrets.keyring")
	if _, err := secrets.CreateKeyringFile(keys); err != nil {
		t.Fatal(err)
	}
	w.Process = testkit.Start(t, testkit.Options{
		Log:   w.log,
		Users: users,
		Clock: func() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) },
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(flagsvc.Service, flagsvc.Config{Options: flagsvc.Options{TickInterval: 20 * time.Millisecond, OFREPAddr: "127.0.0.1:0", Secrets: secretsetup.Config{Keyring: keys}}})}
		},
		Writers: map[string][]string{"release": {"release"}}, // the test plays the release service
	})
	return w
}

func (w *world) flags(user string) flagv1.FlagServiceClient {
	return flagv1.NewFlagServiceClient(w.Conn(user))
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func welcome() *flagv1.Flag {
	return &flagv1.Flag{
		Environment: "production", Key: "new-welcome", Description: "the new welcome banner", Owner: "growth",
		Variants:       map[string]*structpb.Value{"on": structpb.NewBoolValue(true), "off": structpb.NewBoolValue(false)},
		DefaultVariant: "off", Tags: []string{"growth"},
	}
}

func (w *world) get(user string) *flagv1.Flag {
	w.t.Helper()
	r, err := w.flags(user).GetFlag(ctxT(w.t), &flagv1.GetFlagRequest{Environment: "production", Key: "new-welcome"})
	if err != nil {
		w.t.Fatal(err)
	}
	return r.GetFlag()
}

func pct(p uint32) *flagv1.Rollout {
	return &flagv1.Rollout{Variant: "on", Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: p}}}
}

// The flag's life through the API: created, rolled out under a release,
// killed, brought back on a schedule, its release rolled back — each change
// in its history with who and why.
func TestFlagLifecycle(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	if _, err := w.flags("grace").CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: welcome(), Reason: "launch"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("create by support: %v", err)
	}
	bad := welcome()
	bad.DefaultVariant = "maybe"
	if _, err := w.flags("alice").CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: bad, Reason: "launch"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "flag.default_variant") {
		t.Fatalf("bad definition: %v", err)
	}
	if _, err := w.flags("alice").CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: welcome(), Reason: "launch"}); err != nil {
		t.Fatal(err)
	}
	// Rolled out under release r2 (as the deployer's feature-flag strategy would).
	for _, p := range []uint32{10, 50} {
		if _, err := w.flags("alice").SetRollout(ctx, &flagv1.SetRolloutRequest{Environment: "production", Key: "new-welcome", Rollout: pct(p), Reason: "canary", ReleaseId: "r2"}); err != nil {
			t.Fatal(err)
		}
	}
	if f := w.get("grace"); !strings.Contains(f.GetTargeting(), `"fractional":[["on",50],["off",50]]`) || f.GetPosition() == 0 {
		t.Fatalf("after the rollout: %v", f)
	}
	// The kill switch: operations only.
	if _, err := w.flags("alice").KillFlag(ctx, &flagv1.KillFlagRequest{Environment: "production", Key: "new-welcome", Reason: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("kill by a developer: %v", err)
	}
	if _, err := w.flags("dave").KillFlag(ctx, &flagv1.KillFlagRequest{Environment: "production", Key: "new-welcome", Reason: "INC-7: banner breaks checkout"}); err != nil {
		t.Fatal(err)
	}
	if f := w.get("grace"); f.GetState() != flagv1.FlagState_FLAG_STATE_DISABLED || f.GetKill().GetBy() != "dave" {
		t.Fatalf("killed: %v", f)
	}
	// Enabled again at a scheduled time: the scheduler applies it when it is due.
	at := time.Now().Add(time.Hour)
	sc, err := w.flags("alice").ScheduleChange(ctx, &flagv1.ScheduleChangeRequest{Environment: "production", Key: "new-welcome", At: timestamppb.New(at),
		Change: &flagv1.FlagChange{Change: &flagv1.FlagChange_State{State: flagv1.FlagState_FLAG_STATE_ENABLED}}, Reason: "fix deployed by then"})
	if err != nil {
		t.Fatal(err)
	}
	if f := w.get("grace"); len(f.GetScheduled()) != 1 || f.GetState() != flagv1.FlagState_FLAG_STATE_DISABLED {
		t.Fatalf("scheduled: %v", f)
	}
	w.offset.Store(int64(time.Hour + time.Second))
	testkit.Eventually(t, func() error {
		if f := w.get("grace"); f.GetState() != flagv1.FlagState_FLAG_STATE_ENABLED || len(f.GetScheduled()) != 0 {
			return fmt.Errorf("not applied yet: %v", f.GetState())
		}
		return nil
	})
	// Release r2 is rolled back in production: the rollout it made is reverted.
	if _, err := w.Store("release").Append(ctx, "release", "r2", eventstore.NoStream, eventstore.Meta{Actor: "system:release"},
		eventstore.Event{Message: &releasev1.ReleaseRolledBack{Environment: "production", DeploymentId: "d9", RestoredVersion: "1.0.0", Reason: "error rate 12% > 10% for 300s"}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, func() error {
		if f := w.get("grace"); f.GetTargeting() != "" || f.GetRollout() != nil {
			return fmt.Errorf("not reverted yet: %q", f.GetTargeting())
		}
		return nil
	})
	h, err := w.flags("grace").GetFlagHistory(ctx, &flagv1.GetFlagHistoryRequest{Environment: "production", Key: "new-welcome"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range h.GetEntries() {
		lines = append(lines, e.GetActor()+": "+e.GetSummary()+" ("+e.GetReason()+")")
	}
	got := strings.Join(lines, "\n")
	// Time travel: at the kill, the flag was disabled by dave; just before it, enabled at 50 %.
	for _, e := range h.GetEntries() {
		if !strings.Contains(e.GetSummary(), "KILLED") {
			continue
		}
		at, err := w.flags("grace").GetFlag(ctx, &flagv1.GetFlagRequest{Environment: "production", Key: "new-welcome", AsOfPosition: e.GetPosition()})
		if err != nil || at.GetFlag().GetState() != flagv1.FlagState_FLAG_STATE_DISABLED || at.GetFlag().GetKill().GetBy() != "dave" {
			t.Errorf("as of the kill (position %d): %v %v", e.GetPosition(), err, at.GetFlag())
		}
		before, err := w.flags("grace").ListFlags(ctx, &flagv1.ListFlagsRequest{Environment: "production", AsOfPosition: e.GetPosition() - 1})
		if err != nil || len(before.GetFlags()) != 1 || before.GetFlags()[0].GetState() != flagv1.FlagState_FLAG_STATE_ENABLED ||
			!strings.Contains(before.GetFlags()[0].GetTargeting(), `["on",50]`) {
			t.Errorf("as of just before the kill (position %d): %v %v", e.GetPosition()-1, err, before.GetFlags())
		}
	}
	// An environment whose flag set had no event by then: NotFound.
	if _, err := w.flags("grace").ListFlags(ctx, &flagv1.ListFlagsRequest{Environment: "staging", AsOfPosition: 2}); status.Code(err) != codes.NotFound {
		t.Errorf("staging's flags as of position 2: %v, want NotFound", err)
	}
	for _, want := range []string{"alice: created (enabled, default off) (launch)", "alice: rollout: on for 10% (canary)", "dave: KILLED (INC-7",
		"alice: change " + sc.GetChange().GetId() + " scheduled", "scheduled change " + sc.GetChange().GetId() + " applied", "enabled (scheduled by alice: fix deployed by then)",
		"reverted: release r2 was rolled back (enabled) (error rate 12% > 10% for 300s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("history lacks %q:\n%s", want, got)
		}
	}
}

func evaluate(t *testing.T, w *world, key string, ctx map[string]any) *flagv1.Evaluation {
	t.Helper()
	c, err := structpb.NewStruct(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.flags("grace").Evaluate(ctxT(t), &flagv1.EvaluateRequest{Environment: "production", Key: key, Context: c, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetEvaluation()
}

// Flags imported from a flagd file evaluate as flagd would, export back,
// and the kill switch takes effect on the next evaluation.
func TestEvaluateImportExport(t *testing.T) {
	w := start(t)
	ctx := ctxT(t)
	def := []byte(`{
  "flags": {
    "new-welcome": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "off",
      "targeting": {"if": [{"$ref": "staff"}, "on", {"fractional": [["on", 50], ["off", 50]]}]}
    },
    "banner-color": {"state": "ENABLED", "variants": {"red": "#c00", "blue": "#00c"}, "defaultVariant": "red"}
  },
  "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@penguinmails.com"]}}
}`)
	bad := []byte(`{"flags": {"x": {"state": "ENABLED", "variants": {"a": true}, "defaultVariant": "b"}}}`)
	if _, err := w.flags("alice").ImportFlagd(ctx, &flagv1.ImportFlagdRequest{Environment: "production", Definition: bad, Reason: "import"}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "flags.x.defaultVariant") {
		t.Fatalf("a bad flagd file: %v", err)
	}
	imp, err := w.flags("alice").ImportFlagd(ctx, &flagv1.ImportFlagdRequest{Environment: "production", Definition: def, Reason: "from flagd"})
	if err != nil || len(imp.GetFlags()) != 2 {
		t.Fatalf("import: %v %v", imp, err)
	}
	testkit.Eventually(t, func() error {
		if e := evaluate(t, w, "banner-color", nil); e.GetValue().GetStringValue() != "#c00" || e.GetReason() != "STATIC" {
			return fmt.Errorf("banner-color: %v", e)
		}
		return nil
	})
	if e := evaluate(t, w, "new-welcome", map[string]any{"targetingKey": "u1", "email": "erin@penguinmails.com"}); !e.GetValue().GetBoolValue() || e.GetReason() != "TARGETING_MATCH" || e.GetMetadata().GetFields()["floe.position"].GetNumberValue() == 0 {
		t.Fatalf("staff: %v", e)
	}
	on := 0
	for i := range 200 {
		e := evaluate(t, w, "new-welcome", map[string]any{"targetingKey": fmt.Sprintf("user-%d", i), "email": "x@example.com"})
		if e.GetValue().GetBoolValue() {
			on++
		}
		if again := evaluate(t, w, "new-welcome", map[string]any{"targetingKey": fmt.Sprintf("user-%d", i), "email": "x@example.com"}); again.GetValue().GetBoolValue() != e.GetValue().GetBoolValue() {
			t.Fatalf("user-%d is not bucketed stably", i)
		}
	}
	if on < 70 || on > 130 {
		t.Fatalf("a 50%% split gave %d of 200", on)
	}
	if e := evaluate(t, w, "nope", nil); e.GetErrorCode() != "FLAG_NOT_FOUND" {
		t.Fatalf("unknown flag: %v", e)
	}
	exp, err := w.flags("grace").ExportFlagd(ctx, &flagv1.ExportFlagdRequest{Environment: "production"})
	if err != nil || !strings.Contains(string(exp.GetDefinition()), `"ends_with"`) || !strings.Contains(string(exp.GetDefinition()), `"floe.position"`) {
		t.Fatalf("export: %s %v", exp.GetDefinition(), err)
	}
	if _, err := w.flags("dave").KillFlag(ctx, &flagv1.KillFlagRequest{Environment: "production", Key: "new-welcome", Reason: "INC-8"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, func() error {
		if e := evaluate(t, w, "new-welcome", map[string]any{"targetingKey": "u1", "email": "erin@penguinmails.com"}); e.GetReason() != "DISABLED" {
			return fmt.Errorf("after the kill: %v", e)
		}
		return nil
	})
	all, err := w.flags("grace").EvaluateAll(ctx, &flagv1.EvaluateAllRequest{Environment: "production"})
	if err != nil || len(all.GetEvaluations()) != 2 || all.GetVersion() == 0 {
		t.Fatalf("evaluate all: %v %v", all, err)
	}
}
