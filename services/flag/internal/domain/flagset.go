// Package domain holds the flag service's rules, pure Go: an environment's
// flag set (one aggregate per environment, so its version orders every
// change), flag definitions and their validation, rollouts compiled into
// flagd targeting, the kill switch, scheduled changes and the compensation
// of changes made under a release that is rolled back.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/flageval"
	"github.com/penguinmails/floe/libs/ident"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// AggFlagSet is the aggregate kind: one flag set per environment.
const AggFlagSet = "flagset"

// Limits of a definition.
const (
	MaxVariants    = 100
	MaxText        = 1000
	MaxTags        = 20
	MaxTargeting   = 64 << 10
	MaxMonitorRefs = 20
)

// FlagSet is an environment's flags.
type FlagSet struct {
	Environment string
	Version     uint64
	Flags       map[string]*flagv1.Flag
	// before holds, per flag and release, the flag as it was before the
	// release first changed it (nil: the release created it) — what a
	// rollback of that release restores.
	before map[string]map[string]*flagv1.Flag
}

// NewFlagSet is an environment's flag set before any event.
func NewFlagSet(env string) *FlagSet {
	return &FlagSet{Environment: env, Flags: map[string]*flagv1.Flag{}, before: map[string]map[string]*flagv1.Flag{}}
}

// Meta is what the envelope says of an event.
type Meta struct {
	Actor    string
	Time     time.Time
	Position uint64
}

// Apply folds one event.
func (s *FlagSet) Apply(e proto.Message, m Meta) {
	s.Version++
	touch := func(f *flagv1.Flag) {
		f.Position, f.UpdatedBy, f.UpdatedAt = m.Position, m.Actor, timestamppb.New(m.Time)
	}
	remember := func(key, release string) {
		if release == "" {
			return
		}
		if s.before[key] == nil {
			s.before[key] = map[string]*flagv1.Flag{}
		}
		if _, ok := s.before[key][release]; !ok {
			var prev *flagv1.Flag
			if f := s.Flags[key]; f != nil {
				prev = proto.Clone(f).(*flagv1.Flag)
			}
			s.before[key][release] = prev
		}
	}
	switch ev := e.(type) {
	case *flagv1.FlagCreated:
		f := proto.Clone(ev.GetFlag()).(*flagv1.Flag)
		remember(f.GetKey(), f.GetReleaseId())
		touch(f)
		s.Flags[f.GetKey()] = f
	case *flagv1.FlagUpdated:
		f := proto.Clone(ev.GetFlag()).(*flagv1.Flag)
		remember(f.GetKey(), f.GetReleaseId())
		if old := s.Flags[f.GetKey()]; old != nil {
			f.Scheduled = old.GetScheduled()
		}
		touch(f)
		s.Flags[f.GetKey()] = f
	case *flagv1.RolloutSet:
		remember(ev.GetKey(), ev.GetReleaseId())
		if f := s.Flags[ev.GetKey()]; f != nil {
			f.Rollout, f.Targeting = ev.GetRollout(), ev.GetTargeting()
			touch(f)
		}
	case *flagv1.FlagStateSet:
		remember(ev.GetKey(), ev.GetReleaseId())
		if f := s.Flags[ev.GetKey()]; f != nil {
			f.State = ev.GetState()
			if f.State == flagv1.FlagState_FLAG_STATE_ENABLED {
				f.Kill = nil
			}
			touch(f)
		}
	case *flagv1.FlagKilled:
		if f := s.Flags[ev.GetKey()]; f != nil {
			f.State = flagv1.FlagState_FLAG_STATE_DISABLED
			f.Kill = &flagv1.Kill{By: m.Actor, Reason: ev.GetReason(), At: timestamppb.New(m.Time)}
			touch(f)
		}
	case *flagv1.ChangeScheduled:
		if f := s.Flags[ev.GetKey()]; f != nil {
			c := proto.Clone(ev.GetChange()).(*flagv1.ScheduledChange)
			c.ScheduledBy = m.Actor
			f.Scheduled = append(f.Scheduled, c)
		}
	case *flagv1.ScheduledChangeApplied, *flagv1.ScheduledChangeCancelled:
		key, id := scheduledRef(ev)
		if f := s.Flags[key]; f != nil {
			f.Scheduled = slices.DeleteFunc(f.Scheduled, func(c *flagv1.ScheduledChange) bool { return c.GetId() == id })
		}
	case *flagv1.FlagsImported:
		for _, in := range ev.GetFlags() {
			f := proto.Clone(in).(*flagv1.Flag)
			touch(f)
			s.Flags[f.GetKey()] = f
		}
	case *flagv1.FlagRolloutRefused:
		// A refusal changes no flag: it answers a deployment's step.
	case *flagv1.FlagReverted:
		f := proto.Clone(ev.GetRestored()).(*flagv1.Flag)
		touch(f)
		s.Flags[ev.GetKey()] = f
		delete(s.before[ev.GetKey()], ev.GetReleaseId())
	}
}

