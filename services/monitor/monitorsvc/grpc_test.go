package monitorsvc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/penguinmails/floe/libs/enumtext"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/ident/identtest"
	"github.com/penguinmails/floe/libs/testkit"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
	"github.com/penguinmails/floe/services/monitor/internal/ports"
)

func queueTrigger(name string, threshold float64) *monitorv1.RollbackTrigger {
	return &monitorv1.RollbackTrigger{
		Name: name, Metric: "max(test_queue_depth)", Operator: ">", Threshold: threshold,
		Duration: durationpb.New(time.Minute), Action: "alert", Cooldown: durationpb.New(5 * time.Minute),
		NoData: "hold", Enabled: true,
	}
}

func queueRule(name string, severity string) *monitorv1.AlertRule {
	return &monitorv1.AlertRule{
		Name: name, Description: "queue backlog", Condition: "test_queue_depth > 1000", Severity: severity,
		Channels: []string{"slack", "email"}, For: durationpb.New(2 * time.Minute), Cooldown: durationpb.New(10 * time.Minute),
		Enabled: true,
	}
}

// withVersion is a copy of m with its version set, for comparing with what the service returns.
func withVersion[T interface {
	proto.Message
	comparable
}](m T, v uint64) T {
	c := proto.Clone(m).(T)
	switch x := any(c).(type) {
	case *monitorv1.RollbackTrigger:
		x.Version = v
	case *monitorv1.AlertRule:
		x.Version = v
	}
	return c
}

// wantProto compares got with want, where want is written as a client
// that only knows the text fields would (the requests here are such
// clients): the service answers with the typed enum beside each text.
func wantProto(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	want = proto.Clone(want)
	switch w := want.(type) {
	case *monitorv1.RollbackTrigger:
		w.ActionType, _ = enumtext.Parse[monitorv1.TriggerAction](w.GetAction())
	case *monitorv1.AlertRule:
		w.SeverityType, _ = enumtext.Parse[monitorv1.Severity](w.GetSeverity())
	}
	if !proto.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestTriggerValidation: a trigger with many bad fields is refused with one
// InvalidArgument listing every violation under "trigger.", for create and
// update alike, and nothing is recorded.
func TestTriggerValidation(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops := e.client("ops")
	bad := &monitorv1.RollbackTrigger{
		Name: "a.b", Metric: "rate(x[", Operator: "=>", Threshold: 1,
		Duration: durationpb.New(-time.Second), Action: "explode", Cooldown: durationpb.New(-time.Minute), NoData: "maybe",
	}
	want := map[string]string{
		"trigger.name": "letters, digits", "trigger.metric": "PromQL", "trigger.operator": `"=>"`,
		"trigger.duration": "negative", "trigger.action": `"explode"`, "trigger.cooldown": "negative", "trigger.no_data": `"maybe"`,
	}
	_, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: bad})
	wantViolations(t, "create", err, want)
	_, err = ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: bad, ExpectedVersion: 1})
	wantViolations(t, "update", err, want)

	cases := []struct {
		name string
		tr   *monitorv1.RollbackTrigger
		want map[string]string
	}{
		{"empty trigger", &monitorv1.RollbackTrigger{}, map[string]string{
			"trigger.name": "required", "trigger.metric": "empty", "trigger.operator": `""`, "trigger.action": `""`,
		}},
		// proto3 doubles carry NaN and infinities; neither is a threshold.
		{"NaN threshold", func() *monitorv1.RollbackTrigger { x := queueTrigger("t1", 0); x.Threshold = math.NaN(); return x }(),
			map[string]string{"trigger.threshold": "finite"}},
		{"infinite threshold", func() *monitorv1.RollbackTrigger { x := queueTrigger("t1", 0); x.Threshold = math.Inf(-1); return x }(),
			map[string]string{"trigger.threshold": "finite"}},
		{"name starting with a dash", queueTrigger("-t1", 1), map[string]string{"trigger.name": "starting with a letter or digit"}},
		{"name of 65 characters", queueTrigger(strings.Repeat("n", 65), 1), map[string]string{"trigger.name": "1-64"}},
		{"unknown named metric that is not PromQL either", func() *monitorv1.RollbackTrigger {
			x := queueTrigger("t1", 1)
			x.Metric = "error rate"
			return x
		}(), map[string]string{"trigger.metric": "neither a named metric"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: tc.tr})
			wantViolations(t, "create", err, tc.want)
		})
	}

	_, err = ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{})
	wantViolations(t, "create without a trigger", err, map[string]string{"trigger": "required"})
	_, err = ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{ExpectedVersion: 1})
	wantViolations(t, "update without a trigger", err, map[string]string{"trigger": "required"})
	for _, name := range []string{"a.b", "", "x y", "a>", "-t1"} {
		want := map[string]string{"name": "not a valid name"}
		if name == "" {
			want = map[string]string{"name": "is required"}
		}
		_, err = ops.GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: name})
		wantViolations(t, fmt.Sprintf("get %q", name), err, want)
		_, err = ops.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: name})
		wantViolations(t, fmt.Sprintf("delete %q", name), err, want)
	}
	if got := listTriggers(t, e); len(got) != 0 {
		t.Errorf("refused requests recorded triggers: %v", got)
	}
}

