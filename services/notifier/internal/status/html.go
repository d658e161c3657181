package status

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// pageCSS is the page's only style, inlined in one <style> element and
// allowed by its hash in the Content-Security-Policy. Colours pass WCAG AA
// contrast for their text; each bar also carries its state as text, so
// colour is never the only cue.
const pageCSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fff;line-height:1.5}
main{max-width:52rem;margin:0 auto;padding:1rem}
h1{font-size:1.75rem;margin:.5rem 0 1rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d0d0}
h3{font-size:1.05rem;margin:1rem 0 .25rem}
.banner{padding:.75rem 1rem;border-radius:.25rem;font-weight:600;color:#fff}
.ind-none{background:#1e6b32}.ind-minor{background:#7a5800}.ind-major{background:#a33c00}.ind-critical{background:#b00020}.ind-maintenance{background:#1d4f91}
.st{font-weight:600}
.st-operational{color:#1e6b32}.st-degraded_performance{color:#7a5800}.st-partial_outage{color:#a33c00}.st-major_outage{color:#b00020}.st-under_maintenance{color:#1d4f91}
.comp{display:flex;justify-content:space-between;gap:1rem;padding:.5rem 0;border-bottom:1px solid #eee}
.updates{list-style:none;padding:0;margin:0}
.updates li{margin:.5rem 0}
.body{white-space:pre-line;margin:.25rem 0}
time,.meta{color:#4a4a4a;font-size:.9rem}
.bars{display:flex;gap:1px;list-style:none;padding:0;margin:.25rem 0;height:2rem}
.bars li{flex:1;border-radius:1px}
.d-up{background:#2e8540}.d-minor{background:#c9a100}.d-partial{background:#e07000}.d-major{background:#c4001a}.d-none{background:#c8c8c8}
.sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.legend{display:flex;justify-content:space-between;color:#4a4a4a;font-size:.85rem}
`

// ContentSecurityPolicy is the header value the HTTP layer sets on the HTML
// page: nothing may load or run except the page's own inline style (allowed
// by its SHA-256); no scripts, frames, forms, plugins or base rewriting.
func ContentSecurityPolicy() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}} status</title>
<style>{{css}}</style>
</head>
<body>
<main>
<h1>{{.Name}} status</h1>
<p class="banner ind-{{.Status.Indicator}}" role="status">{{.Status.Description}}</p>
{{with .Unresolved}}
<section aria-labelledby="incidents-h">
<h2 id="incidents-h">Active incidents</h2>
{{range .}}
<article aria-labelledby="inc-{{.ID}}">
<h3 id="inc-{{.ID}}">{{.Name}}</h3>
<p class="meta">Impact: {{.Impact}}</p>
<ol class="updates" aria-label="Updates, newest first">
{{range newestFirst .Updates}}<li><span class="st">{{statusLabel .Status}}</span> <time datetime="{{iso .At}}">{{human .At}}</time><p class="body">{{.Body}}</p></li>
{{end}}</ol>
</article>
{{end}}
</section>
{{end}}
{{with .Active}}
<section aria-labelledby="active-h">
<h2 id="active-h">Maintenance in progress</h2>
{{range .}}{{template "maintenance" .}}{{end}}
</section>
{{end}}
{{with .Upcoming}}
<section aria-labelledby="upcoming-h">
<h2 id="upcoming-h">Scheduled maintenance</h2>
{{range .}}{{template "maintenance" .}}{{end}}
</section>
{{end}}
<section aria-labelledby="components-h">
<h2 id="components-h">Components</h2>
{{range sections .}}
{{if .Group}}<h3>{{.Group.Name}}</h3>{{end}}
{{range .Components}}
<div class="component">
<div class="comp"><span>{{.Name}}{{with .Description}}<span class="sr">, {{.}}</span>{{end}}</span><span class="st st-{{.Status}}">{{.Status.Label}}</span></div>
{{with uptime .ID}}
<ol class="bars" aria-label="Uptime of {{$.Name}} {{.Name}} over the last 90 days, oldest first">
{{range .Uptime.Days}}<li class="d-{{level .}}" title="{{.Date}}: {{dayText .}}"><span class="sr">{{.Date}}: {{dayText .}}</span></li>{{end}}
</ol>
<p class="legend"><span>90 days ago</span><span>{{.Uptime.PercentText}} % uptime</span><span>Today</span></p>
{{end}}
</div>
{{end}}
{{end}}
</section>
<p class="meta">Last updated <time datetime="{{iso .UpdatedAt}}">{{human .UpdatedAt}}</time>. Also available as <a href="api/v2/summary.json">JSON</a>.</p>
</main>
</body>
</html>
{{define "maintenance"}}
<article aria-labelledby="mnt-{{.ID}}">
<h3 id="mnt-{{.ID}}">{{.Name}}</h3>
<p class="meta">{{.Status.Label}}. Scheduled from <time datetime="{{iso .ScheduledFor}}">{{human .ScheduledFor}}</time> to <time datetime="{{iso .ScheduledUntil}}">{{human .ScheduledUntil}}</time>.</p>
<ol class="updates" aria-label="Updates, newest first">
{{range newestFirst .Updates}}<li><span class="st">{{maintenanceLabel .Status}}</span> <time datetime="{{iso .At}}">{{human .At}}</time><p class="body">{{.Body}}</p></li>
{{end}}</ol>
</article>
{{end}}`

// componentSection is one heading's worth of components: the ungrouped ones
// (Group nil) or one group's.
type componentSection struct {
	Group      *Group
	Components []Component
}

type uptimeRow struct {
	Name   string
	Uptime Uptime
}

// RenderHTML writes the public page. Every text a person typed (names,
// descriptions, update bodies) goes through html/template's contextual
// escaping; the page has no script and needs none.
func (v View) RenderHTML(w io.Writer) error {
	t, err := v.template()
	if err != nil {
		return err
	}
	if err := t.Execute(w, v); err != nil {
		return fmt.Errorf("render status page: %w", err)
	}
	return nil
}

func (v View) template() (*template.Template, error) {
	loc := v.loc()
	funcs := template.FuncMap{
		// css is trusted, constant text: the hash in the CSP covers it.
		"css":              func() template.CSS { return template.CSS(pageCSS) },
		"iso":              func(t time.Time) string { return t.In(loc).Format(time.RFC3339) },
		"human":            func(t time.Time) string { return t.In(loc).Format("Jan 2, 2006 15:04 MST") },
		"newestFirst":      newestFirst,
		"statusLabel":      func(s string) string { return IncidentStatus(s).Label() },
		"maintenanceLabel": func(s string) string { return MaintenanceStatus(s).Label() },
		"sections":         sections,
		"uptime": func(id string) *uptimeRow {
			u, ok := v.Uptime[id]
			if !ok {
				return nil
			}
			c, _ := v.component(id)
			return &uptimeRow{Name: c.Name, Uptime: u}
		},
		"level":   dayLevel,
		"dayText": dayText,
	}
	t, err := template.New("page").Funcs(funcs).Parse(pageHTML)
	if err != nil {
		return nil, fmt.Errorf("parse status page template: %w", err)
	}
	return t, nil
}

func newestFirst(us []Update) []Update {
	out := make([]Update, len(us))
	for i, u := range us {
		out[len(us)-1-i] = u
	}
	return out
}

// sections groups the shown components: ungrouped first, then each group,
// hiding the operational ones marked only-show-if-degraded.
func sections(v View) []componentSection {
	shown := func(c Component) bool { return !(c.OnlyShowIfDegraded && c.Status == Operational) }
	var out []componentSection
	var loose []Component
	for _, c := range v.Components {
		if c.GroupID == "" && shown(c) {
			loose = append(loose, c)
		}
	}
	if len(loose) > 0 {
		out = append(out, componentSection{Components: loose})
	}
	for i := range v.Groups {
		g := &v.Groups[i]
		var cs []Component
		for _, c := range v.Components {
			if c.GroupID == g.ID && shown(c) {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			out = append(out, componentSection{Group: g, Components: cs})
		}
	}
	return out
}

// dayLevel is the colour of a bar, green to red with the weighted downtime
// of the day, the way Statuspage shades its bars: none, under an hour,
// under four hours, more. These thresholds are ours.
func dayLevel(d DayUptime) string {
	switch {
	case !d.HasData():
		return "none"
	case d.Down == 0:
		return "up"
	case d.Down < time.Hour:
		return "minor"
	case d.Down < 4*time.Hour:
		return "partial"
	}
	return "major"
}

func dayText(d DayUptime) string {
	if !d.HasData() {
		return "no data"
	}
	if d.Down == 0 {
		return "no downtime"
	}
	var parts []string
	if d.Major > 0 {
		parts = append(parts, "major outage "+d.Major.Round(time.Minute).String())
	}
	if d.Partial > 0 {
		parts = append(parts, "partial outage "+d.Partial.Round(time.Minute).String())
	}
	return fmt.Sprintf("%s uptime (%s)", formatFloat2(100*d.Fraction()), strings.Join(parts, ", "))
}
