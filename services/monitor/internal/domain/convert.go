package domain

import (
	"maps"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// Text is the text of an enum field and its deprecated text twin, as
// written by any version: the enum's name when it is set, else the text (a
// text that names no value is kept for validation to report).
func Text[E enumtext.Enum](v E, text string) string {
	if r, ok := enumtext.Resolve(v, text); ok && r.Number() != 0 {
		return enumtext.Name(r)
	}
	return text
}

// Typed is the enum value named by text (zero when none is).
func Typed[E enumtext.Enum](text string) E {
	v, _ := enumtext.Parse[E](text)
	return v
}

// TriggerFromProto converts the API form of a trigger.
func TriggerFromProto(p *monitorv1.RollbackTrigger) Trigger {
	return Trigger{
		Name: p.GetName(), Metric: p.GetMetric(), Operator: Operator(p.GetOperator()), Threshold: p.GetThreshold(),
		Duration: p.GetDuration().AsDuration(), Action: Text(p.GetActionType(), p.GetAction()), Cooldown: p.GetCooldown().AsDuration(),
		NoData: p.GetNoData(), Enabled: p.GetEnabled(), Version: p.GetVersion(),
		Environments: slices.Clone(p.GetEnvironments()), Apps: slices.Clone(p.GetApps()), Thresholds: maps.Clone(p.GetThresholds()),
		Severity: enumtext.Name(p.GetSeverity()), Channels: slices.Clone(p.GetChannels()),
	}
}

// TriggerToProto converts a trigger to its API form.
func TriggerToProto(t Trigger) *monitorv1.RollbackTrigger {
	return &monitorv1.RollbackTrigger{
		Name: t.Name, Metric: t.Metric, Operator: string(t.Operator), Threshold: t.Threshold,
		Duration: durationpb.New(t.Duration), Action: t.Action, ActionType: Typed[monitorv1.TriggerAction](t.Action),
		Cooldown: durationpb.New(t.Cooldown), NoData: t.NoData, Enabled: t.Enabled, Version: t.Version,
		Environments: slices.Clone(t.Environments), Apps: slices.Clone(t.Apps), Thresholds: maps.Clone(t.Thresholds),
		Severity: Typed[monitorv1.Severity](t.Severity), Channels: slices.Clone(t.Channels),
	}
}

// AlertRuleFromProto converts the API form of an alert rule.
func AlertRuleFromProto(p *monitorv1.AlertRule) AlertRule {
	return AlertRule{
		Name: p.GetName(), Description: p.GetDescription(), Condition: p.GetCondition(), Severity: Text(p.GetSeverityType(), p.GetSeverity()),
		Channels: append([]string(nil), p.GetChannels()...), For: p.GetFor().AsDuration(), Cooldown: p.GetCooldown().AsDuration(),
		Enabled: p.GetEnabled(), Version: p.GetVersion(), Environments: slices.Clone(p.GetEnvironments()), Apps: slices.Clone(p.GetApps()),
	}
}

// AlertRuleToProto converts an alert rule to its API form.
func AlertRuleToProto(r AlertRule) *monitorv1.AlertRule {
	return &monitorv1.AlertRule{
		Name: r.Name, Description: r.Description, Condition: r.Condition, Severity: r.Severity, SeverityType: Typed[monitorv1.Severity](r.Severity),
		Channels: append([]string(nil), r.Channels...), For: durationpb.New(r.For), Cooldown: durationpb.New(r.Cooldown),
		Enabled: r.Enabled, Version: r.Version, Environments: slices.Clone(r.Environments), Apps: slices.Clone(r.Apps),
	}
}

// VerdictToProto converts a verdict.
func VerdictToProto(v Verdict) *monitorv1.Verdict {
	out := &monitorv1.Verdict{
		Result: v.Result, ResultType: Typed[monitorv1.VerdictResult](v.Result), Reason: v.Reason,
		WindowStart: Timestamp(v.Window.Start), WindowEnd: Timestamp(v.Window.End),
	}
	for _, c := range v.Checks {
		pc := &monitorv1.AnalysisCheck{
			Trigger: c.Trigger, RuleVersion: c.RuleVersion, Result: c.Result, ResultType: Typed[monitorv1.VerdictResult](c.Result), Reason: c.Reason,
			Samples: uint32(c.Samples), Breaching: uint32(c.Breaching), NoData: uint32(c.NoData),
		}
		for _, m := range c.Measurements {
			pc.Measurements = append(pc.Measurements, &monitorv1.Measurement{
				At: Timestamp(m.Sample.At), Value: NoNaN(m.Sample.Value), NoData: m.Sample.Missing(), Breaching: m.Breaching,
			})
		}
		out.Checks = append(out.Checks, pc)
	}
	return out
}

// Timestamp is t as a protobuf timestamp (nil for the zero time).
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// TimeOf is p as a time (zero for nil).
func TimeOf(p *timestamppb.Timestamp) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.AsTime()
}

// NoNaN maps NaN to 0: a missing value is carried by a no_data flag, and
// JSON readers of events should not meet "NaN". Infinities stay (a p95 of
// +Inf is a real breach; protojson writes "Infinity").
func NoNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