// TestAlertRuleValidation: the same for alert rules, under "rule.".
func TestAlertRuleValidation(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops := e.client("ops")
	bad := &monitorv1.AlertRule{
		Name: "a.b", Condition: "rate(x[", Severity: "urgent",
		For: durationpb.New(-time.Second), Cooldown: durationpb.New(-time.Minute),
	}
	want := map[string]string{
		"rule.name": "letters, digits", "rule.condition": "PromQL", "rule.severity": `"urgent"`, "rule.channels": "at least one",
		"rule.for": "negative", "rule.cooldown": "negative",
	}
	_, err := ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: bad})
	wantViolations(t, "create", err, want)
	_, err = ops.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{Rule: bad})
	wantViolations(t, "update", err, want)

	r := queueRule("r1", "info")
	r.Condition, r.Channels = "  ", []string{"slack", " ", "slack"}
	_, err = ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: r})
	wantViolations(t, "blank condition, bad channels", err, map[string]string{
		"rule.condition": "empty", "rule.channels[1]": "empty", "rule.channels[2]": "twice",
	})

	_, err = ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{})
	wantViolations(t, "create without a rule", err, map[string]string{"rule": "required"})
	_, err = ops.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{ExpectedVersion: 3})
	wantViolations(t, "update without a rule", err, map[string]string{"rule": "required"})
	_, err = ops.GetAlertRule(ctxT(t), &monitorv1.GetAlertRuleRequest{Name: "a.b"})
	wantViolations(t, "get a.b", err, map[string]string{"name": "not a valid name"})
	_, err = ops.DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "a.b", ExpectedVersion: 1})
	wantViolations(t, "delete a.b", err, map[string]string{"name": "not a valid name"})
	if got := listRules(t, e); len(got) != 0 {
		t.Errorf("refused requests recorded rules: %v", got)
	}
}

