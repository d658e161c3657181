package domain

import (
	"fmt"

	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
)

// SuitePassed decides whether a suite passes on its evidence, and says why
// in words. JUnit and summaries: no failed or erroring test, and at least one
// test that passed (skipped tests never count as passed unless the gate says
// so; they do not fail a suite). SARIF: no error-level finding that is new
// relative to the baseline.
func SuitePassed(def *gatev1.GateDefinition, ev *gatev1.Evidence) (bool, string) {
	switch ev.GetFormat() {
	case gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF:
		switch n := ev.GetNewErrors(); {
		case n > 0:
			return false, fmt.Sprintf("%d new error-level finding(s) (%d error-level in all)", n, ev.GetSarifErrors())
		case ev.GetSarifErrors() > 0:
			return true, fmt.Sprintf("no new error-level finding (%d known ones)", ev.GetSarifErrors())
		default:
			return true, "no error-level finding"
		}
	default:
		passed := ev.GetPassed()
		if def.GetSkippedCountsAsPassed() {
			passed += ev.GetSkipped()
		}
		switch {
		case ev.GetFailed() > 0 || ev.GetErrored() > 0:
			return false, fmt.Sprintf("%d failed, %d errors of %d tests", ev.GetFailed(), ev.GetErrored(), ev.GetTests())
		case passed == 0 && ev.GetSkipped() > 0:
			return false, fmt.Sprintf("no test passed: %d skipped", ev.GetSkipped())
		case passed == 0:
			return false, "the report has no tests"
		case ev.GetSkipped() > 0:
			return true, fmt.Sprintf("%d passed, %d skipped", ev.GetPassed(), ev.GetSkipped())
		default:
			return true, fmt.Sprintf("%d passed", ev.GetPassed())
		}
	}
}
