package status

// Overall is the page's top-level status, as status.json shows it.
type Overall struct {
	Indicator   Indicator `json:"indicator"`
	Description string    `json:"description"`
}

// The top-level descriptions Statuspage uses.
const (
	DescAllOperational   = "All Systems Operational"
	DescMajorOutage      = "Major System Outage"
	DescPartialOutage    = "Partial System Outage"
	DescMinorOutage      = "Minor Service Outage"
	DescDegradedSystem   = "Degraded System Service"
	DescPartialDegraded  = "Partially Degraded Service"
	DescUnderMaintenance = "Service Under Maintenance"
)

// OverallStatus computes the top-level status from the statuses of the
// page's components and the impacts of its open incidents, following
// Atlassian's "Top-level status and incident impact calculations"
// (support.atlassian.com/statuspage/docs/top-level-status-and-incident-impact-calculations):
//
//   - no components: All Systems Operational;
//   - one component: operational → All Systems Operational, under maintenance
//     → Service Under Maintenance, degraded → Partially Degraded Service,
//     partial outage → Partial System Outage, major outage → Major System
//     Outage;
//   - two or more, blended, worst first: all in major outage → Major System
//     Outage; some in major outage, or all in partial outage → Partial System
//     Outage; some in partial outage → Minor Service Outage; all degraded →
//     Degraded System Service; some degraded → Partially Degraded Service;
//     some under maintenance → Service Under Maintenance.
//
// The indicator follows the description: Major System Outage is critical,
// Partial System Outage major, the three yellow ones minor, maintenance
// maintenance, all operational none. An open incident whose impact is worse
// than that raises the indicator to its impact ("unless there is an active
// incident", as the document puts it), with the description of that level.
// The blend of "some" and "all" for two or more components is our reading of
// the document, whose stored copy we could only partly read.
func OverallStatus(components []ComponentStatus, openImpacts []Impact) Overall {
	o := fromComponents(components)
	worst := ImpactNone
	for _, i := range openImpacts {
		if i.rank() > worst.rank() {
			worst = i
		}
	}
	var byImpact Overall
	switch worst {
	case ImpactCritical:
		byImpact = Overall{IndicatorCritical, DescMajorOutage}
	case ImpactMajor:
		byImpact = Overall{IndicatorMajor, DescPartialOutage}
	case ImpactMinor:
		byImpact = Overall{IndicatorMinor, DescMinorOutage}
	default:
		return o
	}
	if byImpact.Indicator.rank() > o.Indicator.rank() {
		return byImpact
	}
	return o
}

func fromComponents(cs []ComponentStatus) Overall {
	count := map[ComponentStatus]int{}
	for _, c := range cs {
		count[c]++
	}
	n := len(cs)
	switch {
	case n == 0:
		return Overall{IndicatorNone, DescAllOperational}
	case count[MajorOutage] == n:
		return Overall{IndicatorCritical, DescMajorOutage}
	case count[MajorOutage] > 0, count[PartialOutage] == n:
		return Overall{IndicatorMajor, DescPartialOutage}
	case count[PartialOutage] > 0:
		return Overall{IndicatorMinor, DescMinorOutage}
	case count[DegradedPerformance] == n && n > 1:
		return Overall{IndicatorMinor, DescDegradedSystem}
	case count[DegradedPerformance] > 0:
		return Overall{IndicatorMinor, DescPartialDegraded}
	case count[UnderMaintenance] > 0:
		return Overall{IndicatorMaintenance, DescUnderMaintenance}
	}
	return Overall{IndicatorNone, DescAllOperational}
}