func scheduledRef(e proto.Message) (key, id string) {
	switch ev := e.(type) {
	case *flagv1.ScheduledChangeApplied:
		return ev.GetKey(), ev.GetId()
	case *flagv1.ScheduledChangeCancelled:
		return ev.GetKey(), ev.GetId()
	}
	return "", ""
}

// Keys lists the flags' keys, sorted.
func (s *FlagSet) Keys() []string { return slices.Sorted(maps.Keys(s.Flags)) }

// CheckFlag adds a violation (under prefix) for every problem of f.
func CheckFlag(v *errs.Violations, prefix string, f *flagv1.Flag) {
	if f == nil {
		v.Add(prefix, "is required")
		return
	}
	ident.Check(v, prefix+".key", f.GetKey())
	text(v, prefix+".description", f.GetDescription())
	text(v, prefix+".owner", f.GetOwner())
	switch f.GetState() {
	case flagv1.FlagState_FLAG_STATE_UNSPECIFIED, flagv1.FlagState_FLAG_STATE_ENABLED, flagv1.FlagState_FLAG_STATE_DISABLED:
	default:
		v.Add(prefix+".state", "must be enabled or disabled")
	}
	variants := map[string]bool{}
	kind := ""
	switch n := len(f.GetVariants()); {
	case n == 0:
		v.Add(prefix+".variants", "at least one variant is required")
	case n > MaxVariants:
		v.Add(prefix+".variants", "%d variants; at most %d", n, MaxVariants)
	}
	for _, name := range slices.Sorted(maps.Keys(f.GetVariants())) {
		val := f.GetVariants()[name]
		field := prefix + ".variants." + name
		if name == "" || len(name) > 64 || strings.ContainsAny(name, "\x00\n\r") {
			v.Add(prefix+".variants", "variant name %s: 1-64 bytes without control characters", ident.Quote(name))
			continue
		}
		variants[name] = true
		k := valueKind(val)
		switch {
		case k == "":
			v.Add(field, "must be a boolean, string, number or object")
		case kind == "":
			kind = k
		case k != kind:
			v.Add(field, "is a %s but other variants are %ss: every variant has one type", k, kind)
		}
	}
	switch d := f.GetDefaultVariant(); {
	case d == "":
		v.Add(prefix+".default_variant", "is required")
	case len(variants) > 0 && !variants[d]:
		v.Add(prefix+".default_variant", "%q is not a variant (variants: %s)", d, strings.Join(slices.Sorted(maps.Keys(variants)), ", "))
	}
	if t := f.GetTargeting(); t != "" {
		var obj map[string]any
		switch {
		case len(t) > MaxTargeting:
			v.Add(prefix+".targeting", "%d bytes; at most %d", len(t), MaxTargeting)
		case json.Unmarshal([]byte(t), &obj) != nil:
			v.Add(prefix+".targeting", "must be a JSON object (JsonLogic)")
		}
		if f.GetRollout() != nil {
			v.Add(prefix+".rollout", "give targeting or a rollout, not both (a rollout is compiled into targeting)")
		}
	}
	if v.Len() == 0 {
		checkWithEvaluator(v, prefix, f)
	}
	if r := f.GetRollout(); r != nil {
		CheckRollout(v, prefix+".rollout", r, variants)
	}
	if id := f.GetReleaseId(); id != "" {
		ident.Check(v, prefix+".release_id", id)
	}
	if len(f.GetTags()) > MaxTags {
		v.Add(prefix+".tags", "%d tags; at most %d", len(f.GetTags()), MaxTags)
	}
	for i, tag := range f.GetTags() {
		ident.Check(v, fmt.Sprintf("%s.tags[%d]", prefix, i), tag)
	}
	if m := f.GetMonitoring(); len(m.GetMetrics()) > MaxMonitorRefs || len(m.GetAlerts()) > MaxMonitorRefs {
		v.Add(prefix+".monitoring", "at most %d metrics and %d alerts", MaxMonitorRefs, MaxMonitorRefs)
	}
}