// TestTriggerLifecycle: create → v1, create again → AlreadyExists, update
// with the right expected version → v2, with a stale one → Aborted
// (CONCURRENCY_CONFLICT), delete → gone (NotFound), create again → v3 (the
// version continues past the deleted one). The list shows each step as soon
// as the RPC returns, and a version the client sends is ignored.
func TestTriggerLifecycle(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops, sup := e.client("ops"), e.client("sup")
	listed := func(step string, want map[string]uint64) {
		t.Helper()
		if got := versions(listTriggers(t, e)); !maps.Equal(got, want) {
			t.Fatalf("after %s, list = %v, want %v", step, got, want)
		}
	}
	def := queueTrigger("queue_depth", 100)
	def.Version = 42 // ignored
	created, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: def})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "created", created.GetTrigger(), withVersion(def, 1))
	listed("create", map[string]uint64{"queue_depth": 1})
	got, err := sup.GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "queue_depth"})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "get", got.GetTrigger(), withVersion(def, 1))

	_, err = ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger("queue_depth", 1)})
	wantCode(t, "second create", err, codes.AlreadyExists, "ALREADY_EXISTS")
	if md := errorInfo(err).GetMetadata(); md["kind"] != "rollback trigger" || md["id"] != "queue_depth" {
		t.Errorf("AlreadyExists metadata = %v", md)
	}

	upd := queueTrigger("queue_depth", 200)
	resp, err := ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: upd, ExpectedVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "updated", resp.GetTrigger(), withVersion(upd, 2))
	listed("update", map[string]uint64{"queue_depth": 2})
	if th := listTriggers(t, e)[0].GetThreshold(); th != 200 {
		t.Errorf("listed threshold %v after the update, want 200", th)
	}

	_, err = ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: queueTrigger("queue_depth", 300), ExpectedVersion: 1})
	wantCode(t, "stale update", err, codes.Aborted, "CONCURRENCY_CONFLICT")
	if !strings.Contains(status.Convert(err).Message(), "version 2") {
		t.Errorf("stale update message %q does not name the current version", status.Convert(err).Message())
	}
	_, err = ops.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: "queue_depth", ExpectedVersion: 1})
	wantCode(t, "stale delete", err, codes.Aborted, "CONCURRENCY_CONFLICT")
	listed("refused changes", map[string]uint64{"queue_depth": 2})

	if _, err := ops.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: "queue_depth", ExpectedVersion: 2}); err != nil {
		t.Fatal(err)
	}
	listed("delete", map[string]uint64{})
	_, err = sup.GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "queue_depth"})
	wantCode(t, "get deleted", err, codes.NotFound, "NOT_FOUND")
	if md := errorInfo(err).GetMetadata(); md["kind"] != "rollback trigger" || md["id"] != "queue_depth" {
		t.Errorf("NotFound metadata = %v", md)
	}
	_, err = ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: upd})
	wantCode(t, "update deleted", err, codes.NotFound, "NOT_FOUND")
	_, err = ops.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: "queue_depth"})
	wantCode(t, "delete deleted", err, codes.NotFound, "NOT_FOUND")
	_, err = ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: queueTrigger("never", 1)})
	wantCode(t, "update unknown", err, codes.NotFound, "NOT_FOUND")

	again := queueTrigger("queue_depth", 7)
	again.Version = 1 // ignored: the version continues
	resp2, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: again})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "re-created", resp2.GetTrigger(), withVersion(again, 3))
	listed("re-create", map[string]uint64{"queue_depth": 3})
	// expected_version 0 replaces whatever is there.
	resp3, err := ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: queueTrigger("queue_depth", 8)})
	if err != nil || resp3.GetTrigger().GetVersion() != 4 {
		t.Fatalf("update with expected 0 = %v, %v; want version 4", resp3, err)
	}
	listed("update any", map[string]uint64{"queue_depth": 4})

	// The history survives a restart of the service.
	e.restart()
	testkit.Eventually(t, func() error {
		if v := versions(listTriggers(t, e)); !maps.Equal(v, map[string]uint64{"queue_depth": 4}) {
			return fmt.Errorf("trigger versions after the restart %v, want queue_depth at 4", v)
		}
		return nil
	})
	got, err = e.client("sup").GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "queue_depth"})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "get after restart", got.GetTrigger(), withVersion(queueTrigger("queue_depth", 8), 4))
}

