package episode

import (
	"fmt"
	"strconv"
	"time"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

const (
	episodeFlag    = "flag/<environment>/<flag>"
	episodeFlagSet = "flagset/<environment>"
	prodOnly       = " (production-class environments only)"
)

// flag ties the builder to a flag of the environment the event's aggregate
// is (flagset.<environment>), and to the release the change belongs to.
func (b *builder) flag(key, releaseID string) {
	b.env(b.id)
	b.label("flag", key)
	if releaseID != "" {
		b.label("release_id", releaseID)
		b.scope(AggregateRelease, releaseID)
	}
	b.episode("flag", b.id, key)
}

// rolloutWords says what a rollout does, e.g. "on to 25 %".
func rolloutWords(r *flagv1.Rollout) string {
	v := either(r.GetVariant(), "the variant")
	switch s := r.GetStrategy().(type) {
	case *flagv1.Rollout_Immediate:
		return v + " to everyone"
	case *flagv1.Rollout_Percentage:
		return v + " to " + strconv.FormatUint(uint64(s.Percentage.GetPercent()), 10) + " %"
	case *flagv1.Rollout_UserSegment:
		return fmt.Sprintf("%s to a segment (%d rules)", v, len(s.UserSegment.GetRules()))
	case *flagv1.Rollout_Gradual:
		g := s.Gradual
		return fmt.Sprintf("%s gradually, %s to %s", v, g.GetStart().AsTime().UTC().Format(time.RFC3339), g.GetEnd().AsTime().UTC().Format(time.RFC3339))
	}
	return v
}

func flagSpecs() []spec {
	rolledBack := typeName[*deployv1.RolledBack]()
	change := func(what string) TypeInfo {
		return TypeInfo{Description: what + prodOnly, Episode: episodeFlag, Severity: routing.SeverityInfo, Kind: KindNotice}
	}
	return []spec{
		notify(change("a flag was created"), func(b *builder, m *flagv1.FlagCreated) bool {
			f := m.GetFlag()
			b.flag(f.GetKey(), f.GetReleaseId())
			if !b.production() {
				return false
			}
			b.notice()
			b.label("owner", f.GetOwner())
			b.note("reason", m.GetReason())
			b.summary("Flag %s created in %s: %s", f.GetKey(), b.e.Environment, m.GetReason())
			b.describe(fmt.Sprintf("%s created flag %s in %s (%s).", either(b.ev.Actor, "Someone"), f.GetKey(), b.e.Environment, flagState(f.GetState())),
				quoted("Description", f.GetDescription()), because(m.GetReason()))
			return true
		}),
		notify(change("a flag's definition was replaced"), func(b *builder, m *flagv1.FlagUpdated) bool {
			f := m.GetFlag()
			b.flag(f.GetKey(), f.GetReleaseId())
			if !b.production() {
				return false
			}
			b.notice()
			b.label("owner", f.GetOwner())
			b.note("reason", m.GetReason())
			b.summary("Flag %s changed in %s: %s", f.GetKey(), b.e.Environment, m.GetReason())
			b.describe(fmt.Sprintf("%s changed flag %s in %s (%s).", either(b.ev.Actor, "Someone"), f.GetKey(), b.e.Environment, flagState(f.GetState())),
				because(m.GetReason()))
			return true
		}),
		notify(change("a flag's rollout was set by hand (a deployment's FLAG_ROLLOUT step is its deployment's)"), func(b *builder, m *flagv1.RolloutSet) bool {
			if m.GetDeploymentId() != "" {
				return false // a step of a deployment, which is told
			}
			b.flag(m.GetKey(), m.GetReleaseId())
			if !b.production() {
				return false
			}
			b.notice()
			b.note("reason", m.GetReason())
			b.summary("Flag %s in %s rolls out %s", m.GetKey(), b.e.Environment, rolloutWords(m.GetRollout()))
			b.describe(fmt.Sprintf("%s set the rollout of flag %s in %s: %s.", either(b.ev.Actor, "Someone"), m.GetKey(), b.e.Environment,
				rolloutWords(m.GetRollout())), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "the flag service refused a deployment's FLAG_ROLLOUT step (the deployment rolls back)",
			Episode:     episodeDeployment, Severity: ruleProblem, EndedBy: []string{rolledBack},
		}, func(b *builder, m *flagv1.FlagRolloutRefused) bool {
			b.env(b.id)
			b.label("flag", m.GetKey())
			b.label("release_id", m.GetReleaseId())
			b.deployment(m.GetDeploymentId())
			b.problem()
			b.note("reason", m.GetReason())
			b.note("step", strconv.FormatUint(uint64(m.GetStep()), 10))
			b.summary("Flag rollout of %s refused for %s%s: %s", m.GetKey(), b.what(), b.in(), m.GetReason())
			b.describe(fmt.Sprintf("The flag service did not roll flag %s out to %d %% for %s%s (step %d); the deployment rolls back.",
				m.GetKey(), m.GetPercent(), b.what(), b.in(), m.GetStep()), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a flag was disabled, or enabled again (after a kill too)" + prodOnly,
			Episode:     episodeFlag, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *flagv1.FlagStateSet) bool {
			b.flag(m.GetKey(), m.GetReleaseId())
			if !b.production() {
				return false
			}
			b.notice()
			b.note("reason", m.GetReason())
			switch m.GetState() {
			case flagv1.FlagState_FLAG_STATE_ENABLED:
				b.summary("Flag %s enabled in %s", m.GetKey(), b.e.Environment)
			case flagv1.FlagState_FLAG_STATE_DISABLED:
				b.summary("Flag %s disabled in %s: %s", m.GetKey(), b.e.Environment, m.GetReason())
			default:
				return false
			}
			b.describe(fmt.Sprintf("%s set flag %s in %s to %s.", either(b.ev.Actor, "Someone"), m.GetKey(), b.e.Environment, flagState(m.GetState())),
				because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a flag's kill switch was pulled: it is off until enabled again (in any environment; enabling it is told in production-class ones)",
			Episode:     episodeFlag, Severity: ruleAttention, Kind: KindNotice,
		}, func(b *builder, m *flagv1.FlagKilled) bool {
			b.flag(m.GetKey(), "")
			b.notice()
			b.attention()
			b.note("reason", m.GetReason())
			b.summary("Flag %s killed in %s by %s: %s", m.GetKey(), b.e.Environment, either(b.ev.Actor, "someone"), m.GetReason())
			b.describe(fmt.Sprintf("%s pulled the kill switch of flag %s in %s: SDKs fall back to their code default until it is enabled again.",
				either(b.ev.Actor, "Someone"), m.GetKey(), b.e.Environment), because(m.GetReason()))
			return true
		}),
		ignore[*flagv1.ChangeScheduled]("a change for later; it is told when it applies, by the event it applies"),
		ignore[*flagv1.ScheduledChangeApplied]("its effect, the next event of the same append, is told"),
		ignore[*flagv1.ScheduledChangeCancelled]("a change that will not happen was never told"),
		notify(TypeInfo{
			Description: "flags were imported from a flagd file" + prodOnly,
			Episode:     episodeFlagSet, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *flagv1.FlagsImported) bool {
			b.env(b.id)
			b.episode("flagset", b.id)
			if !b.production() {
				return false
			}
			b.notice()
			keys := make([]string, 0, len(m.GetFlags()))
			for _, f := range m.GetFlags() {
				keys = append(keys, f.GetKey())
			}
			b.note("flags", list(keys))
			b.note("digest", m.GetDigest())
			b.note("reason", m.GetReason())
			b.summary("%d flags imported in %s: %s", len(m.GetFlags()), b.e.Environment, m.GetReason())
			b.describe(fmt.Sprintf("%s imported %d flags in %s from a flagd file.", either(b.ev.Actor, "Someone"), len(m.GetFlags()), b.e.Environment),
				because(m.GetReason()))
			return true
		}),
		notify(change("a flag's changes under a rolled-back release were undone"), func(b *builder, m *flagv1.FlagReverted) bool {
			b.flag(m.GetKey(), m.GetReleaseId())
			if !b.production() {
				return false
			}
			b.notice()
			b.label("deployment_id", m.GetDeploymentId())
			b.note("reason", m.GetCause())
			b.summary("Flag %s reverted in %s after the rollback of %s", m.GetKey(), b.e.Environment, b.what())
			b.describe(fmt.Sprintf("Flag %s in %s is back to its definition before %s, which was rolled back (%s).", m.GetKey(), b.e.Environment,
				b.what(), flagState(m.GetRestored().GetState())), because(m.GetCause()))
			return true
		}),
	}
}

func flagState(s flagv1.FlagState) string {
	switch s {
	case flagv1.FlagState_FLAG_STATE_ENABLED:
		return "enabled"
	case flagv1.FlagState_FLAG_STATE_DISABLED:
		return "disabled"
	}
	return "state unknown"
}
