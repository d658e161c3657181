package episode_test

import (
	"testing"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
)

// knownTypes are the notifiable and the ignored types, in a fixed order.
func knownTypes() []string {
	var out []string
	for _, ti := range episode.Types() {
		out = append(out, ti.Type)
	}
	for _, ig := range episode.Ignored() {
		out = append(out, ig.Type)
	}
	return out
}

// FuzzMap: whatever the body and aggregate id of an event of a known type,
// Map answers (told, not told, or an error) and never panics; what it tells
// routing accepts. Learning scopes from the same events never panics either.
func FuzzMap(f *testing.F) {
	types := knownTypes()
	seeds := []string{
		`{}`, `null`, `[]`, `{{`, `"x"`,
		`{"deploymentId":"d-1","releaseId":"r","environment":"production","version":"1.0.0","reason":"x","strategyType":"DEPLOYMENT_STRATEGY_CANARY","attempt":2}`,
		`{"change":{"rule":"r","notify":true,"severityType":"SEVERITY_CRITICAL","labels":{"environment":"prod","":"x"},"fromState":"ALERT_STATE_FIRING","from":"pending","value":"NaN"}}`,
		`{"gate":"g","outcome":"GATE_OUTCOME_FAILED","expiresAt":"2026-01-01T00:00:00Z"}`,
		`{"key":"k","state":"FLAG_STATE_ENABLED","rollout":{"variant":"on","gradual":{"steps":3}},"deploymentId":""}`,
		`{"name":"db/password","version":"18446744073709551615","retryAt":"9999-12-31T23:59:59Z","source":99,"proposal":"1"}`,
		`{"verdict":{"resultType":"VERDICT_RESULT_FAIL","checks":[{"trigger":"t","result":"inconclusive"}]},"step":4294967295}`,
		`{"position":"1","aggregate":"release","baseline":{"product":"p","gate":"g","suite":"s","errors":3}}`,
	}
	for i := range types {
		f.Add(uint16(i), "production", []byte(seeds[i%len(seeds)]))
	}
	f.Add(uint16(0), "", []byte(`{}`))
	f.Fuzz(func(t *testing.T, which uint16, id string, data []byte) {
		ev := &eventstore.RecordedEvent{
			Seq: 1, Type: types[int(which)%len(types)], AggregateID: id, Subject: "floe.evt.x." + id + ".Y", Actor: "fuzz", Data: data,
		}
		table := episode.NewScopeTable()
		_ = table.Observe(ev)
		e, ok, err := episode.Mapper{Scopes: table}.Map(ev)
		if ok && err != nil {
			t.Fatalf("told and an error: %v", err)
		}
		if ok {
			if verr := e.Validate(); verr != nil {
				t.Fatalf("routing rejects %+v: %v", e, verr)
			}
			if e.Annotations["summary"] == "" {
				t.Fatalf("no summary: %+v", e)
			}
		}
	})
}
