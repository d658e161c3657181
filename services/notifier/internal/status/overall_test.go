package status_test

import (
	"testing"

	"github.com/penguinmails/floe/services/notifier/internal/status"
)

func TestOverallStatus(t *testing.T) {
	t.Parallel()
	const (
		op  = status.Operational
		mnt = status.UnderMaintenance
		deg = status.DegradedPerformance
		par = status.PartialOutage
		maj = status.MajorOutage
	)
	tests := []struct {
		name       string
		components []status.ComponentStatus
		impacts    []status.Impact
		indicator  status.Indicator
		desc       string
	}{
		{"no components", nil, nil, status.IndicatorNone, "All Systems Operational"},
		{"one operational", []status.ComponentStatus{op}, nil, status.IndicatorNone, "All Systems Operational"},
		{"one under maintenance", []status.ComponentStatus{mnt}, nil, status.IndicatorMaintenance, "Service Under Maintenance"},
		{"one degraded", []status.ComponentStatus{deg}, nil, status.IndicatorMinor, "Partially Degraded Service"},
		{"one partial", []status.ComponentStatus{par}, nil, status.IndicatorMajor, "Partial System Outage"},
		{"one major", []status.ComponentStatus{maj}, nil, status.IndicatorCritical, "Major System Outage"},
		{"all major", []status.ComponentStatus{maj, maj}, nil, status.IndicatorCritical, "Major System Outage"},
		{"some major", []status.ComponentStatus{maj, op, deg}, nil, status.IndicatorMajor, "Partial System Outage"},
		{"all partial", []status.ComponentStatus{par, par}, nil, status.IndicatorMajor, "Partial System Outage"},
		{"some partial", []status.ComponentStatus{par, op}, nil, status.IndicatorMinor, "Minor Service Outage"},
		{"all degraded", []status.ComponentStatus{deg, deg}, nil, status.IndicatorMinor, "Degraded System Service"},
		{"some degraded", []status.ComponentStatus{deg, mnt, op}, nil, status.IndicatorMinor, "Partially Degraded Service"},
		{"some maintenance", []status.ComponentStatus{mnt, op}, nil, status.IndicatorMaintenance, "Service Under Maintenance"},
		{"open critical incident, components fine", []status.ComponentStatus{op, op}, []status.Impact{status.ImpactNone, status.ImpactCritical}, status.IndicatorCritical, "Major System Outage"},
		{"open minor incident, worse components", []status.ComponentStatus{maj, op}, []status.Impact{status.ImpactMinor}, status.IndicatorMajor, "Partial System Outage"},
		{"open incident without impact", []status.ComponentStatus{op}, []status.Impact{status.ImpactNone}, status.IndicatorNone, "All Systems Operational"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := status.OverallStatus(tt.components, tt.impacts)
			if got.Indicator != tt.indicator || got.Description != tt.desc {
				t.Errorf("OverallStatus = %+v, want {%s %s}", got, tt.indicator, tt.desc)
			}
		})
	}
}