func text(v *errs.Violations, field, s string) {
	if len(s) > MaxText {
		v.Add(field, "%d bytes; at most %d", len(s), MaxText)
	}
}

// valueKind is a variant value's type: boolean, string, number, object ("" for others).
func valueKind(val *structpb.Value) string {
	switch val.GetKind().(type) {
	case *structpb.Value_BoolValue:
		return "boolean"
	case *structpb.Value_StringValue:
		return "string"
	case *structpb.Value_NumberValue:
		return "number"
	case *structpb.Value_StructValue:
		return "object"
	}
	return ""
}

func checkReason(v *errs.Violations, reason string) {
	switch {
	case strings.TrimSpace(reason) == "":
		v.Add("reason", "is required")
	case len(reason) > MaxText:
		v.Add("reason", "%d bytes; at most %d", len(reason), MaxText)
	}
}

// prepare is f as it is recorded: the environment set, the state enabled
// unless given, the targeting compiled from its rollout, read-only fields
// cleared.
func (s *FlagSet) prepare(f *flagv1.Flag) (*flagv1.Flag, error) {
	f = proto.Clone(f).(*flagv1.Flag)
	f.Environment = s.Environment
	if f.State == flagv1.FlagState_FLAG_STATE_UNSPECIFIED {
		f.State = flagv1.FlagState_FLAG_STATE_ENABLED
	}
	f.Kill, f.Scheduled, f.Position, f.UpdatedBy, f.UpdatedAt = nil, nil, 0, "", nil
	if f.GetRollout() != nil {
		t, err := Compile(f.GetRollout(), f.GetDefaultVariant())
		if err != nil {
			return nil, err
		}
		f.Targeting = t
	}
	return f, nil
}