// TestAlertRuleLifecycle is TestTriggerLifecycle for alert rules.
func TestAlertRuleLifecycle(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops, sup := e.client("ops"), e.client("sup")
	listed := func(step string, want map[string]uint64) {
		t.Helper()
		if got := versions(listRules(t, e)); !maps.Equal(got, want) {
			t.Fatalf("after %s, list = %v, want %v", step, got, want)
		}
	}
	def := queueRule("queue_backlog", "critical")
	created, err := ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: def})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "created", created.GetRule(), withVersion(def, 1))
	listed("create", map[string]uint64{"queue_backlog": 1})
	got, err := sup.GetAlertRule(ctxT(t), &monitorv1.GetAlertRuleRequest{Name: "queue_backlog"})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "get", got.GetRule(), withVersion(def, 1))

	_, err = ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: queueRule("queue_backlog", "info")})
	wantCode(t, "second create", err, codes.AlreadyExists, "ALREADY_EXISTS")

	upd := queueRule("queue_backlog", "warning")
	upd.Enabled = false
	resp, err := ops.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{Rule: upd, ExpectedVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "updated", resp.GetRule(), withVersion(upd, 2))
	listed("update", map[string]uint64{"queue_backlog": 2})
	if l := listRules(t, e)[0]; l.GetSeverity() != "warning" || l.GetEnabled() {
		t.Errorf("listed %v after the update, want severity warning, disabled", l)
	}

	_, err = ops.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{Rule: queueRule("queue_backlog", "info"), ExpectedVersion: 1})
	wantCode(t, "stale update", err, codes.Aborted, "CONCURRENCY_CONFLICT")
	_, err = ops.DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "queue_backlog", ExpectedVersion: 3})
	wantCode(t, "delete expecting a future version", err, codes.Aborted, "CONCURRENCY_CONFLICT")
	listed("refused changes", map[string]uint64{"queue_backlog": 2})

	if _, err := ops.DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "queue_backlog", ExpectedVersion: 2}); err != nil {
		t.Fatal(err)
	}
	listed("delete", map[string]uint64{})
	_, err = sup.GetAlertRule(ctxT(t), &monitorv1.GetAlertRuleRequest{Name: "queue_backlog"})
	wantCode(t, "get deleted", err, codes.NotFound, "NOT_FOUND")
	if md := errorInfo(err).GetMetadata(); md["kind"] != "alert rule" || md["id"] != "queue_backlog" {
		t.Errorf("NotFound metadata = %v", md)
	}
	_, err = ops.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{Rule: upd})
	wantCode(t, "update deleted", err, codes.NotFound, "NOT_FOUND")
	_, err = ops.DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "queue_backlog", ExpectedVersion: 2})
	wantCode(t, "delete deleted", err, codes.NotFound, "NOT_FOUND")

	again := queueRule("queue_backlog", "info")
	resp2, err := ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: again})
	if err != nil {
		t.Fatal(err)
	}
	wantProto(t, "re-created", resp2.GetRule(), withVersion(again, 3))
	listed("re-create", map[string]uint64{"queue_backlog": 3})

	// A second rule; the list is by name.
	if _, err := e.client("rm").CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: queueRule("a_first", "info")}); err != nil {
		t.Fatal(err)
	}
	if got := names(listRules(t, e)); !slicesEqual(got, []string{"a_first", "queue_backlog"}) {
		t.Errorf("list order %v, want by name", got)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcurrentUpdatesOneWins: 8 concurrent updates all expecting version 1
// → exactly one succeeds (v2), the others get Aborted; the trigger ends at
// version 2 with the winner's content. Concurrent creates of one name make
// one trigger; concurrent deletes delete once.
func TestConcurrentUpdatesOneWins(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops := e.client("ops")
	if _, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger("queue_depth", 1)}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	resps := make([]*monitorv1.UpdateRollbackTriggerResponse, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resps[i], errs[i] = ops.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{
				Trigger: queueTrigger("queue_depth", float64(100+i)), ExpectedVersion: 1,
			})
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch status.Code(err) {
		case codes.OK:
			if winner >= 0 {
				t.Errorf("updates %d and %d both succeeded", winner, i)
			}
			winner = i
			if v := resps[i].GetTrigger().GetVersion(); v != 2 {
				t.Errorf("winning update made version %d, want 2", v)
			}
		case codes.Aborted:
			if r := errorInfo(err).GetReason(); r != "CONCURRENCY_CONFLICT" {
				t.Errorf("update %d: reason %q", i, r)
			}
		default:
			t.Errorf("update %d: %v, want OK or Aborted", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no update succeeded")
	}
	got, err := ops.GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "queue_depth"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTrigger().GetVersion() != 2 || got.GetTrigger().GetThreshold() != float64(100+winner) {
		t.Errorf("final trigger %v, want version 2 with the winner's threshold %d", got.GetTrigger(), 100+winner)
	}
	if v := versions(listTriggers(t, e)); v["queue_depth"] != 2 {
		t.Errorf("listed version %d, want 2", v["queue_depth"])
	}

	// Concurrent creates of one new name: one trigger, the rest AlreadyExists.
	codesOf := func(call func(i int) error) map[codes.Code]int {
		var mu sync.Mutex
		out := map[codes.Code]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c := status.Code(call(i))
				mu.Lock()
				out[c]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	created := codesOf(func(i int) error {
		_, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger("burst", float64(i))})
		return err
	})
	if created[codes.OK] != 1 || created[codes.AlreadyExists] != n-1 {
		t.Errorf("concurrent creates: %v, want 1 OK and %d AlreadyExists", created, n-1)
	}
	deleted := codesOf(func(int) error {
		_, err := ops.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: "burst", ExpectedVersion: 1})
		return err
	})
	if deleted[codes.OK] != 1 || deleted[codes.Aborted]+deleted[codes.NotFound] != n-1 {
		t.Errorf("concurrent deletes: %v, want 1 OK and the rest Aborted or NotFound", deleted)
	}
	if got := sortedNames(listTriggers(t, e)); !slicesEqual(got, []string{"queue_depth"}) {
		t.Errorf("triggers %v, want [queue_depth]", got)
	}
}

