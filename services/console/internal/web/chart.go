package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// chart is a trigger's samples drawn as an SVG line chart (no script: the
// page's Content-Security-Policy allows none inline).
type chart struct {
	Trigger, Condition, State, Last string
	Samples                         int
	// The drawing, in a Width × Height viewBox.
	Width, Height int
	Lines         []string // polyline points, split where the query had no data
	Breaches      []point  // samples past the threshold
	ThresholdY    string
	YMax, From    string // labels: the top of the scale, the first sample's time
	To            string // the last sample's time
}

type point struct{ X, Y string }

const (
	chartWidth, chartHeight = 640, 160
)

// charts draws each trigger of a deployment's monitoring that has samples.
func charts(m *monitorv1.DeploymentMonitoring) []chart {
	var out []chart
	for _, t := range m.GetTriggers() {
		if c, ok := drawTrigger(t); ok {
			out = append(out, c)
		}
	}
	return out
}

func drawTrigger(t *monitorv1.TriggerStatus) (chart, bool) {
	series := t.GetSeries()
	if len(series) == 0 {
		return chart{}, false
	}
	c := chart{Trigger: t.GetTrigger(), Condition: t.GetCondition(), State: t.GetState(), Samples: len(series), Width: chartWidth, Height: chartHeight}
	first, last := series[0].GetAt().AsTime(), series[len(series)-1].GetAt().AsTime()
	span := last.Sub(first)
	if span <= 0 {
		span = time.Second
	}
	top := t.GetThreshold()
	for _, s := range series {
		if !s.GetNoData() {
			top = math.Max(top, s.GetValue())
		}
	}
	if top <= 0 {
		top = 1
	}
	top *= 1.15 // head room above the highest value or the threshold
	x := func(at time.Time) float64 { return float64(chartWidth) * float64(at.Sub(first)) / float64(span) }
	y := func(v float64) float64 { return float64(chartHeight) * (1 - math.Max(0, v)/top) }
	var line []string
	flush := func() {
		if len(line) == 1 { // one point is no line: draw it as a flat dash
			line = append(line, line[0])
		}
		if len(line) > 0 {
			c.Lines = append(c.Lines, strings.Join(line, " "))
		}
		line = nil
	}
	for _, s := range series {
		if s.GetNoData() {
			flush()
			continue
		}
		px, py := coord(x(s.GetAt().AsTime())), coord(y(s.GetValue()))
		line = append(line, px+","+py)
		if beyond(t.GetOperator(), s.GetValue(), t.GetThreshold()) {
			c.Breaches = append(c.Breaches, point{px, py})
		}
	}
	flush()
	c.ThresholdY = coord(y(t.GetThreshold()))
	c.YMax = strconv.FormatFloat(top, 'g', 3, 64)
	c.From, c.To = first.UTC().Format("15:04:05"), last.UTC().Format("15:04:05")
	if l := series[len(series)-1]; l.GetNoData() {
		c.Last = "no data"
	} else {
		c.Last = strconv.FormatFloat(l.GetValue(), 'g', 4, 64)
	}
	return c, true
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// beyond reports whether v breaches "op threshold".
func beyond(op string, v, threshold float64) bool {
	switch op {
	case ">":
		return v > threshold
	case ">=":
		return v >= threshold
	case "<":
		return v < threshold
	case "<=":
		return v <= threshold
	case "==":
		return v == threshold
	case "!=":
		return v != threshold
	}
	return false
}

// sampleCount is how many samples the monitoring holds in all (what the live page compares).
func sampleCount(m *monitorv1.DeploymentMonitoring) uint64 {
	var n uint64
	for _, t := range m.GetTriggers() {
		n += t.GetSamples()
	}
	return n
}

func (c chart) Label() string {
	return fmt.Sprintf("%s over time, %d samples from %s to %s; last value %s; %d past the threshold", c.Trigger, c.Samples, c.From, c.To, c.Last, len(c.Breaches))
}
