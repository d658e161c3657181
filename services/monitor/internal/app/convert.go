package app

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	"github.com/penguinmails/floe/services/monitor/internal/domain"
)

// TriggerFromProto converts the API form of a trigger.
func TriggerFromProto(p *monitorv1.RollbackTrigger) domain.Trigger {
	return domain.Trigger{
		Name: p.GetName(), Metric: p.GetMetric(), Operator: domain.Operator(p.GetOperator()), Threshold: p.GetThreshold(),
		Duration: p.GetDuration().AsDuration(), Action: p.GetAction(), Cooldown: p.GetCooldown().AsDuration(),
		NoData: p.GetNoData(), Enabled: p.GetEnabled(), Version: p.GetVersion(),
	}
}

// TriggerToProto converts a trigger to its API form.
func TriggerToProto(t domain.Trigger) *monitorv1.RollbackTrigger {
	return &monitorv1.RollbackTrigger{
		Name: t.Name, Metric: t.Metric, Operator: string(t.Operator), Threshold: t.Threshold,
		Duration: durationpb.New(t.Duration), Action: t.Action, Cooldown: durationpb.New(t.Cooldown),
		NoData: t.NoData, Enabled: t.Enabled, Version: t.Version,
	}
}

// AlertRuleFromProto converts the API form of an alert rule.
func AlertRuleFromProto(p *monitorv1.AlertRule) domain.AlertRule {
	return domain.AlertRule{
		Name: p.GetName(), Description: p.GetDescription(), Condition: p.GetCondition(), Severity: p.GetSeverity(),
		Channels: append([]string(nil), p.GetChannels()...), For: p.GetFor().AsDuration(), Cooldown: p.GetCooldown().AsDuration(),
		Enabled: p.GetEnabled(), Version: p.GetVersion(),
	}
}

// AlertRuleToProto converts an alert rule to its API form.
func AlertRuleToProto(r domain.AlertRule) *monitorv1.AlertRule {
	return &monitorv1.AlertRule{
		Name: r.Name, Description: r.Description, Condition: r.Condition, Severity: r.Severity,
		Channels: append([]string(nil), r.Channels...), For: durationpb.New(r.For), Cooldown: durationpb.New(r.Cooldown),
		Enabled: r.Enabled, Version: r.Version,
	}
}

// VerdictToProto converts a verdict.
func VerdictToProto(v domain.Verdict) *monitorv1.Verdict {
	out := &monitorv1.Verdict{Result: v.Result, Reason: v.Reason, WindowStart: ts(v.Window.Start), WindowEnd: ts(v.Window.End)}
	for _, c := range v.Checks {
		pc := &monitorv1.AnalysisCheck{
			Trigger: c.Trigger, RuleVersion: c.RuleVersion, Result: c.Result, Reason: c.Reason,
			Samples: uint32(c.Samples), Breaching: uint32(c.Breaching), NoData: uint32(c.NoData),
		}
		for _, m := range c.Measurements {
			pc.Measurements = append(pc.Measurements, &monitorv1.Measurement{
				At: ts(m.Sample.At), Value: noNaN(m.Sample.Value), NoData: m.Sample.Missing(), Breaching: m.Breaching,
			})
		}
		out.Checks = append(out.Checks, pc)
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsTime(p *timestamppb.Timestamp) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.AsTime()
}

// noNaN maps NaN to 0: a missing value is carried by a no_data flag, and
// JSON readers of events should not meet "NaN". Infinities stay (a p95 of
// +Inf is a real breach; protojson writes "Infinity").
func noNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
