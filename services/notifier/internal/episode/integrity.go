package episode

import (
	"fmt"
	"strconv"

	integrityv1 "github.com/penguinmails/floe/proto/gen/floe/integrity/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const episodeIntegrity = "integrity/<position of the bad event>"

// tamper ties the builder to the bad event at position (the integrity
// aggregate's id is that position).
func (b *builder) tamper(position uint64) string {
	pos := b.id
	if pos == "" && position != 0 {
		pos = strconv.FormatUint(position, 10)
	}
	b.episode("integrity", pos)
	b.note("bad_position", pos)
	return pos
}

func integritySpecs() []spec {
	return []spec{
		notify(TypeInfo{
			Description: "an event of the log fails verification (hash, chain or signature): its aggregate is refused until acknowledged",
			Episode:     episodeIntegrity, Severity: routing.SeverityCritical,
			ResolvedBy: []string{typeName[*integrityv1.TamperAcknowledged]()},
		}, func(b *builder, m *integrityv1.TamperDetected) bool {
			pos := b.tamper(m.GetPosition())
			b.severity(routing.SeverityCritical)
			b.label("aggregate", m.GetAggregate())
			b.label("detected_by", m.GetDetectedBy())
			b.note("subject", m.GetSubject())
			b.note("aggregate_id", m.GetAggregateId())
			b.note("reason", m.GetReason())
			b.summary("Tampered event at position %s (%s %s): %s", pos, m.GetAggregate(), m.GetAggregateId(), m.GetReason())
			b.describe(fmt.Sprintf("%s found that the event at position %s (%s) fails verification; %s %s is refused until an administrator acknowledges it (floe integrity ack %s).",
				either(m.GetDetectedBy(), "A reader"), pos, m.GetSubject(), m.GetAggregate(), m.GetAggregateId(), pos), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "an administrator acknowledged a bad event: readers skip it, its aggregate works again",
			Episode:     episodeIntegrity, Severity: routing.SeverityInfo, Resolves: true,
		}, func(b *builder, m *integrityv1.TamperAcknowledged) bool {
			pos := b.tamper(m.GetPosition())
			b.resolve()
			b.note("reason", m.GetReason())
			b.summary("Bad event at position %s acknowledged by %s: %s", pos, either(b.ev.Actor, "an administrator"), m.GetReason())
			b.describe(fmt.Sprintf("%s acknowledged the bad event at position %s; readers skip it from now on.", either(b.ev.Actor, "An administrator"), pos),
				because(m.GetReason()))
			return true
		}),
	}
}
