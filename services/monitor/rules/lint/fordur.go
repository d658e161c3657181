package lint

import (
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// checkFor is alerts/for. pint's check reports invalid `for` values (the
// rules file refuses those) and a redundant `for: 0` (the set no longer
// knows whether it was written). What remains for Floe is a trigger that
// acts on a single sample: a rollback trigger with duration 0 rolls back on
// one breaching evaluation, such as one slow scrape during a restart.
func checkFor(t *target, _ parser.Expr) []Finding {
	if t.kind != KindTrigger || t.trigger.Action != domain.ActionRollback || t.trigger.Duration > 0 {
		return nil
	}
	return []Finding{t.finding(CheckFor, SeverityWarning,
		"duration is 0: a single breaching sample (one evaluation, e.g. during a restart or a slow scrape) rolls the deployment back",
		"require the breach to last a few evaluation intervals: duration: 60", "")}
}