// TestAuthorization: monitor.read suffices to read, monitor.write (operations,
// release-manager) is needed to change; a denial names the permission; no
// or an unknown token is Unauthenticated; authorization comes before validation.
func TestAuthorization(t *testing.T) {
	e := startEnv(t, emptyRules())
	if _, err := e.client("ops").CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger("t1", 1)}); err != nil {
		t.Fatalf("operations creates: %v", err)
	}
	if _, err := e.client("rm").CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: queueRule("r1", "info")}); err != nil {
		t.Fatalf("release-manager creates: %v", err)
	}
	writes := map[string]func(c monitorv1.MonitorServiceClient) error{
		"CreateAlertRule": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: queueRule("r2", "info")})
			return err
		},
		"UpdateAlertRule": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{Rule: queueRule("r1", "critical")})
			return err
		},
		"DeleteAlertRule": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.DeleteAlertRule(ctxT(t), &monitorv1.DeleteAlertRuleRequest{Name: "r1"})
			return err
		},
		"CreateRollbackTrigger": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: queueTrigger("t2", 1)})
			return err
		},
		"UpdateRollbackTrigger": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.UpdateRollbackTrigger(ctxT(t), &monitorv1.UpdateRollbackTriggerRequest{Trigger: queueTrigger("t1", 9)})
			return err
		},
		"DeleteRollbackTrigger": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.DeleteRollbackTrigger(ctxT(t), &monitorv1.DeleteRollbackTriggerRequest{Name: "t1"})
			return err
		},
		"CreateRollbackTrigger without a trigger": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{})
			return err
		},
	}
	reads := map[string]func(c monitorv1.MonitorServiceClient) error{
		"ListAlertRules": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.ListAlertRules(ctxT(t), &monitorv1.ListAlertRulesRequest{})
			return err
		},
		"GetAlertRule": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.GetAlertRule(ctxT(t), &monitorv1.GetAlertRuleRequest{Name: "r1"})
			return err
		},
		"ListRollbackTriggers": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.ListRollbackTriggers(ctxT(t), &monitorv1.ListRollbackTriggersRequest{})
			return err
		},
		"GetRollbackTrigger": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.GetRollbackTrigger(ctxT(t), &monitorv1.GetRollbackTriggerRequest{Name: "t1"})
			return err
		},
		"ListAlerts": func(c monitorv1.MonitorServiceClient) error {
			_, err := c.ListAlerts(ctxT(t), &monitorv1.ListAlertsRequest{IncludeResolved: true})
			return err
		},
		"WatchAlerts": func(c monitorv1.MonitorServiceClient) error {
			ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
			defer cancel()
			s, err := c.WatchAlerts(ctx, &monitorv1.WatchAlertsRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, io.EOF) {
				// Accepted, and nothing happened before the deadline (the
				// server ends the stream with OK when its context ends, which
				// may reach the client before its own deadline does).
				return nil
			}
			return err
		},
	}
	for _, user := range []string{"sup", "dev"} {
		for name, call := range reads {
			if err := call(e.client(user)); err != nil {
				t.Errorf("%s %s: %v", user, name, err)
			}
		}
		for name, call := range writes {
			err := call(e.client(user))
			wantCode(t, user+" "+name, err, codes.PermissionDenied, "PERMISSION_DENIED")
			if p := errorInfo(err).GetMetadata()["permission"]; p != "monitor.write" {
				t.Errorf("%s %s: ErrorInfo permission %q, want monitor.write", user, name, p)
			}
		}
	}
	for name, call := range reads {
		err := call(e.client("nobody"))
		wantCode(t, "nobody "+name, err, codes.PermissionDenied, "PERMISSION_DENIED")
		if p := errorInfo(err).GetMetadata()["permission"]; p != "monitor.read" {
			t.Errorf("nobody %s: ErrorInfo permission %q, want monitor.read", name, p)
		}
	}
	for name, call := range mergeCalls(reads, writes) {
		wantCode(t, "anonymous "+name, call(e.client(anonymous)), codes.Unauthenticated, "UNAUTHENTICATED")
	}
	e.tokens["forged"] = "not-a-token"
	wantCode(t, "unknown token", reads["ListRollbackTriggers"](e.client("forged")), codes.Unauthenticated, "UNAUTHENTICATED")

	// Nothing the denied calls asked for happened.
	if v := versions(listTriggers(t, e)); !maps.Equal(v, map[string]uint64{"t1": 1}) {
		t.Errorf("triggers %v after denied writes, want t1 v1 only", v)
	}
	if v := versions(listRules(t, e)); !maps.Equal(v, map[string]uint64{"r1": 1}) {
		t.Errorf("rules %v after denied writes, want r1 v1 only", v)
	}
}

