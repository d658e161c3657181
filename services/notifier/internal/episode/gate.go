package episode

import (
	"fmt"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/enumtext"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const (
	episodeGate     = "gate/<gate run id>/<gate>"
	episodeBaseline = "baseline/<environment>/<product>/<gate>/<suite>"
)

// gate ties the builder to a gate of the run the event's aggregate is.
func (b *builder) gate(name string) {
	b.label("gate_run", b.id)
	b.label("gate", name)
	b.scope(AggregateGateRun, b.id)
	b.episode("gate", b.id, name)
}

func outcomeWords(o gatev1.GateOutcome) string {
	return strings.ReplaceAll(enumtext.Name(o), "_", " ")
}

func gateSpecs() []spec {
	decided := typeName[*gatev1.GateDecided]()
	overridden := typeName[*gatev1.GateOverridden]()
	return []spec{
		ignore[*gatev1.GateDefinitionsSet]("configuration of an environment's gates; the runs they govern are told"),
		ignore[*gatev1.GatesOpened]("a gate run opened, routinely after each deployment; its failures are told (GateDecided), and its scope is learnt"),
		ignore[*gatev1.ResultsReported]("one suite's report; the gate's outcome is told when it changes (GateDecided)"),
		notify(TypeInfo{
			Description: "a gate failed, warned or timed out (it blocks promoting past the environment); told again when it passes",
			Episode:     episodeGate, Severity: routing.SeverityWarning + "; info when passed (resolves)",
			Resolves: true, ResolvedBy: []string{decided, overridden},
		}, func(b *builder, m *gatev1.GateDecided) bool {
			b.gate(m.GetGate())
			b.label("outcome", enumtext.Name(m.GetOutcome()))
			b.note("reason", m.GetReason())
			switch m.GetOutcome() {
			case gatev1.GateOutcome_GATE_OUTCOME_FAILED, gatev1.GateOutcome_GATE_OUTCOME_TIMED_OUT, gatev1.GateOutcome_GATE_OUTCOME_WARNED:
				b.severity(routing.SeverityWarning)
				b.summary("Gate %s of %s%s %s: %s", m.GetGate(), b.what(), b.in(), outcomeWords(m.GetOutcome()), m.GetReason())
				next := "It blocks promoting the release past " + either(b.e.Environment, "the environment") + "."
				if m.GetOutcome() != gatev1.GateOutcome_GATE_OUTCOME_FAILED {
					next += " A gate that allows it may be overridden (floe gate override)."
				}
				b.describe(fmt.Sprintf("The %s gate of %s%s %s.", m.GetGate(), b.what(), b.in(), outcomeWords(m.GetOutcome())), next, because(m.GetReason()))
			case gatev1.GateOutcome_GATE_OUTCOME_PASSED:
				b.resolve()
				b.summary("Gate %s of %s%s passed", m.GetGate(), b.what(), b.in())
			default: // pending again: nothing new to tell; overridden: GateOverridden, just before it, tells who and why
				return false
			}
			return true
		}),
		notify(TypeInfo{
			Description: "someone overrode a warned or timed-out gate (the gate no longer blocks)",
			Episode:     episodeGate, Severity: routing.SeverityWarning, Resolves: true,
		}, func(b *builder, m *gatev1.GateOverridden) bool {
			b.gate(m.GetGate())
			b.severity(routing.SeverityWarning)
			b.resolve()
			b.note("reason", m.GetReason())
			until := "It does not expire."
			if m.GetExpiresAt() != nil {
				at := m.GetExpiresAt().AsTime().UTC().Format(time.RFC3339)
				b.note("expires_at", at)
				until = "It expires at " + at + "."
			}
			b.summary("%s overrode gate %s of %s%s: %s", either(b.ev.Actor, "Someone"), m.GetGate(), b.what(), b.in(), m.GetReason())
			b.describe(fmt.Sprintf("%s overrode the %s gate of %s%s; it no longer blocks the promotion.", either(b.ev.Actor, "Someone"),
				m.GetGate(), b.what(), b.in()), until, because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "someone accepted a suite's SARIF findings as known: later reports fail only on new ones",
			Episode:     episodeBaseline, Severity: ruleAttention, Kind: KindNotice,
		}, func(b *builder, m *gatev1.SarifBaselineAccepted) bool {
			bl := m.GetBaseline()
			b.env(b.id)
			b.product(bl.GetProduct())
			b.label("gate", bl.GetGate())
			b.label("suite", bl.GetSuite())
			b.episode("baseline", b.id, bl.GetProduct(), bl.GetGate(), bl.GetSuite())
			b.notice()
			b.attention()
			who := either(bl.GetAcceptedBy(), either(b.ev.Actor, "Someone"))
			b.note("reason", bl.GetReason())
			b.note("evidence", bl.GetEvidenceDigest())
			b.summary("%s accepted %d known findings of %s (%s gate) for %s%s", who, bl.GetErrors(), bl.GetSuite(), bl.GetGate(), bl.GetProduct(), b.in())
			b.describe(fmt.Sprintf("%s accepted the %d error-level findings of suite %s as known for %s%s: the %s gate now fails only on new ones.",
				who, bl.GetErrors(), bl.GetSuite(), bl.GetProduct(), b.in(), bl.GetGate()), because(bl.GetReason()))
			return true
		}),
		ignore[*gatev1.GateVerdict]("the sum of the run's gates, each told as it changes (GateDecided, GateOverridden)"),
	}
}