// Create decides the creation of a flag.
func Create(s *FlagSet, f *flagv1.Flag, reason string) ([]proto.Message, error) {
	var v errs.Violations
	CheckFlag(&v, "flag", f)
	checkReason(&v, reason)
	if f.GetEnvironment() != "" && f.GetEnvironment() != s.Environment {
		v.Add("flag.environment", "%q: the flag set is %s's", f.GetEnvironment(), s.Environment)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, ok := s.Flags[f.GetKey()]; ok {
		return nil, &errs.AlreadyExistsError{Kind: "flag", ID: s.Environment + "/" + f.GetKey()}
	}
	rec, err := s.prepare(f)
	if err != nil {
		return nil, err
	}
	return []proto.Message{&flagv1.FlagCreated{Flag: rec, Reason: reason}}, nil
}

// Update decides a new definition of an existing flag.
func Update(s *FlagSet, f *flagv1.Flag, reason string, expectedPosition uint64) ([]proto.Message, error) {
	var v errs.Violations
	CheckFlag(&v, "flag", f)
	checkReason(&v, reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	old, err := s.flag(f.GetKey())
	if err != nil {
		return nil, err
	}
	if expectedPosition != 0 && expectedPosition != old.GetPosition() {
		return nil, &errs.ConflictError{Message: fmt.Sprintf("flag %s changed at position %d, after %d; reload and retry", f.GetKey(), old.GetPosition(), expectedPosition)}
	}
	rec, err := s.prepare(f)
	if err != nil {
		return nil, err
	}
	return []proto.Message{&flagv1.FlagUpdated{Flag: rec, Reason: reason}}, nil
}

func (s *FlagSet) flag(key string) (*flagv1.Flag, error) {
	f, ok := s.Flags[key]
	if !ok {
		return nil, &errs.NotFoundError{Kind: "flag", ID: s.Environment + "/" + key}
	}
	return f, nil
}

// SetRollout decides a flag's new rollout, made under release (optional).
func SetRollout(s *FlagSet, key string, r *flagv1.Rollout, reason, release, deployment string) ([]proto.Message, error) {
	f, err := s.flag(key)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	CheckRollout(&v, "rollout", r, variantSet(f))
	checkReason(&v, reason)
	if release != "" {
		ident.Check(&v, "release_id", release)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t, err := Compile(r, f.GetDefaultVariant())
	if err != nil {
		return nil, err
	}
	return []proto.Message{&flagv1.RolloutSet{Key: key, Rollout: r, Targeting: t, Reason: reason, ReleaseId: release, DeploymentId: deployment}}, nil
}

func variantSet(f *flagv1.Flag) map[string]bool {
	out := map[string]bool{}
	for k := range f.GetVariants() {
		out[k] = true
	}
	return out
}

// Kill decides the kill switch: the flag is disabled (SDKs serve their code
// default) until someone enables it again.
func Kill(s *FlagSet, key, reason string) ([]proto.Message, error) {
	var v errs.Violations
	checkReason(&v, reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.flag(key); err != nil {
		return nil, err
	}
	return []proto.Message{&flagv1.FlagKilled{Key: key, Reason: reason}}, nil
}

// Schedule decides a scheduled change.
func Schedule(s *FlagSet, key, id string, at time.Time, change *flagv1.FlagChange, reason string, now time.Time) ([]proto.Message, error) {
	f, err := s.flag(key)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkReason(&v, reason)
	if !at.After(now) {
		v.Add("at", "must be in the future")
	}
	switch c := change.GetChange().(type) {
	case *flagv1.FlagChange_Rollout:
		CheckRollout(&v, "change.rollout", c.Rollout, variantSet(f))
	case *flagv1.FlagChange_State:
		if c.State != flagv1.FlagState_FLAG_STATE_ENABLED && c.State != flagv1.FlagState_FLAG_STATE_DISABLED {
			v.Add("change.state", "must be enabled or disabled")
		}
	default:
		v.Add("change", "a rollout or a state is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&flagv1.ChangeScheduled{Key: key, Change: &flagv1.ScheduledChange{Id: id, At: timestamppb.New(at), Change: change, Reason: reason}}}, nil
}

// Cancel decides the cancellation of a scheduled change.
func Cancel(s *FlagSet, key, id, reason string) ([]proto.Message, error) {
	f, err := s.flag(key)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkReason(&v, reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(f.GetScheduled(), func(c *flagv1.ScheduledChange) bool { return c.GetId() == id }) {
		return nil, &errs.NotFoundError{Kind: "scheduled change", ID: key + "/" + id}
	}
	return []proto.Message{&flagv1.ScheduledChangeCancelled{Key: key, Id: id, Reason: reason}}, nil
}

// Due decides the scheduled changes due at now: each is recorded as applied,
// followed by its effect, in the order of their times.
func Due(s *FlagSet, now time.Time) []proto.Message {
	type due struct {
		key string
		c   *flagv1.ScheduledChange
	}
	var all []due
	for _, key := range s.Keys() {
		for _, c := range s.Flags[key].GetScheduled() {
			if !c.GetAt().AsTime().After(now) {
				all = append(all, due{key, c})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b due) int { return a.c.GetAt().AsTime().Compare(b.c.GetAt().AsTime()) })
	var out []proto.Message
	for _, d := range all {
		out = append(out, &flagv1.ScheduledChangeApplied{Key: d.key, Id: d.c.GetId()})
		reason := fmt.Sprintf("scheduled by %s: %s", d.c.GetScheduledBy(), d.c.GetReason())
		switch c := d.c.GetChange().GetChange().(type) {
		case *flagv1.FlagChange_Rollout:
			if t, err := Compile(c.Rollout, s.Flags[d.key].GetDefaultVariant()); err == nil {
				out = append(out, &flagv1.RolloutSet{Key: d.key, Rollout: c.Rollout, Targeting: t, Reason: reason})
			}
		case *flagv1.FlagChange_State:
			out = append(out, &flagv1.FlagStateSet{Key: d.key, State: c.State, Reason: reason})
		}
	}
	return out
}

// Next is when the next scheduled change is due (zero: none).
func (s *FlagSet) Next() time.Time {
	var next time.Time
	for _, f := range s.Flags {
		for _, c := range f.GetScheduled() {
			if t := c.GetAt().AsTime(); next.IsZero() || t.Before(next) {
				next = t
			}
		}
	}
	return next
}

// Revert decides the compensation of a release rolled back in the
// environment: every flag it changed returns to what it was before (a flag
// it created is disabled; a killed flag stays killed).
func Revert(s *FlagSet, release, deployment, cause string) []proto.Message {
	var out []proto.Message
	for _, key := range s.Keys() {
		prev, ok := s.before[key][release]
		if !ok {
			continue
		}
		restored := prev
		if restored == nil {
			restored = proto.Clone(s.Flags[key]).(*flagv1.Flag)
			restored.State = flagv1.FlagState_FLAG_STATE_DISABLED
		} else {
			restored = proto.Clone(restored).(*flagv1.Flag)
		}
		restored.Position, restored.UpdatedBy, restored.UpdatedAt, restored.Kill = 0, "", nil, nil
		if k := s.Flags[key].GetKill(); k != nil {
			// A kill switch thrown since stays thrown: a rollback never turns a flag back on.
			restored.State, restored.Kill = flagv1.FlagState_FLAG_STATE_DISABLED, k
		}
		out = append(out, &flagv1.FlagReverted{Key: key, Restored: restored, ReleaseId: release, DeploymentId: deployment, Cause: cause})
	}
	return out
}

// checkWithEvaluator checks f as flagd would: its definition is compiled by
// the evaluator, whose problems (unknown operators, bad fractional weights,
// a targeting result that is not a variant, …) name their path in the flag.
func checkWithEvaluator(v *errs.Violations, prefix string, f *flagv1.Flag) {
	probe := proto.Clone(f).(*flagv1.Flag)
	if probe.GetRollout() != nil && probe.GetTargeting() == "" {
		t, err := Compile(probe.GetRollout(), probe.GetDefaultVariant())
		if err != nil {
			v.Add(prefix+".rollout", "%v", err)
			return
		}
		probe.Targeting = t
	}
	doc, err := ToFlagd([]*flagv1.Flag{probe})
	if err != nil {
		v.Add(prefix, "%v", err)
		return
	}
	_, err = flageval.Parse(doc)
	var de *flageval.DefinitionError
	if !errors.As(err, &de) {
		return
	}
	head := "flags." + f.GetKey() + "."
	for _, p := range de.Problems {
		field := prefix
		switch path := strings.TrimPrefix(p.Path, head); {
		case strings.HasPrefix(path, "targeting"):
			field = prefix + ".targeting"
			if rest := strings.TrimPrefix(path, "targeting"); rest != "" {
				v.Add(field, "at %s: %s", strings.TrimPrefix(rest, "."), p.Message)
				continue
			}
		case strings.HasPrefix(path, "variants"):
			field = prefix + ".variants"
		case strings.HasPrefix(path, "defaultVariant"):
			field = prefix + ".default_variant"
		}
		v.Add(field, "%s", p.Message)
	}
}

// Import decides the import of flags read from a flagd file (FromFlagd):
// each is added or replaces the flag of its key; every problem of every
// flag is reported, under flags.<key>.
func Import(s *FlagSet, flags []*flagv1.Flag, reason, digest string) ([]proto.Message, error) {
	var v errs.Violations
	checkReason(&v, reason)
	if len(flags) == 0 {
		v.Add("definition", "defines no flag")
	}
	var recs []*flagv1.Flag
	for _, f := range flags {
		CheckFlag(&v, "flags."+f.GetKey(), f)
		if v.Len() == 0 {
			rec, err := s.prepare(f)
			if err != nil {
				return nil, err
			}
			recs = append(recs, rec)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []proto.Message{&flagv1.FlagsImported{Flags: recs, Reason: reason, Digest: digest}}, nil
}