func mergeCalls[F any](a, b map[string]F) map[string]F {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestUnknownDeploymentAndBadIDs: the deployment reads say NotFound for a
// deployment the monitor never saw, and InvalidArgument for a malformed id;
// so does WatchAlerts; ListAlerts refuses an unknown severity.
func TestUnknownDeploymentAndBadIDs(t *testing.T) {
	e := startEnv(t, emptyRules())
	sup := e.client("sup")
	_, err := sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: "dep-404"})
	wantCode(t, "GetMonitoring unknown", err, codes.NotFound, "NOT_FOUND")
	if md := errorInfo(err).GetMetadata(); md["kind"] != "deployment monitoring" || md["id"] != "dep-404" {
		t.Errorf("NotFound metadata = %v", md)
	}
	_, err = sup.GetAnalysis(ctxT(t), &monitorv1.GetAnalysisRequest{DeploymentId: "dep-404", Step: 2})
	wantCode(t, "GetAnalysis unknown", err, codes.NotFound, "NOT_FOUND")
	for _, id := range []string{"bad id!", "", "a.b", strings.Repeat("d", 65)} {
		want := map[string]string{"deployment_id": "not a valid identifier"}
		if id == "" {
			want = map[string]string{"deployment_id": "is required"}
		}
		_, err = sup.GetMonitoring(ctxT(t), &monitorv1.GetMonitoringRequest{DeploymentId: id})
		wantViolations(t, fmt.Sprintf("GetMonitoring %q", id), err, want)
		_, err = sup.GetAnalysis(ctxT(t), &monitorv1.GetAnalysisRequest{DeploymentId: id})
		wantViolations(t, fmt.Sprintf("GetAnalysis %q", id), err, want)
	}
	s, err := sup.WatchAlerts(ctxT(t), &monitorv1.WatchAlertsRequest{DeploymentId: "bad id!"})
	if err == nil {
		_, err = s.Recv()
	}
	wantViolations(t, "WatchAlerts bad id", err, map[string]string{"deployment_id": "not a valid identifier"})

	_, err = sup.ListAlerts(ctxT(t), &monitorv1.ListAlertsRequest{Severity: "bogus"})
	wantViolations(t, "ListAlerts bogus severity", err, map[string]string{"severity": `"bogus"`})
	for _, sev := range []string{"", "critical", "warning", "info"} {
		if _, err := sup.ListAlerts(ctxT(t), &monitorv1.ListAlertsRequest{Severity: sev}); err != nil {
			t.Errorf("ListAlerts severity %q: %v", sev, err)
		}
	}
}

