package domain

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// Describe says in words what event e did to flag key (ok=false: e is not
// about that flag), with the reason and the release it was made under.
func Describe(e proto.Message, key string) (summary, reason, release string, ok bool) {
	switch ev := e.(type) {
	case *flagv1.FlagCreated:
		if ev.GetFlag().GetKey() == key {
			return "created (" + stateWord(ev.GetFlag().GetState()) + ", default " + ev.GetFlag().GetDefaultVariant() + ")", ev.GetReason(), ev.GetFlag().GetReleaseId(), true
		}
	case *flagv1.FlagUpdated:
		if ev.GetFlag().GetKey() == key {
			return "definition replaced (" + stateWord(ev.GetFlag().GetState()) + ", default " + ev.GetFlag().GetDefaultVariant() + ")", ev.GetReason(), ev.GetFlag().GetReleaseId(), true
		}
	case *flagv1.RolloutSet:
		if ev.GetKey() == key {
			return "rollout: " + RolloutWords(ev.GetRollout()), ev.GetReason(), ev.GetReleaseId(), true
		}
	case *flagv1.FlagRolloutRefused:
		if ev.GetKey() == key {
			return fmt.Sprintf("rollout to %d%% refused (deployment %s step %d)", ev.GetPercent(), ev.GetDeploymentId(), ev.GetStep()), ev.GetReason(), ev.GetReleaseId(), true
		}
	case *flagv1.FlagStateSet:
		if ev.GetKey() == key {
			return stateWord(ev.GetState()), ev.GetReason(), ev.GetReleaseId(), true
		}
	case *flagv1.FlagKilled:
		if ev.GetKey() == key {
			return "KILLED", ev.GetReason(), "", true
		}
	case *flagv1.ChangeScheduled:
		if ev.GetKey() == key {
			return fmt.Sprintf("change %s scheduled for %s", ev.GetChange().GetId(), ev.GetChange().GetAt().AsTime().UTC().Format("2006-01-02T15:04:05Z")), ev.GetChange().GetReason(), "", true
		}
	case *flagv1.ScheduledChangeApplied:
		if ev.GetKey() == key {
			return "scheduled change " + ev.GetId() + " applied", "", "", true
		}
	case *flagv1.ScheduledChangeCancelled:
		if ev.GetKey() == key {
			return "scheduled change " + ev.GetId() + " cancelled", ev.GetReason(), "", true
		}
	case *flagv1.FlagsImported:
		for _, f := range ev.GetFlags() {
			if f.GetKey() == key {
				return "imported from a flagd file " + ev.GetDigest(), ev.GetReason(), "", true
			}
		}
	case *flagv1.FlagReverted:
		if ev.GetKey() == key {
			return "reverted: release " + ev.GetReleaseId() + " was rolled back (" + stateWord(ev.GetRestored().GetState()) + ")", ev.GetCause(), ev.GetReleaseId(), true
		}
	}
	return "", "", "", false
}

func stateWord(s flagv1.FlagState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "FLAG_STATE_"))
}

// RolloutWords is a rollout in words ("on for 25%").
func RolloutWords(r *flagv1.Rollout) string {
	switch s := r.GetStrategy().(type) {
	case *flagv1.Rollout_Immediate:
		return r.GetVariant() + " for everyone"
	case *flagv1.Rollout_Percentage:
		return fmt.Sprintf("%s for %d%%", r.GetVariant(), s.Percentage.GetPercent())
	case *flagv1.Rollout_UserSegment:
		return fmt.Sprintf("%s for a segment (%d rules)", r.GetVariant(), len(s.UserSegment.GetRules()))
	case *flagv1.Rollout_Gradual:
		g := s.Gradual
		return fmt.Sprintf("%s ramped from %s to %s in %d steps", r.GetVariant(), g.GetStart().AsTime().UTC().Format("2006-01-02T15:04Z"), g.GetEnd().AsTime().UTC().Format("2006-01-02T15:04Z"), g.GetSteps())
	}
	return "?"
}
