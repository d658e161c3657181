package domain

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// DeploymentStep is a deployer's FLAG_ROLLOUT step, as the flag service
// reads it from DeploymentStepStarted.
type DeploymentStep struct {
	// Deployment and Release name the deployment and the release it deploys.
	Deployment, Release string
	// Index is the step's index in the deployment's plan.
	Index uint32
	// Key is the flag; Percent the share of targeting keys to get Variant
	// ("": the flag's one variant other than its default, when it has two).
	Key     string
	Percent uint32
	Variant string
}

// Reason is what the flag's history says of the change the step makes.
func (st DeploymentStep) Reason() string {
	return fmt.Sprintf("deployment %s step %d: rollout %d%%", st.Deployment, st.Index, st.Percent)
}

// RolloutVariant is the variant a deployment rolls out on f: the one named,
// else the flag's only variant other than its default.
func RolloutVariant(f *flagv1.Flag, named string) (string, error) {
	if named != "" {
		if _, ok := f.GetVariants()[named]; !ok {
			return "", fmt.Errorf("%q is not a variant of flag %s (variants: %s)", named, f.GetKey(), strings.Join(slices.Sorted(maps.Keys(f.GetVariants())), ", "))
		}
		return named, nil
	}
	var others []string
	for v := range f.GetVariants() {
		if v != f.GetDefaultVariant() {
			others = append(others, v)
		}
	}
	if len(f.GetVariants()) != 2 || len(others) != 1 {
		return "", fmt.Errorf("flag %s has %d variants: name the one to roll out (the deployer's feature_flag.variant)", f.GetKey(), len(f.GetVariants()))
	}
	return others[0], nil
}

// DeploymentRollout decides a deployment's FLAG_ROLLOUT step: the flag's
// rollout becomes a percentage rollout of the step's variant, made under the
// deployment's release (so a rollback of the release reverts it), or — when
// the step cannot be applied — FlagRolloutRefused with the reason, so the
// deployer fails the step at once instead of waiting. It never returns an
// error for the step's content: the answer, either way, is an event.
func DeploymentRollout(s *FlagSet, st DeploymentStep) []proto.Message {
	refuse := func(format string, args ...any) []proto.Message {
		return []proto.Message{&flagv1.FlagRolloutRefused{Key: st.Key, ReleaseId: st.Release, DeploymentId: st.Deployment, Step: st.Index,
			Percent: st.Percent, Reason: fmt.Sprintf(format, args...)}}
	}
	var v errs.Violations
	ident.Check(&v, "key", st.Key)
	ident.Check(&v, "release_id", st.Release)
	if err := v.Err(); err != nil {
		return refuse("the step cannot be applied: %v", err)
	}
	f := s.Flags[st.Key]
	switch {
	case f == nil:
		return refuse("flag %s does not exist in %s: create it before a feature-flag deployment rolls it out", st.Key, s.Environment)
	case f.GetKill() != nil:
		return refuse("flag %s is killed (by %s: %s): a deployment does not roll out a killed flag", st.Key, f.GetKill().GetBy(), f.GetKill().GetReason())
	case f.GetState() != flagv1.FlagState_FLAG_STATE_ENABLED:
		return refuse("flag %s is disabled: enable it before a feature-flag deployment rolls it out", st.Key)
	case st.Percent > 100:
		return refuse("rollout %d%%: a percentage is 0-100", st.Percent)
	}
	variant, err := RolloutVariant(f, st.Variant)
	if err != nil {
		return refuse("%v", err)
	}
	r := &flagv1.Rollout{Variant: variant, Strategy: &flagv1.Rollout_Percentage{Percentage: &flagv1.PercentageRollout{Percent: st.Percent}}}
	events, err := SetRollout(s, st.Key, r, st.Reason(), st.Release, st.Deployment)
	if err != nil {
		return refuse("%v", err)
	}
	for _, e := range events {
		if rs, ok := e.(*flagv1.RolloutSet); ok {
			rs.Step = st.Index
		}
	}
	return events
}