// identifierFields are the monitor's fields that name an aggregate — rule
// and trigger names, deployment ids — each sent as "ops" (monitor.write) by
// an RPC whose other fields are valid. Definitions are disabled, so a valid
// name that creates one starts no evaluation that could write to the log.
func identifierFields(e *env) []identtest.Field {
	ops := e.client("ops")
	name := func(rpc, field string, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: field, Rule: domain.NameRule.Pattern, Valid: domain.NameRule.Valid, Call: call}
	}
	deployment := func(rpc string, optional bool, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: "deployment_id", Optional: optional, Rule: ident.Pattern, Call: call}
	}
	rule := func(v string) *monitorv1.AlertRule { r := queueRule(v, "info"); r.Enabled = false; return r }
	trigger := func(v string) *monitorv1.RollbackTrigger { tr := queueTrigger(v, 1); tr.Enabled = false; return tr }
	return []identtest.Field{
		name("CreateAlertRule", "rule.name", func(ctx context.Context, v string) error {
			_, err := ops.CreateAlertRule(ctx, &monitorv1.CreateAlertRuleRequest{Rule: rule(v)})
			return err
		}),
		name("UpdateAlertRule", "rule.name", func(ctx context.Context, v string) error {
			_, err := ops.UpdateAlertRule(ctx, &monitorv1.UpdateAlertRuleRequest{Rule: rule(v)})
			return err
		}),
		name("GetAlertRule", "name", func(ctx context.Context, v string) error {
			_, err := ops.GetAlertRule(ctx, &monitorv1.GetAlertRuleRequest{Name: v})
			return err
		}),
		name("DeleteAlertRule", "name", func(ctx context.Context, v string) error {
			_, err := ops.DeleteAlertRule(ctx, &monitorv1.DeleteAlertRuleRequest{Name: v})
			return err
		}),
		name("CreateRollbackTrigger", "trigger.name", func(ctx context.Context, v string) error {
			_, err := ops.CreateRollbackTrigger(ctx, &monitorv1.CreateRollbackTriggerRequest{Trigger: trigger(v)})
			return err
		}),
		name("UpdateRollbackTrigger", "trigger.name", func(ctx context.Context, v string) error {
			_, err := ops.UpdateRollbackTrigger(ctx, &monitorv1.UpdateRollbackTriggerRequest{Trigger: trigger(v)})
			return err
		}),
		name("GetRollbackTrigger", "name", func(ctx context.Context, v string) error {
			_, err := ops.GetRollbackTrigger(ctx, &monitorv1.GetRollbackTriggerRequest{Name: v})
			return err
		}),
		name("DeleteRollbackTrigger", "name", func(ctx context.Context, v string) error {
			_, err := ops.DeleteRollbackTrigger(ctx, &monitorv1.DeleteRollbackTriggerRequest{Name: v})
			return err
		}),
		deployment("GetMonitoring", false, func(ctx context.Context, v string) error {
			_, err := ops.GetMonitoring(ctx, &monitorv1.GetMonitoringRequest{DeploymentId: v})
			return err
		}),
		deployment("GetAnalysis", false, func(ctx context.Context, v string) error {
			_, err := ops.GetAnalysis(ctx, &monitorv1.GetAnalysisRequest{DeploymentId: v})
			return err
		}),
		deployment("WatchAlerts", true, func(ctx context.Context, v string) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel() // an accepted watch runs until cancelled
			stream, err := ops.WatchAlerts(ctx, &monitorv1.WatchAlertsRequest{DeploymentId: v})
			if err != nil {
				return err
			}
			if hdr, err := stream.Header(); err == nil && len(hdr.Get(ports.WatchStartHeader)) == 1 {
				return nil // live: the id was accepted
			}
			_, err = stream.Recv()
			return err
		}),
	}
}

// TestIdentifierFieldsRefused: a rule or trigger name or a deployment id
// that is not one (NATS wildcards and separators, a space, non-ASCII
// letters, an empty value where one is required, 65 characters, a NUL) is
// InvalidArgument naming the field and its rule, and appends nothing.
func TestIdentifierFieldsRefused(t *testing.T) {
	e := startEnv(t, emptyRules())
	identtest.Run(t, identifierFields(e), e.LogPosition)
}

// FuzzAlertRuleName sends arbitrary names to every RPC that takes a rule or
// trigger name, on one running monitor: never a server fault, and a name
// that breaks the name rule is InvalidArgument and appends nothing.
func FuzzAlertRuleName(f *testing.F) {
	for _, s := range append(identtest.Seeds(), "error_rate", "-t1", "_t1", "HighErrorRate") {
		f.Add(s)
	}
	e := startEnv(f, emptyRules())
	var fields []identtest.Field
	for _, x := range identifierFields(e) {
		if x.Name != "deployment_id" {
			fields = append(fields, x)
		}
	}
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, e.LogPosition) })
}

// FuzzMonitoringDeploymentID sends arbitrary deployment ids to
// GetMonitoring, GetAnalysis and WatchAlerts.
func FuzzMonitoringDeploymentID(f *testing.F) {
	for _, s := range append(identtest.Seeds(), "01JUNKJUNKJUNKJUNKJUNKJUNK-production-1") {
		f.Add(s)
	}
	e := startEnv(f, emptyRules())
	var fields []identtest.Field
	for _, x := range identifierFields(e) {
		if x.Name == "deployment_id" {
			fields = append(fields, x)
		}
	}
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, e.LogPosition) })
}

// Saving a definition answers with the rule linter's findings, as warnings
// that do not block: the guide's literal condition divides each series by
// itself; the ratio it means has none.
func TestSaveAnswersLintWarnings(t *testing.T) {
	e := startEnv(t, emptyRules())
	ops := e.client("ops")
	flawed := &monitorv1.AlertRule{Name: "guide_error_rate", Condition: `rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05`,
		SeverityType: monitorv1.Severity_SEVERITY_CRITICAL, Channels: []string{"slack"}, Enabled: true}
	r, err := ops.CreateAlertRule(ctxT(t), &monitorv1.CreateAlertRuleRequest{Rule: flawed})
	if err != nil {
		t.Fatalf("a flawed condition is saved all the same: %v", err)
	}
	var checks []string
	for _, w := range r.GetWarnings() {
		checks = append(checks, w.GetCheck())
		if w.GetProblem() == "" || w.GetSuggestion() == "" {
			t.Errorf("warning without its problem or suggestion: %v", w)
		}
	}
	if !slices.Contains(checks, "promql/vector_matching") {
		t.Errorf("warnings %v, want promql/vector_matching", checks)
	}
	fixed := proto.CloneOf(flawed)
	fixed.Condition, fixed.For = `sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05`, durationpb.New(2*time.Minute)
	u, err := ops.UpdateAlertRule(ctxT(t), &monitorv1.UpdateAlertRuleRequest{Rule: fixed, ExpectedVersion: r.GetRule().GetVersion()})
	if err != nil || len(u.GetWarnings()) != 0 {
		t.Errorf("the corrected condition: %v warnings %v", err, u.GetWarnings())
	}
	tr, err := ops.CreateRollbackTrigger(ctxT(t), &monitorv1.CreateRollbackTriggerRequest{Trigger: &monitorv1.RollbackTrigger{
		Name: "instant", Metric: "error_rate", Operator: ">", Threshold: 0.1, ActionType: monitorv1.TriggerAction_TRIGGER_ACTION_ROLLBACK, Enabled: true}})
	if err != nil || len(tr.GetWarnings()) == 0 || tr.GetWarnings()[0].GetCheck() != "alerts/for" {
		t.Errorf("a rollback trigger of duration 0: %v warnings %v, want alerts/for", err, tr.GetWarnings())
	}
}
